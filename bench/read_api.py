"""Every dashboard page's read API calls on a database of 10 million events over 30 days: p50 and p95 per call.

Run by hand: ``.venv/bin/python bench/read_api.py [--events 10000000] [--days 30] [--calls 15] [--db PATH]``.

It fills a fresh DuckDB file (or reuses ``--db`` if it is already filled) with DuckDB's own
``range()``, not through the pipeline, so 10 million rows take a minute or two rather than
hours: 30 % errors in 2,000 issues (a few issues have most events, as on a real site), 50 %
page views, 10 % web vitals and 10 % network failures, over three projects, 20 routes, five
browsers, a release every three days, and sessions of five page views one after another
(50,000 users); then the tables the consumer keeps beside them (issues, releases, activity,
the per-minute rollups, the beacon's sessions) from those rows, and a minute of probe
results per check and region (10 checks, 3 regions). Then it
serves the read API (``analytics.api.create_api``, uvicorn on 127.0.0.1) and times each
call each page makes through ``ReadClient``, the way the dashboard does, for the last 24
hours and the last 7 days; every call ``--calls`` times after one warm-up call. The target
is a p95 under 250 ms on this 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import issues, probes  # noqa: E402
from analytics.api import create_api  # noqa: E402
from analytics.rollups import bucket_sql  # noqa: E402
from analytics.routes import ROUTE  # noqa: E402
from analytics.sessions import SOURCES, rows_sql  # noqa: E402
from analytics.store import open_database  # noqa: E402
from contracts.queries import BREAKDOWNS  # noqa: E402
from contracts.read_api import ReadClient  # noqa: E402
from tests.helpers import free_port, wait_until  # noqa: E402

ISSUES = 2000
ROUTES = 20
SHARES = {"errors": 0.3, "page_views": 0.5, "web_vitals": 0.1, "network_failures": 0.1}


def rand(seed: int, modulus: int) -> str:
    """SQL for a pseudo-random integer in [0, modulus) from the row number ``i`` (the same every run)."""
    return f"(hash(i * 7919 + {seed}) % {modulus})::BIGINT"


def shared(n: int, start: datetime, days: int, prefix: str, sessions: int) -> str:
    """The shared columns of ``n`` rows spread evenly over ``days`` from ``start``, in ``sessions`` sessions that
    follow one another in time (a row's session is the one open at its time)."""
    step_ms = days * 86_400_000 / n
    session = f"(i * {sessions} // {n})::BIGINT"
    project = f"(CASE WHEN {rand(1, 10)} < 7 THEN 0 WHEN {rand(1, 10)} < 9 THEN 1 ELSE 2 END)"
    return f"""
        '{prefix}' || i AS event_id, 'b' || i AS batch_id,
        TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_milliseconds((i * {step_ms})::BIGINT) AS ts,
        TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_milliseconds((i * {step_ms})::BIGINT) AS received_at,
        ['shop', 'blog', 'api'][{project} + 1] AS project, {project} + 1 AS project_id,
        CASE WHEN {rand(2, 10)} = 0 THEN 'staging' ELSE 'production' END AS environment,
        ['shop', 'blog', 'api'][{project} + 1] || '@1.' || ((i * {step_ms}) // (3 * 86400000))::BIGINT || '.0'
            AS release,
        's' || {session} AS session_id, 'u' || (hash({session}) % 50000)::BIGINT AS user_id,
        'https://shop.example/route' || {rand(5, ROUTES)} || '/' || {rand(6, 1000)} AS page_url,
        ['Chrome', 'Firefox', 'Safari', 'Edge', 'Samsung Internet'][{rand(7, 5)} + 1] AS browser,
        '131' AS browser_version, ['Windows', 'Mac OS X', 'iOS', 'Android', 'Linux'][{rand(8, 5)} + 1] AS os,
        '' AS os_version, ['desktop', 'mobile', 'tablet'][{rand(9, 3)} + 1] AS device_type, false AS is_bot,
        ['US', 'DE', 'BR', 'IN', 'FR', 'JP'][{rand(10, 6)} + 1] AS country"""


def fill(path: Path, events: int, days: int, now: datetime) -> None:
    con = open_database(path)
    for statement in [*issues.DDL, *probes.DDL]:  # what the consumer creates at its start
        con.execute(statement)
    start = now - timedelta(days=days)
    counts = {table: int(events * share) for table, share in SHARES.items()}
    # A few issues have most events: the issue is the cube of a uniform number, scaled.
    issue = f"(floor({ISSUES} * pow({rand(11, 1_000_000)} / 1e6, 3))::BIGINT + 1)"
    own = {
        "errors": f"""['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'Error'][{issue} % 5 + 1]
                AS error_type,
            'something failed ' || {issue} AS message, 'at f (app.js:1:' || {issue} || ')' AS stack,
            CASE WHEN {rand(12, 10)} < 6 THEN 'onerror' ELSE 'manual' END AS mechanism, 'error' AS level,
            '{{"plan": "' || ['free', 'pro'][{rand(13, 2)} + 1] || '"}}' AS tags, '[]' AS frames, '[]' AS breadcrumbs,
            'Error ' || {issue} AS title, 'handler' || {issue} || ' (app.js)' AS culprit,
            md5({issue}::VARCHAR) AS app_hash, md5({issue}::VARCHAR) AS full_hash, 'frames' AS grouping,
            'vigil.js/1.0.0' AS sdk, {issue} AS issue_id""",
        "page_views": "'navigate' AS navigation, 120.0 AS ttfb_ms, 900.0 AS load_ms",
        "web_vitals": f"""['LCP', 'INP', 'CLS', 'FCP', 'TTFB'][{rand(14, 5)} + 1] AS name,
            ({rand(15, 4000)})::DOUBLE AS value, 'good' AS rating""",
        "network_failures": f"""'fetch' AS api, 'GET' AS method,
            'https://api.example/v1/' || {rand(16, 30)} AS url, [502, 503, 0][{rand(17, 3)} + 1] AS status""",
    }
    for table, n in counts.items():
        started = time.perf_counter()
        sessions = max(1, counts["page_views"] // 5)  # five page views a session
        con.execute(f"INSERT INTO {table} BY NAME SELECT {shared(n, start, days, table[0], sessions)}, {own[table]} "
                    f"FROM range({n}) t(i)")  # fmt: skip
        con.execute(f"UPDATE {table} SET route = {ROUTE}")  # as the consumer stores it (analytics/routes.py)
        print(f"  {table}: {n:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    con.execute(
        """INSERT INTO issues (issue_id, project_id, project, app_hash, full_hash, error_type, title, culprit, level,
               first_seen, last_seen, events, first_release, last_release, status, grouping)
           SELECT issue_id, arg_min(project_id, ts), arg_min(project, ts), any_value(app_hash), any_value(full_hash),
                  any_value(error_type), any_value(title), any_value(culprit), 'error', min(ts), max(ts), count(*),
                  arg_min(release, ts), arg_max(release, ts),
                  CASE WHEN issue_id % 7 = 0 THEN 'resolved' ELSE 'unresolved' END, 'frames'
           FROM errors GROUP BY issue_id"""
    )
    con.execute("INSERT INTO releases SELECT project_id, release, min(ts) FROM errors GROUP BY ALL")
    con.execute(
        "INSERT INTO issue_activity SELECT issue_id, last_seen, 'vigil', 'regressed', 'an event from ' || last_release,"
        " last_release FROM issues WHERE issue_id % 11 = 0"
    )
    for table in SHARES:
        issue_id = "issue_id" if table == "errors" else "NULL::BIGINT"
        con.execute(
            f"""INSERT INTO event_counts_1m BY NAME
                SELECT time_bucket(INTERVAL 1 MINUTE, ts) AS minute, project_id, project, environment, release,
                       '{table}' AS kind, browser, {issue_id} AS issue_id, count(*) AS count, true AS compacted
                FROM {table} GROUP BY ALL"""
        )
    con.execute(
        f"""INSERT INTO vitals_1m BY NAME
            SELECT time_bucket(INTERVAL 1 MINUTE, ts) AS minute, project_id, project, environment, release, name,
                   {bucket_sql("value")} AS bucket, count(*) AS count, true AS compacted
            FROM web_vitals GROUP BY ALL"""
    )
    con.execute(rows_sql({t: t for t in SOURCES}, compacted=True))
    minutes = days * 1440
    con.execute(
        f"""INSERT INTO probe_results BY NAME
            SELECT 'r' || i AS id, TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_minutes((i // 30)::BIGINT) AS ts,
                   TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_minutes((i // 30)::BIGINT) AS received_at,
                   'shop' AS project, 1 AS project_id, ['eu', 'us', 'ap'][i % 3 + 1] AS region, 'probe' AS host,
                   'check' || (i // 3 % 10) AS "check", 'http' AS check_type, 'https://shop.example/' AS target,
                   CASE WHEN {rand(18, 100)} = 0 THEN 'down' ELSE 'up' END AS status, 80.0 AS duration_ms
            FROM range({minutes * 30}) t(i)"""
    )
    con.execute("CHECKPOINT")
    con.close()


def page_calls(now: datetime, range_: timedelta, issue_id: int) -> dict[str, Callable[[ReadClient], Any]]:
    """The read API calls each page makes for one view, as the dashboard's pages make them."""
    since, until = (now - range_).strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    window = {"since": since, "until": until}
    bucket = max(60, int(range_.total_seconds() // 240) // 60 * 60)
    calls: dict[str, Callable[[ReadClient], Any]] = {
        "overview: events_per_minute": lambda c: c.query("events_per_minute", bucket_seconds=bucket, **window),
        "overview: errors_by_type": lambda c: c.query("errors_by_type", limit=10, **window),
        "overview: top_messages": lambda c: c.query("top_messages", limit=50, **window),
        "overview: totals": lambda c: c.query("totals", **window),
        "overview: not_stored": lambda c: c.query("not_stored", limit=50, **window),
        "every page: projects": lambda c: c.query("projects"),
        "issues: issues": lambda c: c.query("issues", limit=200, **window),
        "issues: issues, searched": lambda c: c.query("issues", limit=200, search="failed 1", **window),
        "issues: issues, tag and release": lambda c: c.query(
            "issues", limit=200, tag="plan:pro", release="shop@1.9.0", **window
        ),
        "issues: issues by users": lambda c: c.query("issues", limit=200, sort="users", **window),
        "issues: error_facets": lambda c: c.query("error_facets", limit=50, **window),
        "issue: issue": lambda c: c.query("issue", issue_id=issue_id),
        "issue: issue_events_per_minute": lambda c: c.query(
            "issue_events_per_minute", issue_id=issue_id, bucket_seconds=bucket, project="shop", **window
        ),
        "issue: issue_event (latest)": lambda c: c.query("issue_event", issue_id=issue_id),
        "issue: issue_events": lambda c: c.query("issue_events", issue_id=issue_id, limit=50),
        "issue: issue_activity": lambda c: c.query("issue_activity", issue_id=issue_id, limit=50),
        "releases: releases": lambda c: c.query("releases", limit=200, **window),
        "checks: checks": lambda c: c.query("checks"),
        "checks: agents": lambda c: c.query("agents"),
        "checks: check_uptime": lambda c: c.query("check_uptime", **window),
    }
    for by in BREAKDOWNS:
        calls[f"issue: issue_breakdown by {by}"] = lambda c, by=by: c.query(
            "issue_breakdown", issue_id=issue_id, by=by, limit=5, **window
        )
    return calls


def timed(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """p50 and p95, in ms, of ``calls`` calls after one warm-up call."""
    call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20, method="inclusive")[18]


def print_timings(client: ReadClient, views: list[dict[str, Callable[[ReadClient], Any]]], calls: int) -> None:
    """A markdown table: each call's p50 and p95 over ``calls`` calls after a warm-up, for the 24 h and 7 days views."""
    print("| call | 24 h p50 | 24 h p95 | 7 days p50 | 7 days p95 |")
    print("| --- | --- | --- | --- | --- |")
    for name in views[0]:
        cells = []
        for view in views:
            p50, p95 = timed(lambda: view[name](client), calls)  # noqa: B023 (called before the loop moves on)
            cells += [f"{p50:.0f} ms", f"{p95:.0f} ms"]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)


@contextlib.contextmanager
def served(con: Any) -> Iterator[int]:
    """The read API on ``con`` on a free port of 127.0.0.1 (yielded) for the block; ``con`` is closed after."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_api(con, None, "bench"), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="the read API")
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--db", type=Path, help="reuse this file if it is filled (else fill it)")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        path = args.db or Path(tmp) / "vigil.duckdb"
        if not path.exists():
            print(f"filling {path} with {args.events:,} events over {args.days} days", flush=True)
            started = time.perf_counter()
            fill(path, args.events, args.days, now)
            print(f"filled in {time.perf_counter() - started:.0f} s", flush=True)
        con = open_database(path)
        ((issue_id,),) = con.execute("SELECT issue_id FROM issues ORDER BY events DESC LIMIT 1").fetchall()
        ((latest,),) = con.execute("SELECT max(ts) FROM errors").fetchall()
        now = latest + timedelta(seconds=1)  # a reused file: its own "now"
        print(f"\nissue {issue_id} (the one with the most events); {args.calls} calls each after a warm-up\n")
        with served(con) as port, ReadClient(f"http://127.0.0.1:{port}", timeout=120) as client:
            views = [page_calls(now, timedelta(hours=24), issue_id), page_calls(now, timedelta(days=7), issue_id)]
            print_timings(client, views, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
