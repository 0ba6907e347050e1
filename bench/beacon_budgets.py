"""The beacon's budgets, measured in headless Chromium: size, cost of one error, work at page load.

Run by hand (not a test): ``.venv/bin/python bench/beacon_budgets.py``. Every figure is measured in
one run, side by side with a page that has no beacon, because this machine is shared and
absolute times drift while ratios hold.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import threading
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "beacon-js" / "dist"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
ROUNDS = 400

# A collector stand-in that answers 202 to everything: the bench measures the page, not the server.
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script>window.__t0 = performance.now();</script>
{beacon}
<script>window.__t1 = performance.now();
window.__long = []; new PerformanceObserver(l => l.getEntries().forEach(e => __long.push(e.duration)))
  .observe({{type: 'longtask', buffered: true}});</script>
</head><body><h1>Bench</h1><button id="b">b</button></body></html>"""


def serve(port: int) -> uvicorn.Server:
    vigil_js = (DIST / "vigil.js").read_bytes()

    async def page(request):  # type: ignore[no-untyped-def]
        with_beacon = request.query_params.get("beacon") == "1"
        tag = (
            f'<script src="/beacon.js" data-project="1" data-key="k" data-endpoint="http://127.0.0.1:{port}"></script>'
        )
        return HTMLResponse(PAGE.format(beacon=tag if with_beacon else ""))

    async def beacon(request):  # type: ignore[no-untyped-def]
        return Response(vigil_js, media_type="application/javascript")

    async def events(request):  # type: ignore[no-untyped-def]
        await request.body()
        return Response(b'{"accepted":1}', 202, headers={"Access-Control-Allow-Origin": "*"})

    app = Starlette(
        routes=[Route("/", page), Route("/beacon.js", beacon), Route("/api/1/events", events, methods=["POST"])]
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        threading.Event().wait(0.05)
    return server


# Each round throws a real error through the page's event loop: a dispatched ErrorEvent
# reaches every window error listener (the beacon's among them) synchronously, so the
# time around dispatchEvent is the main-thread cost of capturing it.
MEASURE = """(rounds) => {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const error = new TypeError('bench ' + i);
    const event = new ErrorEvent('error', {
      error, message: error.message, filename: location.href, lineno: 1, colno: i + 1, cancelable: true,
    });
    const t = performance.now();
    window.dispatchEvent(event);
    times.push(performance.now() - t);
  }
  return times;
}"""


def error_cost(page: Page, url: str) -> list[float]:
    page.goto(url)
    page.wait_for_load_state("load")
    # Distinct messages, so the beacon's dedupe does not skip the work; its per-minute cap
    # still applies after 30, which is why the median is the figure (most rounds are capped).
    return list(page.evaluate(MEASURE, ROUNDS))


def first_error_costs(browser, url: str, runs: int = 30) -> list[float]:  # type: ignore[no-untyped-def]
    """The cost of the first (uncapped, fully processed) error on a fresh page, many times."""
    costs = []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("load")
        costs.append(page.evaluate(MEASURE, 1)[0])
        context.close()
    return costs


def load_cost(browser, url: str, runs: int = 20) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """(time to parse and run the beacon's script, long tasks) over fresh page loads."""
    evaluate, long_tasks = [], []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)
        evaluate.append(page.evaluate("__t1 - __t0"))
        long_tasks.extend(page.evaluate("__long"))
        context.close()
    return evaluate, long_tasks


def main() -> int:
    raw = (DIST / "vigil.js").read_bytes()
    loader = (DIST / "loader.js").read_bytes()
    size, loader_size = len(gzip.compress(raw, 9)), len(gzip.compress(loader, 9))
    print(f"size: vigil.js {len(raw)} B, {size} B gzipped (budget 8192)")
    print(f"      loader.js {len(loader)} B, {loader_size} B gzipped (budget 1024)")

    from tests.helpers import free_port

    port = free_port()
    server = serve(port)
    base = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
            first_with = first_error_costs(browser, base + "?beacon=1")
            first_without = first_error_costs(browser, base + "?beacon=0")
            page = browser.new_page()
            with_beacon = error_cost(page, base + "?beacon=1")
            without = error_cost(page, base + "?beacon=0")
            eval_with, long_with = load_cost(browser, base + "?beacon=1")
            eval_without, long_without = load_cost(browser, base + "?beacon=0")
            browser.close()
    finally:
        server.should_exit = True

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values):.3f} ms, p90 {statistics.quantiles(values, n=10)[-1]:.3f} ms"

    cost = statistics.median(first_with) - statistics.median(first_without)
    print(f"first error on a fresh page ({len(first_with)} pages): with beacon {ms(first_with)}")
    print(f"  without beacon {ms(first_without)}")
    print(f"  the beacon's cost of capturing one error: {cost:.3f} ms (difference of medians)")
    print(f"{ROUNDS} errors in a row: with beacon {ms(with_beacon)}; without {ms(without)}")
    print(f"parsing and running the script at load (20 loads): with beacon {ms(eval_with)}; without {ms(eval_without)}")
    print(f"long tasks (> 50 ms) during load: with beacon {len(long_with)}, without {len(long_without)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
