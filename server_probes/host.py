"""Host metrics, node_exporter's core set through psutil: every counter sent as a rate over the interval.

A ``HostSampler`` keeps the previous reading of each counter; ``sample`` returns the rates since
then. The first call only primes it, so the first record arrives one interval after the start.
A counter that went backwards (a reboot, a re-created interface) counts as zero for that interval.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from contracts.probes import DiskIo, DiskUsage, HostMetrics, Memory, NetIo, Swap

FILE_NR = Path("/proc/sys/fs/file-nr")
# Mounts that hold no user data: pseudo and image file systems.
SKIP_FSTYPES = {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "nsfs", "autofs"}
MAX_ITEMS = 256


def open_fds(path: Path = FILE_NR) -> tuple[int, int]:
    """(open, max) file handles system-wide: ``file-nr`` holds allocated, allocated-but-unused and max."""
    allocated, unused, maximum = (int(n) for n in path.read_text().split()[:3])
    return allocated - unused, maximum


#: Block devices that are not disks: loop devices (snaps, images), RAM disks, zram swap, device-mapper
#: views of a disk already counted. Their I/O would count the same bytes twice or none at all.
VIRTUAL_DISK = re.compile(r"^(loop|ram|zram|dm-|nbd|sr)\d*")


class HostSampler:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[str, Any] | None = None
        self._last_at = 0.0

    def _counters(self) -> dict[str, Any]:
        return {
            "cpu": psutil.cpu_times()._asdict(),
            "swap": psutil.swap_memory(),
            "disk": {
                k: v._asdict()
                for k, v in (psutil.disk_io_counters(perdisk=True) or {}).items()
                if not VIRTUAL_DISK.match(k)
            },
            "net": {k: v._asdict() for k, v in psutil.net_io_counters(pernic=True).items()},
        }

    def sample(self) -> HostMetrics | None:
        """Rates since the previous call; None on the first call."""
        now = self.clock()
        counters = self._counters()
        previous, self._last = self._last, counters
        elapsed, self._last_at = now - self._last_at, now
        if previous is None or elapsed <= 0:
            return None
        cpu_delta = {mode: max(0.0, counters["cpu"][mode] - previous["cpu"][mode]) for mode in counters["cpu"]}
        # guest time is already counted in user (and guest_nice in nice) on Linux; keep it out of the total.
        busy_total = sum(v for k, v in cpu_delta.items() if k not in {"guest", "guest_nice"}) or 1.0
        cpu = {mode: round(min(100.0, 100 * v / busy_total), 3) for mode, v in cpu_delta.items()}
        memory = psutil.virtual_memory()
        swap = counters["swap"]
        fds, max_fds = open_fds()
        return HostMetrics(
            id=uuid.uuid4().hex,
            ts=int(time.time() * 1000),
            interval_s=round(elapsed, 3),
            cpu_percent=cpu,
            load=[round(x, 3) for x in os.getloadavg()],
            memory=Memory(memory.total, memory.available, memory.used, memory.percent),
            swap=Swap(
                total=swap.total,
                used=swap.used,
                percent=swap.percent,
                swapped_in_per_s=_rate(swap.sin, previous["swap"].sin, elapsed),
                swapped_out_per_s=_rate(swap.sout, previous["swap"].sout, elapsed),
            ),
            disks=disk_usage()[:MAX_ITEMS],
            disk_io=[
                DiskIo(
                    device=name[:64],
                    read_bytes_per_s=_rate(now_c["read_bytes"], before["read_bytes"], elapsed),
                    write_bytes_per_s=_rate(now_c["write_bytes"], before["write_bytes"], elapsed),
                    reads_per_s=_rate(now_c["read_count"], before["read_count"], elapsed),
                    writes_per_s=_rate(now_c["write_count"], before["write_count"], elapsed),
                )
                for name, now_c in sorted(counters["disk"].items())
                if (before := previous["disk"].get(name)) is not None
            ][:MAX_ITEMS],
            net=[
                NetIo(
                    interface=name[:64],
                    bytes_sent_per_s=_rate(now_c["bytes_sent"], before["bytes_sent"], elapsed),
                    bytes_recv_per_s=_rate(now_c["bytes_recv"], before["bytes_recv"], elapsed),
                    packets_sent_per_s=_rate(now_c["packets_sent"], before["packets_sent"], elapsed),
                    packets_recv_per_s=_rate(now_c["packets_recv"], before["packets_recv"], elapsed),
                    errors_in_per_s=_rate(now_c["errin"], before["errin"], elapsed),
                    errors_out_per_s=_rate(now_c["errout"], before["errout"], elapsed),
                    drops_in_per_s=_rate(now_c["dropin"], before["dropin"], elapsed),
                    drops_out_per_s=_rate(now_c["dropout"], before["dropout"], elapsed),
                )
                for name, now_c in sorted(counters["net"].items())
                if (before := previous["net"].get(name)) is not None
            ][:MAX_ITEMS],
            open_fds=fds,
            max_fds=max_fds,
            processes=len(psutil.pids()),
            uptime_s=round(max(0.0, time.time() - psutil.boot_time()), 3),
        )


def disk_usage() -> list[DiskUsage]:
    """Usage of every mounted file system that holds data, once per device."""
    seen: set[str] = set()
    usage = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in SKIP_FSTYPES or part.device in seen:
            continue
        try:
            u = psutil.disk_usage(part.mountpoint)
        except OSError:  # unreadable or vanished mount point
            continue
        seen.add(part.device)
        usage.append(
            DiskUsage(part.mountpoint[:2048], part.device[:2048], part.fstype[:64], u.total, u.used, u.free, u.percent)
        )
    return usage


def _rate(now: float, before: float, elapsed: float) -> float:
    return round(max(0.0, (now - before) / elapsed), 3)
