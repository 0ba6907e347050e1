"""The checks page in real Chromium, fed by a real analytics service through a real collector's probes endpoint."""

from __future__ import annotations

import itertools
import time

import msgspec
import pytest

from contracts.probes import AgentInfo, CheckResult, Heartbeat, Phases, ProbeBatch
from contracts.read_api import ReadClient
from tests.dashboard.conftest import grid_rows
from tests.dashboard.experience import sql
from tests.helpers import wait_until

pytestmark = pytest.mark.browser

_ids = itertools.count()


def send_probes(http, collector, project, region: str, records: list) -> None:
    batch = ProbeBatch(
        batch_id=f"b{next(_ids)}", sent_at=int(time.time() * 1000),
        agent=AgentInfo(region=region, host=f"probe-{region}", agent_id=f"a-{region}", version="1"), records=records,
    )  # fmt: skip
    response = http.post(
        f"{collector.url}/api/{project.id}/probes",
        content=msgspec.json.encode(batch),
        headers={"Authorization": f"Bearer {project.secret_token}"},
    )
    assert response.status_code == 202


def results(check: str, *statuses: str) -> list[CheckResult]:
    """Runs in one minute (the same instant), so the uptime per minute does not depend on the clock."""
    now = int(time.time() * 1000)
    return [
        CheckResult(id=f"r{next(_ids)}", ts=now, check=check, check_type="http",
                    target="https://shop.example/", status=status, duration_ms=80.0,
                    error="http.error" if status == "down" else "")
        for status in statuses
    ]  # fmt: skip


def heartbeat(silent_s: float, interval_s: float) -> Heartbeat:
    now = int(time.time() * 1000)
    return Heartbeat(id=f"h{next(_ids)}", ts=now - int(silent_s * 1000), started_at=now - 600_000,
                     interval_s=interval_s,
                     checks=1, spooled_batches=0, dropped_records=0)  # fmt: skip


def test_states_per_region_and_across_regions_agents_and_uptime(page, http, collector, analytics, dashboard,
                                                                 demo_project):  # fmt: skip
    eu = [*results("shop", "down", "down", "down"), *results("blog", "up"), *results("api", "down", "down", "down")]
    send_probes(http, collector, demo_project, "eu", [*eu, heartbeat(0, interval_s=3600)])
    send_probes(http, collector, demo_project, "us", [*results("shop", "up", "up"), heartbeat(60, interval_s=1)])
    with ReadClient(analytics.url) as client:
        wait_until(lambda: [r[3] for r in client.query("agents").rows] == ["ok", "lost"], timeout=20,
                   what="the us agent to be lost")  # fmt: skip

    page.goto(f"{dashboard.url}/checks?project=demo&range=1h")
    states = page.locator("#checks-states")
    states.get_by_text("shop").wait_for(timeout=15_000)

    headers = states.locator(".ag-header-cell-text").all_inner_texts()
    assert headers[:5] == ["Project", "Check", "All regions", "eu", "us"]
    cells = states.locator(".ag-center-cols-container .ag-row")
    rows = {
        row.locator("[col-id='check']").inner_text(): row.locator(".ag-cell.state").evaluate_all(
            "cells => cells.map(c => [c.textContent, c.className.match(/state-[a-z]+/)[0]])"
        )
        for row in cells.all()
    }
    assert rows == {
        "api": [["down", "state-down"], ["down", "state-down"], ["—", "state-none"]],
        "blog": [["up", "state-up"], ["up", "state-up"], ["—", "state-none"]],
        "shop": [["degraded", "state-degraded"], ["down", "state-down"], ["up", "state-up"]],
    }
    by_check = {row[1]: row for row in grid_rows(page, "checks-states-grid")}
    assert [by_check[c][5] for c in ("api", "blog", "shop")] == ["0.00 %", "100.00 %", "100.00 %"]  # us was up

    assert page.locator("#checks-lost").inner_text() == (
        "1 probe agent lost: us/probe-us. Their checks' states are stale, not down."
    )
    lost = page.locator("#checks-agents .ag-center-cols-container .ag-row.lost")
    assert lost.locator(".ag-cell").all_inner_texts()[:4] == ["demo", "us", "probe-us", "lost"]
    assert len(grid_rows(page, "checks-agents-grid")) == 2

    uptime = grid_rows(page, "checks-uptime-grid")
    assert sorted(uptime) == sorted([
        ["api", uptime[0][1], "1", "0", "0.00 %"],
        ["blog", uptime[0][1], "1", "1", "100.00 %"],
        ["shop", uptime[0][1], "1", "1", "100.00 %"],
    ])  # fmt: skip


def test_no_checks_yet_reads_well(page, analytics, dashboard):
    page.goto(f"{dashboard.url}/checks")
    page.locator("#checks-states").get_by_text("No checks have reported yet.").wait_for(timeout=15_000)
    assert page.locator("#checks-agents").inner_text() == "No probe agents have sent a heartbeat yet."
    assert page.locator("#checks-uptime").inner_text() == "No conclusive check results in this range."
    assert page.locator("#checks-lost").inner_text() == ""
    assert page.locator("#checks-notice").inner_text() == ""


def test_check_names_are_text_never_html(page, http, collector, analytics, dashboard, demo_project):
    hostile = "<img src=x id=pwned onerror=\"document.title='pwned'\">"
    send_probes(http, collector, demo_project, "eu", results(hostile, "up"))

    page.goto(f"{dashboard.url}/checks")
    page.locator("#checks-states").get_by_text(hostile).wait_for(timeout=15_000)
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned"


def timed(check: str, processing: float, ts: int, status: str = "up") -> CheckResult:
    return CheckResult(id=f"r{next(_ids)}", ts=ts, check=check, check_type="http", target="https://shop.example/",
                       status=status, duration_ms=10.0 + processing, error="" if status == "up" else "http.error",
                       phases=Phases(dns=1.0, connect=2.0, tls=3.0, processing=processing, transfer=4.0))  # fmt: skip


def test_a_check_up_close_where_its_time_went_per_region_and_its_states(page, http, collector, analytics, dashboard,
                                                                         demo_project, data_dir):  # fmt: skip
    now = int(time.time() * 1000)
    # eu got slow a minute ago; us did not.
    eu = [timed("shop", 100.0, now - 180_000), timed("shop", 120.0, now - 170_000), timed("shop", 900.0, now - 60_000),
          timed("shop", 950.0, now - 50_000, status="down")]  # fmt: skip
    send_probes(http, collector, demo_project, "eu", eu)
    send_probes(http, collector, demo_project, "us", [timed("shop", 110.0, now - 170_000), timed("shop", 105.0, now)])
    with ReadClient(analytics.url) as client:
        wait_until(lambda: len(client.query("checks").rows) == 3, timeout=20, what="the states")

    page.goto(f"{dashboard.url}/checks?project=demo&range=15m")
    page.locator("#checks-states").get_by_role("link", name="shop").click()
    page.wait_for_url("**/checks?project=demo&range=15m&check=shop", timeout=15_000)
    page.locator("#checks-phases .gtitle").get_by_text("shop: where each run's time went").wait_for(timeout=15_000)
    titles = page.locator("#checks-phases .annotation-text").all_text_contents()
    assert titles[:2] == ["eu", "us"]

    traces = page.locator("#checks-phases .js-plotly-plot").evaluate(
        "g => g.data.map(t => ({name: t.name, x: t.x, y: t.y, axis: t.yaxis}))"
    )
    first_byte_eu = next(t for t in traces if t["name"] == "first byte" and t["axis"] in ("y", "y1"))
    expected = sql(data_dir, "SELECT time_bucket(INTERVAL 60 SECOND, ts) AS m, median(processing_ms) AS p "
                             "FROM probe_results WHERE region = 'eu' GROUP BY 1 ORDER BY 1")  # fmt: skip
    assert first_byte_eu["y"] == [r["p"] for r in expected]
    down = [t for t in traces if t["name"] == "runs down"]
    assert len(down) == 1
    assert len(down[0]["x"]) == 1

    # The states over time: one failed run does not make a region down (three do), so every span is up.
    timeline = page.locator("#checks-timeline .js-plotly-plot").evaluate("g => g.data.map(t => [t.y[0], t.name])")
    assert {region for region, _ in timeline} >= {"all regions", "eu", "us"}
    assert {state for _, state in timeline} == {"up"}
