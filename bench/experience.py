"""The experience pages' read API calls on 10 million events over 30 days and 5,000 hosts reporting every 15 s for a
day: p50 and p95 per call.

Run by hand: ``.venv/bin/python bench/experience.py [--events 10000000] [--days 30] [--hosts 5000] [--calls 15]
[--db PATH]``.

It fills a DuckDB file as ``bench/read_api.py`` does (or reuses ``--db``), then gives the web
vitals each a rating and an attribution (the element, its image, the phases of its time, as
the beacon sends them), adds 200,000 failed resources, 300,000 slow requests (two in three with
their phases), phases to the probe results, and a day
of host metrics from ``--hosts`` hosts every 15 s (28.8 million rows for 5,000) in three
regions. Then it serves the read API and times each call the Traffic, Web Vitals, Network,
Hosts and Checks (a check up close) pages make through ``ReadClient``, as the dashboard
does, for the last 24 hours and the last 7 days; every call ``--calls`` times after one
warm-up call. The target is a p95 under 250 ms on this 2-core machine. With ``--route-ratio``
it then times four queries with the route read from its stored column and computed from the
page URL per row, in turn, and gives the ratio; what computing the route costs as rows are
stored (10,000 page views, side by side with building their Arrow table); and the upgrade's
work on this file (every stored route computed again, rolled back). A file of
``bench/read_api.py`` given as ``--db`` gets the rest added first.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.pipeline import to_arrow  # noqa: E402
from analytics.routes import ROUTE, route_array  # noqa: E402
from analytics.store import cursor, open_database  # noqa: E402
from analytics.tables import BUILT, TABLES  # noqa: E402
from bench.read_api import fill, print_timings, rand, served, shared  # noqa: E402
from contracts.read_api import ReadClient  # noqa: E402

RESOURCES = 200_000
SLOW = 300_000


def fill_experience(path: Path, hosts: int, now: datetime, days: int) -> None:
    """What bench/read_api.py's fill leaves out and the experience pages read."""
    con = open_database(path)
    started = time.perf_counter()
    con.execute(
        """UPDATE web_vitals SET
               value = CASE name WHEN 'CLS' THEN value / 10000 ELSE value END,
               rating = CASE WHEN (name = 'CLS' AND value / 10000 > 0.25) OR (name <> 'CLS' AND value > 3000)
                             THEN 'poor' WHEN value > 2000 THEN 'needs-improvement' ELSE 'good' END,
               attribution = '{"target": "img.hero-' || (hash(event_id) % 7) || '", "url": "https://cdn.example/'
                   || (hash(event_id) % 40) || '.jpg", "ttfb": ' || (value * 0.2)::INTEGER || ', "load_delay": '
                   || (value * 0.3)::INTEGER || ', "load_duration": ' || (value * 0.3)::INTEGER
                   || ', "render_delay": ' || (value * 0.2)::INTEGER || '}',
               metric_key = hash(event_id)"""
    )
    print(f"  web_vitals: ratings and attribution in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    con.execute(
        f"""INSERT INTO resource_failures BY NAME
            SELECT {shared(RESOURCES, now - timedelta(days=days), days, "x", RESOURCES // 5)},
                   'https://cdn.example/img/' || {rand(21, 300)} || '.png' AS url,
                   ['img', 'script', 'link'][{rand(22, 3)} + 1] AS element, 'error_event' AS source, 404 AS status
            FROM range({RESOURCES}) t(i)"""
    )
    con.execute(f"UPDATE resource_failures SET route = {ROUTE}")
    con.execute(
        f"""INSERT INTO slow_requests BY NAME
            SELECT {shared(SLOW, now - timedelta(days=days), days, "w", SLOW // 5)},
                   ['https://shop.example/api/cart/', 'https://api.example/search/', 'https://t.vendor.example/p/']
                       [{rand(29, 3)} + 1] || {rand(30, 500)} AS url,
                   'fetch' AS api, 200 AS status, (1000 + {rand(31, 4000)})::DOUBLE AS duration_ms,
                   CASE WHEN i % 3 > 0 THEN {rand(32, 40)}::DOUBLE END AS dns_ms,
                   CASE WHEN i % 3 > 0 THEN {rand(33, 120)}::DOUBLE END AS connect_ms,
                   CASE WHEN i % 3 > 0 THEN {rand(34, 60)}::DOUBLE END AS tls_ms,
                   CASE WHEN i % 3 > 0 THEN (800 + {rand(35, 2000)})::DOUBLE END AS ttfb_ms
            FROM range({SLOW}) t(i)"""
    )
    con.execute(f"UPDATE slow_requests SET route = {ROUTE}")
    con.execute(
        """UPDATE probe_results SET dns_ms = 2, connect_ms = 10, tls_ms = 15, processing_ms = 40 + hash(id) % 50,
               transfer_ms = 5, http_status = 200 WHERE "check" IS NOT NULL"""
    )
    print(f"  resources, slow requests and probe phases in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    per_host = 86_400 // 15
    begin = now - timedelta(days=1)
    con.execute(
        f"""INSERT INTO host_metrics BY NAME
            SELECT 'h' || i AS id, TIMESTAMP '{begin:%Y-%m-%d %H:%M:%S}' + to_seconds((i // {hosts}) * 15) AS ts,
                   TIMESTAMP '{begin:%Y-%m-%d %H:%M:%S}' + to_seconds((i // {hosts}) * 15) AS received_at,
                   'shop' AS project, 1 AS project_id,
                   ['eu-west', 'us-east', 'ap-south'][i % {hosts} % 3 + 1] AS region,
                   'host-' || lpad((i % {hosts})::VARCHAR, 5, '0') AS host, 15.0 AS interval_s,
                   ({rand(23, 1000)} / 10.0)::DOUBLE AS cpu_busy_percent,
                   ({rand(24, 1000)} / 10.0)::DOUBLE AS memory_percent,
                   ({rand(25, 800)} / 100.0)::DOUBLE AS load1,
                   '[{{"mount": "/", "percent": ' || (i % {hosts} % 90 + 5) || '.0}}]' AS disks,
                   {rand(26, 50_000)} AS open_fds, 1048576 AS max_fds,
                   ({rand(27, 1_000_000)})::DOUBLE AS net_bytes_sent_per_s,
                   ({rand(28, 1_000_000)})::DOUBLE AS net_bytes_recv_per_s
            FROM range({hosts * per_host}) t(i)"""
    )
    print(f"  host_metrics: {hosts * per_host:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    con.execute("CHECKPOINT")
    con.close()


def page_calls(now: datetime, range_: timedelta) -> dict[str, Callable[[ReadClient], Any]]:
    """The read API calls each experience page makes for one view, as the dashboard's pages make them."""
    since, until = (now - range_).strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    window = {"since": since, "until": until}
    bucket = max(60, int(range_.total_seconds() // 240) // 60 * 60)
    page = {**window, "route": "/route3/:id"}

    def q(name: str, **params: Any) -> Callable[[ReadClient], Any]:
        return lambda c: c.query(name, **params)

    return {
        "every page: audience_facets": q("audience_facets", **window),
        "traffic: traffic_totals": q("traffic_totals", **window),
        "traffic: traffic_trend": q("traffic_trend", bucket_seconds=bucket, **window),
        "traffic: traffic_pages": q("traffic_pages", **window),
        "traffic: traffic_by country": q("traffic_by", by="country", **window),
        "traffic: traffic_by referrer": q("traffic_by", by="referrer", **window),
        "vitals: vitals_summary": q("vitals_summary", **window),
        "vitals: vitals_pages": q("vitals_pages", **window),
        "vitals: vitals_releases": q("vitals_releases", **window),
        "vitals: vitals_trend": q("vitals_trend", bucket_seconds=bucket, **window),
        "vitals: vitals_histogram": q("vitals_histogram", metric="LCP", **window),
        "vitals: vitals_breakdown": q("vitals_breakdown", metric="LCP", by="browser", **window),
        "vitals: vitals_phases": q("vitals_phases", metric="LCP", **window),
        "vitals: vitals_attribution": q("vitals_attribution", metric="LCP", **window),
        "vitals, one page: vitals_pages": q("vitals_pages", **page),
        "vitals, one page: vitals_trend": q("vitals_trend", bucket_seconds=bucket, **page),
        "vitals, one page: vitals_breakdown by release": q("vitals_breakdown", metric="INP", by="release", **page),
        "network: network_targets": q("network_targets", limit=1000, **window),
        "network: network_trend": q("network_trend", bucket_seconds=bucket, **window),
        "network: network_pages": q("network_pages", limit=1000, **window),
        "network: resource_failures_by_url": q("resource_failures_by_url", **window),
        "network: slow_requests": q("slow_requests", limit=1000, **window),
        "network: page_load_phases": q("page_load_phases", **window),
        "network: csp_violations": q("csp_violations", **window),
        "network, one host: network_pages": q("network_pages", target="api.example", limit=1000, **window),
        "hosts: hosts_now": q("hosts_now", until=until),
        "hosts: errors_by_project": q("errors_by_project", **window),
        "hosts: checks": q("checks"),
        "hosts, one host: host_series": q("host_series", host="host-00042", bucket_seconds=bucket, **window),
        "checks, one check: check_phases": q("check_phases", check="check3", bucket_seconds=bucket, **window),
        "checks, one check: check_history": q("check_history", check="check3", **window),
    }


def route_ratio(con: Any, now: datetime, calls: int) -> None:
    """The stored route against the route computed per row, side by side: each query both ways in turn over the last
    7 days, ``calls`` times; the median of each, and their ratio."""
    from analytics.queries import SQL, bind
    from contracts.binding import declared

    print("\n| query, 7 days | route computed per row | route stored | ratio |\n| --- | --- | --- | --- |")
    window = {"since": (now - timedelta(days=7)).isoformat(), "until": now.isoformat()}
    for name in ("audience_facets", "traffic_pages", "network_pages", "vitals_pages"):
        stored = SQL[name]
        computed = re.sub(
            r"FROM (page_views|errors|network_failures|web_vitals|resource_failures)\b",
            lambda m: f"FROM (SELECT * REPLACE ({ROUTE} AS route) FROM {m.group(1)})",
            stored,
        )
        params = bind(declared(name), window)
        times: dict[str, list[float]] = {"computed": [], "stored": []}
        for _ in range(calls):
            for way, sql in (("computed", computed), ("stored", stored)):
                started = time.perf_counter()
                con.execute(sql, params).fetchall()
                times[way].append((time.perf_counter() - started) * 1000)
        a, b = statistics.median(times["computed"]), statistics.median(times["stored"])
        print(f"| {name} | {a:.0f} ms | {b:.0f} ms | {a / b:.1f}x |", flush=True)
    ingest_cost(con, calls)
    upgrade_cost(con)


def ingest_cost(con: Any, calls: int, rows: int = 10_000) -> None:
    """What computing the route costs as rows are stored: ``route_array`` on 10,000 stored page views' URLs, side by
    side with building their Arrow table (``pipeline.to_arrow``, the route included), in turn."""
    built = ", ".join(f'"{name}"' for name in BUILT["page_views"].names)
    table_rows = con.execute(f"SELECT {built} FROM page_views LIMIT {rows}").fetchall()
    urls = pa.array([row[BUILT["page_views"].get_field_index("page_url")] for row in table_rows], pa.string())
    times: dict[str, list[float]] = {"to_arrow": [], "route_array": []}
    for _ in range(calls):
        for way, call in (
            ("to_arrow", lambda: to_arrow("page_views", table_rows)),
            ("route_array", lambda: route_array(urls)),
        ):
            started = time.perf_counter()
            call()
            times[way].append((time.perf_counter() - started) * 1000)
    whole, route = statistics.median(times["to_arrow"]), statistics.median(times["route_array"])
    print(
        f"\n{rows:,} page views stored: their Arrow table in {whole:.1f} ms, of it the routes {route:.1f} ms "
        f"({1000 * route / rows:.2f} µs a row)",
        flush=True,
    )


def upgrade_cost(con: Any) -> None:
    """What the upgrade to schema version 11 does on this file, timed and rolled back: every stored route computed
    from its page URL (``store.migrate``)."""
    started = time.perf_counter()
    con.begin()
    try:
        for name, schema in TABLES.items():
            if "route" in schema.names:
                con.execute(f"UPDATE {name} SET route = {ROUTE} WHERE coalesce(page_url, '') <> ''")
    finally:
        con.rollback()
    print(f"every stored route computed again (the upgrade's work): {time.perf_counter() - started:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--db", type=Path, help="reuse this file if it is filled (else fill it)")
    parser.add_argument("--route-ratio", action="store_true", help="also time the stored route against computing it")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        path = args.db or Path(tmp) / "vigil.duckdb"
        started = time.perf_counter()
        if not path.exists():
            print(f"filling {path} with {args.events:,} events over {args.days} days", flush=True)
            fill(path, args.events, args.days, now)
        con = open_database(path)
        ((hosts, latest),) = con.execute(
            "SELECT count(*), (SELECT max(ts) FROM page_views) FROM host_metrics"
        ).fetchall()
        con.close()
        if not hosts:  # a file of bench/read_api.py: what the experience pages read besides, up to its own "now"
            print(f"adding what the experience pages read, and {args.hosts:,} hosts", flush=True)
            fill_experience(path, args.hosts, latest + timedelta(seconds=1), args.days)
            print(f"filled in {time.perf_counter() - started:.0f} s", flush=True)
        con = open_database(path)
        ((latest,),) = con.execute("SELECT max(ts) FROM page_views").fetchall()
        now = latest + timedelta(seconds=1)  # a reused file: its own "now"
        print(f"\n{args.calls} calls each after a warm-up\n")
        with served(con) as port, ReadClient(f"http://127.0.0.1:{port}", timeout=300) as client:
            print_timings(client, [page_calls(now, timedelta(hours=24)), page_calls(now, timedelta(days=7))],
                          args.calls)  # fmt: skip
            if args.route_ratio:
                route_ratio(cursor(con), now, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
