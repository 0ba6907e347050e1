"""The beacon's sessions table, through the real consumer on a real redis-server and DuckDB file."""

from __future__ import annotations

from datetime import datetime

import duckdb

from analytics import retention, rollups, sessions
from analytics.queries import run_query
from analytics.store import open_database
from contracts.beacon import Batch, ErrorEvent, PageViewEvent
from contracts.stream import StreamEntry, encode_entry
from tests.analytics.test_fingerprint import CHROME_1
from tests.analytics.test_issues import CHROME_UA, T0, consume

MINUTE = 60_000
WINDOW = {"since": "2025-11-25T12:00:00Z", "until": "2025-11-25T13:00:00Z"}
FIGURES = ("release", "sessions", "unhandled_sessions", "users", "unhandled_users", "first_seen")


def page_view(event_id: str, ts: int) -> PageViewEvent:
    return PageViewEvent(event_id=event_id, ts=ts, page_url="https://shop.example/")


def crash(event_id: str, ts: int, mechanism: str = "onerror") -> ErrorEvent:
    return ErrorEvent(
        event_id=event_id, ts=ts, page_url="https://shop.example/", error_type="TypeError", message="x",
        stack=CHROME_1, mechanism=mechanism,
    )  # fmt: skip


def batch(batch_id: str, session: str, events: list, *, release: str = "shop@1.0", user: str = "") -> bytes:
    sent = max(e.ts for e in events)
    data = Batch(v=1, batch_id=batch_id, sent_at=sent, events=events, release=release, session_id=session,
                 user_id=user)  # fmt: skip
    return encode_entry(StreamEntry(project_id=1, project="demo", received_at=sent, user_agent=CHROME_UA, batch=data))


def stored(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT release, session_id, started, user_id, unhandled, compacted FROM beacon_sessions ORDER BY ALL"
    ).fetchall()


def health(con: duckdb.DuckDBPyConnection, window: dict[str, str] = WINDOW) -> list[tuple]:
    result = run_query(con, "releases", window)
    return [tuple(row[result.columns.index(c)] for c in FIGURES) for row in result.rows]


def test_a_session_over_several_batches_is_one_row_once_compacted_and_counts_once_before(redis_client, con):
    consume(redis_client, con, batch("b1", "s1", [page_view("p1", T0 + 5 * MINUTE)]))
    consume(
        redis_client, con,
        batch("b2", "s1", [page_view("p2", T0 + 6 * MINUTE)], user="u1"),  # the user logged in
        batch("b3", "s1", [crash("e1", T0 + 7 * MINUTE)], user="u1"),
        batch("b4", "s2", [page_view("p3", T0 + 8 * MINUTE), crash("e2", T0 + 8 * MINUTE, "manual")]),
    )  # fmt: skip
    start = datetime(2025, 11, 25, 12, 5)
    assert len(stored(con)) >= 3  # partial rows: one per session and batch (b2 and b3 may share one)
    before = health(con)

    assert sessions.compact(con) == 2
    assert stored(con) == [
        ("shop@1.0", "s1", start, "u1", True, True),  # the earliest start, the user, unhandled by its onerror
        ("shop@1.0", "s2", datetime(2025, 11, 25, 12, 8), None, False, True),  # a caught error is handled
    ]
    assert con.execute("SELECT DISTINCT crashed FROM beacon_sessions").fetchall() == [(False,)]  # pages don't crash
    assert health(con) == before == [("shop@1.0", 2, 1, 1, 1, start)]
    assert sessions.compact(con) == 0  # nothing left to fold


def test_a_replayed_batch_adds_no_session_row(redis_client, con):
    entry = batch("b1", "s1", [page_view("p1", T0), crash("e1", T0 + 1)], user="u1")
    consume(redis_client, con, entry)
    consume(redis_client, con, entry)  # the same events again: none is inserted, so no partial row either

    assert stored(con) == [("shop@1.0", "s1", datetime(2025, 11, 25, 12, 0), "u1", True, False)]


def test_a_session_counts_in_the_range_it_started_in_before_and_after_compaction(redis_client, con):
    consume(redis_client, con, batch("b1", "s1", [page_view("p1", T0 - 10 * MINUTE)]))  # 11:50, before the window
    consume(redis_client, con, batch("b2", "s1", [crash("e1", T0 + 10 * MINUTE)]))  # 12:10, inside it
    earlier = {"since": "2025-11-25T11:00:00Z", "until": "2025-11-25T12:00:00Z"}

    for _ in range(2):
        assert health(con) == []  # its error falls in the window, but the session began before
        assert health(con, earlier) == [("shop@1.0", 1, 1, 0, 0, datetime(2025, 11, 25, 11, 50))]
        rollups.compact(con, datetime(2025, 11, 25, 12, 0))  # the same figures once folded


def test_sessions_are_aged_out_with_the_rollups(redis_client, con):
    day = 24 * 60 * MINUTE
    consume(
        redis_client, con,
        batch("old", "s-old", [page_view("p1", T0 - 40 * day)]),
        batch("new", "s-new", [page_view("p2", T0 - 20 * day)]),
    )  # fmt: skip

    deleted = retention.enforce(con, retention.policy(7, 30, ""), datetime(2025, 11, 25, 12, 0))

    assert deleted["beacon_sessions"] == 1
    assert [row[1] for row in stored(con)] == ["s-new"]


def test_sessions_stored_before_the_table_existed_are_counted_at_the_upgrade(redis_client, tmp_path):
    path = tmp_path / "vigil.duckdb"
    con = open_database(path)
    consume(
        redis_client, con,
        batch("b1", "s1", [page_view("p1", T0)], user="u1"),
        batch("b2", "s1", [crash("e1", T0 + MINUTE)], user="u1"),
    )  # fmt: skip
    con.execute("DROP TABLE beacon_sessions")  # as a file of schema version 9 has it
    con.execute("UPDATE vigil_meta SET value = '9' WHERE key = 'schema_version'")
    con.close()

    con = open_database(path)
    try:
        assert stored(con) == [("shop@1.0", "s1", datetime(2025, 11, 25, 12, 0), "u1", True, True)]
        assert health(con) == [("shop@1.0", 1, 1, 1, 1, datetime(2025, 11, 25, 12, 0))]
    finally:
        con.close()


def test_what_a_file_counted_as_crashed_is_unhandled_after_the_upgrade(redis_client, tmp_path):
    path = tmp_path / "vigil.duckdb"
    con = open_database(path)
    consume(redis_client, con, batch("b1", "s1", [page_view("p1", T0), crash("e1", T0 + MINUTE)], user="u1"))
    # As schema version 11 stored it: the unhandled error in `crashed`, no `unhandled` column.
    con.execute("UPDATE beacon_sessions SET crashed = unhandled")
    con.execute("ALTER TABLE beacon_sessions DROP COLUMN unhandled")
    con.execute("UPDATE vigil_meta SET value = '11' WHERE key = 'schema_version'")
    con.close()

    con = open_database(path)
    try:
        assert con.execute("SELECT crashed, unhandled FROM beacon_sessions").fetchall() == [(False, True)]
        assert health(con) == [("shop@1.0", 1, 1, 1, 1, datetime(2025, 11, 25, 12, 0))]
    finally:
        con.close()
