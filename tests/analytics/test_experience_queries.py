"""The read API's queries behind the Web Vitals, Traffic and Network pages, on a real DuckDB file with known answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from analytics.queries import run_query
from analytics.routes import route_array
from analytics.rows import metric_key
from analytics.store import insert, open_database
from analytics.tables import TABLES

T0 = datetime(2026, 12, 1, 12, 0)
RANGE = {"since": "2026-12-01T11:00:00Z", "until": "2026-12-01T13:00:00Z"}
SITE = "https://shop.example"


def table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = TABLES[name]
    shared = {"project": "shop", "project_id": 1, "received_at": T0, "release": "1.0", "browser": "Chrome",
              "device_type": "desktop", "country": "DE"}  # fmt: skip
    full = [{**{f: None for f in schema.names}, **shared, "event_id": f"{name}{n}", **r} for n, r in enumerate(rows)]
    rows = pa.Table.from_pylist(full, schema=schema)
    return rows.set_column(schema.get_field_index("route"), "route", route_array(rows["page_url"]))


def vital(name: str, value: float, page: str, n: int, **more: Any) -> dict[str, Any]:
    rating = "good" if value <= {"LCP": 2500, "INP": 200, "CLS": 0.1}[name] else "poor"
    metric_id = more.pop("metric_id", f"m{name}{n}")
    return {"ts": T0 + timedelta(seconds=n), "page_url": SITE + page, "name": name, "value": value,
            "rating": rating, "metric_id": metric_id, "metric_key": metric_key(name, metric_id),
            "session_id": f"s{n % 4}", **more}  # fmt: skip


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = open_database(tmp_path / "vigil.duckdb")
    vitals = [vital("LCP", 1000.0 * (n + 1), "/product/42", n) for n in range(4)]  # 1, 2, 3, 4 s
    hero = {"target": "img.hero", "url": SITE + "/a.jpg"}
    vitals += [vital("LCP", 1500.0, "/", 10, attribution=json.dumps({**hero, "ttfb": 100, "load_delay": 900}))]
    vitals += [vital("LCP", 5000.0, "/product/7", 11, release="2.0",
                     attribution=json.dumps({**hero, "ttfb": 300, "load_delay": 3000}))]  # fmt: skip
    # CLS reported twice for one page view: only the later value counts.
    vitals += [vital("CLS", 0.3, "/", 20, metric_id="cls1"), vital("CLS", 0.05, "/", 21, metric_id="cls1")]
    insert(connection, "web_vitals", table("web_vitals", vitals), ())
    views = [{"ts": T0 + timedelta(seconds=n), "page_url": SITE + p, "session_id": s, "user_id": u,
              "referrer": ref, "country": c}
             for n, (p, s, u, ref, c) in enumerate([
                 ("/", "s1", "u1", "", "DE"), ("/product/42", "s1", "u1", SITE + "/", "DE"),
                 ("/product/7?x=1", "s2", "u2", "https://search.example/q", "FR"), ("/", "s3", None, "", "FR"),
             ])]  # fmt: skip
    timings = [
        (5, 20, 10, 300, 800, 1500),
        (5, 20, 10, 1300, 2000, 4000),
        (0, 0, 0, 100, 300, 500),
        (1, 1, 0, 50, 90, 99),
    ]
    for view, (dns, connect, tls, ttfb, dom, load) in zip(views, timings, strict=True):
        view.update(dns_ms=dns, connect_ms=connect, tls_ms=tls, ttfb_ms=ttfb, dom_interactive_ms=dom, load_ms=load)
    insert(connection, "page_views", table("page_views", views), ())
    errors = [{"ts": T0, "page_url": SITE + "/product/9", "session_id": "s2"}] * 1
    insert(connection, "errors", table("errors", errors), ())
    failures = [
        {"ts": T0, "page_url": SITE + "/", "url": "https://cdn.vendor.example/w.js?v=1", "api": "fetch", "status": 503,
         "failure": "http_error", "duration_ms": 40.0, "session_id": "s1"},
        {"ts": T0, "page_url": SITE + "/product/1", "url": "https://cdn.vendor.example/w.js?v=2", "api": "fetch",
         "status": 503, "failure": "http_error", "duration_ms": 60.0, "session_id": "s2"},
        {"ts": T0, "page_url": SITE + "/", "url": SITE + "/api/cart/12", "api": "nel", "status": 0,
         "failure": "network_error", "nel_type": "dns.name_not_resolved", "duration_ms": 5.0, "session_id": "s3"},
        {"ts": T0, "page_url": SITE + "/", "url": SITE + "/api/cart/13", "api": "xhr", "status": 0,
         "failure": "timeout", "duration_ms": 10_000.0, "session_id": "s3"},
    ]  # fmt: skip
    insert(connection, "network_failures", table("network_failures", failures), ())
    resources = [
        {"ts": T0, "page_url": SITE + "/", "url": SITE + "/img/a.png?w=2", "element": "img", "status": 404},
        {"ts": T0, "page_url": SITE + "/cart", "url": SITE + "/img/a.png?w=3", "element": "img", "status": 404},
    ]  # fmt: skip
    insert(connection, "resource_failures", table("resource_failures", resources), ())
    slow = [  # the cart API: three slow calls, two with their phases; the vendor hides its timing
        {"ts": T0, "page_url": SITE + "/cart", "url": SITE + "/api/cart/12", "api": "fetch", "status": 200,
         "duration_ms": 1500.0, "dns_ms": 0.0, "connect_ms": 0.0, "ttfb_ms": 1400.0, "session_id": "s1"},
        {"ts": T0, "page_url": SITE + "/cart", "url": SITE + "/api/cart/13", "api": "fetch", "status": 200,
         "duration_ms": 2500.0, "dns_ms": 20.0, "connect_ms": 100.0, "tls_ms": 60.0, "ttfb_ms": 2120.0,
         "session_id": "s2"},
        {"ts": T0, "page_url": SITE + "/", "url": SITE + "/api/cart/14", "api": "xhr", "duration_ms": 3000.0,
         "session_id": "s2"},
        {"ts": T0, "page_url": SITE + "/", "url": "https://t.vendor.example/track", "api": "xhr",
         "duration_ms": 1200.0, "session_id": "s3"},
    ]  # fmt: skip
    insert(connection, "slow_requests", table("slow_requests", slow), ())
    csp = [
        {"ts": T0, "page_url": SITE + "/checkout", "source": "beacon", "report_type": "csp", "session_id": "s1",
         "blocked_uri": "https://ads.example/p.js?id=1", "effective_directive": "script-src-elem",
         "disposition": "enforce"},
        {"ts": T0, "page_url": SITE + "/checkout", "source": "reporting_api", "report_type": "csp", "session_id": "s2",
         "blocked_uri": "https://ads.example/p.js?id=2", "effective_directive": "script-src-elem",
         "disposition": "enforce"},
        {"ts": T0, "page_url": SITE + "/", "source": "reporting_api", "report_type": "deprecation"},
    ]  # fmt: skip
    insert(connection, "reports", table("reports", csp), ())
    yield connection
    connection.close()


def query(con: duckdb.DuckDBPyConnection, name: str, **params: str) -> list[dict[str, Any]]:
    result = run_query(con, name, {**RANGE, **params})
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_vitals_per_page_collapse_ids_and_count_a_metric_once(con):
    pages = {(r["route"], r["name"]): r for r in query(con, "vitals_pages")}
    assert set(pages) == {("/product/:id", "LCP"), ("/", "LCP"), ("/", "CLS")}
    product = pages[("/product/:id", "LCP")]
    assert product["samples"] == 5
    assert product["p75"] == pytest.approx(4000.0)  # 1, 2, 3, 4, 5 s: the 75th percentile interpolated
    assert (product["good"], product["poor"]) == (0.4, 0.6)
    assert pages[("/", "CLS")]["samples"] == 1
    assert pages[("/", "CLS")]["p75"] == pytest.approx(0.05)


def test_vitals_narrowed_by_release_and_page(con):
    only = query(con, "vitals_pages", release="2.0")
    assert [(r["route"], r["samples"], r["p75"]) for r in only] == [("/product/:id", 1, 5000.0)]
    assert query(con, "vitals_pages", route="/")
    assert all(r["route"] == "/" for r in query(con, "vitals_pages", route="/"))


def test_vitals_histogram_breakdown_attribution_and_phases(con):
    bins = {r["low"]: r["samples"] for r in query(con, "vitals_histogram", metric="LCP")}
    assert bins == {1000: 1, 1500: 1, 2000: 1, 3000: 1, 4000: 1, 5000: 1}
    by_release = {r["value"]: r["samples"] for r in query(con, "vitals_breakdown", metric="LCP", by="release")}
    assert by_release == {"1.0": 5, "2.0": 1}
    targets = query(con, "vitals_attribution", metric="LCP")
    assert targets[0]["target"] == "(none)"
    assert targets[0]["samples"] == 4
    hero = next(r for r in targets if r["target"] == "img.hero")
    assert (hero["detail"], hero["samples"], hero["p75"]) == (SITE + "/a.jpg", 2, pytest.approx(4125.0))
    phases = {r["phase"]: r["median_ms"] for r in query(con, "vitals_phases", metric="LCP")}
    assert phases == {"ttfb": 200.0, "load_delay": 1950.0}


def test_vitals_per_release_with_the_confidence_interval_of_their_p75(con):
    found = query(con, "vitals_releases")
    assert all(r["p75_low"] <= r["p75"] <= r["p75_high"] for r in found)
    product = next(r for r in found if (r["route"], r["release"]) == ("/product/:id", "1.0"))
    assert (product["p75_low"], product["p75_high"]) == (1000.0, 4000.0)  # 4 samples: wide
    releases = [(r["route"], r["release"], r["samples"]) for r in found]
    assert ("/product/:id", "1.0", 4) in releases
    assert ("/product/:id", "2.0", 1) in releases


def test_traffic_totals_pages_entries_and_breakdowns(con):
    [totals] = query(con, "traffic_totals")
    assert totals == {"page_views": 4, "sessions": 3, "users": 2, "errors": 1, "errors_per_1000_views": 250.0}
    pages = {r["route"]: r for r in query(con, "traffic_pages")}
    assert (pages["/"]["views"], pages["/"]["entries"], pages["/"]["users"]) == (2, 2, 1)
    assert (pages["/product/:id"]["views"], pages["/product/:id"]["entries"]) == (2, 1)
    assert pages["/product/:id"]["errors"] == 1
    assert pages["/product/:id"]["errors_per_1000_views"] == 500.0
    # Narrowed to one page, a view stays an entry only if it began its session.
    assert [(r["route"], r["entries"]) for r in query(con, "traffic_pages", route="/product/:id")] == [
        ("/product/:id", 1)
    ]
    referrers = {r["value"]: r["page_views"] for r in query(con, "traffic_by", by="referrer")}
    assert referrers == {"(direct)": 2, "(same site)": 1, "search.example": 1}
    countries = {r["value"]: (r["page_views"], r["share"]) for r in query(con, "traffic_by", by="country")}
    assert countries == {"DE": (2, 0.5), "FR": (2, 0.5)}


def test_network_targets_by_host_path_status_and_class(con):
    targets = {(r["host"], r["path"], r["status"], r["failure_class"]): r for r in query(con, "network_targets")}
    vendor = targets[("cdn.vendor.example", "/w.js", 503, "http")]
    assert (vendor["failures"], vendor["pages"], vendor["sessions"], vendor["same_host"]) == (2, 2, 2, False)
    assert vendor["median_ms"] == 50.0
    dns = targets[("shop.example", "/api/cart/:id", 0, "dns")]
    assert (dns["browser_reports"], dns["same_host"]) == (1, True)
    assert ("shop.example", "/api/cart/:id", 0, "timeout") in targets
    pages = {r["route"]: r for r in query(con, "network_pages")}
    assert (pages["/"]["failures"], pages["/"]["hosts"], pages["/"]["page_views"]) == (3, 2, 2)
    assert pages["/"]["failures_per_1000_views"] == 1500.0
    trend = {r["failure_class"]: r["failures"] for r in query(con, "network_trend")}
    assert trend == {"http": 2, "dns": 1, "timeout": 1}
    assert vendor["example_url"] == "https://cdn.vendor.example/w.js?v=1"


def test_one_target_host_and_the_pages_it_hurts(con):
    hurt = {r["route"]: r["failures"] for r in query(con, "network_pages", target="cdn.vendor.example")}
    assert hurt == {"/": 1, "/product/:id": 1}
    assert {r["host"] for r in query(con, "network_targets", target="shop.example")} == {"shop.example"}
    assert query(con, "resource_failures_by_url", target="cdn.vendor.example") == []


def test_resources_by_url_without_their_query(con):
    [image] = query(con, "resource_failures_by_url")
    assert (image["url"], image["element"], image["failures"], image["pages"], image["status"]) == (
        SITE + "/img/a.png",
        "img",
        2,
        2,
        404,
    )
    assert image["same_host"] is True


def test_slow_requests_by_target_with_the_median_of_each_phase(con):
    rows = {r["host"]: r for r in query(con, "slow_requests")}
    cart = rows["shop.example"]
    assert (cart["path"], cart["requests"], cart["pages"], cart["sessions"]) == ("/api/cart/:id", 3, 2, 2)
    assert cart["timed"] == 2
    assert (cart["median_ms"], cart["same_host"]) == (2500.0, True)
    # Medians over the two timed calls (the untimed one counts in no phase): connect without TLS (0 and 40),
    # TLS (0 and 60), the server after the connection
    # (1400 and 2000), the transfer after the first byte (100 and 380).
    assert (cart["dns"], cart["connect"], cart["tls"]) == (10.0, 20.0, 30.0)  # plain http has no TLS: 0
    assert (cart["server"], cart["transfer"]) == (1700.0, 240.0)
    vendor = rows["t.vendor.example"]
    assert (vendor["requests"], vendor["timed"], vendor["server"], vendor["same_host"]) == (1, 0, None, False)
    assert [r["host"] for r in query(con, "slow_requests", target="t.vendor.example")] == ["t.vendor.example"]
    assert query(con, "slow_requests", route="/cart")[0]["requests"] == 2


def test_vitals_summary_over_every_page(con):
    summary = {r["name"]: r for r in query(con, "vitals_summary")}
    assert (summary["LCP"]["samples"], summary["CLS"]["samples"]) == (6, 1)
    assert summary["LCP"]["p75"] == pytest.approx(3750.0)


def test_audience_facets_of_the_page_views(con):
    facets = [(r["facet"], r["value"], r["views"]) for r in query(con, "audience_facets")]
    assert ("route", "/", 2) in facets
    assert ("route", "/product/:id", 2) in facets
    assert [f for f in facets if f[0] == "country"] == [("country", "DE", 2), ("country", "FR", 2)]


def test_csp_violations_by_what_was_blocked(con):
    [ads] = query(con, "csp_violations")
    assert (ads["blocked"], ads["directive"], ads["violations"], ads["browser_reports"]) == (
        "https://ads.example/p.js",
        "script-src-elem",
        2,
        1,
    )
    assert (ads["enforced"], ads["pages"], ads["sessions"]) == (True, 1, 2)


def test_where_the_slowest_page_loads_spend_their_time(con):
    pages = {r["route"]: r for r in query(con, "page_load_phases")}
    product = pages["/product/:id"]  # loads of 0.5 and 4 s: the slowest quarter is the 4 s one
    assert (product["views"], product["p75_load"], product["slow_views"]) == (2, 3125.0, 1)
    assert (product["dns"], product["connect"], product["tls"], product["server"], product["dom"], product["rest"]) == (
        5.0,
        10.0,
        10.0,
        1275.0,
        700.0,
        2000.0,
    )


def test_a_view_without_session_or_user_counts_as_a_view_only(con):
    anonymous = {"ts": T0, "page_url": SITE + "/", "session_id": "", "user_id": ""}
    insert(con, "page_views", table("page_views", [{**anonymous, "event_id": "anon"}]), ())
    [totals] = query(con, "traffic_totals")
    assert (totals["page_views"], totals["sessions"], totals["users"]) == (5, 3, 2)
    assert {r["route"]: r["entries"] for r in query(con, "traffic_pages")}["/"] == 2
