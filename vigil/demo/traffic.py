"""Demo traffic: visitors of the demo shop on several browsers and releases, failing realistically.

Each tick one visitor's session sends a batch through the beacon protocol, with the
User-Agent of its browser: the page views of the visit and, for some visits, errors with
messages and stack strings in that browser's own format, so everything downstream
(parsing, grouping, the releases' crash-free rates, the dashboard) sees what it would see
from a real site. Release 1.5.0 fails more often than 1.4.2.

Each visit also calls the demo shop's API and loads the third party's widget for real
(``vigil/demo/site.py``), and reports what failed as the beacon would: a failed request,
a failed resource. So ``vigil demo break backend`` (or ``vendor``) shows in the traffic
as it would from real users, and correlation blames the part that broke.

Each page view comes with its timings and Web Vitals, and with what else failed on the page
(``vigil/demo/experience.py``); visitors come from several countries (the header a CDN would
set). A thread reports the host metrics of a simulated fleet of 200 machines
(``vigil/demo/fleet.py``).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TypeVar

import httpx

from collector.settings import CollectorSettings
from contracts.beacon import MAX_EVENTS
from contracts.projects import ensure_demo_project
from contracts.settings import load
from vigil.demo import experience, fleet
from vigil.demo.site import vendor_port

SITE = f"http://127.0.0.1:{os.environ.get('VIGIL_DEMO_PORT', '8474')}"
VENDOR = f"http://127.0.0.1:{vendor_port(int(os.environ.get('VIGIL_DEMO_PORT', '8474')))}"
RELEASES = [("shop@1.4.2", 1), ("shop@1.5.0", 3)]
#: For this long after the traffic starts every visitor has 1.4.2: then 1.5.0 rolls out, so it is seen later.
ROLLOUT_MS = 30_000
T = TypeVar("T")

PAGES = [("/", 3), ("/product/42", 4), ("/cart", 2), ("/checkout", 1)]
#: The header a CDN in front of the collector names the visitor's country in; ``vigil demo`` has the collector
#: trust it (``[collector] country_header``).
COUNTRY_HEADER = "CF-IPCountry"


@dataclass(frozen=True)
class Browser:
    name: str
    family: str  # "chrome", "firefox" or "safari": the stack format
    user_agent: str
    weight: int


BROWSERS = [
    Browser("Chrome/Windows", "chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 6),
    Browser("Chrome/Android", "chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 4),
    Browser("Edge/Windows", "chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 2),
    Browser("Firefox/Linux", "firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 2),
    Browser("Safari/macOS", "safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.1 Safari/605.1.15", 2),
    Browser("Safari/iOS", "safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 3),
]  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """One bug of the demo shop: its type, its message per browser, and where it is thrown."""

    error_type: str
    messages: dict[str, str]  # by browser family
    function: str
    column: int
    mechanism: str
    weight: int


FAILURES = [
    Failure("TypeError", {
        "chrome": "Cannot read properties of undefined (reading 'price')",
        "firefox": "can't access property \"price\", item is undefined",
        "safari": "undefined is not an object (evaluating 'item.price')",
    }, "addToCart", 1187, "onerror", 8),
    Failure("ReferenceError", {
        "chrome": "undefinedSearchIndex is not defined",
        "firefox": "undefinedSearchIndex is not defined",
        "safari": "Can't find variable: undefinedSearchIndex",
    }, "search", 2309, "onerror", 4),
    Failure("Error", {f: "Payment service answered 502" for f in ("chrome", "firefox", "safari")},
            "checkout", 3311, "onunhandledrejection", 3),
    Failure("SyntaxError", {
        "chrome": "Unexpected token 'n', \"{not json\" is not valid JSON",
        "firefox": "JSON.parse: expected property name or '}' at line 1 column 2 of the JSON data",
        "safari": "JSON Parse error: Expected '}'",
    }, "loadReviews", 4120, "onerror", 2),
    Failure("ChunkLoadError", {f: "Loading chunk 742 failed." for f in ("chrome", "firefox", "safari")},
            "requireEnsure", 512, "onunhandledrejection", 2),
    Failure("TypeError", {
        "chrome": "Failed to fetch",
        "firefox": "NetworkError when attempting to fetch resource.",
        "safari": "Load failed",
    }, "fetchStock", 2877, "onunhandledrejection", 3),
]  # fmt: skip


def _pick(rng: random.Random, weighted: list[tuple[T, int]]) -> T:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


#: The share of visits that hit an error, by release: the newer one is worse.
FAILING_VISITS = {"shop@1.4.2": 0.25, "shop@1.5.0": 0.4}
USERS = 400


def _release_boost(failure: Failure, release: str) -> int:
    """Release 1.5.0 split its bundle badly: chunk loads fail three times as often."""
    return 3 if failure.error_type == "ChunkLoadError" and release.endswith("1.5.0") else 1


def stack(failure: Failure, browser: Browser, message: str, script: str) -> str:
    """A stack string in the browser's own format (V8, SpiderMonkey or JavaScriptCore)."""
    col = failure.column
    if browser.family == "chrome":
        return (
            f"{failure.error_type}: {message}\n"
            f"    at {failure.function} ({script}:1:{col})\n"
            f"    at HTMLButtonElement.<anonymous> ({script}:1:{col + 391})\n"
            f"    at dispatch ({SITE}/static/vendor.js:2:18840)"
        )
    # SpiderMonkey and JavaScriptCore print an anonymous function (the click listener) with no name.
    return f"{failure.function}@{script}:1:{col}\n@{script}:1:{col + 391}\ndispatch@{SITE}/static/vendor.js:2:18840"


def failed_calls(http: httpx.Client, now_ms: int) -> list[dict[str, object]]:
    """A visit's call to the shop's API and load of the vendor's widget, for real; what failed, as beacon events."""
    events: list[dict[str, object]] = []
    for url, kind in ((f"{SITE}/api/cart", "network"), (f"{VENDOR}/widget.js", "resource")):
        started = time.monotonic()
        try:
            status = http.get(url, timeout=2.0).status_code
        except httpx.HTTPError:
            status = 0
        if 0 < status < 400:
            continue
        took = round((time.monotonic() - started) * 1000, 1)
        shared = {"type": kind, "event_id": secrets.token_hex(16), "ts": now_ms, "page_url": f"{SITE}/cart", "url": url}
        if kind == "network":
            events.append({**shared, "api": "fetch", "method": "GET", "status": status, "duration": took,
                           "failure": "http_error" if status else "network_error"})  # fmt: skip
        else:
            events.append({**shared, "element": "script", "source": "error_event", "duration": took,
                           **({"status": status} if status else {})})  # fmt: skip
    return events


def batch(
    rng: random.Random,
    now_ms: int,
    calls: list[dict[str, object]] | None = None,
    since_ms: int = 0,
    rollout_ms: int = ROLLOUT_MS,
) -> tuple[dict[str, object], dict[str, str]]:
    """One visit's batch: 1-4 page views with their timings, Web Vitals and what else failed on them
    (``vigil/demo/experience.py``), for some visits 1-5 errors, and ``calls`` that failed; and the headers it is
    sent with (the browser's User-Agent, and the visitor's country as a CDN in front of the collector says it).
    No event is older than ``since_ms`` (the traffic's start: no visit before it) nor newer than ``now_ms``;
    the newer release is only seen ``rollout_ms`` after the start."""
    browser = _pick(rng, [(b, b.weight) for b in BROWSERS])
    release = _pick(rng, RELEASES) if now_ms - since_ms >= rollout_ms else RELEASES[0][0]
    page = _pick(rng, PAGES)
    script = f"{SITE}/static/app.{'9c1e' if release.endswith('1.5.0') else '41ab'}.js"
    mobile = browser.name.endswith(("Android", "iOS"))
    events: list[dict[str, object]] = []
    ts, referrer = now_ms - rng.randint(12_000, 20_000), _pick(rng, experience.REFERRERS)
    for _ in range(rng.randint(1, 4)):
        route = _pick(rng, PAGES)
        events += experience.page_view(rng, SITE, route, ts, referrer, release, mobile, VENDOR)
        ts, referrer = ts + rng.randint(2000, 5000), SITE + route
    failing = rng.random() < FAILING_VISITS.get(release, 0.3)
    for _ in range(rng.randint(1, 5) if failing else 0):
        failure = _pick(rng, [(f, f.weight * _release_boost(f, release)) for f in FAILURES])
        message = failure.messages[browser.family]
        events.append({
            "type": "error",
            "event_id": secrets.token_hex(16),
            "ts": now_ms - rng.randint(0, 4000),
            "page_url": SITE + page,
            "error_type": failure.error_type,
            "message": message,
            "stack": stack(failure, browser, message, script),
            "file": script,
            "line": 1,
            "column": failure.column,
            "mechanism": failure.mechanism,
        })  # fmt: skip
    events += calls or []
    for event in events:
        event["ts"] = min(max(since_ms, int(event["ts"])), now_ms)  # type: ignore[call-overload]
    body = {
        "v": 1,
        "batch_id": secrets.token_hex(16),
        "sent_at": now_ms,
        "release": release,
        "environment": "demo",
        "session_id": secrets.token_hex(8),
        "user_id": f"demo-user-{rng.randrange(USERS)}",
        "sdk": "vigil-demo/0.1.0",
        "events": events[:MAX_EVENTS],
    }
    return body, {"User-Agent": browser.user_agent, COUNTRY_HEADER: _pick(rng, experience.COUNTRIES)}


def generate(
    send: Callable[[dict[str, object], dict[str, str]], int],
    stop: threading.Event,
    *,
    interval: float = 0.7,
    seed: int | None = None,
    calls: Callable[[int], list[dict[str, object]]] | None = None,
    report: Callable[[list[dict[str, object]], dict[str, str]], object] | None = None,
    rollout_ms: int = ROLLOUT_MS,
) -> int:
    """Send batches every ``interval`` seconds until ``stop``; returns how many were accepted.

    ``calls`` makes a visit's calls to the shop's backends and returns those that failed;
    ``report`` sends what the browser itself reports (NEL) when the vendor's tracking call timed out.
    """
    rng = random.Random(seed)
    accepted = 0
    began_ms = time.time_ns() // 1_000_000
    while not stop.is_set():
        now_ms = time.time_ns() // 1_000_000
        body, headers = batch(rng, now_ms, calls(now_ms) if calls else None, began_ms, rollout_ms)
        status = send(body, headers)
        accepted += status == 202
        timeouts = [e for e in body["events"] if e.get("url") == VENDOR + "/track"]  # type: ignore[attr-defined]
        if report and timeouts:
            report([experience.nel_report(VENDOR, str(e["page_url"]), headers["User-Agent"]) for e in timeouts],
                   headers)  # fmt: skip
        stop.wait(interval if status in {202, 0} or status < 500 else 5.0)
    return accepted


def run(data_dir: Path) -> None:
    """Run until SIGTERM/SIGINT against the collector of ``data_dir``."""
    project = ensure_demo_project(data_dir)
    collector_url = os.environ.get("VIGIL_COLLECTOR_URL") or load(CollectorSettings, "collector", data_dir).url
    url = f"{collector_url}/api/{project.id}/events"
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with httpx.Client(timeout=5.0) as http:

        def send(body: dict[str, object], headers: dict[str, str]) -> int:
            try:
                response = http.post(url, params={"key": project.public_key}, json=body,
                                     headers={**headers, "Origin": SITE})  # fmt: skip
            except httpx.HTTPError:
                return 0
            return response.status_code

        def report(reports: list[dict[str, object]], headers: dict[str, str]) -> None:
            with contextlib.suppress(httpx.HTTPError):
                http.post(f"{collector_url}/api/{project.id}/reports", params={"key": project.public_key},
                          json=reports, headers={**headers, "Content-Type": "application/reports+json"})  # fmt: skip

        def send_probes(body: bytes) -> int:
            try:
                response = http.post(f"{collector_url}/api/{project.id}/probes", content=body,
                                     headers={"Authorization": f"Bearer {project.secret_token}"})  # fmt: skip
            except httpx.HTTPError:
                return 0
            return response.status_code

        machines = threading.Thread(target=fleet.report, args=(send_probes, stop), name="demo-fleet", daemon=True)
        machines.start()
        generate(send, stop, calls=lambda now_ms: failed_calls(http, now_ms), report=report)
        machines.join(10)
