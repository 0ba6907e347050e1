"""The demo's fleet: 200 simulated machines in three regions reporting host metrics through the real collector.

Each host sends a probe batch (``contracts/probes.py``) every ``INTERVAL`` seconds to the
collector's probes endpoint with the demo project's secret token, as a probe agent on that
machine would. Most are calm; a few run hot (CPU, memory, disk or file descriptors), so the
Hosts page has something to find. The shop's API machines (``api-*``) serve the demo's
``demo-api`` service (``vigil demo`` declares them) and stay calm: a break of the backend
is the API answering 503, not a machine in trouble.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from contracts.probes import AgentInfo, DiskUsage, HostMetrics, Memory, NetIo, ProbeBatch, Swap

INTERVAL = 15.0
REGIONS = ("eu-west", "us-east", "ap-southeast")
#: Machines per role: web servers, the API, workers, databases, caches.
ROLES = {"web": 80, "api": 45, "worker": 50, "db": 15, "cache": 10}
GiB = 1024**3
#: The hosts that run hot, and in what.
HOT = {"worker-007": "cpu", "worker-023": "cpu", "web-041": "cpu", "db-003": "disk", "cache-002": "memory",
       "worker-031": "fds"}  # fmt: skip


@dataclass(frozen=True)
class Host:
    name: str
    region: str
    role: str
    cores: int
    memory: int


def api_hosts() -> tuple[str, ...]:
    """The machines serving the shop's API."""
    return tuple(h.name for h in fleet() if h.role == "api")


def fleet() -> list[Host]:
    """The 200 machines, spread over the regions in turn."""
    hosts = []
    for role, count in ROLES.items():
        for n in range(1, count + 1):
            region = REGIONS[(n - 1) % len(REGIONS)]
            cores = {"db": 16, "cache": 4}.get(role, 8)
            hosts.append(Host(f"{role}-{n:03d}", region, role, cores, (64 if role == "db" else 16) * GiB))
    return hosts


def _seed(host: Host) -> int:
    """A number of the host's own, the same in every run."""
    return zlib.crc32(host.name.encode())


def sample(host: Host, rng: random.Random, now: float) -> HostMetrics:
    """One interval of ``host``'s health: a daily-ish wave plus noise, or running hot."""
    hot = HOT.get(host.name)
    wave = 0.5 + 0.5 * math.sin(now / 900 + _seed(host) % 7)
    cpu = min(100.0, (93 + rng.uniform(-3, 5)) if hot == "cpu" else 15 + 35 * wave + rng.uniform(-5, 5))
    memory_percent = 91 + rng.uniform(0, 4) if hot == "memory" else 40 + 20 * wave + rng.uniform(-3, 3)
    disk_percent = 94.5 + rng.uniform(0, 0.4) if hot == "disk" else 35 + (_seed(host) % 30)
    max_fds = 1_048_576
    fds = int(max_fds * (0.9 + rng.uniform(0, 0.05))) if hot == "fds" else int(max_fds * 0.02 * (1 + wave))
    used = int(host.memory * memory_percent / 100)
    root_total = 200 * GiB
    root_used = int(root_total * disk_percent / 100)
    load = cpu / 100 * host.cores
    return HostMetrics(
        id=secrets.token_hex(12), ts=int(now * 1000), interval_s=INTERVAL,
        cpu_percent={"user": round(cpu * 0.8, 1), "system": round(cpu * 0.2, 1), "idle": round(100 - cpu, 1)},
        load=[round(load, 2), round(load * 0.95, 2), round(load * 0.9, 2)],
        memory=Memory(total=host.memory, available=host.memory - used, used=used, percent=round(memory_percent, 1)),
        swap=Swap(total=0, used=0, percent=0.0, swapped_in_per_s=0.0, swapped_out_per_s=0.0),
        disks=[DiskUsage(mount="/", device="/dev/nvme0n1p1", fstype="ext4", total=root_total, used=root_used,
                         free=root_total - root_used, percent=round(disk_percent, 1))],
        disk_io=[],
        net=[NetIo(interface="eth0", bytes_sent_per_s=round(2e6 * wave, 1), bytes_recv_per_s=round(3e6 * wave, 1),
                   packets_sent_per_s=0.0, packets_recv_per_s=0.0, errors_in_per_s=0.0, errors_out_per_s=0.0,
                   drops_in_per_s=0.0, drops_out_per_s=0.0)],
        open_fds=fds, max_fds=max_fds, processes=180 + rng.randrange(40), uptime_s=86_400.0 * 12,
    )  # fmt: skip


def report(send: Callable[[bytes], int], stop: threading.Event, *, seed: int | None = None) -> int:
    """Every ``INTERVAL`` seconds until ``stop``, each host's batch through ``send``; returns batches accepted."""
    rng = random.Random(seed)
    hosts = fleet()
    ids = itertools.count()
    accepted = 0
    while not stop.is_set():
        began = time.time()
        for host in hosts:
            if stop.is_set():
                break
            batch = ProbeBatch(
                batch_id=f"fleet-{host.name}-{next(ids)}-{secrets.token_hex(4)}", sent_at=int(time.time() * 1000),
                agent=AgentInfo(region=host.region, host=host.name, agent_id=f"fleet-{host.name}", version="demo"),
                records=[sample(host, rng, began)],
            )  # fmt: skip
            accepted += send(msgspec.json.encode(batch)) == 202
        stop.wait(max(1.0, INTERVAL - (time.time() - began)))
    return accepted
