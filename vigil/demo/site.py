"""A demo shop whose pages embed the beacon; its buttons fail the way real sites do.

Visit it while ``vigil demo`` runs and click: each button raises a different kind of
error in your own browser, which the beacon reports like any other page would.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from collector.settings import CollectorSettings
from contracts.projects import ensure_demo_project
from contracts.settings import load

RELEASE = "shop@1.5.0"

PAGES = {
    "/": "Home",
    "/product/42": "Blue kettle",
    "/cart": "Your cart",
    "/checkout": "Checkout",
}

SCRIPT = """
function addToCart() { var item; return item.price; }
function checkout() { return Promise.reject(new Error("Payment service answered 502")); }
function search() { return undefinedSearchIndex.lookup("kettle"); }
function parse() { return JSON.parse("{not json"); }
document.getElementById("add").onclick = addToCart;
document.getElementById("checkout").onclick = function () { checkout(); };
document.getElementById("search").onclick = search;
document.getElementById("parse").onclick = parse;
"""


def page(path: str, title: str, collector_url: str, project_id: int, key: str) -> str:
    nav = " · ".join(f'<a href="{html.escape(p)}">{html.escape(t)}</a>' for p, t in PAGES.items())
    tag = (
        f'<script async src="{html.escape(collector_url)}/beacon.js" data-project="{project_id}" '
        f'data-key="{html.escape(key)}" data-release="{RELEASE}" data-environment="demo"></script>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · Demo shop</title>{tag}
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}}button{{margin:.3rem}}</style></head>
<body><nav>{nav}</nav><h1>{html.escape(title)}</h1>
<p>Every button below fails in its own way; the beacon reports it to Vigil.</p>
<button id="add">Add to cart (TypeError)</button>
<button id="checkout">Checkout (unhandled rejection)</button>
<button id="search">Search (ReferenceError)</button>
<button id="parse">Load reviews (SyntaxError)</button>
<script src="/app.js"></script></body></html>"""


def create_app(collector_url: str, project_id: int, key: str) -> Starlette:
    async def show(request: Request) -> Response:
        path = request.url.path
        return HTMLResponse(page(path, PAGES.get(path, "Not found"), collector_url, project_id, key))

    async def app_js(request: Request) -> Response:
        return Response(SCRIPT, media_type="application/javascript")

    routes = [Route(path, show) for path in PAGES] + [Route("/app.js", app_js)]
    return Starlette(routes=routes)


def serve(data_dir: Path) -> None:
    project = ensure_demo_project(data_dir)
    collector_url = os.environ.get("VIGIL_COLLECTOR_URL") or load(CollectorSettings, "collector", data_dir).url
    port = int(os.environ.get("VIGIL_DEMO_PORT", "8474"))
    app = create_app(collector_url, project.id, project.public_key)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
