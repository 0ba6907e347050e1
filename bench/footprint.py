"""What every process of ``vigil up`` holds in memory, idle and under load, with 10 million events and a day of host
metrics from 500 hosts stored.

Run by hand (not a test)::

    .venv/bin/python bench/footprint.py [--events 10000000] [--hosts 500] [--seconds 60] [--db PATH]
                                        [--duckdb-memory-bytes 512000000 0]

Fills a DuckDB file as ``bench/read_api.py`` does (events over 30 days, their issues and
rollups, probe results), adds a day of host metrics from ``--hosts`` hosts (one sample each
15 s, the agent's default), then for each ``--duckdb-memory-bytes`` in turn (0: DuckDB's own
default) starts ``vigil up`` on a copy of that data directory and measures each process's
RSS and PSS (``/proc/PID/smaps_rollup``, through psutil): idle once it is up, at the peak of a
load of ``--seconds`` (wrk posting 10-event beacon batches to the collector at ``--rate``
events a second, while a client calls every dashboard page's read API queries in a loop),
and idle again after it: 20 s after (``after``) and 45 s after, once analytics has given
DuckDB's cached blocks back (``quiet``; ``[analytics] idle_release_seconds``). PSS shares
each page among the processes that map it, so the PSS figures add up; RSS counts shared
pages (the Python interpreter, libraries) in every process.
Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
#: ``[analytics] idle_release_seconds``'s default: the "quiet" figures are taken past it.
IDLE_RELEASE_SECONDS = 30
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from collector_load import batch, wrk  # noqa: E402
from read_api import fill, page_calls  # noqa: E402

from analytics.store import open_database  # noqa: E402
from contracts import runfiles  # noqa: E402
from contracts.projects import load_projects  # noqa: E402
from contracts.read_api import ReadClient  # noqa: E402
from tests.helpers import env_without_vigil, free_port, stop_process, wait_until  # noqa: E402

SAMPLE_SECONDS = 15.0


def fill_hosts(path: Path, hosts: int, now: datetime) -> None:
    """A day of host metrics from ``hosts`` hosts, one sample each 15 s, as the probe agent sends them."""
    samples = int(86_400 / SAMPLE_SECONDS)
    start = now - timedelta(days=1)
    con = open_database(path)
    try:
        con.execute(
            f"""INSERT INTO host_metrics BY NAME
                SELECT 'h' || i AS id,
                       TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_seconds(((i // {hosts}) * {SAMPLE_SECONDS})::BIGINT)
                           AS ts,
                       TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_seconds(((i // {hosts}) * {SAMPLE_SECONDS})::BIGINT)
                           AS received_at,
                       'shop' AS project, 1 AS project_id, ['eu', 'us', 'ap'][i % 3 + 1] AS region,
                       'host-' || (i % {hosts}) AS host, 'agent-' || (i % {hosts}) AS agent_id,
                       {SAMPLE_SECONDS} AS interval_s, '{{"user": 20.5, "system": 4.1, "iowait": 0.3}}' AS cpu,
                       (i * 7 % 100)::DOUBLE AS cpu_busy_percent, 0.8 AS load1, 0.7 AS load5, 0.6 AS load15,
                       8000000000 AS memory_total, 3000000000 AS memory_available, 5000000000 AS memory_used,
                       62.5 AS memory_percent, 0 AS swap_total, 0 AS swap_used, 0.0 AS swap_percent,
                       0.0 AS swap_in_per_s, 0.0 AS swap_out_per_s,
                       '[{{"mount": "/", "total": 100000000000, "used": 40000000000, "percent": 40.0}}]' AS disks,
                       '{{"read_per_s": 1000.0, "write_per_s": 5000.0}}' AS disk_io,
                       '{{"eth0": {{"sent_per_s": 10000.0, "recv_per_s": 20000.0}}}}' AS net,
                       10000.0 AS net_bytes_sent_per_s, 20000.0 AS net_bytes_recv_per_s, 300 AS open_fds,
                       65536 AS max_fds, 180 AS processes, 86400.0 AS uptime_s
                FROM range({hosts * samples}) t(i)"""
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()


def role(process: psutil.Process) -> str:
    """What a process started by ``vigil up`` is (as tests/vigil/test_up.py names them)."""
    cmdline = process.cmdline()
    command = " ".join(cmdline)
    if "multiprocessing.spawn" in command:
        return "processor"
    if "multiprocessing.resource_tracker" in command:
        return "resource-tracker"
    return cmdline[-1] if "serve" in cmdline or "probe" in cmdline else "redis-server"


def measure(up: psutil.Process) -> dict[str, tuple[int, int]]:
    """(RSS, PSS) in bytes by role, ``vigil up`` itself included; workers of one role added up."""
    found: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for process in [up, *up.children(recursive=True)]:
        try:
            info = process.memory_full_info()
            name = "vigil up" if process.pid == up.pid else role(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found[name][0] += info.rss
        found[name][1] += info.pss
    return {name: (rss, pss) for name, (rss, pss) in found.items()}


def run(data: Path, memory_bytes: int, seconds: int, rate: float) -> dict[str, dict[str, tuple[int, int]]]:
    """Idle, peak and idle-after figures of one ``vigil up`` on ``data``."""
    ports = {name: free_port() for name in ("collector", "analytics", "dashboard")}
    argv = [sys.executable, "-m", "vigil", "up", "--data-dir", str(data)]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    env = {**env_without_vigil(), "VIGIL_ANALYTICS_DUCKDB_MEMORY_BYTES": str(memory_bytes),
           "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0", "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0",
           "VIGIL_COLLECTOR_SPIKE_FACTOR": "0"}  # fmt: skip
    log = data / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until(lambda: "Vigil is up" in log.read_text() or process.poll() is not None, timeout=300, what="up")
        assert process.poll() is None, log.read_text()
        up = psutil.Process(process.pid)
        time.sleep(20)
        figures = {"idle": measure(up)}
        peak: dict[str, tuple[int, int]] = {}
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(1.0):
                for name, (rss, pss) in measure(up).items():
                    old = peak.get(name, (0, 0))
                    peak[name] = (max(old[0], rss), max(old[1], pss))

        (demo,) = [p for p in load_projects(data).values() if p.name == "demo"]
        live = runfiles.read_live(data, "analytics")
        assert live is not None
        sampler = threading.Thread(target=sample)
        sampler.start()
        reader_stop = threading.Event()

        def read_pages() -> None:
            with ReadClient(live["url"], token=live["token"], timeout=120) as client:
                ((issue_id, latest),) = client.sql("SELECT max(issue_id), max(ts) FROM errors").rows
                now = datetime.fromisoformat(str(latest)).replace(tzinfo=None) + timedelta(seconds=1)
                views = [page_calls(now, timedelta(days=7), int(issue_id)), page_calls(now, timedelta(hours=24), 1)]
                while not reader_stop.is_set():
                    for view in views:
                        for call in view.values():
                            call(client)

        reader = threading.Thread(target=read_pages)
        reader.start()
        collector = f"http://127.0.0.1:{ports['collector']}/api/{demo.id}/events?key={demo.public_key}"
        loaded = wrk(collector, batch(), seconds, data, rate=rate / 10)  # 10 events a request
        reader_stop.set()
        reader.join(300)
        time.sleep(5)
        stop.set()
        sampler.join(10)
        figures["peak"] = dict(peak)
        time.sleep(20)
        figures["after"] = measure(up)
        # Past analytics' idle_release_seconds (30 s without a stored batch or a read) and its next look (5 s).
        time.sleep(IDLE_RELEASE_SECONDS + 15 - 20)
        figures["quiet"] = measure(up)
        print(f"  load: {loaded['rps'] * 10:,.0f} events/s accepted for {seconds} s", flush=True)
        return figures
    finally:
        stop_process(process, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=60, help="how long the load lasts")
    parser.add_argument("--rate", type=float, default=5000, help="events a second in the load (0: as fast as taken)")
    parser.add_argument("--db", type=Path, help="reuse this filled file (else fill one)")
    parser.add_argument("--duckdb-memory-bytes", type=int, nargs="+", default=[512_000_000, 0])
    args = parser.parse_args()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmpdir:
        tmp = Path(tmpdir)
        filled = args.db or tmp / "filled.duckdb"
        if not filled.exists():
            started = time.perf_counter()
            fill(filled, args.events, args.days, now)
            fill_hosts(filled, args.hosts, now)
            print(f"filled {filled} in {time.perf_counter() - started:.0f} s", flush=True)
        print(f"database: {filled.stat().st_size / 1e9:.2f} GB", flush=True)
        for memory_bytes in args.duckdb_memory_bytes:
            data = tmp / f"data-{memory_bytes}"
            data.mkdir()
            shutil.copy(filled, data / "vigil.duckdb")
            label = f"{memory_bytes:,} B" if memory_bytes else "DuckDB's default (80 % of memory)"
            print(f"\nduckdb_memory_bytes = {label}", flush=True)
            figures = run(data, memory_bytes, args.seconds, args.rate)
            names = sorted({name for phase in figures.values() for name in phase})
            print(f"  {'process':<18}{'idle RSS':>10}{'idle PSS':>10}{'peak PSS':>10}{'after PSS':>11}"
                  f"{'quiet PSS':>11}")  # fmt: skip
            for name in names:
                idle, peak, after, quiet = (figures[p].get(name, (0, 0)) for p in ("idle", "peak", "after", "quiet"))
                print(f"  {name:<18}{idle[0] / 1e6:>8.0f}MB{idle[1] / 1e6:>8.0f}MB{peak[1] / 1e6:>8.0f}MB"
                      f"{after[1] / 1e6:>9.0f}MB{quiet[1] / 1e6:>9.0f}MB")  # fmt: skip
            totals = {p: sum(pss for _, pss in figures[p].values()) for p in figures}
            print(f"  {'all (PSS)':<18}{'':>10}{totals['idle'] / 1e6:>8.0f}MB{totals['peak'] / 1e6:>8.0f}MB"
                  f"{totals['after'] / 1e6:>9.0f}MB{totals['quiet'] / 1e6:>9.0f}MB"
                  "  (peak: the sum of each process's own peak)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
