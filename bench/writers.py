"""Analytics writers: events stored per second by one DuckDB file's writer, and by one and two writers on a DuckLake.

Run by hand (not a test):
``.venv/bin/python bench/writers.py [--seconds 15] [--rounds 2] [--processors 1] [--shards 4]``.
Needs ``wrk`` (Debian package ``wrk``) and Debian's ``postgresql`` (the bench starts its own cluster).

Each round runs every configuration in turn, so their ratios come from one run of a shared,
noisy machine:

- ``file``: one writer on a DuckDB file (``vigil up``'s store);
- ``lake x1``: one writer on a DuckLake (PostgreSQL catalog, Parquet files in a folder);
- ``lake x2``: two writers on one DuckLake, one consumer group.

Each configuration gets a fresh data directory, redis-server, collector and lake. First wrk
fills the streams for ``--seconds`` with beacon batches (the end-to-end bench's mix:
``bench/e2e_load.py``) while no writer runs; then the writers start together, and the rate
is the events stored between the first and the last commit over that time. The streams are
sharded (``--shards``) so that the writers share them. Also printed: the writers' CPU per
stored event (their processor workers included), the time spent in store transactions
(which take turns across writers on a lake: the serial part), and the commits stored again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from e2e_load import EVENTS_PER_BATCH, build_bundle, saturate, templates  # noqa: E402
from e2e_throughput import EVENT_TABLES, _cpu_seconds, _up, serve, sql  # noqa: E402

from contracts import runfiles  # noqa: E402
from contracts.projects import create_project  # noqa: E402
from contracts.settings import CONFIG_FILE  # noqa: E402
from tests.helpers import free_port, stop_process, wait_until  # noqa: E402
from tests.postgres import Postgres, running_postgres  # noqa: E402
from vigil import redis_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15, help="how long wrk fills the streams")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processors", type=int, default=1, help="processor workers of each writer")
    parser.add_argument("--shards", type=int, default=4, help="stream_shards")
    parser.add_argument(
        "--configurations", default="file:1,lake:1,lake:2", help="store:writers, comma-separated, run in this order"
    )
    args = parser.parse_args()
    configurations = [(store, int(n)) for store, n in (c.split(":") for c in args.configurations.split(","))]
    results: dict[str, list[dict[str, float]]] = {}
    folder = Path(tempfile.mkdtemp(prefix="vigil-bench-postgres-"))
    try:
        with running_postgres(folder) as postgres:
            for round_ in range(args.rounds):
                for store, writers in configurations:
                    name = f"{store} x{writers}"
                    print(f"== round {round_ + 1}: {name}")
                    figures = run(postgres, store, writers, args, f"lake_{round_}_{store}_{writers}")
                    results.setdefault(name, []).append(figures)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    first = next(iter(results.values()))
    base = {n: r["rate"] for n, r in enumerate(results.get("file x1", first))}
    lake_one = {n: r["rate"] for n, r in enumerate(results.get("lake x1", first))}
    print("configuration | stored events/s (rounds) | vs file, per round | vs lake x1, per round | writer CPU µs/event"
          " | in store transactions | stored again")  # fmt: skip
    for name, runs in results.items():
        rates = ", ".join(f"{r['rate']:.0f}" for r in runs)
        vs_file = ", ".join(f"{r['rate'] / base[n]:.2f}" for n, r in enumerate(runs))
        vs_lake = ", ".join(f"{r['rate'] / lake_one[n]:.2f}" for n, r in enumerate(runs))
        cpu = statistics.median(r["cpu_us"] for r in runs)
        serial = statistics.median(r["commit_share"] for r in runs)
        again = sum(int(r["conflicts"]) for r in runs)
        print(f"{name} | {rates} | {vs_file} | {vs_lake} | {cpu:.0f} | {serial:.0%} of the time | {again}")
    return 0


def run(postgres: Postgres, store: str, writers: int, args: argparse.Namespace, database: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "data"
        data.mkdir()
        project = create_project(data, "bench")
        _, columns = build_bundle(tmp)
        bodies = templates(columns)
        sock = redis_server.socket_path(data)
        redis_process = subprocess.Popen(redis_server.command(data, sock=sock), stdout=subprocess.DEVNULL)
        base = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        base |= {
            "VIGIL_REDIS_URL": redis_server.url(sock), "VIGIL_STREAM_SHARDS": str(args.shards),
            "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0", "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0",
            "VIGIL_COLLECTOR_SPIKE_FACTOR": "0", "VIGIL_COLLECTOR_MAX_BACKLOG": "10000000",
        }  # fmt: skip
        lake = {}
        if store == "lake":
            lake = {
                "VIGIL_ANALYTICS_STORE": "ducklake",
                "VIGIL_ANALYTICS_DUCKLAKE_CATALOG": postgres.create_database(database),
                "VIGIL_ANALYTICS_DUCKLAKE_DATA_PATH": str(tmp / "lake"),
            }
        processes: list[subprocess.Popen[bytes]] = []
        try:
            cport = free_port()
            collector_env = base | {"VIGIL_DATA_DIR": str(data), "VIGIL_COLLECTOR_PORT": str(cport)}
            processes.append(serve("collector", collector_env, data, f"http://127.0.0.1:{cport}/healthz"))
            ingest = f"http://127.0.0.1:{cport}/api/{project.id}/events?key={project.public_key}"
            sent = saturate(ingest, bodies, args.seconds, tmp, 0, EVENTS_PER_BATCH, 202)
            print(f"  streams filled: {sent['accepted']} events accepted, {sent['refused']} requests refused")
            apis: list[tuple[str, str]] = []
            pids = []
            for n in range(writers):
                own = tmp / f"writer{n}"
                own.mkdir()
                shutil.copy(data / CONFIG_FILE, own / CONFIG_FILE)
                aport = free_port()
                env = base | lake | {
                    "VIGIL_DATA_DIR": str(own), "VIGIL_ANALYTICS_PORT": str(aport),
                    "VIGIL_ANALYTICS_CONSUMER": f"writer{n}", "VIGIL_ANALYTICS_JOBS": "true" if n == 0 else "false",
                    "VIGIL_ANALYTICS_PROCESSORS": str(args.processors),
                }  # fmt: skip
                process = subprocess.Popen(
                    [sys.executable, "-m", "vigil", "serve", "analytics"], env=env, cwd=ROOT,
                    stdout=(own / "analytics.log").open("wb"), stderr=subprocess.STDOUT,
                )  # fmt: skip
                processes.append(process)
                pids.append(process.pid)
                apis.append((f"http://127.0.0.1:{aport}", str(own)))
            for api, _ in apis:
                wait_until(lambda api=api: _up(f"{api}/healthz"), timeout=120, what="a writer's read API")  # type: ignore[misc]
            cpu_before = sum(_cpu_seconds(pid) for pid in pids)
            figures = _drain(apis, sent["accepted"])
            cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu_before
            health = [httpx.get(f"{api}/healthz", timeout=10).json() for api, _ in apis]
            figures["cpu_us"] = cpu * 1e6 / max(1, figures["stored"])
            figures["commit_share"] = sum(h["commit_seconds"] for h in health) / max(1e-9, figures["seconds"])
            figures["conflicts"] = sum(h["conflicts"] for h in health)
            print(
                f"  stored {figures['stored']:.0f} events in {figures['seconds']:.1f} s: "
                f"{figures['rate']:.0f} events/s; "
                f"writer CPU {figures['cpu_us']:.0f} µs/event; in store transactions "
                f"{figures['commit_share']:.0%} of the time; stored again {figures['conflicts']:.0f}"
            )
            return figures
        finally:
            for process in reversed(processes):
                stop_process(process, timeout=60)
            redis_process.send_signal(signal.SIGTERM)
            redis_process.wait(10)


def _drain(apis: list[tuple[str, str]], expected: int, timeout: float = 900) -> dict[str, float]:
    """Poll the stored count until every accepted event is stored; the rate between the first and the last count."""
    api, folder = apis[0]
    info = runfiles.read_live(Path(folder), "analytics")
    assert info is not None
    count_sql = " + ".join(f"(SELECT count(*) FROM {table})" for table in EVENT_TABLES)
    first: tuple[float, int] | None = None
    last = (time.time(), 0)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            (stored,) = sql(client, api, info["token"], f"SELECT {count_sql}")[0]
            now = time.time()
            if stored and first is None:
                first = (now, int(stored))
            if int(stored) != last[1]:
                last = (now, int(stored))
            if stored >= expected:
                break
            time.sleep(0.5)
    assert first is not None, "nothing was stored"
    seconds = max(1e-9, last[0] - first[0])
    return {"stored": float(last[1]), "seconds": seconds, "rate": (last[1] - first[1]) / seconds}


if __name__ == "__main__":
    raise SystemExit(main())
