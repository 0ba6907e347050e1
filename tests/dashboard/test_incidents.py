"""The incident pages in real Chromium: an incident the analytics service opened, from the list to its evidence.

The events and probe records go into Redis in the protocol; the real analytics service
(testing for anomalies every second) stores them and opens the incident.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.projects import Project, save_service
from contracts.settings import CONFIG_FILE
from tests.analytics.test_incidents import (
    API,
    CHECKOUT,
    REGIONS,
    failed,
    host_metrics,
    page_views,
    probe,
    send,
    spread,
)
from tests.conftest import Service, _service, dashboard_on
from tests.dashboard.conftest import grid_rows, log_in
from tests.helpers import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def correlating(data_dir: Path, redis_url: str, demo_project: Project) -> Iterator[Service]:
    """The analytics service testing for anomalies every second."""
    (data_dir / CONFIG_FILE).write_text(
        (data_dir / CONFIG_FILE).read_text() + "\n[analytics]\ncorrelation_seconds = 1\n"
    )
    service = _service("analytics", data_dir, {"VIGIL_REDIS_URL": redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100"},
                       "/healthz")  # fmt: skip
    yield service
    service.stop()


@pytest.fixture
def board(data_dir: Path, correlating: Service) -> Iterator[Service]:
    yield from dashboard_on(data_dir, correlating, refresh_seconds=2)


def backend_outage(redis_client, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """A day of page views, then five minutes where checkout-api fails: down in two regions, its host out of memory."""
    send(redis_client, page_views(now - timedelta(hours=24), now, timedelta(seconds=60)))
    for region in REGIONS:
        probe(redis_client, region, "checkout-api", f"{API}/health",
              [now - timedelta(hours=2) + timedelta(minutes=10 * n) for n in range(11)], "up")  # fmt: skip
    window = now - timedelta(minutes=4)
    send(redis_client, [failed(t, f"{API}/cart", "network_error", 0) for t in spread(window, 30, timedelta(minutes=3))])
    for region in ("eu", "us"):
        probe(redis_client, region, "checkout-api", f"{API}/health", spread(window, 3, timedelta(minutes=3)), "down")
    host_metrics(redis_client, "api-7", window + timedelta(minutes=1), memory=98.0)


def test_an_incident_from_the_list_to_its_timeline_evidence_and_feedback(
    page, redis_client, data_dir, demo_project, board, user
):
    save_service(data_dir, "demo", "checkout-api", CHECKOUT)
    backend_outage(redis_client, datetime.now(UTC).replace(tzinfo=None))
    log_in(page, board.url)

    page.get_by_role("link", name="Incidents").click()
    page.wait_for_url(re.compile(r".*/incidents(\?.*)?$"), timeout=15_000)  # the page adds its range to the URL
    table = page.locator("#incidents-table")
    table.get_by_text("Your backend").wait_for(timeout=30_000)
    (row,) = grid_rows(page, "incidents-table")
    assert row[0] == "#1"
    assert row[2].startswith("checkout-api down in 2 of 3 regions since")
    assert "host api-7 memory 98%" in row[2]
    assert grid_rows(page, "services-table")[0][:3] == ["demo", "checkout-api", "api.shop.example"]

    table.get_by_role("link", name="#1").click()
    page.wait_for_url("**/incidents/1", timeout=15_000)
    header = page.locator("#incident-header")
    header.get_by_text("Your backend").wait_for(timeout=15_000)
    assert "checkout-api down in 2 of 3 regions" in header.inner_text()
    timeline = page.locator("#incident-timeline")
    timeline.get_by_text("Checks: median time per region").wait_for(timeout=15_000)
    assert timeline.get_by_text("Failed requests and resources per minute, by host").count() == 1
    assert timeline.get_by_text("Hosts: CPU busy and memory used (%)").count() == 1
    wait_until(lambda: grid_rows(page, "incident-checks"), timeout=15, what="the checks")
    assert grid_rows(page, "incident-checks")[0][:3] == ["checkout-api", "declared", "down"]
    assert grid_rows(page, "incident-hosts")[0][:4] == ["api-7", "declared", "20%", "98%"]
    assert "connection failures to api.shop.example" in page.locator("#incident-signals").inner_text()

    page.locator("#incident-note").fill("a bad deploy of the API")
    page.get_by_role("button", name="The verdict is right").click()
    page.locator("#incident-feedback-result").get_by_text("Kept: the verdict backend is right.").wait_for(
        timeout=15_000
    )
    page.locator("#incident-history").get_by_text("the verdict backend is right: a bad deploy of the API").wait_for(
        timeout=15_000
    )
    assert "ana said the verdict" in header.inner_text()


def test_services_are_edited_by_a_logged_in_user_and_checked(page, data_dir, demo_project, board, user):
    log_in(page, board.url)
    page.goto(f"{board.url}/incidents")
    page.locator("#services-empty").get_by_text("No services declared yet").wait_for(timeout=15_000)
    page.locator("#service-project").click()
    page.get_by_role("option", name="demo").click()
    page.locator("#service-name").fill("vendor-cdn")
    page.locator("#service-domains").fill("*.cdn.example, static.shop.example:8443")
    page.locator("#service-checks").fill("cdn-home")
    page.get_by_role("button", name="Save service").click()
    page.locator("#service-result").get_by_text("Saved vendor-cdn in demo").wait_for(timeout=15_000)
    wait_until(lambda: grid_rows(page, "services-table"), timeout=15, what="the service")
    assert grid_rows(page, "services-table")[0][:5] == [
        "demo", "vendor-cdn", "*.cdn.example, static.shop.example:8443", "", "cdn-home",
    ]  # fmt: skip
    assert 'domains = ["*.cdn.example", "static.shop.example:8443"]' in (data_dir / CONFIG_FILE).read_text()
    page.reload()  # a fresh form: a click on the service fills it again
    page.locator("#services-table").get_by_text("cdn-home").click()
    wait_until(lambda: page.locator("#service-checks").input_value() == "cdn-home", timeout=15, what="the form")
    assert page.locator("#service-name").input_value() == "vendor-cdn"

    page.locator("#service-domains").fill("shop.example/api")
    page.get_by_role("button", name="Save service").click()
    page.locator("#service-result").get_by_text(
        "Not saved: service (vendor-cdn): 'shop.example/api' is not a host name"
    ).wait_for(timeout=15_000)
    page.get_by_role("button", name="Remove service").click()
    page.locator("#service-result").get_by_text("Removed vendor-cdn from demo.").wait_for(timeout=15_000)
    assert "vendor-cdn" not in (data_dir / CONFIG_FILE).read_text()


def test_without_a_login_the_pages_read_but_refuse_changes(page, demo_project, board):
    page.goto(f"{board.url}/incidents")
    page.locator("#incidents-empty").get_by_text("No incidents in this range.").wait_for(timeout=15_000)
    page.locator("#service-project").click()
    page.get_by_role("option", name="demo").click()
    page.locator("#service-name").fill("api")
    page.get_by_role("button", name="Save service").click()
    page.locator("#service-result").get_by_text("Log in to act").wait_for(timeout=15_000)

    page.goto(f"{board.url}/incidents/7")
    page.locator("#incident-notice").get_by_text("There is no incident 7.").wait_for(timeout=15_000)
    page.get_by_role("button", name="The verdict is wrong").click()
    page.locator("#incident-feedback-result").get_by_text("Log in to act").wait_for(timeout=15_000)
