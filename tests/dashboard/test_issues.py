"""The issues page in real Chromium, fed by a real analytics service through a real collector."""

from __future__ import annotations

import re
import time

import pytest

from contracts.read_api import ReadClient
from tests.collector.test_routes import batch, post
from tests.helpers import wait_until

pytestmark = pytest.mark.browser

TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def send_errors(http, collector, project, analytics, messages: list[tuple[str, str]], issues: int) -> dict[str, int]:
    """Errors from one user in release shop@1.2; waits for ``issues`` issues and returns their ids by title."""
    now = int(time.time() * 1000)
    events = [
        {"type": "error", "event_id": f"e{n}", "ts": now - n, "page_url": "https://shop.example/",
         "error_type": error_type, "message": message}
        for n, (error_type, message) in enumerate(messages)
    ]  # fmt: skip
    body = batch(events=events, release="shop@1.2", user_id="u1", session_id="s1", sent_at=now)
    assert post(http, collector, project, body).status_code == 202
    with ReadClient(analytics.url) as client:
        rows = wait_until(
            lambda: (found := client.query("issues").rows) and len(found) == issues and found,
            timeout=10,
            what=f"{issues} issues",
        )
    return {row[2]: row[0] for row in rows}


def test_issues_show_their_counts_people_and_release(page, http, collector, analytics, dashboard, demo_project):
    send_errors(http, collector, demo_project, analytics,
                [("TypeError", "boom 42")] * 3 + [("ReferenceError", "nope is not defined")], issues=2)  # fmt: skip

    page.goto(f"{dashboard.url}/issues?project=demo&range=1h")
    table = page.locator("#issues-table")
    table.get_by_text("TypeError: boom 42").wait_for(timeout=15_000)

    rows = [table.locator("tr").nth(n).locator("td").all_inner_texts() for n in (1, 2)]
    assert [row[:5] + row[7:] for row in rows] == [
        ["TypeError: boom 42", "", "unresolved", "3", "1", "shop@1.2"],
        ["ReferenceError: nope is not defined", "", "unresolved", "1", "1", "shop@1.2"],
    ]
    assert all(re.fullmatch(TIME, cell) for row in rows for cell in row[5:7])
    assert (
        page.locator("#issues-detail-hint").inner_text() == "Select an issue in the table to see its events over time."
    )
    # Status is read-only: the dashboard holds no token for POST /v1/issues/{id}/status.
    assert page.get_by_role("button", name=re.compile("resolve|ignore", re.IGNORECASE)).count() == 0


def test_clicking_an_issue_shows_its_trend_and_puts_it_in_the_url(
    page, http, collector, analytics, dashboard, demo_project
):
    ids = send_errors(http, collector, demo_project, analytics,
                      [("TypeError", "boom")] * 2 + [("RangeError", "too far")], issues=2)  # fmt: skip

    page.goto(f"{dashboard.url}/issues")
    page.locator("#issues-table").get_by_text("RangeError: too far").click()

    page.wait_for_url(f"**/issues?range=1h&issue={ids['RangeError: too far']}", timeout=10_000)
    page.locator("#issues-detail-title").get_by_text("RangeError: too far").wait_for(timeout=10_000)
    bars = page.locator("#issues-trend .bars path")  # a minute's bar over hours is too thin to be "visible"
    wait_until(lambda: bars.count() >= 1, timeout=10, what="the issue's trend")
    assert page.locator("#issues-detail-hint").inner_text() == ""


def test_an_issue_link_opens_its_trend_and_the_status_filter_applies(
    page, http, collector, analytics, dashboard, demo_project
):
    ids = send_errors(http, collector, demo_project, analytics, [("TypeError", "boom")], issues=1)

    page.goto(f"{dashboard.url}/issues?range=6h&issue={ids['TypeError: boom']}")
    page.locator("#issues-detail-title").get_by_text("TypeError: boom").wait_for(timeout=15_000)
    bars = page.locator("#issues-trend .bars path")  # a minute's bar over hours is too thin to be "visible"
    wait_until(lambda: bars.count() >= 1, timeout=10, what="the issue's trend")
    assert page.locator("#issues-range input[value='6h']").is_checked()

    page.goto(f"{dashboard.url}/issues?status=resolved")
    page.locator("#issues-empty").get_by_text("No issues with events in this range yet.").wait_for(timeout=15_000)
    assert page.locator("#issues-table td").count() == 0


def test_an_empty_service_reads_well(page, analytics, dashboard):
    page.goto(f"{dashboard.url}/issues")
    page.locator("#issues-empty").get_by_text("No issues with events in this range yet.").wait_for(timeout=15_000)
    assert page.locator("#issues-notice").inner_text() == ""
    assert page.locator("#issues-trend").is_hidden()


def test_issue_text_is_shown_as_text_never_as_html(page, http, collector, analytics, dashboard, demo_project):
    hostile = "<img src=x id=pwned onerror=\"document.title='pwned'\">"
    ids = send_errors(http, collector, demo_project, analytics, [("Error", hostile)], issues=1)
    (issue_id,) = ids.values()

    page.goto(f"{dashboard.url}/issues?issue={issue_id}")
    page.locator("#issues-table").get_by_text(hostile).wait_for(timeout=15_000)
    page.locator("#issues-detail-title").get_by_text(hostile).wait_for(timeout=15_000)
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned"
