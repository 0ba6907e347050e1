"""The issues page in real Chromium, fed by a real analytics service through a real collector."""

from __future__ import annotations

import re
import time

import pytest

from contracts.read_api import ReadClient
from tests.collector.test_routes import batch, post
from tests.dashboard.conftest import grid_rows
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

    rows = grid_rows(page, "issues-table")
    assert [row[:5] + row[7:] for row in rows] == [  # most events first
        ["TypeError: boom 42", "", "unresolved", "3", "1", "shop@1.2"],
        ["ReferenceError: nope is not defined", "", "unresolved", "1", "1", "shop@1.2"],
    ]
    assert all(re.fullmatch(TIME, cell) for row in rows for cell in row[5:7])
    # Every title is a real link to its issue's page.
    assert (
        table.get_by_role("link", name="TypeError: boom 42").get_attribute("href", timeout=5_000).startswith("/issues/")
    )


def test_an_issue_title_opens_the_issues_page(page, http, collector, analytics, dashboard, demo_project):
    ids = send_errors(http, collector, demo_project, analytics,
                      [("TypeError", "boom")] * 2 + [("RangeError", "too far")], issues=2)  # fmt: skip

    page.goto(f"{dashboard.url}/issues?range=6h")
    page.locator("#issues-table").get_by_role("link", name="RangeError: too far").click()
    page.wait_for_url(f"**/issues/{ids['RangeError: too far']}?range=6h", timeout=10_000)
    page.locator("#issue-header").get_by_text("RangeError: too far").wait_for(timeout=15_000)
    assert page.locator("#issue-range input[value='6h']").is_checked()
    bars = page.locator("#issue-trend .bars path")
    wait_until(lambda: bars.count() >= 1, timeout=10, what="the issue's trend")


def test_the_status_filter_applies_and_is_in_the_url(page, http, collector, analytics, dashboard, demo_project):
    send_errors(http, collector, demo_project, analytics, [("TypeError", "boom")], issues=1)
    page.goto(f"{dashboard.url}/issues?status=resolved")
    page.locator("#issues-empty").get_by_text("No issue matches the search and filters").wait_for(timeout=15_000)
    assert grid_rows(page, "issues-table") == []
    page.goto(f"{dashboard.url}/issues?status=unresolved")
    page.locator("#issues-table").get_by_text("TypeError: boom").wait_for(timeout=15_000)


def test_an_empty_service_reads_well(page, analytics, dashboard):
    page.goto(f"{dashboard.url}/issues")
    page.locator("#issues-empty").get_by_text("No issues with events in this range yet.").wait_for(timeout=15_000)
    assert page.locator("#issues-notice").inner_text() == ""


def test_issue_text_is_shown_as_text_never_as_html(page, http, collector, analytics, dashboard, demo_project):
    hostile = "<img src=x id=pwned onerror=\"document.title='pwned'\">"
    markdown = "[click me](javascript:alert(1)) **bold**"
    send_errors(http, collector, demo_project, analytics, [("Error", hostile), ("Error", markdown)], issues=2)

    page.goto(f"{dashboard.url}/issues")
    table = page.locator("#issues-table")
    table.get_by_text(hostile).wait_for(timeout=15_000)
    table.get_by_text("Error: " + markdown).wait_for(timeout=15_000)  # markdown in a title stays text
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned"
    assert table.locator("a[href^='javascript']").count() == 0
    assert table.locator("strong").count() == 0


def test_search_filters_and_sort_narrow_the_list_and_stay_in_the_url(
    page, http, collector, analytics, dashboard, demo_project
):
    send_errors(http, collector, demo_project, analytics,
                [("TypeError", "boom")] * 3 + [("RangeError", "too far")], issues=2)  # fmt: skip
    table = page.locator("#issues-table")
    page.goto(f"{dashboard.url}/issues?q=FAR")
    table.get_by_text("RangeError: too far").wait_for(timeout=15_000)
    assert [row[0] for row in grid_rows(page, "issues-table")] == ["RangeError: too far"]

    search_box = page.locator("#issues-search")
    search_box.fill("typeerror")
    search_box.press("Enter")
    page.wait_for_url("**/issues?range=1h&q=typeerror", timeout=15_000)
    table.get_by_text("TypeError: boom").wait_for(timeout=15_000)
    wait_until(lambda: len(grid_rows(page, "issues-table")) == 1, timeout=10, what="one issue")

    search_box.fill("")
    search_box.press("Enter")
    page.locator("#issues-sort").click()
    page.get_by_text("Sort: Events").click()
    page.wait_for_url("**/issues?range=1h&sort=events", timeout=15_000)
    wait_until(lambda: [r[0] for r in grid_rows(page, "issues-table")] == ["TypeError: boom", "RangeError: too far"],
               timeout=10, what="the most events first")  # fmt: skip

    page.locator("#issues-release").click()
    page.get_by_role("option", name="shop@1.2").click()  # the options open outside the dropdown
    page.wait_for_url("**/issues?range=1h&sort=events&release=shop%401.2", timeout=15_000)
    page.goto(f"{dashboard.url}/issues?release=shop@9")
    page.locator("#issues-empty").get_by_text("No issue matches the search and filters").wait_for(timeout=15_000)


def test_selected_issues_are_resolved_and_merged_at_once(
    page, http, collector, analytics, dashboard, demo_project, user
):
    from tests.dashboard.conftest import log_in

    ids = send_errors(http, collector, demo_project, analytics,
                      [("TypeError", "boom")] * 3 + [("RangeError", "too far")], issues=2)  # fmt: skip
    log_in(page, dashboard.url)
    page.goto(f"{dashboard.url}/issues")
    table = page.locator("#issues-table")
    table.get_by_text("RangeError: too far").wait_for(timeout=15_000)
    result = page.locator("#issues-action-result")

    page.locator("#issues-resolve").click()
    result.get_by_text("Select issues first").wait_for(timeout=15_000)

    table.locator(".ag-header-cell .ag-checkbox-input").first.click()  # every issue on the page
    page.locator("#issues-resolve").click()
    result.get_by_text("2 issues: resolved.").wait_for(timeout=15_000)
    wait_until(lambda: {r[2] for r in grid_rows(page, "issues-table")} == {"resolved"}, timeout=15, what="resolved")

    page.locator("#issues-merge").click()  # the selection held through the refresh
    result.get_by_text(f"Merged #{ids['RangeError: too far']} into #{ids['TypeError: boom']}.").wait_for(timeout=15_000)
    wait_until(lambda: [r[0] for r in grid_rows(page, "issues-table")] == ["TypeError: boom"], timeout=15,
               what="one issue left")  # fmt: skip
