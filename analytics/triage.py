"""Triage: people's actions on issues (``contracts/triage.py``), each kept in the activity log.

``act`` runs one action, on one issue or many, in its own transaction on the caller's
cursor (the read API's ``POST /v1/issues/actions``). The consumer may be updating the same
issues: DuckDB then refuses one of the two transactions (``duckdb.TransactionException``),
nothing of it is kept, and the caller tries again.

A merge moves the merged issues' events and rollup counts to the issue they join and
marks them ``merged`` with ``merged_into``; ``IssueIndex.plan`` sends their fingerprints'
next events there too. ``wake_ignored`` (a consumer job) reopens issues ignored for a
time once that time is over; the other ignore conditions are checked as events arrive
(``analytics/issues.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from analytics.issue_index import merge_begins
from analytics.lake import is_lake, take_turn
from analytics.store import transaction
from contracts import releases
from contracts.triage import STATUS_AFTER, Action, ActionError

#: Activity written by Vigil itself (a regression, an ignore that ran out) has this actor.
VIGIL = "vigil"


def act(con: duckdb.DuckDBPyConnection, action: Action, now: datetime | None = None) -> dict[str, Any]:
    """Do ``action`` (already checked by ``contracts.triage.check``); returns the issues' new states."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        if is_lake(con):
            take_turn(con)  # writers sharing the lake see that something changed, and look for merges from now on
        found = _issues(con, action.issues)
        result = _merge(con, action, found, now) if action.action == "merge" else _set(con, action, found, now)
    return result


def _issues(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, dict[str, Any]]:
    cursor = con.execute(
        """SELECT issue_id, project_id, project, status, merged_into, events, first_seen, last_seen,
                  first_release, last_release
           FROM issues WHERE issue_id IN (SELECT unnest($ids))""",
        {"ids": sorted(set(ids))},
    )
    names = [d[0] for d in cursor.description]
    found = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    for issue_id in ids:
        issue = found.get(issue_id)
        if issue is None:
            raise ActionError(f"no issue {issue_id}")
        if issue["merged_into"] is not None:
            raise ActionError(f"issue {issue_id} was merged into issue {issue['merged_into']}: act on that one")
    return found


def newest_release(con: duckdb.DuckDBPyConnection, project_id: int) -> str | None:
    """The project's newest release: by version where two can be compared, else the later first seen."""
    newest: tuple[str, datetime] | None = None
    for release, first_seen in con.execute(
        "SELECT release, first_seen FROM releases WHERE project_id = ? AND release <> '' ORDER BY first_seen",
        [project_id],
    ).fetchall():
        if newest is None:
            newest = (release, first_seen)
            continue
        order = releases.compare(release, newest[0])
        if (order or 0) > 0 or (not order and first_seen >= newest[1]):
            newest = (release, first_seen)
    return newest[0] if newest else None


def _set(
    con: duckdb.DuckDBPyConnection, action: Action, found: dict[int, dict[str, Any]], now: datetime
) -> dict[str, Any]:
    status = STATUS_AFTER[action.action]
    changed, activity = [], []
    newest: dict[int, str | None] = {}
    for issue_id in dict.fromkeys(action.issues):
        issue = found[issue_id]
        in_release: str | None = None
        until = until_events = users = None
        if action.action == "resolve":
            in_release = issue["last_release"] or None
            detail = f"resolved; an event from a release newer than {in_release} reopens it" if in_release else (
                "resolved; any new event reopens it")  # fmt: skip
        elif action.action == "resolve_next_release":
            project = issue["project_id"]
            if project not in newest:
                newest[project] = newest_release(con, project)
            in_release = newest[project]
            detail = (
                f"resolved in the release after {in_release}"
                if in_release
                else "resolved in the next release; the project has no release yet, so any new event reopens it"
            )
        elif action.action == "resolve_in_release":
            in_release = action.release
            detail = f"resolved in {in_release}"
        elif action.action == "ignore":
            conditions = []
            if action.minutes:
                until = now + timedelta(minutes=action.minutes)
                conditions.append(f"until {until:%Y-%m-%d %H:%M} UTC")
            if action.events:
                until_events = int(issue["events"]) + action.events
                conditions.append(f"until {action.events:,} more events")
            if action.users:
                users = action.users
                conditions.append(f"until {action.users:,} more users")
            detail = "ignored " + (" or ".join(conditions) if conditions else "forever")
        else:
            detail = "reopened"
        changed.append([status, in_release, now, until, until_events, users, issue_id])
        activity.append([issue_id, now, action.actor, action.action, detail, in_release])
    con.executemany(
        """UPDATE issues SET status = ?, resolved_in_release = ?, status_changed_at = ?, ignore_until = ?,
               ignore_until_events = ?, ignore_users = ? WHERE issue_id = ?""",
        changed,
    )
    con.executemany("INSERT INTO issue_activity VALUES (?, ?, ?, ?, ?, ?)", activity)
    return {"issues": [{"issue_id": row[-1], "status": status, "resolved_in_release": row[1]} for row in changed]}


def _merge(
    con: duckdb.DuckDBPyConnection, action: Action, found: dict[int, dict[str, Any]], now: datetime
) -> dict[str, Any]:
    if len({issue["project_id"] for issue in found.values()}) > 1:
        raise ActionError("merge: the issues belong to different projects")
    merge_begins()  # before the commit: the consumer's index looks for merged issues from now on
    into = action.into or max(found.values(), key=lambda i: (i["events"], -i["issue_id"]))["issue_id"]
    others = sorted(set(found) - {into})
    group = list(found.values())
    first = min(group, key=lambda i: i["first_seen"])
    last = max(group, key=lambda i: i["last_seen"])
    moved = {"into": into, "others": others}
    con.execute("UPDATE errors SET issue_id = $into WHERE issue_id IN (SELECT unnest($others))", moved)
    con.execute("UPDATE event_counts_1m SET issue_id = $into WHERE issue_id IN (SELECT unnest($others))", moved)
    added = sum(int(i["events"]) for i in group) - int(found[into]["events"])
    con.execute(
        """UPDATE issues SET events = events + ?, first_seen = ?, first_release = ?, last_seen = ?, last_release = ?,
               ignore_until_events = ignore_until_events + ?  -- an ignore counts events from now on, not the merged
           WHERE issue_id = ?""",
        [added, first["first_seen"], first["first_release"], last["last_seen"], last["last_release"], added, into],
    )
    con.execute(
        """UPDATE issues SET status = 'merged', merged_into = $into, status_changed_at = $now, events = 0
           WHERE issue_id IN (SELECT unnest($others))""",
        {**moved, "now": now},
    )
    # Issues merged into one now merged away follow it, so a redirect is always one step.
    con.execute("UPDATE issues SET merged_into = $into WHERE merged_into IN (SELECT unnest($others))", moved)
    names = ", ".join(f"#{i}" for i in others)
    con.executemany(
        "INSERT INTO issue_activity VALUES (?, ?, ?, 'merge', ?, NULL)",
        [[into, now, action.actor, f"merged {names} into this issue"]]
        + [[other, now, action.actor, f"merged into #{into}"] for other in others],
    )
    return {"issues": [{"issue_id": into, "status": found[into]["status"], "merged": others}]}


def wake_ignored(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Reopen the issues ignored for a time that is over; returns how many (a consumer job)."""
    with transaction(con):
        # Selected, then updated: a DuckLake table has no UPDATE … RETURNING (analytics/lake.py).
        woken = [
            issue_id
            for (issue_id,) in con.execute(
                "SELECT issue_id FROM issues WHERE status = 'ignored' AND ignore_until <= $now", {"now": now}
            ).fetchall()
        ]
        if woken:
            con.execute(
                """UPDATE issues SET status = 'unresolved', status_changed_at = $now, ignore_until = NULL,
                       ignore_until_events = NULL, ignore_users = NULL
                   WHERE issue_id IN (SELECT unnest($ids))""",
                {"now": now, "ids": woken},
            )
            con.executemany(
                "INSERT INTO issue_activity VALUES (?, ?, ?, 'unresolved', ?, NULL)",
                [[issue_id, now, VIGIL, "the time it was ignored for is over"] for issue_id in woken],
            )
    return len(woken)
