"""A demo shop whose pages embed the beacon; its buttons fail the way real sites do, and its backend can be broken.

Visit it while ``vigil demo`` runs and click: each button raises a different kind of
error in your own browser, which the beacon reports like any other page would.

The shop has an API (``/api/cart``, ``/api/health``: the service ``demo-api`` that
``vigil demo`` declares, watched by the demo's probe agents) and loads a widget from a
third party (``/widget.js`` on the next port, a host of its own: not declared, so a third
party to correlation). ``vigil demo break backend`` (or ``vendor``) makes one of them
answer 503 for a while, through ``run/demo-break.json`` in the data directory: the demo
traffic, and any browser on the pages, then see what users see when it fails.

The demo's probe regions check its home page with ``?probe=REGION``: the region ``demo-eu``
sees it slow two minutes in every ten (``slow_for``), so the Checks page has a slowdown in one
region to show in its phase timings.

It also stands in for the people Vigil alerts: a mailbox (an SMTP server on the port after
the third party's, plain SMTP on loopback) keeps each e-mail in ``run/demo-mail/``, and
``POST /hooks/alerts`` keeps each webhook's JSON as a line of ``run/demo-webhooks.jsonl``.
``vigil demo`` points the demo project's alert channels at them (docs/alerts.md, On the demo).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import threading
import time
from pathlib import Path

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from collector.settings import CollectorSettings
from contracts import runfiles
from contracts.projects import ensure_demo_project
from contracts.settings import ConfigError, load
from vigil.self_probe import DEMO_REGIONS

RELEASE = "shop@1.5.0"

PAGES = {
    "/": "Home",
    "/product/42": "Blue kettle",
    "/cart": "Your cart",
    "/checkout": "Checkout",
}

#: What ``vigil demo break`` can break, and what that is.
PARTS = {"backend": "the demo shop's API (/api/…)", "vendor": "the third-party widget host"}
BREAK_FILE = "demo-break.json"
MAX_BREAK_SECONDS = 3600


MAIL_DIR = "demo-mail"
HOOKS_FILE = "demo-webhooks.jsonl"
#: The most a webhook's body or an e-mail may weigh to be kept.
MAX_MESSAGE_BYTES = 1_000_000


def vendor_port(demo_port: int) -> int:
    """The third party's port: the one after the shop's."""
    return demo_port + 1


def mail_port(demo_port: int) -> int:
    """The demo mailbox's SMTP port: the one after the third party's."""
    return demo_port + 2


class Mailbox:
    """aiosmtpd's handler: each message accepted is kept as a file of ``folder`` (``<ns>.eml``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        raw = envelope.original_content or b""
        runfiles.write_private(self.folder / f"{time.time_ns()}.eml", raw.decode("utf-8", "replace"))
        return "250 kept in the demo mailbox"


def received_mail(data_dir: Path) -> list[Path]:
    """The demo mailbox's messages, the oldest first."""
    return sorted((data_dir / "run" / MAIL_DIR).glob("*.eml"))


def received_webhooks(data_dir: Path) -> list[dict[str, object]]:
    """The webhooks the demo received, the oldest first (a line still being written is left for the next look)."""
    try:
        lines = (data_dir / "run" / HOOKS_FILE).read_text().split("\n")[:-1]
    except OSError:
        return []
    return [json.loads(line) for line in lines if line]


def break_part(data_dir: Path, part: str, seconds: float) -> float:
    """Make ``part`` answer 503 for ``seconds`` (0 mends it); returns until when (epoch seconds)."""
    if part not in PARTS:
        raise ConfigError(f"nothing called {part[:40]!r} to break: {', '.join(PARTS)}")
    if not 0 <= seconds <= MAX_BREAK_SECONDS:
        raise ConfigError(f"--seconds: from 0 to {MAX_BREAK_SECONDS}")
    until = time.time() + seconds
    runfiles.write_private(data_dir / "run" / BREAK_FILE, json.dumps({**_breaks(data_dir), part: until}))
    return until


def _breaks(data_dir: Path) -> dict[str, float]:
    try:
        found = json.loads((data_dir / "run" / BREAK_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in found.items() if k in PARTS and isinstance(v, int | float)}


def broken(data_dir: Path, part: str) -> bool:
    return _breaks(data_dir).get(part, 0.0) > time.time()


SCRIPT = """
function addToCart() { var item; return item.price; }
function checkout() { return Promise.reject(new Error("Payment service answered 502")); }
function search() { return undefinedSearchIndex.lookup("kettle"); }
function parse() { return JSON.parse("{not json"); }
document.getElementById("add").onclick = addToCart;
document.getElementById("checkout").onclick = function () { checkout(); };
document.getElementById("search").onclick = search;
document.getElementById("parse").onclick = parse;
fetch("/api/cart").catch(function () {});
"""


def page(path: str, title: str, collector_url: str, project_id: int, key: str, vendor_url: str = "") -> str:
    nav = " · ".join(f'<a href="{html.escape(p)}">{html.escape(t)}</a>' for p, t in PAGES.items())
    tag = (
        f'<script async src="{html.escape(collector_url)}/beacon.js" data-project="{project_id}" '
        f'data-key="{html.escape(key)}" data-release="{RELEASE}" data-environment="demo"></script>'
    )
    widget = f'<script async src="{html.escape(vendor_url)}/widget.js"></script>' if vendor_url else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · Demo shop</title>{tag}
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}}button{{margin:.3rem}}</style></head>
<body><nav>{nav}</nav><h1>{html.escape(title)}</h1>
<p>Every button below fails in its own way; the beacon reports it to Vigil.</p>
<button id="add">Add to cart (TypeError)</button>
<button id="checkout">Checkout (unhandled rejection)</button>
<button id="search">Search (ReferenceError)</button>
<button id="parse">Load reviews (SyntaxError)</button>
<script src="/app.js"></script>{widget}</body></html>"""


#: The probe region that sees the shop slow now and then: two minutes in every ten, its pages take
#: ``SLOW_SECONDS`` longer to answer it (still under the checks' latency limit: slow, not down).
SLOW_REGION = DEMO_REGIONS[0]
SLOW_SECONDS = 0.8


def slow_for(region: str, now: float) -> bool:
    return region == SLOW_REGION and int(now // 60) % 10 in (4, 5)


def create_app(collector_url: str, project_id: int, key: str, data_dir: Path, vendor_url: str = "") -> Starlette:
    async def show(request: Request) -> Response:
        path = request.url.path
        if slow_for(request.query_params.get("probe", ""), time.time()):
            await asyncio.sleep(SLOW_SECONDS)
        return HTMLResponse(page(path, PAGES.get(path, "Not found"), collector_url, project_id, key, vendor_url))

    async def app_js(request: Request) -> Response:
        return Response(SCRIPT, media_type="application/javascript")

    async def api(request: Request) -> Response:
        if broken(data_dir, "backend"):
            return JSONResponse({"error": "the demo backend is broken (vigil demo break)"}, status_code=503)
        if request.url.path == "/api/health":
            return JSONResponse({"status": "ok"})
        return JSONResponse({"items": [{"name": "Blue kettle", "price": 39}]})

    async def hook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_MESSAGE_BYTES:
            return JSONResponse({"error": f"body longer than {MAX_MESSAGE_BYTES} bytes"}, status_code=413)
        try:
            sent = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "expected a JSON body"}, status_code=400)
        (data_dir / "run").mkdir(parents=True, exist_ok=True)
        with (data_dir / "run" / HOOKS_FILE).open("a") as kept:
            kept.write(json.dumps(sent) + "\n")
        return JSONResponse({"kept": True})

    routes = [Route(path, show) for path in PAGES] + [Route("/app.js", app_js)]
    routes += [Route("/api/cart", api), Route("/api/health", api), Route("/hooks/alerts", hook, methods=["POST"])]
    return Starlette(routes=routes)


def create_vendor(data_dir: Path) -> Starlette:
    """The third party: a widget script on a host of its own."""

    async def widget(request: Request) -> Response:
        if broken(data_dir, "vendor"):
            return Response("vendor outage (vigil demo break vendor)", status_code=503)
        return Response("/* a third party's widget */", media_type="application/javascript")

    return Starlette(routes=[Route("/widget.js", widget)])


def serve(data_dir: Path) -> None:
    project = ensure_demo_project(data_dir)
    collector_url = os.environ.get("VIGIL_COLLECTOR_URL") or load(CollectorSettings, "collector", data_dir).url
    port = int(os.environ.get("VIGIL_DEMO_PORT", "8474"))
    vendor = uvicorn.Server(uvicorn.Config(create_vendor(data_dir), host="127.0.0.1", port=vendor_port(port),
                                           log_level="warning"))  # fmt: skip
    # The vendor in a thread of its own: uvicorn takes the signals only in the main thread, where the shop runs.
    thread = threading.Thread(target=vendor.run, name="demo-vendor", daemon=True)
    thread.start()
    mailbox = Controller(Mailbox(data_dir / "run" / MAIL_DIR), hostname="127.0.0.1", port=mail_port(port),
                         data_size_limit=MAX_MESSAGE_BYTES)  # fmt: skip
    mailbox.start()
    app = create_app(collector_url, project.id, project.public_key, data_dir, f"http://127.0.0.1:{vendor_port(port)}")
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        mailbox.stop()
        vendor.should_exit = True
        thread.join(10)
