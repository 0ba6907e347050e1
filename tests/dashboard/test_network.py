"""The Network page in real Chromium: failed requests and resources sent through a real collector (the beacon's
and the browser's own reports), checked against ``vigil sql`` over the same rows."""

from __future__ import annotations

import re
import time

import pytest

from contracts.projects import save_service
from contracts.services import Service
from tests.dashboard.conftest import grid_rows
from tests.dashboard.experience import COLLECTOR_ENV, ROUTE, send_visits, sql
from tests.helpers import wait_until
from vigil.demo.traffic import SITE, VENDOR


def plot_traces(page, selector):
    """Each trace's name and y values, once the chart is drawn (a refresh redraws it: it has no data a moment)."""
    return wait_until(
        lambda: page.locator(selector).evaluate("g => g.data ? g.data.map(t => [t.name, t.y]) : null"),
        timeout=10,
        what=f"{selector} drawn",
    )


pytestmark = pytest.mark.browser
API = "https://api.shop.example"


@pytest.fixture
def collector_env() -> dict[str, str]:
    return COLLECTOR_ENV


def failures(now: int) -> list[dict[str, object]]:
    """Two failed calls to the shop's declared API and a timeout of the vendor's, as the beacon sends them."""
    shared = {"type": "network", "api": "fetch", "method": "GET", "page_url": SITE + "/checkout", "ts": now}
    return [
        {**shared, "event_id": f"api-{n}", "url": f"{API}/cart/{n}", "status": 503, "duration": 30,
         "failure": "http_error"}
        for n in (17, 18)
    ] + [
        {**shared, "event_id": "vendor-1", "url": VENDOR + "/track", "status": 0, "duration": 10_000,
         "failure": "timeout", "nel_phase": "application", "nel_type": "abandoned"},
    ]  # fmt: skip


def slow_calls(now: int) -> list[dict[str, object]]:
    """Two slow calls to the shop's API with their phases, and one to the vendor whose timing is hidden."""
    shared = {"type": "slow_request", "page_url": SITE + "/cart", "ts": now}
    timed = [
        {**shared, "event_id": f"slow-{n}", "api": "fetch", "url": f"{API}/cart/{n}", "status": 200,
         "duration": 1000.0 + 500 * n, "dns": 10.0, "connect": 40.0, "tls": 25.0, "ttfb": 900.0 + 450 * n}
        for n in (1, 2)
    ]  # fmt: skip
    hidden = {**shared, "event_id": "slow-x", "api": "xmlhttprequest", "url": VENDOR + "/track", "duration": 2e3}
    return [*timed, hidden]


@pytest.mark.timeout(180)
def test_what_fails_whose_it_is_and_the_pages_it_hurts(page, http, collector, analytics, dashboard, demo_project,
                                                       data_dir):  # fmt: skip
    save_service(data_dir, "demo", "shop-api", Service("shop-api", domains=("api.shop.example",)))
    now = int(time.time() * 1000)
    events = failures(now) + slow_calls(now)
    body = {"v": 1, "batch_id": "net1", "sent_at": now, "session_id": "s-net", "events": events}
    assert http.post(f"{collector.url}/api/{demo_project.id}/events", params={"key": demo_project.public_key},
                     json=body).status_code == 202  # fmt: skip
    nel = [{"type": "network-error", "age": 0, "url": VENDOR + "/track", "user_agent": "Mozilla/5.0",
            "body": {"type": "tcp.timed_out", "phase": "connection", "elapsed_time": 10000, "method": "POST",
                     "status_code": 0, "referrer": SITE + "/cart", "sampling_fraction": 1.0}}]  # fmt: skip
    assert http.post(f"{collector.url}/api/{demo_project.id}/reports", params={"key": demo_project.public_key},
                     json=nel, headers={"Content-Type": "application/reports+json"}).status_code == 204  # fmt: skip
    send_visits(http, collector, analytics, demo_project, visits=60)

    host = "regexp_extract(url, '^[a-z]+://([^/?#]*)', 1)"
    by_host = {r["host"]: r for r in sql(data_dir, f"SELECT {host} AS host, count(*) AS failures, "
                                                   "count(*) FILTER (WHERE api = 'nel') AS nel "
                                                   "FROM network_failures GROUP BY 1")}  # fmt: skip
    vendor_host = VENDOR.removeprefix("http://")

    page.goto(f"{dashboard.url}/network?project=demo&range=1h")
    targets = page.locator("#network-targets-grid")
    targets.get_by_text("api.shop.example").wait_for(timeout=20_000)
    rows = grid_rows(page, "network-targets-grid")
    counted: dict[str, int] = {}
    for row in rows:
        counted[row[0]] = counted.get(row[0], 0) + int(row[5])
    assert counted == {h: r["failures"] for h, r in by_host.items()}
    whose = {row[0]: row[4] for row in rows}
    assert whose == {"api.shop.example": "service shop-api", vendor_host: "third party"}
    api = next(r for r in rows if r[0] == "api.shop.example")
    assert api[1:4] == ["/cart/:id", "503", "http"]
    assert sum(int(r[6]) for r in rows if r[0] == vendor_host) == by_host[vendor_host]["nel"] >= 1
    kpis = page.locator("#network-kpis .value").all_inner_texts()
    total = sum(r["failures"] for r in by_host.values())
    assert kpis[0] == f"{total:,}"
    assert kpis[2] == f"{100 * by_host[vendor_host]['failures'] / total:.0f} %"

    # The old banner image of the home page is missing.
    [banner] = sql(data_dir, "SELECT count(*) AS failures FROM resource_failures WHERE url LIKE '%banner-2019.png'")
    resources = grid_rows(page, "network-resources-grid")
    assert resources[0][:4] == [SITE + "/img/banner-2019.png", "img", "own site", str(banner["failures"])]

    # Where the slowest page loads spend their time, per page.
    [product] = sql(
        data_dir, f"SELECT quantile_cont(load_ms, 0.75) AS p75 FROM page_views WHERE {ROUTE} = '/product/:id'"
    )
    traces = plot_traces(page, "#network-loads .js-plotly-plot")
    assert [name for name, _ in traces] == ["DNS", "connect", "TLS", "server's answer", "building the DOM",
                                            "loading the rest"]  # fmt: skip
    assert f"/product/:id (p75 {product['p75'] / 1000:.1f} s)" in traces[0][1]

    # Slow calls by host and path, their phases drawn where the answer showed them.
    slow = {r["host"]: r for r in sql(data_dir, f"SELECT {host} AS host, count(*) AS n, count(ttfb_ms) AS timed "
                                                "FROM slow_requests GROUP BY 1")}  # fmt: skip
    slow_rows = grid_rows(page, "network-slow-grid")
    requests: dict[str, int] = {}
    for row in slow_rows:
        requests[row[0]] = requests.get(row[0], 0) + int(row[3].replace(",", ""))
    assert requests == {h: r["n"] for h, r in slow.items()}
    assert kpis[5] == f"{sum(r['n'] for r in slow.values()):,}"
    api_slow = next(r for r in slow_rows if r[0] == "api.shop.example")
    assert api_slow[1:3] == ["/cart/:id", "service shop-api"]
    assert (api_slow[6], api_slow[8]) == ("1,750 ms", "2 of 2")  # the median of 1.5 s and 2 s
    assert all(
        r[8] == "hidden (no Timing-Allow-Origin)" for r in slow_rows if r[0] == vendor_host and not slow[r[0]]["timed"]
    )
    phases = plot_traces(page, "#network-slow-phases .js-plotly-plot")
    assert [name for name, _ in phases] == ["DNS", "connect", "TLS", "server", "transfer"]
    assert any(label.startswith("api.shop.example/cart/:id (2,") for label in phases[0][1])

    # The checkout's policy blocks an ad script.
    [blocked] = sql(data_dir, "SELECT count(*) AS n FROM reports WHERE report_type = 'csp'")
    csp = grid_rows(page, "network-csp-grid")
    assert csp[0][:4] == ["https://ads.tracker.example/pixel.js", "script-src-elem", "blocked", str(blocked["n"])]

    # A host narrows the page to it: the pages the third party hurts.
    targets.get_by_role("link", name=vendor_host).first.click()
    page.wait_for_url(re.compile(r".*target=127\.0\.0\.1%3A.*"), timeout=15_000)
    page.locator("#network-pages-grid").get_by_text("/cart").wait_for(timeout=15_000)
    statement = f"SELECT DISTINCT {ROUTE} AS route FROM network_failures WHERE {host} = '{vendor_host}'"
    hurt = {r["route"] for r in sql(data_dir, statement)}
    assert {r[0] for r in grid_rows(page, "network-pages-grid")} == hurt
    assert {r[0] for r in grid_rows(page, "network-targets-grid")} == {vendor_host}
