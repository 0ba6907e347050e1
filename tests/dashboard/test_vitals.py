"""The Web Vitals page in real Chromium, fed with the demo shop's visitors through a real collector; what it shows
is checked against ``vigil sql`` over the same rows."""

from __future__ import annotations

import re
import time

import pytest

from contracts.read_api import ReadClient
from dashboard.vitals_view import shown
from tests.dashboard.conftest import grid_rows
from tests.dashboard.experience import COLLECTOR_ENV, ROUTE, send_visits, sql
from tests.helpers import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def collector_env() -> dict[str, str]:
    return COLLECTOR_ENV


def p75s(data_dir, where: str = "TRUE") -> dict[tuple[str, str], float]:
    rows = sql(data_dir, f"SELECT {ROUTE} AS route, name, quantile_cont(value, 0.75) AS p75 FROM web_vitals "
                         f"WHERE {where} GROUP BY ALL")  # fmt: skip
    return {(r["route"], r["name"]): r["p75"] for r in rows}


@pytest.mark.timeout(180)
def test_slow_pages_for_whom_and_since_which_release(page, http, collector, analytics, dashboard, demo_project,
                                                     data_dir):  # fmt: skip
    send_visits(http, collector, analytics, demo_project, visits=200)
    expected = p75s(data_dir)

    page.goto(f"{dashboard.url}/vitals?project=demo&range=1h")
    page.locator("#vitals-pages-grid").get_by_text("/product/:id").wait_for(timeout=20_000)
    rows = {r[0]: r for r in grid_rows(page, "vitals-pages-grid")}
    assert set(rows) == {"/", "/product/:id", "/cart", "/checkout"}
    for route, row in rows.items():
        for n, metric in enumerate(("LCP", "INP", "CLS", "FCP", "TTFB")):
            assert row[2 + n] == shown(metric, expected[(route, metric)]), (route, metric)
    # The product page is slow to show its photo; the checkout got slow to answer in 1.5.0.
    product_lcp = page.locator("#vitals-pages-grid .ag-row", has_text="/product/:id").locator("[col-id='LCP']")
    assert "rating-good" not in (product_lcp.get_attribute("class") or "")
    assert rows["/checkout"][7].startswith("shop@1.5.0: INP")
    page.locator("#vitals-slower").get_by_text("over shop@1.4.2").first.wait_for(timeout=5_000)

    # The summary: every page at once.
    [overall] = sql(data_dir, "SELECT quantile_cont(value, 0.75) AS p75 FROM web_vitals WHERE name = 'LCP'")
    assert page.locator("#vitals-summary .value").first.inner_text() == shown("LCP", overall["p75"])

    # Drill down: the checkout, its INP, by release.
    page.locator("#vitals-pages-grid").get_by_role("link", name="/checkout").click()
    page.wait_for_url(re.compile(r".*route=%2Fcheckout.*"), timeout=15_000)
    page.locator("#vitals-metric").get_by_text("INP").click()
    page.locator("#vitals-by").get_by_text("Release").click()
    page.locator("#vitals-breakdown-grid").get_by_text("shop@1.5.0").wait_for(timeout=15_000)
    by_release = {
        r["release"]: r["p75"]
        for r in sql(
            data_dir,
            f"SELECT release, quantile_cont(value, 0.75) AS p75 FROM web_vitals "
            f"WHERE name = 'INP' AND {ROUTE} = '/checkout' GROUP BY ALL",
        )
    }
    shown_rows = {r[0]: r for r in grid_rows(page, "vitals-breakdown-grid")}
    assert {k: v[2] for k, v in shown_rows.items()} == {k: shown("INP", v) for k, v in by_release.items()}
    assert page.locator("#vitals-attribution-grid").get_by_text("button#pay").count() == 1
    assert "/checkout" in (page.locator("#vitals-trend .gtitle").text_content() or "")

    # A release in the breakdown narrows the whole page to it.
    page.locator("#vitals-breakdown-grid").get_by_role("link", name="shop@1.5.0").click()
    page.wait_for_url(re.compile(r".*release=shop%401\.5\.0.*"), timeout=15_000)
    page.locator("#vitals-pages-grid").get_by_text("/checkout").wait_for(timeout=15_000)
    only = p75s(data_dir, "release = 'shop@1.5.0'")
    [checkout] = grid_rows(page, "vitals-pages-grid")
    assert checkout[3] == shown("INP", only[("/checkout", "INP")])


HOSTILE = "<img src=x id=pwned onerror=\"document.title='pwned'\">"


def test_page_urls_attribution_and_referrers_are_text_never_html(page, http, collector, analytics, dashboard,
                                                                 demo_project):  # fmt: skip
    now = int(time.time() * 1000)
    url = "https://shop.example/" + HOSTILE
    events = [
        {"type": "pageview", "event_id": "p1", "ts": now, "page_url": url,
         "referrer": "https://**bold**[link](https:evil.example)/x"},
        {"type": "vital", "event_id": "v1", "ts": now, "page_url": url, "name": "LCP", "value": 5000.0,
         "rating": "poor", "metric_id": "m1", "attribution": {"target": HOSTILE, "url": "javascript:alert(1)"}},
    ]  # fmt: skip
    body = {"v": 1, "batch_id": "hostile", "sent_at": now, "release": HOSTILE, "events": events}
    assert http.post(f"{collector.url}/api/{demo_project.id}/events", params={"key": demo_project.public_key},
                     json=body).status_code == 202  # fmt: skip
    with ReadClient(analytics.url) as client:
        wait_until(lambda: client.query("vitals_summary").rows, timeout=20, what="the vital stored")

    page.goto(f"{dashboard.url}/vitals?project=demo&range=1h&metric=LCP&by=release")
    page.locator("#vitals-attribution-grid").get_by_text(HOSTILE).wait_for(timeout=20_000)
    page.locator("#vitals-breakdown-grid").get_by_text(HOSTILE).wait_for(timeout=10_000)
    assert page.locator("#vitals-pages-grid").get_by_text("/" + HOSTILE).count() == 1
    page.goto(f"{dashboard.url}/traffic?project=demo&range=1h&by=referrer")
    page.locator("#traffic-breakdown-grid").get_by_text("**bold**[link](https:evil.example)").wait_for(timeout=20_000)
    assert page.locator("#traffic-breakdown-grid a").count() == 0  # a referrer is not a link
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned"
