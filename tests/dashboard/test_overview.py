"""The overview page in real Chromium, fed by a real analytics service through a real collector."""

from __future__ import annotations

import re
import time

import pytest

from contracts.read_api import ReadClient
from tests.collector.test_routes import batch, post
from tests.conftest import _service
from tests.dashboard.conftest import grid_rows
from tests.helpers import wait_until

pytestmark = pytest.mark.browser


def send_errors(http, collector, project, analytics, messages: list[tuple[str, str]]) -> None:
    now = int(time.time() * 1000)
    events = [
        {"type": "error", "event_id": f"e{n}", "ts": now - n, "page_url": "https://shop.example/",
         "error_type": error_type, "message": message}
        for n, (error_type, message) in enumerate(messages)
    ]  # fmt: skip
    assert post(http, collector, project, batch(events=events, sent_at=now)).status_code == 202
    with ReadClient(analytics.url) as client:
        wait_until(lambda: client.query("projects").rows, timeout=10, what="stored errors")


def test_overview_shows_volume_types_and_messages(page, http, collector, analytics, dashboard, demo_project):
    send_errors(http, collector, demo_project, analytics,
                [("TypeError", "boom 42")] * 3 + [("ReferenceError", "nope is not defined")])  # fmt: skip

    page.goto(f"{dashboard.url}/?project=demo&range=1h")
    table = page.locator("#overview-messages")
    table.get_by_text("boom 42").wait_for(timeout=15_000)

    cells = grid_rows(page, "overview-messages")[0]
    assert cells[:5] == ["boom 42", "TypeError", "3", "1", "1"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[5])
    assert page.locator("#overview-kpis .value").first.inner_text() == "4"
    # No page views yet: no rate, and the page views lead to the traffic.
    assert page.locator("#overview-kpis .value").all_inner_texts()[4:] == ["—", "0"]
    assert page.locator("#overview-kpis a.value").get_attribute("href") == "/traffic?project=demo&range=1h"
    assert page.locator("#overview-by-type").get_by_text("ReferenceError").count() >= 1
    assert page.locator("#overview-per-minute .bars path").count() >= 1

    # A message opens the issue it belongs to.
    table.get_by_role("link", name="boom 42").click()
    page.wait_for_url("**/issues/*?range=1h", timeout=15_000)
    page.locator("#issue-header").get_by_text("TypeError: boom 42").wait_for(timeout=15_000)


def test_the_view_is_linkable_and_filters_rewrite_the_url(page, http, collector, analytics, dashboard, demo_project):
    send_errors(http, collector, demo_project, analytics, [("TypeError", "boom")])

    page.goto(f"{dashboard.url}/?range=6h")
    page.locator("#overview-messages").get_by_text("boom").wait_for(timeout=15_000)
    assert page.locator("#overview-range input[value='6h']").is_checked()

    page.locator("#overview-range").get_by_text("24 hours").click()
    page.wait_for_url("**/?range=24h", timeout=10_000)


def test_event_text_is_shown_as_text_never_as_html(page, http, collector, analytics, dashboard, demo_project):
    hostile = "<img src=x id=pwned onerror=\"document.title='pwned'\">"
    link = '<a href="https://evil.example/login">Session expired</a>'
    send_errors(http, collector, demo_project, analytics, [(hostile, hostile), (link, "x")])

    page.goto(f"{dashboard.url}/")
    page.locator("#overview-messages").get_by_text(hostile).first.wait_for(timeout=15_000)
    page.locator("#overview-by-type").get_by_text(link).wait_for(timeout=15_000)
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned"
    assert page.locator("#overview-by-type a").count() == 0


def test_an_unreachable_read_api_is_said_plainly(page, data_dir):
    from tests.helpers import free_port

    service = _service(
        "dashboard", data_dir, {"VIGIL_DASHBOARD_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}"}, "/healthz"
    )
    try:
        page.goto(f"{service.url}/")
        notice = page.locator("#overview-notice")
        notice.get_by_text("analytics read API unreachable").wait_for(timeout=15_000)
    finally:
        service.stop()


def test_what_was_not_stored_is_shown_with_its_reason(page, http, collector, analytics, dashboard, demo_project):
    crawler = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    assert post(http, collector, demo_project, batch(), headers=crawler).status_code == 202  # then filtered
    with ReadClient(analytics.url) as client:
        wait_until(lambda: client.query("not_stored", project="demo").rows, timeout=15, what="the filtered outcome")

    page.goto(f"{dashboard.url}/?project=demo&range=1h")
    table = page.locator("#overview-not-stored")
    table.get_by_text("Dropped by the project's inbound filters").wait_for(timeout=15_000)
    assert grid_rows(page, "overview-not-stored")[0][1:4] == ["filtered", "crawler (events)", "1"]


def test_a_range_where_everything_was_stored_says_so(page, http, collector, analytics, dashboard, demo_project):
    send_errors(http, collector, demo_project, analytics, [("TypeError", "fine")])
    page.goto(f"{dashboard.url}/?project=demo&range=1h")
    page.locator("#overview-not-stored-empty").get_by_text("Everything sent in this range was stored").wait_for(
        timeout=15_000
    )
