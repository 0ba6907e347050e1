"""The alerts page in real Chromium: an alert the analytics service fired and posted to a real receiver, a silence
made and ended from the page, and rules and channels edited there (and refused without a login)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.probes import CheckResult
from contracts.projects import Project, save_item
from contracts.settings import CONFIG_FILE
from tests.analytics.test_incidents import send_probes
from tests.conftest import Service, _service, dashboard_on
from tests.dashboard.conftest import grid_rows, log_in
from tests.helpers import wait_until
from tests.receivers import Webhooks

pytestmark = pytest.mark.browser


@pytest.fixture
def alerting(data_dir: Path, redis_url: str, demo_project: Project, hooks: Webhooks) -> Iterator[Service]:
    """The analytics service evaluating a check-down rule every second, posting at once to the receiver."""
    save_item(data_dir, "demo", "channels", "hook", {"name": "hook", "webhook": hooks.url()})
    save_item(
        data_dir, "demo", "alerts", "home down", {"name": "home down", "when": "check_down", "channels": ["hook"]}
    )
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100", "VIGIL_ANALYTICS_ALERTS_SECONDS": "1",
           "VIGIL_ANALYTICS_ALERT_GROUP_WAIT_SECONDS": "0"}  # fmt: skip
    service = _service("analytics", data_dir, env, "/healthz")
    yield service
    service.stop()


@pytest.fixture
def board(data_dir: Path, alerting: Service) -> Iterator[Service]:
    yield from dashboard_on(data_dir, alerting)


def choose(page, dropdown: str, option: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f"#{dropdown}").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_alert_its_delivery_a_silence_and_the_rules_on_the_page(page, redis_client, data_dir, board, hooks, user):
    log_in(page, board.url)
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r".*/alerts(\?.*)?$"), timeout=15_000)
    page.locator("#alerts-empty").get_by_text("No alerts in this range.").wait_for(timeout=15_000)
    assert grid_rows(page, "rules-table")[0][:3] == ["demo", "home down", "check_down"]

    now = int(datetime.now(UTC).timestamp() * 1000)
    send_probes(redis_client, "eu", [CheckResult(id=f"r{n}", ts=now - 3000 + n * 1000, check="home", check_type="http",
                                                 target="http://127.0.0.1:9/", status="down", duration_ms=5.0)
                                     for n in range(3)])  # fmt: skip
    page.locator("#alerts-history").get_by_text("hook: sent").wait_for(timeout=30_000)
    (fired,) = grid_rows(page, "alerts-history")
    assert fired[1:4] == ["demo", "home down", "fired"]
    assert fired[4].startswith("home down: down in 1 of 1 regions (eu)")
    assert grid_rows(page, "alerts-firing")[0][1:3] == ["demo", "home down"]
    assert len(hooks.received) == 1

    choose(page, "silence-project", "demo")
    choose(page, "silence-rule", "home down")
    page.locator("#silence-reason").fill("maintenance <b>window</b>")
    page.get_by_role("button", name="Silence", exact=True).click()
    page.locator("#silence-result").get_by_text(re.compile(r"Silence 1: rule home down quiet until")).wait_for(
        timeout=15_000
    )
    wait_until(lambda: grid_rows(page, "silences-table"), timeout=15, what="the silence")
    row = grid_rows(page, "silences-table")[0]
    assert (row[0], row[2], row[4], row[5], row[6]) == (
        "1",
        "rule home down",
        "active",
        "ana",
        "maintenance <b>window</b>",
    )
    page.locator("#silences-table").get_by_text("rule home down").click()
    page.get_by_role("button", name="End the chosen silence").click()
    page.locator("#silence-result").get_by_text("Silence 1 ended.").wait_for(timeout=15_000)

    choose(page, "rule-project", "demo")
    page.locator("#rule-name").fill("cpu hot")
    choose(page, "rule-when", "host_metric: a host's `metric` above `above` (%, or load) for `minutes`")
    page.locator("#rule-settings").fill("metric = cpu; above = lots")
    page.locator("#rule-channels").fill("hook")
    page.get_by_role("button", name="Save rule").click()
    page.locator("#rule-result").get_by_text("Not saved: rule (cpu hot): above must be a number").wait_for(
        timeout=15_000
    )
    page.locator("#rule-settings").fill("metric = cpu; above = 90; minutes = 10")
    page.get_by_role("button", name="Save rule").click()
    page.locator("#rule-result").get_by_text("Saved rule cpu hot in demo").wait_for(timeout=15_000)
    page.locator("#rules-table").get_by_text("metric = cpu; above = 90.0; minutes = 10").wait_for(timeout=15_000)
    assert 'when = "host_metric"' in (data_dir / CONFIG_FILE).read_text()

    choose(page, "channel-project", "demo")
    page.locator("#channel-name").fill("ops-mail")
    page.locator("#channel-target").fill("ops@shop.example, oncall@shop.example")
    page.get_by_role("button", name="Save channel").click()
    page.locator("#channel-result").get_by_text("Saved channel ops-mail in demo.").wait_for(timeout=15_000)
    page.locator("#channels-table").get_by_text("ops@shop.example, oncall@shop.example").wait_for(timeout=15_000)


def test_without_a_login_the_alerts_page_reads_but_changes_nothing(page, board):
    page.goto(f"{board.url}/alerts")
    page.locator("#alerts-firing-empty").get_by_text("Nothing fires now.").wait_for(timeout=15_000)
    choose(page, "silence-project", "demo")
    page.get_by_role("button", name="Silence", exact=True).click()
    page.locator("#silence-result").get_by_text("Log in to act").wait_for(timeout=15_000)
    page.get_by_role("button", name="Save rule").click()
    page.locator("#rule-result").get_by_text("Log in to act").wait_for(timeout=15_000)
