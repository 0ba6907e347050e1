"""Issues through the real consumer and DuckDB: grouping across browsers and releases, counts, regressions."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from analytics.consume import Consumer
from analytics.triage import act
from contracts.beacon import Batch, ErrorEvent
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry
from contracts.triage import Action, ActionError, check
from tests.analytics.test_fingerprint import CHROME_1, FIREFOX_2, SAFARI_2

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
T0 = 1_764_072_000_000


def entry(
    event_id: str,
    release: str,
    user_agent: str,
    error_type: str,
    message: str,
    stack: str,
    ts: int = T0,
    **batch_fields,
):  # type: ignore[no-untyped-def]
    event = ErrorEvent(event_id=event_id, ts=ts, page_url="https://shop.example/cart", error_type=error_type,
                       message=message, stack=stack)  # fmt: skip
    batch = Batch(v=1, batch_id=f"b-{event_id}", sent_at=ts, events=[event], release=release,
                  session_id=f"s-{event_id}", user_id=f"u-{event_id[-1]}", **batch_fields)  # fmt: skip
    return encode_entry(StreamEntry(project_id=1, project="demo", received_at=ts, user_agent=user_agent, batch=batch))


def consume(redis_client, con, *entries: bytes, **options: Any) -> Consumer:  # type: ignore[no-untyped-def]
    for data in entries:
        redis_client.xadd(EVENTS_STREAM, {"e": data})
    consumer = Consumer(redis_client, con, name="c1", block_ms=50, **options)
    consumer.run(burst=True)
    return consumer


def triage(con: duckdb.DuckDBPyConnection, issue_id: int, action: str, release: str = "") -> None:
    act(con, check(Action(action, [issue_id], actor="ana", release=release)))


def issues(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT issue_id, error_type, culprit, events, status, first_release, last_release "
        "FROM issues ORDER BY issue_id"
    ).fetchall()


def test_one_bug_from_three_browsers_and_two_releases_is_one_issue_and_another_bug_is_another(redis_client, con):
    consume(
        redis_client, con,
        entry("e1", "shop@1.4.2", CHROME_UA, "TypeError", "Cannot read properties of undefined (reading 'price')",
              CHROME_1),
        entry("e2", "shop@1.5.0", FIREFOX_UA, "TypeError", "item is undefined", FIREFOX_2, T0 + 1000),
        entry("e3", "shop@1.5.0", SAFARI_UA, "TypeError", "undefined is not an object (evaluating 'item.price')",
              SAFARI_2, T0 + 2000),
        entry("e4", "shop@1.5.0", CHROME_UA, "TypeError", "x", CHROME_1.replace("addToCart", "removeFromCart"),
              T0 + 3000),
    )  # fmt: skip
    assert issues(con) == [
        (1, "TypeError", "addToCart (app.js)", 3, "unresolved", "shop@1.4.2", "shop@1.5.0"),
        (2, "TypeError", "removeFromCart (app.js)", 1, "unresolved", "shop@1.5.0", "shop@1.5.0"),
    ]
    assert con.execute("SELECT event_id, issue_id FROM errors ORDER BY event_id").fetchall() == [
        ("e1", 1), ("e2", 1), ("e3", 1), ("e4", 2),
    ]  # fmt: skip
    frames = con.execute(
        "SELECT frames ->> '$[0].function', frames ->> '$[0].mapped' FROM errors WHERE event_id = 'e1'"
    )
    assert frames.fetchone() == ("addToCart", "false")


def test_an_event_seen_again_is_not_counted_again(redis_client, con):
    data = entry("e1", "shop@1.0", CHROME_UA, "TypeError", "x", CHROME_1)
    consume(redis_client, con, data, data)
    consume(redis_client, con, data)
    assert [row[3] for row in issues(con)] == [1]
    assert con.execute("SELECT count(*) FROM errors").fetchone() == (1,)


def test_the_index_survives_a_restart(redis_client, con):
    consume(redis_client, con, entry("e1", "shop@1.0", CHROME_UA, "TypeError", "x", CHROME_1))
    consume(
        redis_client, con, entry("e2", "shop@1.0", FIREFOX_UA, "TypeError", "y", FIREFOX_2, T0 + 5)
    )  # a new Consumer
    assert [row[3] for row in issues(con)] == [2]


def test_resolved_issues_regress_only_for_newer_releases(redis_client, con):
    consume(redis_client, con, entry("e1", "shop@1.9.0", CHROME_UA, "TypeError", "x", CHROME_1))
    triage(con, 1, "resolve")  # resolved in 1.9.0, the newest release seen
    consume(redis_client, con, entry("e2", "shop@1.8.5", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 10))
    assert issues(con)[0][4] == "resolved"  # an old release still running somewhere
    consume(redis_client, con, entry("e3", "shop@1.10.0", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 20))
    assert issues(con)[0][4] == "regressed"  # 1.10.0 is newer than 1.9.0

    triage(con, 1, "resolve_in_release", "shop@2.0.0")
    consume(redis_client, con, entry("e4", "shop@1.10.0", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 30))
    consume(redis_client, con, entry("e5", "shop@2.0.0", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 40))
    assert issues(con)[0][4] == "resolved_in_release"
    consume(redis_client, con, entry("e6", "shop@2.0.1", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 50))
    assert issues(con)[0][4] == "regressed"


def test_ignored_issues_stay_ignored(redis_client, con):
    consume(redis_client, con, entry("e1", "shop@1.0", CHROME_UA, "TypeError", "x", CHROME_1))
    triage(con, 1, "ignore")
    consume(redis_client, con, entry("e2", "shop@9.0", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 5))
    assert issues(con)[0][3:5] == (2, "ignored")


@pytest.mark.parametrize(
    ("issue_id", "status", "release", "message"),
    [(1, "fixed", "", "action must be one of"), (1, "resolve_in_release", "", "needs a release"),
     (99, "ignore", "", "no issue 99")],
)  # fmt: skip
def test_bad_status_changes_are_refused(redis_client, con, issue_id, status, release, message):
    consume(redis_client, con, entry("e1", "shop@1.0", CHROME_UA, "TypeError", "x", CHROME_1))
    with pytest.raises(ActionError, match=message):
        triage(con, issue_id, status, release)


def test_a_pre_release_of_the_next_major_regresses_an_issue_resolved_in_the_last_minor(redis_client, con):
    consume(redis_client, con, entry("e1", "shop@1.9.0", CHROME_UA, "TypeError", "x", CHROME_1))
    triage(con, 1, "resolve")
    consume(redis_client, con, entry("e2", "shop@2.0.0-rc.1", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 10))
    assert issues(con)[0][4] == "regressed"


def distinct(n: int, ts: int = T0) -> bytes:
    """An error with a fingerprint of its own (a page can send any)."""
    stack = f"TypeError: x\n    at handler{n} (https://shop.example/app{n}.js:{n}:{n})"
    return entry(f"d{n}", "shop@1.0", CHROME_UA, "TypeError", f"unique {n}", stack, ts)


def test_new_issues_past_the_bound_go_to_the_projects_overflow_issue_and_are_counted(redis_client, con):
    now = [1_800_000_001.0]  # the consumer's clock: two runs, in two minutes
    consume(redis_client, con, *(distinct(n) for n in range(5)), new_issues_per_minute=2, clock=lambda: now[0])
    rows = con.execute("SELECT title, events, app_hash FROM issues ORDER BY issue_id").fetchall()
    assert [r[1] for r in rows] == [1, 1, 3]
    assert rows[2][0].startswith("Too many new issues")
    assert rows[2][2] == "~overflow"
    assert con.execute("SELECT count(*) FROM errors").fetchone() == (5,)  # nothing dropped
    assert con.execute(
        "SELECT project, outcome, reason, unit, sum(count)::INT FROM outcomes GROUP BY ALL"
    ).fetchall() == [("demo", "issue_overflow", "new_issues_per_minute", "event", 3)]
    # The next minute, a fingerprint that overflowed opens its own issue; the overflow issue is reused.
    now[0] += 60
    consume(redis_client, con, distinct(3, T0 + 5), distinct(7, T0 + 6), distinct(8, T0 + 7),
            new_issues_per_minute=2, clock=lambda: now[0])  # fmt: skip
    rows = con.execute("SELECT title, events FROM issues ORDER BY issue_id").fetchall()
    assert [r[1] for r in rows] == [1, 1, 4, 1, 1]


def test_the_index_forgets_in_memory_but_never_opens_a_second_issue_for_a_fingerprint(redis_client, con):
    consumer = consume(redis_client, con, *(distinct(n) for n in range(6)), issue_cache_entries=2)
    assert len(consumer.issues._by_app) <= 2
    again = [distinct(n, T0 + 100) for n in range(6)]
    consume(redis_client, con, *[e.replace(b'"d', b'"again-d', 1) for e in again], issue_cache_entries=2)
    assert [r[3] for r in issues(con)] == [2] * 6


def test_an_issue_says_which_rule_grouped_it_and_is_titled_in_one_wording(redis_client, con):
    consume(redis_client, con,
            entry("e1", "shop@1.0", SAFARI_UA, "ReferenceError", "Can't find variable: gtag", ""),
            entry("e2", "shop@1.1", CHROME_UA, "ReferenceError", "gtag is not defined", "", T0 + 5),
            entry("e3", "shop@1.0", CHROME_UA, "TypeError", "x", CHROME_1, T0 + 6))  # fmt: skip
    rows = con.execute("SELECT title, grouping, events FROM issues ORDER BY issue_id").fetchall()
    assert rows == [("ReferenceError: gtag is not defined", "message", 2), ("TypeError: x", "frames", 1)]
    assert con.execute("SELECT list(grouping ORDER BY event_id) FROM errors").fetchone() == (
        ["message", "message", "frames"],
    )


def test_the_issues_list_searches_filters_and_sorts(redis_client, con):
    from analytics.queries import run_query

    other = CHROME_1.replace("addToCart", "removeFromCart")
    consume(
        redis_client, con,
        entry("e1", "shop@1.0", CHROME_UA, "TypeError", "Cannot read properties of undefined (reading 'price')",
              CHROME_1, environment="production", tags={"plan": "pro"}),
        entry("e2", "shop@1.1", FIREFOX_UA, "TypeError", "item is undefined", FIREFOX_2, T0 + 1000,
              environment="staging"),
        entry("e3", "shop@1.1", CHROME_UA, "RangeError", "bad quantity", other, T0 + 2000, environment="production"),
        entry("e4", "shop@1.1", CHROME_UA, "RangeError", "bad quantity", other, T0 + 3000, environment="production"),
        entry("e5", "shop@1.1", CHROME_UA, "RangeError", "bad quantity", other, T0 + 4000, environment="production"),
        entry("e0", "shop@1.1", CHROME_UA, "RangeError", "bad quantity", other, T0 - 1000, environment="production"),
        entry("e6", "shop@1.1", CHROME_UA, "TypeError", "x is undefined", CHROME_1, T0 + 5000,
              environment="production"),
    )  # fmt: skip
    window = {"since": "2025-11-25T11:00:00Z", "until": "2025-11-25T13:00:00Z"}

    def ids(**params: str) -> list[int]:
        return [row[0] for row in run_query(con, "issues", {**window, **params}).rows]

    assert ids() == [1, 2]  # the most recently seen first
    assert ids(sort="first_seen") == [1, 2]  # the newest first
    assert ids(sort="events") == [2, 1]  # 4 events against 3
    assert ids(sort="users") == [2, 1]  # 4 users against 3
    assert ids(search="ITEM IS") == [1]  # one event's own wording, any case
    assert ids(search="removeFrom") == [2]  # the culprit
    assert ids(search="rangeerror") == [2]
    assert ids(tag="plan:pro") == [1]
    assert ids(tag="plan:free") == []
    assert ids(tag="$.plan:pro") == []  # a key is a name, never a JSON path
    assert ids(environment="staging") == [1]
    assert ids(browser="Firefox") == [1]
    assert ids(release="shop@1.0") == [1]
    facets = run_query(con, "error_facets", window).rows
    assert facets == [
        ["browser", "Chrome", 6], ["browser", "Firefox", 1], ["environment", "production", 6],
        ["environment", "staging", 1], ["release", "shop@1.1", 6], ["release", "shop@1.0", 1],
    ]  # fmt: skip
