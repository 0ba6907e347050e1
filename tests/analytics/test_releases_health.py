"""The releases query through the real consumer: sessions from the beacon and Sentry SDKs, crashes, issues."""

from __future__ import annotations

from analytics.queries import run_query
from analytics.triage import act
from contracts.beacon import Batch, ErrorEvent, PageViewEvent
from contracts.stream import SENTRY_STREAM, SentryEntry, SessionRow, StreamEntry, encode_entry, encode_record
from contracts.triage import Action
from tests.analytics.test_fingerprint import CHROME_1
from tests.analytics.test_issues import CHROME_UA, T0, consume

WINDOW = {"since": "2025-11-25T11:00:00Z", "until": "2025-11-25T13:00:00Z"}


def visit(n: int, release: str, user: str, *errors: str, ts: int = T0) -> bytes:
    """A session: a page view, then errors caught by ``mechanism`` (onerror is unhandled, manual is not)."""
    events: list[object] = [PageViewEvent(event_id=f"p{n}", ts=ts, page_url="https://shop.example/")]
    events += [
        ErrorEvent(event_id=f"e{n}-{k}", ts=ts + k + 1, page_url="https://shop.example/", error_type="TypeError",
                   message="x", stack=CHROME_1, mechanism=mechanism)
        for k, mechanism in enumerate(errors)
    ]  # fmt: skip
    batch = Batch(v=1, batch_id=f"b{n}", sent_at=ts, events=events, release=release, session_id=f"s{n}",  # type: ignore[arg-type]
                  user_id=user)  # fmt: skip
    return encode_entry(StreamEntry(project_id=1, project="demo", received_at=ts, user_agent=CHROME_UA, batch=batch))


def sdk_sessions(redis_client, con, rows: list[tuple[str, str, str, str, int]]) -> None:  # type: ignore[no-untyped-def]
    """Sentry SDK sessions as the collector queues them, stored by the consumer: (release, session id, user,
    status, quantity); an empty session id is a pre-aggregated count."""
    started = T0 + 30_000
    entry = SentryEntry(id="x", project_id=1, project="demo", received_at=started, sdk="sentry.javascript.browser",
                        sessions=[SessionRow(release=release, environment="production", started=started,
                                             session_id=sid, distinct_id=user, status=status, errors=0, duration=None,
                                             quantity=quantity, init=False)
                                  for release, sid, user, status, quantity in rows])  # fmt: skip
    redis_client.xadd(SENTRY_STREAM, {"e": encode_record(entry)})
    consume(redis_client, con)


def test_each_release_has_its_adoption_crash_free_rates_and_issues(redis_client, con):
    consume(
        redis_client, con,
        visit(1, "shop@1.0", "u1", "onerror"),  # unhandled: the page goes on running, so not a crash
        visit(2, "shop@1.0", "u2", "manual"),  # an error caught by the site: not a crash
        visit(3, "shop@1.0", "u2"),
        visit(4, "shop@1.1", "u3", ts=T0 + 60_000),
    )  # fmt: skip
    act(con, Action("resolve", [1], actor="ana"))
    consume(redis_client, con, visit(5, "shop@1.1", "u3", "onunhandledrejection", ts=T0 + 120_000))  # regresses
    sdk_sessions(redis_client, con, [
        ("shop@1.1", "sdk-1", "d1", "ok", 1),
        ("shop@1.1", "sdk-1", "d1", "crashed", 1),  # the latest update of the session counts
        ("shop@1.1", "", "", "exited", 4),  # an aggregate of four sessions
    ])  # fmt: skip
    result = run_query(con, "releases", WINDOW)
    rows = {r[1]: dict(zip(result.columns, r, strict=True)) for r in result.rows}
    old, new = rows["shop@1.0"], rows["shop@1.1"]
    figures = ("sessions", "crashed_sessions", "unhandled_sessions", "users", "crashed_users", "unhandled_users")
    rates = ("crash_free_sessions", "unhandled_free_sessions", "crash_free_users", "unhandled_free_users")
    assert [old[f] for f in figures] == [3, 0, 1, 2, 0, 1]
    assert [old[r] for r in rates] == [1.0, 0.6667, 1.0, 0.5]
    assert (old["errors"], old["errors_per_session"], old["new_issues"], old["regressed_issues"]) == (2, 0.667, 1, 0)
    # 1.1: two beacon sessions (one unhandled) and five SDK sessions (one crashed, which is unhandled too), users u3
    # (unhandled) and d1 (crashed).
    assert [new[f] for f in figures] == [7, 1, 2, 2, 1, 2]
    assert [new[r] for r in rates] == [0.8571, 0.7143, 0.5, 0.0]
    assert new["regressed_issues"] == 1
    assert (old["adoption"], new["adoption"]) == (0.3, 0.7)  # shares of the project's sessions in the range
    assert [r[1] for r in result.rows] == ["shop@1.1", "shop@1.0"]  # the newest first


def test_unhandled_sessions_are_not_crashes_but_are_not_unhandled_free_either(redis_client, con):
    sdk_sessions(redis_client, con, [
        ("api@2.0", "a", "d1", "ok", 1), ("api@2.0", "a", "d1", "unhandled", 1),
        ("api@2.0", "b", "d2", "unhandled", 1), ("api@2.0", "c", "d3", "unhandled", 1),
        ("api@2.0", "d", "d4", "exited", 1), ("api@2.0", "e", "d5", "errored", 1),
        ("api@2.0", "", "", "abnormal", 2),  # a pre-aggregated count: killed, in neither rate
    ])  # fmt: skip
    result = run_query(con, "releases", WINDOW)
    [row] = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
    assert (row["sessions"], row["crashed_sessions"], row["unhandled_sessions"], row["abnormal_sessions"]) == (
        7, 0, 3, 2,
    )  # fmt: skip
    # Five sessions with an id, three of them unhandled: all crash-free, two unhandled-free (of seven in all).
    assert (row["crash_free_sessions"], row["unhandled_free_sessions"]) == (1.0, 0.5714)
    assert (row["crash_free_users"], row["unhandled_free_users"]) == (1.0, 0.4)
