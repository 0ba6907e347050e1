"""Every event kind lands in its table with the shared keys, through the real consumer and DuckDB."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import msgspec
import pytest

from analytics.consume import Consumer
from analytics.events import ms
from analytics.store import ROW_GROUP_SIZE, SCHEMA_VERSION, SchemaTooNew, cursor, open_database
from analytics.tables import SHARED, TABLES
from contracts.beacon import decode_batch
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry

SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
T0 = 1_764_072_000_000
BATCH = {
    "v": 1, "batch_id": "b1", "sent_at": T0 + 900, "release": "shop@2", "environment": "prod",
    "session_id": "s1", "user_id": "u-hash", "tags": {"plan": "pro"}, "dropped": {"queue_full": 3, "duplicate": 1},
    "sdk": "vigil.js/0.2.0",
    "events": [
        {"type": "error", "event_id": "e1", "ts": T0, "page_url": "https://x.example/a", "error_type": "TypeError",
         "message": "boom", "level": "warning", "cross_origin": False,
         "causes": [{"error_type": "Error", "message": "root"}],
         "breadcrumbs": [{"ts": T0 - 5, "category": "click", "message": "button#buy"}],
         "fingerprint": ["checkout"]},
        {"type": "network", "event_id": "n1", "ts": T0 + 1, "page_url": "https://x.example/a", "api": "fetch",
         "method": "POST", "url": "https://api.example/pay", "status": 503, "duration": 120.5,
         "failure": "http_error", "nel_phase": "application", "nel_type": "http.error"},
        {"type": "resource", "event_id": "r1", "ts": T0 + 2, "page_url": "https://x.example/a",
         "url": "https://cdn.example/a.png", "element": "img", "status": 404},
        {"type": "vital", "event_id": "v1", "ts": T0 + 3, "page_url": "https://x.example/a", "name": "LCP",
         "value": 2400.0, "rating": "needs-improvement", "metric_id": "v5-123", "delta": 2400.0,
         "navigation_type": "navigate", "attribution": {"target": "img.hero", "render_delay": 12.5}},
        {"type": "pageview", "event_id": "p1", "ts": T0 + 4, "page_url": "https://x.example/a",
         "navigation": "navigate", "referrer": "https://search.example/", "dns": 1.0, "connect": 2.0, "tls": 1.5,
         "ttfb": 80.0, "dom_interactive": 300.0, "load": 450.0},
        {"type": "csp", "event_id": "c1", "ts": T0 + 5, "page_url": "https://x.example/a", "blocked_uri": "inline",
         "effective_directive": "script-src-elem", "disposition": "enforce", "sample": "alert(1)"},
        {"type": "report", "event_id": "d1", "ts": T0 + 6, "page_url": "https://x.example/a",
         "report_type": "deprecation", "report_id": "UnloadHandler", "message": "unload is deprecated"},
        {"type": "vital", "event_id": "v2", "ts": T0 + 3, "page_url": "https://x.example/a", "name": "INP",
         "value": 640.0, "metric_id": "v5-124"},
        {"type": "slow_request", "event_id": "s1", "ts": T0 + 3, "page_url": "https://x.example/a",
         "api": "xmlhttprequest", "url": "https://api.example/cart", "duration": 1850.0, "status": 200,
         "dns": 3.0, "connect": 20.0, "tls": 12.0, "ttfb": 1700.0},
    ],
}  # fmt: skip


@pytest.fixture
def stored(redis_client, con) -> duckdb.DuckDBPyConnection:
    batch = decode_batch(msgspec.json.encode(BATCH)).batch
    entry = StreamEntry(
        project_id=3,
        project="shop",
        received_at=T0 + 1000,
        user_agent=SAFARI,
        batch=batch,
        client_ip="203.0.113.0",
        country="NZ",
    )
    redis_client.xadd(EVENTS_STREAM, {"e": encode_entry(entry)})
    consumer = Consumer(redis_client, con, name="c1", block_ms=50)
    consumer.run(burst=True)
    assert consumer.committed_rows == 9 + 2
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[object, ...]:
    (row,) = con.execute(sql).fetchall()
    return row


def test_every_event_table_carries_the_shared_keys(stored):
    shared = ", ".join(f.name for f in SHARED if f.name not in {"event_id", "ts"})
    for table in ("errors", "network_failures", "resource_failures", "slow_requests", "web_vitals", "page_views"):
        assert one(stored, f"SELECT DISTINCT {shared} FROM {table}") == (
            "b1", datetime(2025, 11, 25, 12, 0, 1), "shop", 3, "prod", "shop@2", "s1", "u-hash",
            "https://x.example/a", "Mobile Safari", "17.4", "iOS", "17.4", "mobile", False, "203.0.113.0", "NZ",
        ), table  # fmt: skip
    assert stored.execute("SELECT event_id FROM reports ORDER BY ts").fetchall() == [("c1",), ("d1",)]


def test_errors_keep_causes_breadcrumbs_fingerprint_and_tags_as_json(stored):
    row = one(stored, "SELECT error_type, level, causes, breadcrumbs, fingerprint, tags FROM errors")
    assert row[:2] == ("TypeError", "warning")
    assert json.loads(row[2]) == [{"error_type": "Error", "message": "root", "stack": ""}]
    assert json.loads(row[3]) == [{"ts": T0 - 5, "category": "click", "message": "button#buy", "level": "info"}]
    assert (json.loads(row[4]), json.loads(row[5])) == (["checkout"], {"plan": "pro"})


def test_each_kind_has_its_own_columns(stored):
    network = "SELECT api, method, url, status, duration_ms, failure, nel_phase, nel_type FROM network_failures"
    assert one(stored, network) == (
        "fetch", "POST", "https://api.example/pay", 503, 120.5, "http_error", "application", "http.error",
    )  # fmt: skip
    assert one(stored, "SELECT url, element, source, status, duration_ms FROM resource_failures") == (
        "https://cdn.example/a.png", "img", "error_event", 404, None,
    )  # fmt: skip
    assert stored.execute(
        "SELECT name, value, rating, metric_id, attribution ->> 'target' FROM web_vitals ORDER BY event_id"
    ).fetchall() == [
        ("LCP", 2400.0, "needs-improvement", "v5-123", "img.hero"),
        ("INP", 640.0, "poor", "v5-124", None),  # rated here: the beacon leaves the rating to the server
    ]
    slow = "SELECT api, url, status, duration_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, route FROM slow_requests"
    assert one(stored, slow) == ("xhr", "https://api.example/cart", 200, 1850.0, 3.0, 20.0, 12.0, 1700.0, "/a")
    assert one(stored, "SELECT navigation, referrer, dns_ms, ttfb_ms, load_ms FROM page_views") == (
        "navigate", "https://search.example/", 1.0, 80.0, 450.0,
    )  # fmt: skip
    assert stored.execute(
        "SELECT source, report_type, blocked_uri, effective_directive, report_id FROM reports ORDER BY ts"
    ).fetchall() == [
        ("beacon", "csp", "inline", "script-src-elem", None),
        ("beacon", "deprecation", None, None, "UnloadHandler"),
    ]


def test_what_the_sender_dropped_is_counted(stored):
    assert stored.execute("SELECT reason, count, sdk, session_id FROM client_drops ORDER BY reason").fetchall() == [
        ("duplicate", 1, "vigil.js/0.2.0", "s1"),
        ("queue_full", 3, "vigil.js/0.2.0", "s1"),
    ]


def test_an_older_file_gains_new_tables_and_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute("CREATE TABLE vigil_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        old.execute("INSERT INTO vigil_meta VALUES ('schema_version', '1')")
        old.execute("CREATE TABLE errors (event_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, message VARCHAR)")
        old.execute("INSERT INTO errors VALUES ('e0', TIMESTAMP '2026-01-01 00:00:00', 'kept')")
    con = open_database(path)
    try:
        assert con.execute("SELECT event_id, message, level FROM errors").fetchall() == [("e0", "kept", None)]
        columns = {
            r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'errors'").fetchall()
        }
        assert columns == set(TABLES["errors"].names)
        assert con.execute("SELECT value FROM vigil_meta").fetchone() == (str(SCHEMA_VERSION),)
    finally:
        con.close()


def test_rows_go_in_small_row_groups_and_the_file_stays_a_plain_duckdb_file(tmp_path):
    path = tmp_path / "vigil.duckdb"
    with duckdb.connect(str(path)) as old:  # written with DuckDB's own row groups (122,880 rows)
        old.execute("CREATE TABLE legacy AS SELECT range AS i FROM range(130000)")
    groups = (
        "SELECT sum(count) FROM pragma_storage_info('legacy') "
        "WHERE column_id = 0 AND segment_type <> 'VALIDITY' GROUP BY row_group_id ORDER BY row_group_id"
    )
    con = open_database(path)
    try:
        for start in range(0, 4 * ROW_GROUP_SIZE, ROW_GROUP_SIZE // 2):
            con.execute("INSERT INTO legacy SELECT range FROM range(?, ?)", [start, start + ROW_GROUP_SIZE // 2])
            con.execute("CHECKPOINT")
        sizes = [size for (size,) in con.execute(groups).fetchall()]
        # The old full group is kept as it is; every group written since holds at most ROW_GROUP_SIZE rows.
        assert sizes[0] == 122880
        assert max(sizes[1:]) <= ROW_GROUP_SIZE
        assert sum(sizes) == 130000 + 4 * ROW_GROUP_SIZE
        # DuckDB spills next to the file, not into the working directory.
        assert con.execute("SELECT current_setting('temp_directory')").fetchone() == (f"{path}.tmp",)
        # A cursor (the read API's, on another thread) works in the same catalog.
        reader = cursor(con)
        assert reader.execute("SELECT count(*) FROM legacy").fetchone() == (130000 + 4 * ROW_GROUP_SIZE,)
        reader.close()
    finally:
        con.close()
    with duckdb.connect(str(path), read_only=True) as plain:
        assert plain.execute("SELECT count(*) FROM legacy").fetchone() == (130000 + 4 * ROW_GROUP_SIZE,)
        assert plain.execute("SELECT value FROM vigil_meta").fetchone() == (str(SCHEMA_VERSION),)


def test_a_newer_file_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    with duckdb.connect(str(path)) as newer:
        newer.execute("CREATE TABLE vigil_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        newer.execute("INSERT INTO vigil_meta VALUES ('schema_version', '99')")
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        open_database(path)


def test_milliseconds_become_exact_naive_utc_datetimes() -> None:
    assert ms(0) == datetime(1970, 1, 1)
    assert ms(1_764_072_000_123) == datetime(2025, 11, 25, 12, 0, 0, 123_000)
    assert ms(4_102_444_799_999) == datetime(2099, 12, 31, 23, 59, 59, 999_000)  # no float rounding at the top


@pytest.mark.parametrize(
    ("event_ts", "sent_at", "stored_ts", "clamped"),
    [
        (T0, T0, T0, None),  # a clock that is right
        (T0 - 30_000, T0 - 30_000, T0 - 30_000, None),  # 30 s off (or a retry's delay): left alone
        (T0 - 7_200_000, T0 - 7_200_000 + 500, T0 + 500, None),  # 2 h slow (a time zone): put right
        (T0 + 3_600_000, T0 + 3_600_000, T0 + 1000, None),  # 1 h fast: put right
        (0, T0, T0 + 1000, "timestamp_past"),  # 1970 on a right clock: would be deleted at once
        (253_402_300_799_000, T0, T0 + 1000, "timestamp_future"),  # year 9999: never deleted
        (T0 + 120_000, T0, T0 + 1000, "timestamp_future"),  # two minutes after its own batch was sent
        (T0 - 40 * 86_400_000, T0, T0 + 1000, "timestamp_past"),  # older than retention keeps anything
    ],
)
def test_event_times_go_on_the_collectors_clock_and_absurd_ones_are_clamped_and_counted(
    redis_client, con, event_ts, sent_at, stored_ts, clamped
):
    body = {**BATCH, "sent_at": sent_at, "events": [{**BATCH["events"][4], "ts": event_ts}]}  # type: ignore[index]
    batch = decode_batch(msgspec.json.encode(body)).batch
    entry = StreamEntry(project_id=3, project="shop", received_at=T0 + 1000, user_agent=SAFARI, batch=batch)
    redis_client.xadd(EVENTS_STREAM, {"e": encode_entry(entry)})
    Consumer(redis_client, con, name="c1", block_ms=50).run(burst=True)
    assert one(con, "SELECT ts FROM page_views") == (ms(stored_ts),)
    counted = con.execute("SELECT reason, count FROM outcomes WHERE outcome = 'clamped'").fetchall()
    assert counted == ([(clamped, 1)] if clamped else [])
