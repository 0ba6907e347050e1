"""Delivery in a real browser: hiding, reloading, the collector away, Retry-After, failover, sessions."""

from __future__ import annotations

import json
import time

import pytest

from contracts import runfiles
from contracts.read_api import ReadClient
from tests.conftest import _service
from tests.e2e.beacon import HIDE, tag
from tests.e2e.beacon import page as html_page
from tests.helpers import free_port, wait_until

pytestmark = pytest.mark.browser


def open_page(pw_page, site, src: str, project, script: str = "", path: str = "/app", **attrs: object) -> None:
    site.pages[path] = html_page(tag(src, project, **attrs), "", script)
    pw_page.goto(f"{site.url}{path}")


def test_hiding_the_page_sends_what_is_queued(page, site, collector, demo_project, received):
    open_page(
        page,
        site,
        f"{collector.url}/beacon.js",
        demo_project,
        "setTimeout(() => { throw new Error('before hide'); }, 0);",
    )
    page.wait_for_timeout(200)
    assert received.events() == []  # batched, not sent yet
    page.evaluate(HIDE)

    (event,) = received.wait("error", timeout=3)
    assert event.message == "before hide"


def test_leaving_the_page_sends_what_is_queued(page, site, collector, demo_project, received):
    open_page(
        page,
        site,
        f"{collector.url}/beacon.js",
        demo_project,
        "setTimeout(() => { throw new Error('before unload'); }, 0);",
    )
    page.wait_for_timeout(200)
    page.goto("about:blank")

    (event,) = received.wait("error", timeout=3)
    assert event.message == "before unload"


def test_events_survive_the_collector_being_down_across_a_reload(
    page, site, data_dir, demo_project, redis_url, received, http, analytics
):
    port = free_port()
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_PORT": str(port)}
    collector = _service("collector", data_dir, env, "/healthz", port)
    src = f"{collector.url}/beacon.js"
    site.pages["/beacon.js"] = http.get(src).text  # the page keeps its beacon while the collector is away
    collector.stop()

    script = "setTimeout(() => { throw new Error('offline ' + location.search); }, 0);"
    site.pages["/app"] = html_page(
        tag(f"{site.url}/beacon.js", demo_project, endpoint=f"http://127.0.0.1:{port}"), "", script
    )
    page.goto(f"{site.url}/app?n=1")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")  # fails: nobody listens
    page.wait_for_timeout(300)
    page.goto(f"{site.url}/app?n=2")  # the reload's unload flush fails too
    page.wait_for_timeout(300)
    stored = json.loads(page.evaluate("JSON.stringify(Object.keys(localStorage))"))
    assert any(k.startswith("vigil.outbox") for k in stored)

    collector = _service("collector", data_dir, env, "/healthz", port)
    try:
        page.goto(f"{site.url}/app?n=3")  # the next load sends the outbox
        page.wait_for_timeout(300)
        page.evaluate("vigil.flush()")
        received.wait("error", 3, timeout=15)
        time.sleep(2)  # anything else on its way arrives too
    finally:
        collector.stop()

    # A page left while its send was in flight may have delivered a batch that its outbox
    # still holds; the next page load sends it again, with the same ids, and it is stored once.
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        rows = wait_until(
            lambda: (r := client.sql("SELECT message, count(*) FROM errors GROUP BY ALL").rows) and r[0][1] >= 3 and r,
            timeout=10,
            what="three stored errors",
        )
    assert rows == [["offline ?n=[redacted]", 3]]


def test_the_next_collector_takes_over_when_the_first_is_unreachable(page, site, collector, demo_project, received):
    dead = f"http://127.0.0.1:{free_port()}"
    open_page(page, site, f"{collector.url}/beacon.js", demo_project, endpoint=f"{dead},{collector.url}")
    page.evaluate("vigil.captureError(new Error('failover'))")
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error", timeout=15)
    assert event.message == "failover"


def test_the_session_lasts_across_loads_and_ends_after_30_minutes_idle(page, site, collector, demo_project, received):
    src = f"{collector.url}/beacon.js"
    open_page(page, site, src, demo_project, "vigil.captureError(new Error('one')); vigil.flush();")
    page.wait_for_timeout(300)
    page.reload()
    page.wait_for_timeout(300)
    session = json.loads(page.evaluate("localStorage.getItem('vigil.session')"))
    session["last"] -= 31 * 60 * 1000
    page.evaluate(f"localStorage.setItem('vigil.session', {json.dumps(json.dumps(session))})")
    page.reload()
    page.wait_for_timeout(300)

    entries = received.entries()
    ids = [
        e.batch.session_id
        for e in entries
        if any(ev.message == "one" for ev in e.batch.events if hasattr(ev, "message"))
    ]
    received.wait("error", 3)
    ids = [e.batch.session_id for e in received.entries() if e.batch.events[0].__struct_config__.tag == "error"]
    assert len(ids) == 3
    assert ids[0] == ids[1] != ids[2]


def test_an_unsampled_session_sends_only_errors(page, site, collector, demo_project, received):
    open_page(
        page,
        site,
        f"{collector.url}/beacon.js",
        demo_project,
        "setTimeout(() => { throw new Error('still sent'); }, 0);",
        sample_rate=0,
    )
    page.wait_for_timeout(500)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error")
    assert event.message == "still sent"
    assert {type(e).__struct_config__.tag for e in received.quiet(0.5)} == {"error"}


def test_an_error_sample_rate_of_zero_sends_no_errors(page, site, collector, demo_project, received):
    open_page(
        page,
        site,
        f"{collector.url}/beacon.js",
        demo_project,
        "setTimeout(() => { throw new Error('dropped'); }, 0);",
        error_sample_rate=0,
    )
    page.wait_for_timeout(500)
    page.evaluate("vigil.flush()")

    received.wait("pageview")
    assert received.events("error") == []


def test_errors_while_the_browser_is_offline_are_sent_when_it_is_back(page, site, collector, demo_project, received):
    open_page(page, site, f"{collector.url}/beacon.js", demo_project)
    page.wait_for_timeout(300)
    page.context.set_offline(True)
    page.evaluate("vigil.captureError(new Error('offline one')); vigil.captureError(new Error('offline two'))")
    page.evaluate("vigil.flush()")
    page.wait_for_timeout(500)
    assert received.events("error") == []

    page.context.set_offline(False)
    page.evaluate("vigil.flush()")
    events = received.wait("error", 2, timeout=15)
    assert sorted(e.message for e in events) == ["offline one", "offline two"]
    received.quiet(1.0)
    assert len(received.events("error")) == 2  # each once
