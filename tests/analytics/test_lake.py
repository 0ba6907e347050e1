"""The DuckLake store (analytics/lake.py): on a real PostgreSQL catalog, the tests of the pipeline, issues and their
triage, reports and alerts hold as on a file; two writers racing on one issue store and count each event once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import duckdb
import msgspec
import pytest

from analytics.consume import Consumer
from analytics.issue_index import Merges
from analytics.lake import keyless, maintain, redacted
from analytics.queries import run_query
from analytics.settings import AnalyticsSettings
from analytics.store import Store, open_database
from analytics.triage import act
from contracts.beacon import decode_batch
from contracts.queries import QUERIES, QueryError
from contracts.settings import ConfigError
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry
from contracts.triage import Action
from tests.analytics.test_alerts import (  # noqa: F401 (collected again here, on a lake)
    test_a_check_down_at_quorum_is_mailed_and_posted_once_and_its_recovery_too,
)
from tests.analytics.test_pipeline import (  # noqa: F401 (collected again here, on a lake)
    SAFARI,
    T0,
    stored,
    test_each_kind_has_its_own_columns,
    test_errors_keep_causes_breadcrumbs_fingerprint_and_tags_as_json,
    test_every_event_table_carries_the_shared_keys,
    test_what_the_sender_dropped_is_counted,
)
from tests.analytics.test_report import (  # noqa: F401 (collected again here, on a lake)
    test_a_made_report_is_stored_once_and_mailed,
    test_the_days_figures_against_the_day_before_and_its_issues,
)
from tests.analytics.test_triage import (  # noqa: F401 (collected again here, on a lake)
    test_a_merge_moves_events_and_counts_and_later_events_follow_it,
    test_ignored_for_a_time_wakes_when_the_time_is_over_with_or_without_events,
    test_resolved_in_the_next_release_stays_resolved_for_the_current_one_and_regresses_on_the_next,
)
from vigil.sql import query

STACK = "TypeError: cart is undefined\n    at checkout (https://x.example/app.js:1:200)"


@pytest.fixture
def con(lake: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty Vigil store on a DuckLake of the test's own."""
    connection = open_database(lake)
    yield connection
    connection.close()


def _error_entry(event_ids: list[str], release: str, function: str = "checkout") -> dict[str, bytes]:
    """A stream entry: one beacon batch of errors that group into one issue (one message, one place)."""
    batch = {
        "v": 1, "batch_id": f"b-{'-'.join(event_ids)}", "sent_at": T0 + 900, "release": release,
        "environment": "prod", "session_id": "s1",
        "events": [
            {"type": "error", "event_id": event_id, "ts": T0 + n, "page_url": "https://x.example/cart",
             "error_type": "TypeError", "message": "cart is undefined", "stack": STACK.replace("checkout", function)}
            for n, event_id in enumerate(event_ids)
        ],
    }  # fmt: skip
    entry = StreamEntry(
        project_id=3, project="shop", received_at=T0 + 1000, user_agent=SAFARI,
        batch=decode_batch(msgspec.json.encode(batch)).batch,
    )  # fmt: skip
    return {"e": encode_entry(entry)}


def test_two_writers_racing_on_one_issue_store_each_event_once_and_count_it_once(lake, redis_client):
    """Writer A groups its batch while writer B commits a batch of the same issue, with a retry of A's event.

    A's commit then conflicts (the lake's turn moved), and A stores its batch again in a new transaction that
    sees B's: the retried event is not stored twice, A's other event joins the issue B opened (no second issue,
    no second id), and the issue counts each event once.
    """
    first, second = open_database(lake), open_database(lake)
    try:
        redis_client.xadd(EVENTS_STREAM, _error_entry(["e1"], "shop@1"))
        a = Consumer(redis_client, first, name="a", batch_entries=1, block_ms=50)
        b = Consumer(redis_client, second, name="b", batch_entries=1, block_ms=50)
        plan = a.issues.plan
        raced = []

        def plan_while_b_commits(*args, **kwargs):
            if not raced:
                raced.append(True)
                redis_client.xadd(EVENTS_STREAM, _error_entry(["e1", "e2"], "shop@2"))  # e1 again: a client retry
                b.run(burst=True)  # B takes it and commits it meanwhile
            return plan(*args, **kwargs)

        a.issues.plan = plan_while_b_commits  # type: ignore[method-assign]
        a.run(burst=True)
        assert raced
        assert a.conflicts == 1
        assert b.conflicts == 0
        assert a.committed_entries == b.committed_entries == 1
        assert redis_client.xlen(EVENTS_STREAM) == 0

        check = open_database(lake)
        try:
            ids = sorted(row[0] for row in check.execute("SELECT event_id FROM errors").fetchall())
            assert ids == ["e1", "e2"]
            issues = check.execute("SELECT issue_id, events, first_release, last_release FROM issues").fetchall()
            assert len(issues) == 1
            issue_id, events, first_release, _ = issues[0]
            assert events == 2
            assert first_release == "shop@2"  # B's batch committed first
            assert check.execute("SELECT DISTINCT issue_id FROM errors").fetchall() == [(issue_id,)]
            counted = check.execute("SELECT sum(count) FROM event_counts_1m WHERE kind = 'errors'").fetchall()
            assert counted == [(2,)]
        finally:
            check.close()
    finally:
        first.close()
        second.close()


def test_writers_opening_a_lake_at_once_create_its_tables_once(lake):
    """Two writers that start together both bring the tables up to date: one commits, the other finds them."""
    results: list[object] = []

    def open_and_close() -> None:
        try:
            open_database(lake).close()
            results.append("ok")
        except Exception as e:
            results.append(e)

    threads = [threading.Thread(target=open_and_close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert results == ["ok", "ok"]
    check = open_database(lake)
    try:
        tables = check.execute(
            "SELECT count(*), count(DISTINCT table_name) FROM duckdb_tables() WHERE database_name = 'vigil'"
        ).fetchall()
        assert tables[0][0] == tables[0][1] > 20
    finally:
        check.close()


def test_keys_are_left_out_of_a_lakes_tables_and_only_there():
    assert keyless("CREATE TABLE t (k VARCHAR PRIMARY KEY, v VARCHAR)") == "CREATE TABLE t (k VARCHAR, v VARCHAR)"
    assert keyless('CREATE TABLE t (a INTEGER, "check" VARCHAR, PRIMARY KEY (a, "check"))') == (
        'CREATE TABLE t (a INTEGER, "check" VARCHAR)'
    )


def test_a_catalogs_password_never_reaches_a_log():
    assert redacted("host=db port=5432 password=s3cret user=v") == "host=db port=5432 password=*** user=v"
    assert redacted("postgresql://vigil:s3cret@db:5432/vigil") == "postgresql://vigil:***@db:5432/vigil"
    assert redacted("host=db dbname=vigil") == "host=db dbname=vigil"


def test_a_merge_made_through_another_writer_sends_later_events_to_the_issue_kept(lake, redis_client, monkeypatch):
    """Writer A has both issues in memory; the merge is made on writer B (its read API, another process): A's next
    batch sees that another writer committed, and looks merged issues up from then on."""
    first, second = open_database(lake), open_database(lake)
    try:
        a = Consumer(redis_client, first, name="a", block_ms=50)
        redis_client.xadd(EVENTS_STREAM, _error_entry(["e1"], "shop@1"))
        redis_client.xadd(EVENTS_STREAM, _error_entry(["e2"], "shop@1", function="pay"))
        a.run(burst=True)
        (kept, merged) = sorted(row[0] for row in first.execute("SELECT issue_id FROM issues").fetchall())
        act(second, Action(action="merge", issues=[merged, kept], actor="ana", into=kept))
        monkeypatch.setattr(Merges, "begun", 0)  # as in another process: A's own count of merges saw none
        redis_client.xadd(EVENTS_STREAM, _error_entry(["e3"], "shop@1", function="pay"))
        a.run(burst=True)
        assert first.execute("SELECT issue_id FROM errors WHERE event_id = 'e3'").fetchall() == [(kept,)]
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"store": "lake"}, "store: one of duckdb, ducklake"),
        ({"store": "ducklake"}, "needs ducklake_catalog"),
        ({"store": "ducklake", "ducklake_catalog": "host=db password=s3cret"}, "PGPASSWORD"),
        ({"store": "ducklake", "ducklake_catalog": "postgresql://vigil:s3cret@db/vigil"}, "PGPASSWORD"),
        ({"stream_shards": 1000}, "stream_shards: at most 256"),
        ({"redis_url": "rediss+cluster://db:6379"}, "redis+cluster://"),
        ({"redis_url": "redis+cluster://user:pw@db:6379"}, "host:port"),
    ],
)
def test_bad_store_and_stream_settings_are_one_line(settings, message):
    with pytest.raises(ConfigError) as refused:
        AnalyticsSettings(**settings)
    assert message in str(refused.value)
    assert "s3cret" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_vigil_sql_reads_a_lake_read_only_while_no_writer_runs(lake, stored, tmp_path):  # noqa: F811 (the fixture)
    data_dir = tmp_path / "machine"
    data_dir.mkdir()
    (data_dir / "vigil.toml").write_text(
        f'[analytics]\nstore = "ducklake"\nducklake_catalog = "{lake.catalog}"\nducklake_data_path = "{lake.path}"\n'
    )
    result = query(data_dir, "SELECT count(*), count(DISTINCT event_id) FROM errors")
    assert result.rows == [[1, 1]]
    with pytest.raises(QueryError):
        query(data_dir, "DELETE FROM errors")


def test_every_named_query_of_the_dashboard_runs_on_a_lake(stored):  # noqa: F811 (the fixture)
    """The read API's queries, the dashboard's every page, on a DuckLake: no SQL of theirs needs a DuckDB file."""
    known = {
        "since": "2025-11-25T00:00:00Z", "until": "2025-11-26T00:00:00Z", "issue_id": "1", "incident_id": "1",
        "day": "2025-11-25", "project": "shop",
    }  # fmt: skip
    answered = 0
    for named in QUERIES.values():
        params = {p.name: known[p.name] for p in named.params if p.name in known}
        result = run_query(stored, named.name, params, now=datetime(2025, 11, 25, 13, 0))
        assert result.columns, named.name
        answered += 1
    assert answered == len(QUERIES) > 30
    errors = run_query(stored, "errors_by_type", {"since": known["since"], "until": known["until"]})
    assert errors.rows


def test_the_maintenance_job_merges_a_lakes_small_files_and_keeps_its_rows(stored):  # noqa: F811 (the fixture)
    def files() -> int:
        (n,) = stored.execute("SELECT count(*) FROM ducklake_list_files('vigil', 'errors')").fetchone() or (0,)
        return int(n)

    before = stored.execute("SELECT count(*) FROM errors").fetchall()
    for n in range(3):  # more small files, as more batches make
        stored.execute(f"INSERT INTO errors SELECT * REPLACE ('again-{n}' AS event_id) FROM errors LIMIT 1")
    assert files() >= 4
    maintain(stored)
    assert files() == 1
    assert stored.execute("SELECT count(*) - 3 FROM errors").fetchall() == before
