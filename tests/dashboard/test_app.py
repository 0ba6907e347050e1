"""The app around the pages: the header links every page, and the health endpoint."""

from __future__ import annotations

import pytest

from tests.conftest import _service
from tests.helpers import free_port

pytestmark = pytest.mark.browser


def test_the_header_links_every_page_in_order(page, analytics, dashboard):
    page.goto(f"{dashboard.url}/")
    nav = page.locator("header nav a")
    nav.first.wait_for(timeout=15_000)
    assert nav.all_inner_texts() == [
        "Overview", "Traffic", "Issues", "Web Vitals", "Network", "Releases", "Incidents", "Alerts", "Checks",
        "Hosts", "Reports",
    ]  # fmt: skip

    # Each page without data says what to do next.
    page.locator("header nav").get_by_text("Traffic").click()
    page.locator("#traffic-pages").get_by_text("No page views in this range yet.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Web Vitals").click()
    page.locator("#vitals-pages").get_by_text("No Web Vitals in this range yet.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Network").click()
    page.locator("#network-targets").get_by_text("No failed requests in this range.").wait_for(timeout=15_000)
    assert page.locator("#network-resources").inner_text() == (
        "No image, script, style, font or media failed to load in this range."
    )
    assert page.locator("#network-csp").inner_text().startswith("Nothing blocked by a Content Security Policy")
    page.locator("header nav").get_by_text("Hosts").click()
    page.locator("#hosts-empty").get_by_text("No host has reported in the last hour.").wait_for(timeout=15_000)
    assert not page.locator("#hosts-heatmap").is_visible()

    page.locator("header nav").get_by_text("Reports").click()
    page.locator("#reports-empty").get_by_text("No report yet.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Alerts").click()
    page.locator("#alerts-empty").get_by_text("No alerts in this range.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Checks").click()
    page.locator("#checks-states").get_by_text("No checks have reported yet.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Incidents").click()
    page.locator("#incidents-empty").get_by_text("No incidents in this range.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Releases").click()
    page.locator("#releases-empty").get_by_text("No sessions in this range yet.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Issues").click()
    page.locator("#issues-empty").get_by_text("No issues with events in this range yet.").wait_for(timeout=15_000)
    page.locator("header nav").get_by_text("Overview").click()
    page.locator("#overview-per-minute").wait_for(timeout=15_000)


def test_healthz(http, analytics, dashboard):
    response = http.get(f"{dashboard.url}/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", ["issues", "checks"])
def test_an_unreachable_read_api_is_said_plainly_on_every_page(page, data_dir, path):
    service = _service(
        "dashboard", data_dir, {"VIGIL_DASHBOARD_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}"}, "/healthz"
    )
    try:
        page.goto(f"{service.url}/{path}")
        page.locator(f"#{path}-notice").get_by_text("analytics read API unreachable").wait_for(timeout=15_000)
    finally:
        service.stop()
