"""Triage through the real consumer and DuckDB: each action, its conditions, merges, and the activity log."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from analytics.triage import act, newest_release, wake_ignored
from contracts.stream import EVENTS_STREAM
from contracts.triage import Action, ActionError, check
from tests.analytics.test_fingerprint import CHROME_1
from tests.analytics.test_issues import CHROME_UA, T0, consume, entry, issues

OTHER = CHROME_1.replace("addToCart", "removeFromCart")


def do(con: duckdb.DuckDBPyConnection, name: str, *ids: int, now: datetime | None = None, **more: object) -> dict:
    return act(con, check(Action(name, list(ids), actor="ana", **more)), now)  # type: ignore[arg-type]


def status(con: duckdb.DuckDBPyConnection, issue_id: int) -> str:
    ((value,),) = con.execute("SELECT status FROM issues WHERE issue_id = ?", [issue_id]).fetchall()
    return str(value)


def activity(con: duckdb.DuckDBPyConnection, issue_id: int) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT actor, action, detail FROM issue_activity WHERE issue_id = ? ORDER BY ts, rowid", [issue_id]
    ).fetchall()


def event(n: int, release: str = "shop@1.0", stack: str = CHROME_1) -> bytes:
    return entry(f"e{n}", release, CHROME_UA, "TypeError", "x", stack, T0 + n * 1000)


def test_resolved_in_the_next_release_stays_resolved_for_the_current_one_and_regresses_on_the_next(redis_client, con):
    consume(redis_client, con, event(1, "shop@1.8.0"), event(2, "shop@1.9.0", OTHER))
    assert newest_release(con, 1) == "shop@1.9.0"
    assert do(con, "resolve_next_release", 1)["issues"] == [
        {"issue_id": 1, "status": "resolved_next_release", "resolved_in_release": "shop@1.9.0"}
    ]
    consume(redis_client, con, event(3, "shop@1.9.0"))  # the release deployed when it was resolved
    assert status(con, 1) == "resolved_next_release"
    consume(redis_client, con, event(4, "shop@1.10.0"))
    assert status(con, 1) == "regressed"
    assert activity(con, 1) == [
        ("ana", "resolve_next_release", "resolved in the release after shop@1.9.0"),
        ("vigil", "regressed", "an event from shop@1.10.0"),
    ]


def test_ignored_until_more_events_wakes_on_the_event_that_reaches_the_count(redis_client, con):
    consume(redis_client, con, event(1), event(2))
    do(con, "ignore", 1, events=2)
    consume(redis_client, con, event(3))
    assert status(con, 1) == "ignored"
    consume(redis_client, con, event(4))
    assert status(con, 1) == "unresolved"
    assert activity(con, 1)[-1] == ("vigil", "unresolved", "the number of events it was ignored until came")


def test_ignored_until_more_users_counts_distinct_users_since_it_was_ignored(redis_client, con):
    consume(redis_client, con, event(1))
    do(con, "ignore", 1, users=2, now=datetime(2025, 11, 25, 12, 0, 1))  # T0 is 12:00:00
    # The entry's user id is the event id's last digit: e11 and e21 are one user, e12 another.
    consume(redis_client, con, event(11), event(21))
    assert status(con, 1) == "ignored"
    consume(redis_client, con, event(12))
    assert status(con, 1) == "unresolved"


def test_ignored_for_a_time_wakes_when_the_time_is_over_with_or_without_events(redis_client, con):
    consume(redis_client, con, event(1), event(2, stack=OTHER))
    now = datetime(2026, 1, 1, 12, 0)
    do(con, "ignore", 1, 2, minutes=30, now=now)
    assert wake_ignored(con, now + timedelta(minutes=29)) == 0
    assert wake_ignored(con, now + timedelta(minutes=30)) == 2
    assert (status(con, 1), status(con, 2)) == ("unresolved", "unresolved")
    assert activity(con, 2) == [
        ("ana", "ignore", "ignored until 2026-01-01 12:30 UTC"),
        ("vigil", "unresolved", "the time it was ignored for is over"),
    ]
    do(con, "ignore", 1)
    consume(redis_client, con, event(3))
    assert (status(con, 1), activity(con, 1)[-1][2]) == ("ignored", "ignored forever")


def test_reopen_and_bulk_actions_change_every_issue_named(redis_client, con):
    consume(redis_client, con, event(1), event(2, stack=OTHER))
    assert [i["status"] for i in do(con, "resolve", 1, 2)["issues"]] == ["resolved", "resolved"]
    do(con, "reopen", 2)
    assert (status(con, 1), status(con, 2)) == ("resolved", "unresolved")
    assert activity(con, 2)[-1] == ("ana", "reopen", "reopened")


def test_a_merge_moves_events_and_counts_and_later_events_follow_it(redis_client, con):
    third = CHROME_1.replace("addToCart", "checkout")
    consume(redis_client, con, event(1), event(2), event(3, stack=OTHER), event(4, stack=third))
    # The issue with the most events is kept unless another is named.
    assert do(con, "merge", 2, 1)["issues"] == [{"issue_id": 1, "status": "unresolved", "merged": [2]}]
    assert [row[:5] for row in issues(con)][:2] == [
        (1, "TypeError", "addToCart (app.js)", 3, "unresolved"),
        (2, "TypeError", "removeFromCart (app.js)", 0, "merged"),
    ]  # fmt: skip
    assert con.execute("SELECT issue_id, count(*) FROM errors GROUP BY 1 ORDER BY 1").fetchall() == [(1, 3), (3, 1)]
    assert con.execute("SELECT DISTINCT issue_id FROM event_counts_1m WHERE kind = 'errors' ORDER BY 1").fetchall() == [
        (1,), (3,),
    ]  # fmt: skip
    consume(redis_client, con, event(5, stack=OTHER))  # the merged fingerprint, through a new consumer's index
    assert con.execute("SELECT issue_id FROM errors WHERE event_id = 'e5'").fetchall() == [(1,)]
    do(con, "merge", 1, 3, into=3)  # merged again: the first merge's issue follows
    assert con.execute("SELECT issue_id, merged_into FROM issues ORDER BY 1").fetchall() == [(1, 3), (2, 3), (3, None)]
    assert con.execute("SELECT events FROM issues WHERE issue_id = 3").fetchall() == [(5,)]
    assert activity(con, 3)[-1] == ("ana", "merge", "merged #1 into this issue")
    assert activity(con, 2) == [("ana", "merge", "merged into #1")]
    with pytest.raises(ActionError, match="issue 2 was merged into issue 3: act on that one"):
        do(con, "resolve", 2)


def test_the_running_index_sends_a_merged_fingerprint_to_its_new_issue(redis_client, con):
    consumer = consume(redis_client, con, event(1), event(2, stack=OTHER))
    do(con, "merge", 1, 2, into=1)
    redis_client.xadd(EVENTS_STREAM, {"e": event(3, stack=OTHER)})
    consumer.run(burst=True)  # its index still remembers the fingerprint's first issue
    assert con.execute("SELECT issue_id FROM errors WHERE event_id = 'e3'").fetchall() == [(1,)]
    assert con.execute("SELECT events FROM issues WHERE issue_id = 1").fetchall() == [(3,)]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action("resolve", [], actor="a"), "issues: between 1 and 500"),
        (Action("resolve", [1], actor=""), "actor: who acts"),
        (Action("resolve", [1], actor="a\x1b[31m"), "actor: who acts"),
        (Action("resolve", [1], actor="a", release="x"), "release: only for resolve_in_release"),
        (Action("resolve", [1], actor="a", minutes=5), "minutes: only for ignore"),
        (Action("ignore", [1], actor="a", users=-1), "users: between 1 and"),
        (Action("merge", [1, 1], actor="a"), "merge needs at least two different issues"),
        (Action("merge", [1, 2], actor="a", into=3), "into: one of the issues"),
        (Action("reopen", [1], actor="a", into=1), "into: only for merge"),
        (Action("resolve", [0], actor="a"), "issues: ids are positive"),
    ],
)
def test_malformed_actions_are_refused_with_one_line(action: Action, message: str) -> None:
    with pytest.raises(ActionError, match=message):
        check(action)


def test_issues_of_different_projects_are_not_merged_and_nothing_changes(redis_client, con):
    consume(redis_client, con, event(1), event(2, stack=OTHER))
    con.execute("UPDATE issues SET project_id = 2 WHERE issue_id = 2")
    with pytest.raises(ActionError, match="different projects"):
        do(con, "merge", 1, 2)
    assert con.execute("SELECT count(*) FROM issue_activity").fetchall() == [(0,)]
    assert con.execute("SELECT issue_id, count(*) FROM errors GROUP BY 1 ORDER BY 1").fetchall() == [(1, 1), (2, 1)]


def test_an_ignored_issue_that_absorbs_a_merge_still_waits_for_new_events(redis_client, con):
    consume(redis_client, con, event(1), event(2, stack=OTHER), event(3, stack=OTHER), event(4, stack=OTHER))
    do(con, "ignore", 1, events=2)
    do(con, "merge", 1, 2, into=1)  # three events join it: not new ones
    consume(redis_client, con, event(5))
    assert status(con, 1) == "ignored"
    consume(redis_client, con, event(6))
    assert status(con, 1) == "unresolved"
