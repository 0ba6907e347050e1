"""The Sentry SDK's load for the benchmarks: one browser error per envelope, as @sentry/browser sends it.

- ``sentry_envelope``: one envelope (about 3.4 KB): 10 frames, 6 breadcrumbs, tags, contexts,
  request headers, 3 debug ids; authenticated by the DSN in its header, as from the SDK.
- ``sentry_templates``: 20 such envelopes (20 error types and messages, so 20 issues), half of
  their frames in the end-to-end bundle so they are symbolicated, with ``@@`` where each
  request's event id goes and ``TS`` where the time in milliseconds goes (``TSe-3``: seconds).
- ``paced_wrk``: wrk sending them at a steady rate; every tenth is a marker, whose answer's
  time (the SDK's 200, read from the answer's ``id``) is written down for freshness.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from e2e_load import CHROME

SDK = {"name": "sentry.javascript.browser", "version": "11.12.0"}
TYPES = ["TypeError", "RangeError", "ReferenceError", "SyntaxError", "Error"]


def _event(
    event_id: str, now: float | str, frames: list[dict[str, Any]], kind: int = 0, release: str = "shop@4.2.0"
) -> dict[str, Any]:
    return {
        "event_id": event_id, "timestamp": now, "platform": "javascript", "level": "error",
        "release": release, "environment": "production",
        "sdk": {**SDK, "integrations": ["InboundFilters", "FunctionToString", "BrowserApiErrors", "Breadcrumbs",
                                        "GlobalHandlers", "LinkedErrors", "Dedupe", "HttpContext", "BrowserSession"]},
        "exception": {"values": [{"type": TYPES[kind % len(TYPES)],
                                  "value": f"Cannot read properties of undefined (reading 'price{kind}')",
                                  "stacktrace": {"frames": frames},
                                  "mechanism": {"type": "auto.browser.global_handlers.onerror", "handled": False}}]},
        "breadcrumbs": {"values": [
            {"timestamp": 1_764_072_000 + n, "category": "ui.click", "message": f"body > main > button#add-{n}"}
            for n in range(5)
        ] + [{"timestamp": 1_764_072_005, "category": "fetch", "type": "http",
              "data": {"method": "GET", "url": "/api/cart", "status_code": 200}}]},
        "tags": {"route": "/cart", "plan": "pro"},
        "contexts": {"trace": {"trace_id": "ab" * 16, "span_id": "cd" * 8},
                     "browser": {"name": "Chrome", "version": "131.0.0"}, "os": {"name": "Linux"}},
        "request": {"url": "https://shop.example/cart", "headers": {"User-Agent": CHROME,
                                                                     "Referer": "https://shop.example/"}},
        "user": {"id": "u-1234", "ip_address": "{{auto}}"},
        "debug_meta": {"images": [{"type": "sourcemap", "code_file": f"https://shop.example/assets/app.{n}.js",
                                   "debug_id": f"{n}" * 8 + "-aaaa-4bbb-8ccc-" + "d" * 12} for n in range(3)]},
    }  # fmt: skip


def _envelope(header: dict[str, Any], event: dict[str, Any], with_length: bool = True) -> str:
    body = json.dumps(event, separators=(",", ":"))
    item = json.dumps({"type": "event", **({"length": len(body.encode())} if with_length else {})})
    return f"{json.dumps(header)}\n{item}\n{body}\n"


def sentry_envelope(public_key: str, project_id: int) -> bytes:
    """One browser error as @sentry/browser sends it (about 3.4 KB): 10 frames, breadcrumbs, tags, contexts."""
    frames = [
        {"filename": f"https://shop.example/assets/app.{n % 3}.js", "function": f"t{n}", "in_app": True,
         "lineno": 1, "colno": 1000 + 97 * n}
        for n in range(10)
    ]  # fmt: skip
    event = _event("9f" * 16, time.time(), frames)
    header = {"event_id": event["event_id"], "sent_at": "2026-12-07T12:00:00.000Z", "sdk": SDK,
              "dsn": f"https://{public_key}@vigil.example/{project_id}"}  # fmt: skip
    return _envelope(header, event).encode()


def sentry_templates(
    public_key: str, project_id: int, release: str, bundle_url: str, columns: list[int]
) -> list[bytes]:
    """20 envelopes, each with ``@@`` for its event id and ``TS`` for the time; half their frames in the bundle.

    The item has no ``length`` (its payload is the rest of the line, as the protocol allows):
    the sender changes the payload's size when it fills the placeholders in.
    """
    rng = random.Random(3)
    out = []
    for kind in range(20):
        frames = [
            {"filename": bundle_url, "function": f"h{k}", "in_app": True, "lineno": 1, "colno": rng.choice(columns) + 1}
            if k % 2 == 0 else
            {"filename": "https://cdn.example/vendor.js", "function": f"vendor{k}", "in_app": False,
             "lineno": k + 1, "colno": 100 * k + kind}
            for k in range(10)
        ]  # fmt: skip
        event = _event("@@", "TS", frames, kind, release)
        header = {
            "event_id": "@@",
            "sent_at": "TS",
            "sdk": SDK,
            "dsn": f"https://{public_key}@vigil.example/{project_id}",
        }
        text = _envelope(header, event, with_length=False).replace('"TS"', "TSe-3")
        assert (text.count("TS"), text.count("@@")) == (2, 2), "a placeholder also occurs in the payload"
        out.append(text.encode())
    return out


PACED_LUA = """
-- A steady rate: each thread sends one request every PERIOD s over its connections; every tenth
-- request is a marker, whose 200 (the answer names its event id) is written down with the time.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } vigil_timespec;
int clock_gettime(int clk_id, vigil_timespec *tp);
]]
local clock = ffi.new("vigil_timespec")
local function now()
  ffi.C.clock_gettime(0, clock)  -- CLOCK_REALTIME: Python's time.time()
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end
local templates = {TEMPLATES}
local threads = {}
counter, ok, failed = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  out = io.open("OUT" .. id, "w")
  due = now()
end

function request()
  counter = counter + 1
  local prefix = (counter % 10 == 0 and "m" or "f") .. id .. "-" .. counter
  local ms = string.format("%d", now() * 1000)
  local body = templates[counter % #templates + 1]:gsub("@@", prefix):gsub("TS", ms)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-sentry-envelope", ["User-Agent"] = "AGENT"}, body)
end

function delay()
  due = due + PERIOD
  local wait = (due - now()) * 1000
  return wait > 0 and wait or 0
end

function response(status, headers, body)
  if status ~= 200 then failed = failed + 1 return end
  ok = ok + 1
  local marker = body:match('"id":"(m[^"]*)"')
  if marker then
    out:write(marker, " ", string.format("%.6f", now()), "\\n")
    out:flush()
  end
end

function done(summary, latency, requests)
  local a, f = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("ok")
    f = f + thread:get("failed")
  end
  io.write(string.format("accepted=%d failed=%d\\n", a, f))
end
"""
PACED_THREADS, PACED_CONNECTIONS = 2, 32


def paced_wrk(url: str, bodies: list[bytes], rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    """wrk posting ``rate`` envelopes a second for ``seconds``; the markers and the time each was answered."""
    script = tmp / "paced.lua"
    templates = ", ".join(f"[==[{body.decode()}]==]" for body in bodies)
    marks = tmp / "markers-"
    script.write_text(
        PACED_LUA.replace("{TEMPLATES}", "{" + templates + "}").replace("AGENT", CHROME)
        .replace("OUT", str(marks)).replace("PERIOD", f"{PACED_THREADS / rate:.9f}")
    )  # fmt: skip
    run = subprocess.run(
        ["wrk", f"-t{PACED_THREADS}", f"-c{PACED_CONNECTIONS}", f"-d{seconds:.0f}s", "--timeout", "30s",
         "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip()}")
    counts = dict(part.split("=") for part in run.stdout.strip().splitlines()[-1].split())
    markers = []
    for path in sorted(tmp.glob("markers-*")):
        for line in path.read_text().splitlines():
            name, _, at = line.partition(" ")
            markers.append((name, float(at)))
    return {"markers": markers, "accepted": int(counts["accepted"]), "failed": int(counts["failed"])}
