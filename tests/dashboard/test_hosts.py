"""The Hosts page in real Chromium: the demo's fleet of 200 machines reporting through a real collector's probes
endpoint, checked against ``vigil sql``; a click on the heat map opens a host."""

from __future__ import annotations

import math
import re
import threading

import pytest

from contracts.projects import save_service
from contracts.services import Service
from dashboard.hosts_view import WIDTH
from tests.dashboard.conftest import grid_rows
from tests.dashboard.experience import COLLECTOR_ENV, sql
from tests.helpers import wait_until
from vigil.demo import fleet

pytestmark = pytest.mark.browser


@pytest.fixture
def collector_env() -> dict[str, str]:
    return COLLECTOR_ENV


def send_fleet(http, collector, project) -> None:
    stop = threading.Event()
    sent: list[int] = []

    def send(body: bytes) -> int:
        status = http.post(f"{collector.url}/api/{project.id}/probes", content=body,
                           headers={"Authorization": f"Bearer {project.secret_token}"}).status_code  # fmt: skip
        sent.append(status)
        if len(sent) == len(fleet.fleet()):
            stop.set()
        return status

    assert fleet.report(send, stop, seed=2) == len(fleet.fleet())


@pytest.mark.timeout(180)
def test_the_fleet_heat_map_finds_the_hosts_in_trouble(page, http, collector, analytics, dashboard, demo_project,
                                                        data_dir):  # fmt: skip
    save_service(data_dir, "demo", "demo-api", Service("demo-api", hosts=fleet.api_hosts()))
    send_fleet(http, collector, demo_project)
    wait_until(lambda: sql(data_dir, "SELECT count(DISTINCT host) AS n FROM host_metrics")[0]["n"] == 200,
               timeout=30, what="the fleet's metrics stored")  # fmt: skip
    [hottest] = sql(data_dir, "SELECT host, round(avg(cpu_busy_percent), 1) AS cpu FROM host_metrics "
                              "GROUP BY host ORDER BY cpu DESC LIMIT 1")  # fmt: skip

    page.goto(f"{dashboard.url}/hosts?project=demo&range=1h")
    page.locator("#hosts-worst-grid").get_by_text(hottest["host"]).wait_for(timeout=20_000)
    assert page.locator("#hosts-kpis .value").first.inner_text() == "200"
    first = grid_rows(page, "hosts-worst-grid")[0]
    assert (first[0], first[3]) == (hottest["host"], f"{hottest['cpu']:g}")
    assert fleet.HOT[hottest["host"]] == "cpu"

    # The fullest disk is the database machine's.
    page.locator("#hosts-measure").get_by_text("Fullest disk").click()
    page.wait_for_url(re.compile(r".*measure=disk.*"), timeout=15_000)
    wait_until(lambda: grid_rows(page, "hosts-worst-grid")[0][0] == "db-003", timeout=15, what="db-003 first")

    # By service: the API's machines, and the rest.
    page.locator("#hosts-by").get_by_text("by service").click()
    ticks = page.locator("#hosts-heatmap .ytick text")
    wait_until(lambda: "demo-api (45)" in ticks.all_text_contents(), timeout=15, what="the service's group")
    assert "(no service) (155)" in ticks.all_text_contents()

    # A click on the worst cell (top left) opens that host over the range.
    box = page.locator("#hosts-heatmap .nsewdrag").first.bounding_box()
    assert box is not None
    rows = math.ceil(155 / WIDTH) + 1 + math.ceil(45 / WIDTH) + 1  # each group's rows and a blank one
    page.mouse.click(box["x"] + box["width"] / WIDTH / 2, box["y"] + box["height"] / rows / 2)
    page.wait_for_url(re.compile(r".*host=db-003.*"), timeout=15_000)
    page.locator("#hosts-detail-title").get_by_text("db-003 over the last 1 hour").wait_for(timeout=15_000)
    assert "db-003" in (page.locator("#hosts-series .gtitle").text_content() or "")
