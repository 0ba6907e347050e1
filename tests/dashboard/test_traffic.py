"""The Traffic page in real Chromium, fed with the demo shop's visitors through a real collector; what it shows is
checked against ``vigil sql`` over the same rows."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.conftest import grid_rows
from tests.dashboard.experience import COLLECTOR_ENV, ROUTE, send_visits, sql

pytestmark = pytest.mark.browser


@pytest.fixture
def collector_env() -> dict[str, str]:
    return COLLECTOR_ENV


@pytest.mark.timeout(180)
def test_views_sessions_users_per_page_and_who(page, http, collector, analytics, dashboard, demo_project, data_dir):
    send_visits(http, collector, analytics, demo_project, visits=60)
    [totals] = sql(
        data_dir,
        "SELECT count(*) AS views, count(DISTINCT session_id) AS sessions, count(DISTINCT user_id) AS users, "
        "(SELECT count(*) FROM errors) AS errors FROM page_views",
    )

    page.goto(f"{dashboard.url}/traffic?project=demo&range=1h")
    page.locator("#traffic-pages-grid").get_by_text("/product/:id").wait_for(timeout=20_000)
    values = page.locator("#traffic-kpis .value").all_inner_texts()
    assert values[:4] == [f"{totals['views']:,}", f"{totals['sessions']:,}", f"{totals['users']:,}",
                          f"{totals['errors']:,}"]  # fmt: skip
    assert values[4] == f"{totals['errors'] * 1000 / totals['views']:,.1f}"

    statement = f"SELECT {ROUTE} AS route, count(*) AS views, count(DISTINCT session_id) AS sessions FROM page_views"
    per_page = {r["route"]: r for r in sql(data_dir, statement + " GROUP BY 1")}
    shown = {r[0]: r for r in grid_rows(page, "traffic-pages-grid")}
    assert set(shown) == set(per_page)
    for route, row in shown.items():
        assert (int(row[1]), int(row[3])) == (per_page[route]["views"], per_page[route]["sessions"]), route
    # Every session enters once: the entries add up to the sessions.
    assert sum(int(r[2]) for r in shown.values()) == totals["sessions"]

    countries = {r["country"]: r["views"] for r in sql(data_dir, "SELECT country, count(*) AS views FROM page_views "
                                                                 "GROUP BY 1")}  # fmt: skip
    by_country = {r[0]: int(r[1]) for r in grid_rows(page, "traffic-breakdown-grid")}
    assert by_country == countries

    # A country narrows the whole page; a page's Web Vitals are a click away.
    busiest = max(countries, key=lambda c: (countries[c], c))
    page.locator("#traffic-breakdown-grid").get_by_role("link", name=busiest, exact=True).click()
    page.wait_for_url(re.compile(rf".*country={busiest}.*"), timeout=15_000)
    page.locator("#traffic-kpis .value").first.get_by_text(f"{countries[busiest]:,}", exact=True).wait_for(
        timeout=15_000
    )
    page.locator("#traffic-by").get_by_text("Referrer").click()
    page.locator("#traffic-breakdown-grid").get_by_text("(direct)").wait_for(timeout=15_000)
    page.locator("#traffic-pages-grid .ag-row", has_text="/checkout").get_by_role("link", name="Web Vitals").click()
    page.wait_for_url(re.compile(r".*/vitals\?.*route=%2Fcheckout.*"), timeout=15_000)
    page.locator("#vitals-pages-grid").get_by_text("/checkout").wait_for(timeout=15_000)
