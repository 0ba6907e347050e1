"""The daily report in real Chromium: a report full of hostile strings runs no script, and the Reports page lists
the reports the analytics service made and opens one whole, under a policy that allows no script at all."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from analytics import incidents, report
from contracts.beacon import ErrorEvent, NetworkEvent, PageViewEvent
from contracts.projects import Project
from tests.analytics.test_incidents import ms, send
from tests.analytics.test_issues import consume
from tests.dashboard.conftest import grid_rows
from tests.helpers import wait_until

pytestmark = pytest.mark.browser

DAY = datetime(2025, 11, 25)
EVIL = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
PAGE = 'https://shop.example/"><script>window.pwned=3</script>/42'


def test_a_report_full_of_hostile_strings_runs_no_script(page, redis_client, con):
    project = Project(1, "demo", "k" * 32, "t", origins=("https://shop.example",))
    at = [DAY + timedelta(hours=10, seconds=n) for n in range(40)]
    send(redis_client, [PageViewEvent(event_id=f"p{n}", ts=ms(t), page_url=PAGE) for n, t in enumerate(at)])
    send(redis_client, [ErrorEvent(event_id=f"e{n}", ts=ms(t), page_url=PAGE, error_type=EVIL, message=EVIL,
                                   mechanism="onerror") for n, t in enumerate(at)])  # fmt: skip
    send(redis_client, [NetworkEvent(event_id=f"n{n}", ts=ms(t), page_url=PAGE, api="fetch", method="GET",
                                     url=f"https://{n % 2}.evil.example/{EVIL}", status=0, duration=3.0,
                                     failure="network_error") for n, t in enumerate(at)])  # fmt: skip
    consume(redis_client, con)
    incidents.evaluate(con, {1: project}, DAY + timedelta(hours=10, minutes=2), min_history=1)
    made = report.build(con, project, DAY.date())
    assert made["new_issues"][0]["title"].startswith("<script>")  # the hostile strings are in it, as data

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_content(report.render_html(made, "https://vigil.shop.example"))
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert EVIL in page.locator("body").inner_text()  # shown as the text it is


def test_the_reports_page_lists_the_days_and_opens_one(page, demo_project, dashboard):
    """The analytics service makes the last two days' reports as it starts; the page lists and opens them."""
    page.goto(f"{dashboard.url}/")
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url(re.compile(r".*/reports(\?.*)?$"), timeout=15_000)
    wait_until(lambda: len(grid_rows(page, "reports-table")) == 2, timeout=30, what="two reports")
    first = grid_rows(page, "reports-table")[0]
    # Yesterday's, as the service saw it when it made the reports: a test across midnight UTC sees a day more since.
    day = first[0]
    assert day in {(datetime.now(UTC) - timedelta(days=n)).date().isoformat() for n in (1, 2)}
    assert first[1] == "demo"
    assert first[-1] == "not mailed (no [projects.report] email)"

    with page.expect_navigation():
        page.locator("#reports-table").get_by_role("link", name="Open").first.click()
    assert page.url.endswith(f"/reports/demo/{day}.html")
    page.get_by_role("heading", name=f"demo: errors on {day}").wait_for(timeout=15_000)
    assert page.get_by_text("No new issue").count() == 1
    response = page.request.get(f"{dashboard.url}/reports/demo/{day}.html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert page.request.get(f"{dashboard.url}/reports/demo/{day}.json").json()["day"] == day
    assert page.request.get(f"{dashboard.url}/reports/demo/1999-01-01.html").status == 404
