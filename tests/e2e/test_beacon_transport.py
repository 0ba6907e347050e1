"""Delivery in a real browser against collectors that misbehave: Retry-After across page loads,
a primary that never answers or answers 404, two tabs while the collector is away, a hidden
page with more than the keepalive budget."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.scripts import DIST
from tests.browser import Reply
from tests.e2e.beacon import HIDE, tag
from tests.e2e.beacon import page as html_page
from tests.helpers import free_port, wait_until

pytestmark = pytest.mark.browser


class FakeCollector:
    """A collector on 127.0.0.1 that answers as told and records every request body it gets.

    ``answers`` is consumed one per request (status, headers); when empty, 202. With ``hang``
    set, requests are accepted and never answered (until the server stops, at most 60 s).
    """

    def __init__(self) -> None:
        self.posts: list[tuple[float, dict[str, object]]] = []  # (time.monotonic(), batch)
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.hang = False
        self.released = threading.Event()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

        async def events(request: Request) -> Response:
            body = await request.body()
            self.posts.append((time.monotonic(), json.loads(body)))
            if self.hang:
                for _ in range(600):
                    if self.released.is_set():
                        break
                    await asyncio.sleep(0.1)
            status, headers = self.answers.pop(0) if self.answers else (202, {})
            cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After"}
            return Response("{}", status, headers={**cors, **headers}, media_type="application/json")

        app = Starlette(routes=[Route("/api/{project}/events", events, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def messages(self) -> list[str]:
        return [str(e.get("message")) for _, batch in self.posts for e in batch["events"] if e["type"] == "error"]  # type: ignore[attr-defined, union-attr]

    def __enter__(self) -> FakeCollector:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=10, what="the fake collector")
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def fake() -> Iterator[FakeCollector]:
    with FakeCollector() as collector:
        yield collector


def outboxes(pw_page) -> list[dict[str, object]]:
    stored = json.loads(pw_page.evaluate("JSON.stringify(localStorage)"))
    return [json.loads(v) for k, v in stored.items() if k.startswith("vigil.outbox.")]


def serve_beacon(site) -> str:
    """The built beacon, served by the test site (so a page needs no real collector)."""
    site.pages["/beacon.js"] = Reply((DIST / "vigil.js").read_text(), content_type="application/javascript")
    return f"{site.url}/beacon.js"


def test_retry_after_holds_across_hiding_and_page_loads(page, site, fake, demo_project):
    fake.answers = [(503, {"Retry-After": "4"})]
    site.pages["/app"] = html_page(tag(serve_beacon(site), demo_project, endpoint=fake.url))
    page.goto(f"{site.url}/app?n=1")
    page.evaluate("vigil.captureError(new Error('during 503')); vigil.flush()")
    wait_until(lambda: fake.posts, timeout=5, what="the first send")
    first = fake.posts[0][0]

    # Hidden, then two more page loads, all within Retry-After: nothing is sent.
    page.evaluate(HIDE)
    page.goto(f"{site.url}/app?n=2")
    page.evaluate("vigil.captureError(new Error('second page')); vigil.flush()")
    page.goto(f"{site.url}/app?n=3")
    page.evaluate("vigil.flush()")
    time.sleep(max(0, first + 3.5 - time.monotonic()))
    assert len(fake.posts) == 1

    # After it: one body at a time (a probe), then the rest; everything arrives.
    wait_until(lambda: {"during 503", "second page"} <= set(fake.messages()), timeout=15, what="the retries")
    assert fake.posts[1][0] - first >= 4
    wait_until(
        lambda: outboxes(page) and not any(box["q"] for box in outboxes(page)), timeout=5, what="an empty outbox"
    )


def test_a_primary_that_never_answers_gives_way_to_the_next(page, site, fake, collector, demo_project, received):
    fake.hang = True
    site.pages["/app"] = html_page(tag(serve_beacon(site), demo_project, endpoint=f"{fake.url},{collector.url}"))
    page.goto(f"{site.url}/app")
    page.evaluate("vigil.captureError(new Error('primary hangs')); vigil.flush()")

    (event,) = received.wait("error", timeout=20)  # a send times out after 10 s
    assert event.message == "primary hangs"
    assert fake.messages() == ["primary hangs"]
    # the next page load starts with the collector that answered
    page.reload()
    page.evaluate("vigil.captureError(new Error('after reload')); vigil.flush()")
    received.wait("error", 2, timeout=5)
    assert fake.messages() == ["primary hangs"]


def test_a_primary_answering_404_gives_way_to_the_next(page, site, fake, collector, demo_project, received):
    fake.answers = [(404, {})] * 5
    site.pages["/app"] = html_page(tag(serve_beacon(site), demo_project, endpoint=f"{fake.url},{collector.url}"))
    page.goto(f"{site.url}/app")
    page.evaluate("vigil.captureError(new Error('primary 404')); vigil.flush()")

    (event,) = received.wait("error", timeout=10)
    assert event.message == "primary 404"
    assert len(fake.posts) == 1  # not retried against the same URL


def test_two_tabs_keep_everything_while_the_collector_is_away(page, site, collector, demo_project, received):
    away = f"http://127.0.0.1:{free_port()}"
    site.pages["/app"] = html_page(tag(serve_beacon(site), demo_project, endpoint=away))
    tabs = [page, page.context.new_page()]
    for tab in tabs:
        tab.goto(f"{site.url}/app")
    burst = """async (tab) => { for (let i = 0; i < 20; i++) {
        vigil.captureError(new Error('tab ' + tab + ' #' + i)); vigil.flush();
        await new Promise(r => setTimeout(r, 10 + Math.random() * 20)); } }"""
    # Interleaved, as two tabs of a site would write: start both, then wait for both.
    for i, tab in enumerate(tabs):
        tab.evaluate(f"void (window.burst = ({burst})({i}))")
    for tab in tabs:
        tab.evaluate("window.burst")
    tabs[1].wait_for_timeout(300)

    stored = json.loads(page.evaluate("JSON.stringify(localStorage)"))
    outboxes = {k: json.loads(v) for k, v in stored.items() if k.startswith(f"vigil.outbox.{demo_project.id}.")}
    assert len(outboxes) == 2  # one per tab
    messages = {
        e.get("message", "") for box in outboxes.values() for body in box["q"] for e in json.loads(body)["events"]
    }
    assert len({m for m in messages if m.startswith("tab ")}) == 40

    # Both tabs close; later the site is visited again with the collector reachable. The
    # tabs' outboxes have not been touched for a minute (made so here): taken over and sent.
    for tab in tabs[1:]:
        tab.close()
    for key, box in outboxes.items():
        box["t"] -= 61_000
        page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(box)])
    site.pages["/app"] = html_page(tag(serve_beacon(site), demo_project, endpoint=collector.url))
    page.goto("about:blank")
    page.context.new_page().goto(f"{site.url}/app")  # a new tab: its own, new outbox

    events = received.wait("error", 40, timeout=20, where=lambda e: e.message.startswith("tab "))
    assert len({e.event_id for e in events}) == 40


def test_hiding_with_more_than_the_keepalive_budget_delivers_everything(page, site, collector, demo_project, received):
    site.pages["/app"] = html_page(tag(serve_beacon(site), demo_project, endpoint=collector.url))
    page.goto(f"{site.url}/app")
    # About 100 KB of errors: two bodies, more than sendBeacon and keepalive may carry at once.
    page.evaluate("for (let i = 0; i < 12; i++) vigil.captureError(new Error('big ' + i + ' ' + 'y'.repeat(8000)))")
    page.evaluate(HIDE)

    events = received.wait("error", 12, timeout=15)
    assert len({e.event_id for e in events}) == 12
    # the collector was never marked as failing: nothing waits for a retry
    assert all(box["a"] == 0 for box in outboxes(page))
