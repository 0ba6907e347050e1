"""Per-minute rollups and retention, through the real consumer on a real redis-server and DuckDB file."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import duckdb
import pytest
import redis

from analytics import retention, rollups, rows
from analytics.consume import Consumer, Job
from analytics.queries import run_query
from analytics.settings import AnalyticsSettings
from analytics.store import open_database
from contracts.beacon import Batch, ErrorEvent, PageViewEvent, VitalEvent
from contracts.settings import ConfigError
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry

T0 = 1_764_072_000_000  # 2025-11-25 12:00:00 UTC
MINUTE = 60_000
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
RANGE = {"since": "2025-11-25T11:00:00Z", "until": "2025-11-25T14:00:00Z"}


def send(client: redis.Redis, batch_id: str, events: list, release: str = "1.0", user_agent: str = CHROME) -> None:
    # Sent and received after every event of the tests (an event later than its arrival would be clamped).
    sent = T0 + 10 * MINUTE
    batch = Batch(
        v=1, batch_id=batch_id, sent_at=sent, release=release, environment="prod", session_id="s1", events=events
    )
    entry = StreamEntry(project_id=1, project="demo", received_at=sent, user_agent=user_agent, batch=batch)
    client.xadd(EVENTS_STREAM, {"e": encode_entry(entry)})


def error(event_id: str, ts: int, message: str = "x is undefined") -> ErrorEvent:
    return ErrorEvent(
        event_id=event_id, ts=ts, page_url="https://shop.example/", error_type="TypeError", message=message,
        stack=f"TypeError: {message}\n    at render (https://shop.example/app.js:1:10)",
    )  # fmt: skip


def vital(event_id: str, ts: int, value: float, metric_id: str, name: str = "CLS") -> VitalEvent:
    return VitalEvent(
        event_id=event_id, ts=ts, page_url="https://shop.example/", name=name, value=value, rating="good",
        metric_id=metric_id,
    )  # fmt: skip


def consume(client: redis.Redis, con: duckdb.DuckDBPyConnection) -> Consumer:
    consumer = Consumer(client, con, name="c1", batch_entries=100, block_ms=50)
    consumer.run(burst=True)
    return consumer


def counts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        """SELECT minute, kind, release, browser, issue_id IS NOT NULL, sum(count)::INT FROM event_counts_1m
           GROUP BY ALL ORDER BY ALL"""
    ).fetchall()


def test_counts_per_minute_by_kind_release_browser_and_issue(redis_client, con):
    send(redis_client, "b1", [error("e1", T0 + 1000), error("e2", T0 + 2000), error("e3", T0 + MINUTE + 5)])
    send(redis_client, "b2", [error("e4", T0 + 3000)], release="2.0", user_agent=FIREFOX)
    send(redis_client, "b3", [PageViewEvent(event_id="p1", ts=T0 + 10, page_url="https://shop.example/")])
    consume(redis_client, con)

    minute = datetime(2025, 11, 25, 12, 0)
    assert counts(con) == [
        (minute, "errors", "1.0", "Chrome", True, 2),
        (minute, "errors", "2.0", "Firefox", True, 1),
        (minute, "page_views", "1.0", "Chrome", False, 1),
        (minute + timedelta(minutes=1), "errors", "1.0", "Chrome", True, 1),
    ]
    (issue_id,) = con.execute("SELECT DISTINCT issue_id FROM errors").fetchone()
    series = run_query(con, "issue_events_per_minute", {**RANGE, "issue_id": str(issue_id)})
    assert series.rows == [[minute, 3], [minute + timedelta(minutes=1), 1]]
    by = run_query(con, "event_counts_by", RANGE)
    assert by.rows == [["1.0", "Chrome", 3], ["2.0", "Firefox", 1]]


def test_a_duplicate_event_adds_nothing_to_the_rollups(redis_client, con):
    send(redis_client, "b1", [error("e1", T0), error("e2", T0)])
    consume(redis_client, con)
    send(redis_client, "b1", [error("e1", T0), error("e2", T0), error("e3", T0)])  # a retry with one new event
    consume(redis_client, con)

    assert run_query(con, "event_counts", {**RANGE, "kind": "errors"}).rows == [
        [datetime(2025, 11, 25, 12, 0), "errors", 3]
    ]


def test_compaction_folds_finished_minutes_and_keeps_the_totals(redis_client, con):
    for n in range(5):
        send(redis_client, f"b{n}", [error(f"e{n}", T0 + n), error(f"f{n}", T0 + 2 * MINUTE)])
        consume(redis_client, con)  # one batch each: five partial rows per minute
    before = counts(con)
    assert con.execute("SELECT count(*) FROM event_counts_1m").fetchone() == (10,)

    folded = rollups.compact(con, datetime(2025, 11, 25, 12, 1))  # the 12:02 minute is not finished

    assert folded == 1
    assert counts(con) == before
    assert con.execute("SELECT minute, count, compacted FROM event_counts_1m ORDER BY ALL").fetchall() == [
        (datetime(2025, 11, 25, 12, 0), 5, True),
        *[(datetime(2025, 11, 25, 12, 2), 1, False)] * 5,
    ]
    # A late event for a folded minute is added, and folded again on the next pass.
    send(redis_client, "late", [error("late", T0 + 30_000)])
    consume(redis_client, con)
    assert rollups.compact(con, datetime(2025, 11, 25, 12, 3)) == 2
    assert con.execute("SELECT minute, count FROM event_counts_1m ORDER BY ALL").fetchall() == [
        (datetime(2025, 11, 25, 12, 0), 6),
        (datetime(2025, 11, 25, 12, 2), 5),
    ]


def test_a_vital_counts_once_with_its_latest_value(redis_client, con):
    send(redis_client, "b1", [vital("v1", T0, 0.05, "cls-1"), vital("w1", T0, 0.01, "cls-2")])
    consume(redis_client, con)
    send(redis_client, "b2", [vital("v2", T0 + 5000, 0.12, "cls-1")])
    consume(redis_client, con)
    # Two updates in one batch, and one that arrives late, after a newer value was stored.
    send(redis_client, "b3", [vital("v3", T0 + 9000, 0.2, "cls-1"), vital("v4", T0 + 10_000, 0.3, "cls-1")])
    send(redis_client, "b4", [vital("v0", T0 + 7000, 0.15, "cls-1")])
    consume(redis_client, con)

    assert histogram(con) == [(rollups.bucket_of(0.01), 1), (rollups.bucket_of(0.3), 1)]
    rollups.compact(con, datetime(2025, 11, 25, 13, 0))
    assert con.execute("SELECT sum(count)::INT FROM vitals_1m").fetchone() == (2,)


def histogram(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT bucket, sum(count)::INT FROM vitals_1m GROUP BY bucket HAVING sum(count) <> 0 ORDER BY bucket"
    ).fetchall()


def test_a_retried_vital_update_changes_nothing(redis_client, con):
    send(redis_client, "b1", [vital("v1", T0, 0.05, "cls-1")])
    send(redis_client, "b2", [vital("v2", T0 + 5000, 0.12, "cls-1")])
    consume(redis_client, con)
    send(redis_client, "b2", [vital("v2", T0 + 5000, 0.12, "cls-1")])  # the browser sent it again
    send(redis_client, "b3", [vital("v1", T0, 0.05, "cls-1"), vital("w1", T0, 0.2, "cls-2")])  # and the first too
    consume(redis_client, con)

    assert histogram(con) == [(rollups.bucket_of(0.12), 1), (rollups.bucket_of(0.2), 1)]


def test_the_metric_key_is_the_same_in_python_and_in_sql(con):
    for name, metric_id in [("CLS", "v5-1764072000000-8391750214753"), ("INP", "cls-1"), ("LCP", "é-✓")]:
        (sql_key,) = con.execute("SELECT md5_number_upper(? || chr(31) || ?)", [name, metric_id]).fetchone()
        assert rows.metric_key(name, metric_id) == sql_key
    assert rows.metric_key("CLS", "") is None
    assert rows.metric_key("CLS", "x") != rows.metric_key("LCP", "x")


def test_one_id_reused_for_two_metrics_counts_both(redis_client, con):
    send(redis_client, "b1", [vital("v1", T0, 2000.0, "x", name="LCP")])
    send(redis_client, "b2", [vital("v2", T0 + 1000, 0.1, "x", name="CLS")])
    consume(redis_client, con)

    by_name = con.execute("SELECT name, sum(count)::INT FROM vitals_1m GROUP BY name ORDER BY name").fetchall()
    assert by_name == [("CLS", 1), ("LCP", 1)]


def test_vitals_stored_before_the_metric_key_existed_are_replaced_after_the_upgrade(redis_client, tmp_path):
    path = tmp_path / "vigil.duckdb"
    con = open_database(path)
    send(redis_client, "b1", [vital("v1", T0, 0.05, "cls-1")])
    consume(redis_client, con)
    con.execute("ALTER TABLE web_vitals DROP COLUMN metric_key")  # as a file of schema version 8 has it
    con.execute("UPDATE vigil_meta SET value = '8' WHERE key = 'schema_version'")
    con.close()

    con = open_database(path)
    try:
        assert con.execute("SELECT metric_key FROM web_vitals").fetchall() == [(rows.metric_key("CLS", "cls-1"),)]
        send(redis_client, "b2", [vital("v2", T0 + 5000, 0.12, "cls-1")])
        consume(redis_client, con)
        assert histogram(con) == [(rollups.bucket_of(0.12), 1)]
    finally:
        con.close()


def test_vital_percentiles_are_within_two_percent(redis_client, con):
    rng = random.Random(7)
    values = [round(rng.lognormvariate(7.5, 0.6), 1) for _ in range(2000)]  # LCP-like, around 1.8 s
    for start in range(0, len(values), 100):  # the most events a batch may hold
        events = [
            vital(f"l{n}", T0 + n, v, f"lcp-{n}", name="LCP") for n, v in enumerate(values[start : start + 100], start)
        ]
        send(redis_client, f"b{start}", events)
    consume(redis_client, con)

    result = run_query(con, "vitals_percentiles", RANGE)
    assert result.columns == ["name", "samples", "p50", "p75", "p95"]
    ((name, samples, *estimates),) = result.rows
    ordered = sorted(values)
    exact = [ordered[int(p * len(ordered)) - 1] for p in (0.5, 0.75, 0.95)]
    assert (name, samples) == ("LCP", 2000)
    for estimate, truth in zip(estimates, exact, strict=True):
        assert estimate == pytest.approx(truth, rel=rollups.RELATIVE_ERROR)


def test_bucket_values_are_within_the_relative_error():
    for value in (0.0001, 0.05, 1.0, 123.4, 2500.0, 86_400_000.0):
        assert rollups.value_of(rollups.bucket_of(value)) == pytest.approx(value, rel=rollups.RELATIVE_ERROR * 1.001)
    assert rollups.value_of(rollups.bucket_of(0.0)) == 0.0


def test_retention_deletes_rows_past_each_tables_limit(redis_client, con):
    now = datetime(2025, 11, 25, 12, 0)
    day = 24 * 60 * MINUTE
    send(
        redis_client,
        "old",
        [
            error("old", T0 - 10 * day),
            PageViewEvent(event_id="p-old", ts=T0 - 10 * day, page_url="https://shop.example/"),
        ],
    )
    send(
        redis_client,
        "new",
        [error("new", T0 - day), PageViewEvent(event_id="p-new", ts=T0 - day, page_url="https://shop.example/")],
    )
    consume(redis_client, con)

    days = retention.policy(7, 30, "page_views=0")
    deleted = retention.enforce(con, days, now)

    assert deleted == {"errors": 1}
    assert con.execute("SELECT event_id FROM errors").fetchall() == [("new",)]
    assert con.execute("SELECT count(*) FROM page_views").fetchone() == (2,)  # 0 keeps a table forever
    assert con.execute("SELECT sum(count)::INT FROM event_counts_1m").fetchone() == (4,)  # rollups outlive raw rows
    assert con.execute("SELECT count(*) FROM issues").fetchone() == (1,)  # issues are never aged out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("errors", "analytics retention: expected table=days, got 'errors'"),
        ("errors=-1", "analytics retention: expected table=days, got 'errors=-1'"),
        ("issues=3", "analytics retention: no table 'issues' is aged out"),
    ],
)
def test_a_bad_retention_setting_fails_in_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        AnalyticsSettings(retention=overrides)


def test_jobs_run_between_batches_on_schedule_and_survive_a_failure(redis_client, con):
    now = [1000.0]
    runs: list[datetime] = []

    def broken(c: duckdb.DuckDBPyConnection, at: datetime) -> None:
        c.execute("SELECT * FROM no_such_table")

    consumer = Consumer(redis_client, con, name="c1", block_ms=50, clock=lambda: now[0])
    consumer.jobs = [Job("broken", 60, broken), Job("record", 60, lambda c, at: runs.append(at))]
    consumer.run_due_jobs()
    now[0] += 30
    consumer.run_due_jobs()  # not due yet
    now[0] += 31
    consumer.run_due_jobs()

    assert runs == [datetime(1970, 1, 1, 0, 16, 40), datetime(1970, 1, 1, 0, 17, 41)]
    assert consumer.last_error.startswith("broken: CatalogException")
