"""Which issue an error event belongs to, in bounded memory, with a bound on new issues.

The consumer is the only writer of new issues (on a DuckLake several writers share, each
writer's consumer, one batch at a time: ``analytics/lake.py``; a new issue then takes the id
after the highest stored, looked up in the batch's transaction). ``IssueIndex`` remembers the issues of
recent events by their two hashes (``app_hash``, ``full_hash``): at most ``cache_entries``
of each (``[analytics] issue_cache_bytes`` of memory), the oldest forgotten first. An
event whose hashes it does not remember is looked up in the ``issues`` table (one query
for all such events of a batch), so forgetting costs a look-up, never a second issue for
the same fingerprint.

An issue merged into another has its events sent to that one (``_redirect``), its
fingerprints kept: the merge stays in effect for events yet to come.

A project may open at most ``new_per_minute`` new issues in a minute: a page can send any
fingerprint it likes, and each would otherwise be an issue forever. Past the bound, events
that would open one are grouped into the project's one "too many new issues" issue
(``OVERFLOW_HASH``) instead, their fingerprint not remembered (the next minute opens its
issue), and counted in ``outcomes`` as ``issue_overflow``. Nothing is dropped.

``plan`` assigns a batch; nothing is remembered until ``commit``, after the transaction
holding the plan committed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime

import duckdb
import pyarrow as pa

from analytics.issues import Event, Plan
from analytics.releases import ReleaseOrder
from analytics.store import registered

#: Memory one remembered issue holds (measured with tracemalloc): its entry in each of the two hash dicts, a
#: (project id, 32-hex-digit hash) key and the id, about 225 bytes each; and, as many releases are remembered
#: (``ReleaseOrder``), one release's first sighting with a name of up to 200 characters, about 380 bytes.
BYTES_PER_ISSUE = 2 * 225 + 380


def cache_entries(cache_bytes: int) -> int:
    """How many issues (and releases) a cache of ``cache_bytes`` remembers."""
    return max(100, cache_bytes // BYTES_PER_ISSUE)


#: The hashes of a project's "too many new issues" issue; real hashes are hex digests.
OVERFLOW_HASH = "~overflow"
OVERFLOW_TITLE = "Too many new issues: events that would have opened one, grouped here"

Key = tuple[int, str]  # (project id, hash)


class Merges:
    """Whether any merge has begun in this process: ``analytics/triage.py`` counts one before its commit.

    Until the database holds a merged issue or a merge begins here, ``plan`` skips looking
    for merged issues (1.5 ms a batch against 100,000 issues). Counting before the commit
    keeps the transaction argument of ``IssueIndex._redirect``: a batch that did not see the
    count either began before the merge committed, and conflicts with it, or looks.
    """

    begun = 0


def merge_begins() -> None:
    Merges.begun += 1


class Bounded(dict[Key, int]):
    """A dict that forgets its oldest half when it passes ``limit`` entries (no cost per hit)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = max(2, limit)

    def remember(self, key: Key, issue_id: int) -> None:
        if key in self:
            return
        self[key] = issue_id
        if len(self) > self.limit:
            for old in list(self)[: len(self) // 2]:
                del self[old]


@dataclasses.dataclass
class _Budget:
    minute: datetime
    opened: int = 0


class IssueIndex:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        cache_entries: int = 100_000,
        new_per_minute: int = 100,
        shared: bool = False,
    ) -> None:
        self.new_per_minute = new_per_minute
        self._by_app, self._by_full = Bounded(cache_entries), Bounded(cache_entries)
        # The most recently seen issues first: the ones the next events most likely belong to.
        for issue_id, project_id, app_hash, full_hash in reversed(
            con.execute(
                "SELECT issue_id, project_id, app_hash, full_hash FROM issues ORDER BY last_seen DESC LIMIT ?",
                [cache_entries],
            ).fetchall()
        ):
            self._by_app.remember((project_id, app_hash), issue_id)
            self._by_full.remember((project_id, full_hash), issue_id)
        self._next = self._after_stored(con)
        #: On a DuckLake other writers share, they open issues too: the next id is looked up in the batch's transaction.
        self.shared = shared
        self._merged = bool(con.execute("SELECT 1 FROM issues WHERE merged_into IS NOT NULL LIMIT 1").fetchall())
        self._overflow: dict[int, int] = self._overflows(con)
        self._budgets: dict[int, _Budget] = {}
        self._opening: tuple[datetime, dict[int, int]] = (datetime.min, {})  # the last plan's, until its commit
        self.releases = ReleaseOrder(con, cache_entries)

    def _stored(self, con: duckdb.DuckDBPyConnection, events: list[Event]) -> dict[int, int]:
        """For the events not remembered, their issue in the table (by app hash first), by position."""
        missing = [
            n
            for n, e in enumerate(events)
            if (e.project_id, e.app_hash) not in self._by_app and (e.project_id, e.full_hash) not in self._by_full
        ]
        if not missing:
            return {}
        table = pa.table(
            {
                "n": pa.array(missing, pa.int32()),
                "project_id": pa.array([events[n].project_id for n in missing], pa.int32()),
                "app_hash": pa.array([events[n].app_hash for n in missing], pa.string()),
                "full_hash": pa.array([events[n].full_hash for n in missing], pa.string()),
            }
        )
        with registered(con, "_vigil_unknown", table):
            # Two equality joins (hashable), not one join on an OR: that one compares every issue of the project.
            rows = con.execute(
                """SELECT n, arg_min(issue_id, (by_full, issue_id)) FROM (
                       SELECT m.n, i.issue_id, false AS by_full FROM _vigil_unknown m
                       JOIN issues i ON i.project_id = m.project_id AND i.app_hash = m.app_hash
                       UNION ALL
                       SELECT m.n, i.issue_id, true AS by_full FROM _vigil_unknown m
                       JOIN issues i ON i.project_id = m.project_id AND i.full_hash = m.full_hash)
                   GROUP BY n"""
            ).fetchall()
        return {int(n): int(issue_id) for n, issue_id in rows}

    def _fresh_ids(self, con: duckdb.DuckDBPyConnection) -> Iterator[int]:
        """Ids for the issues a batch opens: after the highest remembered; on a shared DuckLake after the highest
        stored, looked up in the batch's transaction when it opens its first one."""
        issue_id = max(self._next, self._after_stored(con)) if self.shared else self._next
        while True:
            yield issue_id
            issue_id += 1

    @staticmethod
    def _after_stored(con: duckdb.DuckDBPyConnection) -> int:
        """The id after the highest stored."""
        row = con.execute("SELECT coalesce(max(issue_id), 0) FROM issues").fetchone()
        return int(row[0]) + 1 if row else 1

    def others_stored(self, con: duckdb.DuckDBPyConnection) -> None:
        """Another writer on a shared DuckLake committed since this one last did: look for merges it may have made
        (through its read API) from now on, and take the overflow issues it may have opened."""
        self._merged = True
        self._overflow.update(self._overflows(con))

    @staticmethod
    def _overflows(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
        """Each project's "too many new issues" issue."""
        return {
            project_id: issue_id
            for project_id, issue_id in con.execute(
                "SELECT project_id, min(issue_id) FROM issues WHERE app_hash = ? GROUP BY project_id", [OVERFLOW_HASH]
            ).fetchall()
        }

    def _budget(self, project_id: int, minute: datetime) -> _Budget:
        budget = self._budgets.get(project_id)
        if budget is None or budget.minute != minute:
            budget = self._budgets[project_id] = _Budget(minute)
        return budget

    def plan(self, con: duckdb.DuckDBPyConnection, events: list[Event], now: datetime) -> Plan:
        """Assign every event to an issue; nothing is remembered until ``commit``."""
        stored = self._stored(con, events)
        ids: list[int] = []
        new: dict[int, Event] = {}
        keys: list[tuple[int, str, str, int]] = []
        by_app: dict[Key, int] = {}
        by_full: dict[Key, int] = {}
        overflow: dict[int, int] = {}  # project → its overflow issue, when this batch opens it
        overflowed: dict[tuple[int, str], int] = {}  # (project id, project) → events grouped there
        opening: dict[int, int] = {}  # new issues of this batch per project: charged to the budget at commit
        minute = now.replace(second=0, microsecond=0)
        fresh = self._fresh_ids(con)
        for n, event in enumerate(events):
            app, full = (event.project_id, event.app_hash), (event.project_id, event.full_hash)
            issue_id = self._by_app.get(app) or self._by_full.get(full) or by_app.get(app) or by_full.get(full)
            if issue_id is None and n in stored:
                issue_id = stored[n]
                keys.append((event.project_id, event.app_hash, event.full_hash, issue_id))  # remembered at commit
            if issue_id is None:
                budget = self._budget(event.project_id, minute)
                if budget.opened + opening.get(event.project_id, 0) < self.new_per_minute:
                    opening[event.project_id] = opening.get(event.project_id, 0) + 1
                    issue_id = next(fresh)
                    new[issue_id] = event
                    keys.append((event.project_id, event.app_hash, event.full_hash, issue_id))
                else:
                    issue_id = self._overflow.get(event.project_id) or overflow.get(event.project_id)
                    if issue_id is None:
                        issue_id = next(fresh)
                        overflow[event.project_id] = issue_id
                        new[issue_id] = dataclasses.replace(
                            event, app_hash=OVERFLOW_HASH, full_hash=OVERFLOW_HASH, error_type="",
                            title=OVERFLOW_TITLE, culprit="", level="warning", grouping="overflow",
                        )  # fmt: skip
                    counted = (event.project_id, event.project)
                    overflowed[counted] = overflowed.get(counted, 0) + 1
                    ids.append(issue_id)
                    continue
            by_app.setdefault(app, issue_id)
            by_full.setdefault(full, issue_id)
            ids.append(issue_id)
        ids = self._redirect(con, ids, new)
        releases = self.releases.plan([(e.project_id, e.release, e.ts) for e in events if e.release])
        self._opening = (minute, opening)
        return Plan(ids, new, keys, releases, overflow, overflowed)

    def _redirect(self, con: duckdb.DuckDBPyConnection, ids: list[int], new: dict[int, Event]) -> list[int]:
        """``ids`` with every issue merged into another (``analytics/triage.py``) replaced by that one.

        Looked up in the batch's transaction, so a merge either happened before it (and is
        seen here) or conflicts with its update of the merged issue's counts.
        """
        known = [i for i in set(ids) if i not in new]
        if not known or not (self._merged or Merges.begun):
            return ids
        merged = dict(
            con.execute(
                "SELECT issue_id, merged_into FROM issues WHERE issue_id IN (SELECT unnest($ids)) "
                "AND merged_into IS NOT NULL",
                {"ids": known},
            ).fetchall()
        )
        return [merged.get(i, i) for i in ids] if merged else ids

    def commit(self, plan: Plan) -> None:
        """The transaction holding ``plan`` committed: remember its issues (new or looked up) and releases."""
        for project_id, app_hash, full_hash, issue_id in plan.keys:
            self._by_app.remember((project_id, app_hash), issue_id)
            self._by_full.remember((project_id, full_hash), issue_id)
        self._overflow.update(plan.overflow)
        minute, opening = self._opening
        for project_id, opened in opening.items():
            self._budget(project_id, minute).opened += opened
        self._opening = (minute, {})
        if plan.new:
            self._next = max(self._next, max(plan.new) + 1)
        self.releases.commit(plan.releases)

    def newer(self, project_id: int, release: str, than: str) -> bool:
        """Whether ``release`` is newer than ``than`` (a release with no name is never newer)."""
        return self.releases.newer(project_id, release, than)
