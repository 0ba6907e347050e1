"""The load of the end-to-end benchmark: a bundle with its source map, batch templates, and the two senders.

- ``build_bundle``: a minified bundle of about 1 MB of source map, built with esbuild.
- ``templates`` / ``fill``: batches of 50 mixed events with unique ids.
- ``saturate``: wrk posting as fast as it can, or paced, counting the 202s.
- ``paced``: a Python sender at a steady rate whose every tenth batch is a freshness marker.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent

EVENTS_PER_BATCH = 50
SENDER_CONNECTIONS = 32
BUNDLE_URL = "https://shop.example/static/bundle.min.js"
RELEASE = "shop@bench"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def build_bundle(tmp: Path) -> tuple[str, list[int]]:
    """A minified bundle with a source map of about 1 MB; returns the map and the bundle's function columns."""
    src = tmp / "src"
    src.mkdir()
    rng = random.Random(1)
    for module in range(60):
        body = "\n".join(
            f"export function handler{module}_{n}(order, options) {{\n"
            f"  const total = order.items.reduce((sum, item) => sum + item.price * {rng.randint(1, 9)}, 0);\n"
            f"  if (options && options.strict && total > {rng.randint(100, 999)}) {{\n"
            f"    throw new TypeError('order {module}/{n} is over its limit: ' + total);\n"
            f"  }}\n  return {{ total, tax: total * 0.{rng.randint(10, 25)}, module: '{module}' }};\n}}\n"
            for n in range(40)
        )
        (src / f"module{module}.js").write_text(body)
    (src / "index.js").write_text(
        "\n".join(f"export * from './module{m}.js';" for m in range(60)) + "\nwindow.shop = {};\n"
    )
    esbuild = ROOT / "beacon-js" / "node_modules" / ".bin" / "esbuild"
    subprocess.run(
        [str(esbuild), str(src / "index.js"), "--bundle", "--minify", "--sourcemap", "--format=iife",
         "--global-name=shop", f"--outfile={tmp / 'bundle.min.js'}", "--log-level=warning"],
        check=True,
    )  # fmt: skip
    bundle = (tmp / "bundle.min.js").read_text()
    columns = [i for i in range(len(bundle)) if bundle.startswith("function ", i)][:500] or [10]
    return (tmp / "bundle.min.js.map").read_text(), columns


def templates(columns: list[int]) -> list[bytes]:
    """Batch bodies with ``@@`` where each batch's unique prefix goes."""
    rng = random.Random(2)
    out = []
    for t in range(20):
        events: list[dict[str, Any]] = []
        for n in range(EVENTS_PER_BATCH):
            base = {"event_id": f"@@-{n}", "ts": "TS", "page_url": f"https://shop.example/p/{rng.randint(1, 30)}"}
            roll = rng.random()
            if roll < 0.30:
                kind = rng.randint(0, 19)
                frames = [
                    f"    at f{kind}_{k} ({BUNDLE_URL}:1:{rng.choice(columns)})" if k % 2 == 0
                    else f"    at vendor{k} (https://cdn.example/vendor.js:{k + 1}:{100 * k + kind})"
                    for k in range(5)
                ]  # fmt: skip
                message = f"order {kind} is over its limit: {rng.randint(100, 99999)}"
                events.append({**base, "type": "error", "error_type": "TypeError", "message": message,
                               "stack": f"TypeError: {message}\n" + "\n".join(frames)})  # fmt: skip
            elif roll < 0.65:
                name = rng.choice(["LCP", "INP", "CLS", "FCP", "TTFB"])
                value = rng.lognormvariate(-2.5, 1) if name == "CLS" else rng.lognormvariate(7, 0.7)
                events.append({**base, "type": "vital", "name": name, "value": round(value, 4), "rating": "good",
                               "metric_id": f"v4-@@-{n}"})  # fmt: skip
            elif roll < 0.85:
                events.append({**base, "type": "pageview", "navigation": "navigate", "dns": 3.1, "connect": 10.4,
                               "tls": 12.0, "ttfb": 180.5, "dom_interactive": 900.0, "load": 1500.2})  # fmt: skip
            else:
                events.append({**base, "type": "network", "api": "fetch", "method": "GET",
                               "url": "https://api.example/cart", "status": 503, "duration": 120.0,
                               "failure": "http_error"})  # fmt: skip
        body = {"v": 1, "batch_id": "@@", "sent_at": "SENT", "release": RELEASE, "environment": "prod",
                "session_id": f"s-{t}", "events": events}  # fmt: skip
        out.append(json.dumps(body).replace('"TS"', "TS").replace('"SENT"', "SENT").encode())
    return out


def fill(template: bytes, prefix: str, now_ms: int) -> bytes:
    return (
        template.replace(b"@@", prefix.encode())
        .replace(b"TS", str(now_ms).encode())
        .replace(b"SENT", str(now_ms).encode())
    )


SATURATE_LUA = """
-- Each request: the next template, with a unique prefix (thread, counter) and the current time.
local templates = {TEMPLATES}
local threads = {}
counter, accepted, refused = 0, 0, 0  -- globals: done() reads them with thread:get

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function request()
  counter = counter + 1
  local now = tostring(os.time() * 1000)
  local body = templates[counter % #templates + 1]:gsub("@@", "w" .. id .. "-" .. counter)
  body = body:gsub("TS", now):gsub("SENT", now)
  return wrk.format("POST", nil, {["Content-Type"] = "text/plain", ["User-Agent"] = "AGENT"}, body)
end

function delay()
  return DELAY_MS  -- 0: as fast as answers come back
end

function response(status, headers, body)
  if status == OK_STATUS then accepted = accepted + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local a, r = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    r = r + thread:get("refused")
  end
  io.write(string.format("accepted=%d refused=%d\\n", a, r))
end
"""


def saturate(
    url: str, bodies: list[bytes], seconds: float, tmp: Path, rate: float, per_request: int = EVENTS_PER_BATCH,
    ok_status: int = 202,
) -> dict[str, Any]:  # fmt: skip
    """wrk (2 threads, 32 connections) posts ``rate`` events/s, or as fast as it can (0): a sender that costs little.

    Each connection waits ``32 / (rate / per_request)`` s before each request, so the rate is an
    upper bound (the answer's own time comes on top). Answers with ``ok_status`` are counted accepted.
    """
    script = tmp / "saturate.lua"
    templates = ", ".join(f"[==[{body.decode()}]==]" for body in bodies)
    delay_ms = SENDER_CONNECTIONS / (rate / per_request) * 1000 if rate else 0
    script.write_text(
        SATURATE_LUA.replace("{TEMPLATES}", "{" + templates + "}")
        .replace("AGENT", CHROME)
        .replace("DELAY_MS", f"{delay_ms:.3f}")
        .replace("OK_STATUS", str(ok_status))
    )
    first = time.time()
    run = subprocess.run(
        ["wrk", "-t2", f"-c{SENDER_CONNECTIONS}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip
    last = time.time()
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip()}")
    counts = dict(part.split("=") for part in run.stdout.strip().splitlines()[-1].split())
    return {
        "accepted": int(counts["accepted"]) * per_request,
        "refused": int(counts["refused"]),
        "first": first,
        "last": last,
    }


async def _paced(url: str, bodies: list[bytes], rate: float, seconds: float, out: multiprocessing.Queue[Any]) -> None:
    """``rate`` events/s; every tenth batch is a marker: (its batch id, the time its 202 arrived).

    Requests that fail (no answer within 30 s, a refused connection) are counted, not raised.
    """
    markers: list[tuple[str, float]] = []
    failed = 0
    batches_per_second = rate / EVENTS_PER_BATCH
    start = time.monotonic()
    total = int(batches_per_second * seconds)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    # Requests wait here for a connection rather than in httpx's pool, whose waiting list costs
    # time per request waiting: when the service answered slowly, the sender used a whole core.
    gate = asyncio.Semaphore(64)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(n: int) -> None:
            nonlocal failed
            prefix = f"m{n}" if n % 10 == 0 else f"f{n}"  # markers are looked for by their prefix
            body = fill(bodies[n % len(bodies)], prefix, int(time.time() * 1000))
            try:
                async with gate:
                    response = await client.post(
                        url, content=body, headers={"Content-Type": "text/plain", "User-Agent": CHROME}
                    )
            except httpx.HTTPError:
                failed += 1
                return
            if response.status_code == 202 and prefix.startswith("m"):
                markers.append((prefix, time.time()))

        tasks = []
        for n in range(total):
            delay = start + n / batches_per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    out.put({"markers": markers, "batches": total, "failed": failed})


def paced(url: str, bodies: list[bytes], rate: float, seconds: float, out: multiprocessing.Queue[Any]) -> None:
    """``_paced`` in a process of its own (the target of ``multiprocessing.Process``)."""
    asyncio.run(_paced(url, bodies, rate, seconds, out))
