"""Issues: error events grouped by fingerprint, with counts, first/last seen and a status.

The consumer is the only writer of new issues (one batch at a time across the writers of a
shared DuckLake: ``analytics/lake.py``): ``IssueIndex`` (``analytics/issue_index.py``)
assigns each error event to an issue, and ``apply`` writes the new issues and the counts
in the consumer's transaction.

Status: ``unresolved`` (new), ``resolved``, ``resolved_next_release``,
``resolved_in_release``, ``ignored``, ``regressed``, ``merged`` (people change them:
``analytics/triage.py``). An event on a resolved issue from a release newer than the one it
was resolved in marks it ``regressed``; from that release or an older one it does not.
Which release is newer is ``analytics/releases.py``'s to say. An event on an ignored issue
past its condition (a time, a number of events or of users) makes it ``unresolved``
again. Each such change is written to ``issue_activity`` by ``vigil``.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime
from typing import Protocol

import duckdb
import pyarrow as pa

from analytics.store import registered

RESOLVED = ("resolved", "resolved_next_release", "resolved_in_release")

DDL = [
    """CREATE TABLE IF NOT EXISTS issues (
        issue_id BIGINT PRIMARY KEY,
        project_id INTEGER NOT NULL,
        project VARCHAR NOT NULL,
        app_hash VARCHAR NOT NULL,
        full_hash VARCHAR NOT NULL,
        error_type VARCHAR,
        title VARCHAR,
        culprit VARCHAR,
        level VARCHAR,
        first_seen TIMESTAMP NOT NULL,
        last_seen TIMESTAMP NOT NULL,
        events BIGINT NOT NULL,
        first_release VARCHAR,
        last_release VARCHAR,
        status VARCHAR NOT NULL,
        resolved_in_release VARCHAR,
        status_changed_at TIMESTAMP
    )""",
    "CREATE TABLE IF NOT EXISTS releases (project_id INTEGER, release VARCHAR, first_seen TIMESTAMP, "
    "PRIMARY KEY (project_id, release))",
    # Added later (kept last in older files too): what grouped the issue's first event.
    "ALTER TABLE issues ADD COLUMN IF NOT EXISTS grouping VARCHAR",
    # Triage (analytics/triage.py): where a merged issue went, and when an ignored one wakes up.
    "ALTER TABLE issues ADD COLUMN IF NOT EXISTS merged_into BIGINT",
    "ALTER TABLE issues ADD COLUMN IF NOT EXISTS ignore_until TIMESTAMP",
    "ALTER TABLE issues ADD COLUMN IF NOT EXISTS ignore_until_events BIGINT",
    "ALTER TABLE issues ADD COLUMN IF NOT EXISTS ignore_users BIGINT",
    """CREATE TABLE IF NOT EXISTS issue_activity (
        issue_id BIGINT NOT NULL,
        ts TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        detail VARCHAR,
        release VARCHAR
    )""",
]


@dataclasses.dataclass
class Event:
    """What grouping needs of one error row."""

    project_id: int
    project: str
    ts: datetime
    app_hash: str
    full_hash: str
    error_type: str
    title: str
    culprit: str
    level: str
    release: str
    grouping: str = ""


@dataclasses.dataclass
class Plan:
    """One batch's issues: the id of each event, the issues to create, the counts to add."""

    ids: list[int]
    new: dict[int, Event]  # issue id → its first event
    keys: list[tuple[int, str, str, int]]  # (project, app hash, full hash, issue id) to remember at commit
    releases: dict[tuple[int, str], datetime]
    overflow: dict[int, int] = dataclasses.field(default_factory=dict)  # project → its new overflow issue
    overflowed: dict[tuple[int, str], int] = dataclasses.field(default_factory=dict)  # (project, name) → events


class Releases(Protocol):
    def newer(self, project_id: int, release: str, than: str) -> bool: ...


def apply(con: duckdb.DuckDBPyConnection, index: Releases, plan: Plan, events: list[Event], now: datetime) -> None:
    """Write new issues, add counts, move resolved issues that regressed: in the caller's transaction."""
    if not events:
        return
    if plan.overflowed:
        # Events past a project's new-issue bound (analytics/issue_index.py), visible next to the collectors' counts.
        con.executemany(
            "INSERT INTO outcomes VALUES (?, 'analytics', ?, ?, ?, ?, 'issue_overflow', 'new_issues_per_minute', "
            "'event', ?)",
            [
                [secrets.token_hex(16), now, now, project_id, project, n]
                for (project_id, project), n in plan.overflowed.items()
            ],
        )
    for project_id, release in plan.releases:
        con.execute(
            "INSERT INTO releases SELECT $p, $r, $first WHERE NOT EXISTS "
            "(SELECT 1 FROM releases WHERE project_id = $p AND release = $r)",
            {"p": project_id, "r": release, "first": plan.releases[(project_id, release)]},
        )
    for issue_id, first in plan.new.items():
        con.execute(
            """INSERT INTO issues (issue_id, project_id, project, app_hash, full_hash, error_type, title, culprit,
                   level, first_seen, last_seen, events, first_release, last_release, status, grouping)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 'unresolved', ?)""",
            [issue_id, first.project_id, first.project, first.app_hash, first.full_hash, first.error_type,
             first.title, first.culprit, first.level, first.ts, first.ts, first.release, first.release,
             first.grouping],
        )  # fmt: skip
    deltas: dict[int, list[object]] = {}
    for issue_id, event in zip(plan.ids, events, strict=True):
        delta = deltas.get(issue_id)
        if delta is None:
            delta = deltas[issue_id] = [0, event.ts, event.ts, event.release, event.release]
        delta[0] = int(delta[0]) + 1  # type: ignore[call-overload]
        if event.ts < delta[1]:  # type: ignore[operator]
            delta[1] = event.ts
        if event.ts >= delta[2]:  # type: ignore[operator]
            delta[2], delta[3] = event.ts, event.release or delta[3]
        # A release is never newer than itself: most events of an issue share one.
        if (
            event.release
            and event.release != delta[4]
            and index.newer(event.project_id, event.release, str(delta[4] or ""))
        ):
            delta[4] = event.release  # the newest release of the batch, for regressions
    ids = list(deltas)
    changes = _status_changes(con, index, ids, deltas, now)
    table = pa.table(
        {
            "issue_id": pa.array(ids, pa.int64()),
            "n": pa.array([deltas[i][0] for i in ids], pa.int64()),
            "first_ts": pa.array([deltas[i][1] for i in ids], pa.timestamp("ms")),
            "last_ts": pa.array([deltas[i][2] for i in ids], pa.timestamp("ms")),
            "last_rel": pa.array([deltas[i][3] or None for i in ids], pa.string()),
            "new_status": pa.array([changes[i][0] if i in changes else None for i in ids], pa.string()),
        }
    )
    with registered(con, "_vigil_issue_deltas", table):
        con.execute(
            """UPDATE issues SET
                   events = issues.events + d.n,
                   first_seen = least(issues.first_seen, d.first_ts),
                   last_seen = greatest(issues.last_seen, d.last_ts),
                   last_release = CASE WHEN d.last_ts >= issues.last_seen THEN coalesce(d.last_rel, issues.last_release)
                                       ELSE issues.last_release END,
                   status = coalesce(d.new_status, issues.status),
                   status_changed_at = CASE WHEN d.new_status IS NULL THEN issues.status_changed_at ELSE d.last_ts END,
                   ignore_until = CASE WHEN d.new_status IS NULL THEN issues.ignore_until END,
                   ignore_until_events = CASE WHEN d.new_status IS NULL THEN issues.ignore_until_events END,
                   ignore_users = CASE WHEN d.new_status IS NULL THEN issues.ignore_users END
               FROM _vigil_issue_deltas d WHERE issues.issue_id = d.issue_id"""
        )
    if changes:
        con.executemany(
            "INSERT INTO issue_activity VALUES (?, ?, 'vigil', ?, ?, ?)",
            [
                [issue_id, now, status, detail, release or None]
                for issue_id, (status, detail, release) in changes.items()
            ],
        )


def _status_changes(
    con: duckdb.DuckDBPyConnection, index: Releases, ids: list[int], deltas: dict[int, list[object]], now: datetime
) -> dict[int, tuple[str, str, str]]:
    """The batch's resolved issues that regress and ignored issues that wake up: id → (new status, why, release)."""
    rows = con.execute(
        """SELECT issue_id, project_id, status, resolved_in_release, status_changed_at, events,
                  ignore_until, ignore_until_events, ignore_users
           FROM issues WHERE issue_id IN (SELECT unnest($ids)) AND status IN $watched""",
        {"ids": ids, "watched": [*RESOLVED, "ignored"]},
    ).fetchall()
    changes: dict[int, tuple[str, str, str]] = {}
    for issue_id, project_id, status, in_release, changed_at, events, until, until_events, users in rows:
        n, last_ts, newest = deltas[issue_id][0], deltas[issue_id][2], str(deltas[issue_id][4] or "")
        if status != "ignored":
            if _regresses(index, project_id, newest, in_release or "", last_ts, changed_at):
                changes[issue_id] = ("regressed", f"an event from {newest}" if newest else "a new event", newest)
        elif until is not None and now >= until:
            changes[issue_id] = ("unresolved", "the time it was ignored for is over", "")
        elif until_events is not None and events + n >= until_events:
            changes[issue_id] = ("unresolved", "the number of events it was ignored until came", "")
        elif users is not None and _users_since(con, issue_id, changed_at) >= users:
            changes[issue_id] = ("unresolved", "the number of users it was ignored until came", "")
    return changes


def _users_since(con: duckdb.DuckDBPyConnection, issue_id: int, since: datetime | None) -> int:
    ((count,),) = con.execute(  # fetchall: a result left open would block the batch's next statement
        "SELECT count(DISTINCT nullif(user_id, '')) FROM errors WHERE issue_id = ? AND ts >= ?",
        [issue_id, since or datetime.min],
    ).fetchall()
    return int(count)


def _regresses(
    index: Releases, project_id: int, release: str, in_release: str, last_ts: object, changed_at: datetime | None
) -> bool:
    if in_release or release:
        return index.newer(project_id, release, in_release)
    # A site without releases: any event after the issue was resolved.
    return changed_at is None or (isinstance(last_ts, datetime) and last_ts > changed_at)
