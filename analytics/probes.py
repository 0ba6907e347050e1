"""Probe results, host metrics and heartbeats: their rows, and the up/down state of every check.

States (docs/probes.md):
- Per check and region: ``failures_to_down`` (3) consecutive ``down`` results make it ``down``,
  ``successes_to_up`` (2) consecutive ``up`` results make it ``up`` again; an ``unknown`` result
  (the agent's own network failed its self-check) counts neither way.
- Per check across its regions: ``down`` when at least k of its n regions are down, with
  k = max(2, ⌈n/2⌉) (but never more than n, so a single region can be down), ``degraded``
  when fewer are, ``up`` otherwise. Region ``*`` in the tables stands for this overall state.
- Per agent (region and host): ``lost`` when no heartbeat came for ``LOST_AFTER_INTERVALS``
  of its own heartbeat intervals, ``ok`` again with the next one. A lost agent is not a down target.

Every change is appended to ``probe_state_changes`` in the transaction that stores the
results causing it, so the history is exactly as durable as the results; ``probe_states``
and ``probe_agents`` hold the current state and are read back at start.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from analytics.events import MIN_DRIFT_MS, Rows, ms
from analytics.rows import as_json
from analytics.store import transaction
from contracts.probes import CheckResult, Heartbeat, HostMetrics
from contracts.stream import decode_probe_entry

FAILURES_TO_DOWN = 3
SUCCESSES_TO_UP = 2
LOST_AFTER_INTERVALS = 3
OVERALL = "*"

DDL = [
    """CREATE TABLE IF NOT EXISTS probe_states (
        project_id INTEGER NOT NULL, project VARCHAR NOT NULL, "check" VARCHAR NOT NULL, region VARCHAR NOT NULL,
        state VARCHAR NOT NULL, failures INTEGER NOT NULL, successes INTEGER NOT NULL,
        since TIMESTAMP NOT NULL, last_ts TIMESTAMP NOT NULL,
        PRIMARY KEY (project_id, "check", region))""",
    """CREATE TABLE IF NOT EXISTS probe_state_changes (
        ts TIMESTAMP NOT NULL, project_id INTEGER NOT NULL, project VARCHAR NOT NULL, "check" VARCHAR NOT NULL,
        region VARCHAR NOT NULL, host VARCHAR, state VARCHAR NOT NULL, previous VARCHAR,
        regions_down INTEGER, regions INTEGER, reason VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS probe_agents (
        project_id INTEGER NOT NULL, project VARCHAR NOT NULL, region VARCHAR NOT NULL, host VARCHAR NOT NULL,
        last_heartbeat TIMESTAMP NOT NULL, interval_s DOUBLE NOT NULL, state VARCHAR NOT NULL,
        PRIMARY KEY (project_id, region, host))""",
]


def _ms(value: int | None) -> datetime | None:
    return None if value is None else ms(value)


def process_probes(data: bytes) -> Rows:
    """One queued probe batch → rows of probe_results, host_metrics and agent_heartbeats."""
    entry = decode_probe_entry(data)
    batch, agent = entry.batch, entry.batch.agent
    # An agent's clock off by a time zone or never set is put right by the skew its sent_at shows, as
    # browsers' are (analytics/events.py). A smaller gap may be a delivery that waited on a hung
    # collector: moving its records by it would put them at the wrong time, and a retry of the same
    # records (stamped at its own sending) elsewhere.
    skew = entry.received_at - batch.sent_at
    skew = skew if abs(skew) >= MIN_DRIFT_MS else 0
    received = _ms(entry.received_at)
    out: Rows = {}
    for record in batch.records:
        shared = (record.id, _ms(record.ts + skew), received, entry.project, entry.project_id,
                  agent.region, agent.host, agent.agent_id)  # fmt: skip
        if isinstance(record, CheckResult):
            p = record.phases
            phases = (p.dns, p.connect, p.tls, p.processing, p.transfer) if p else (None,) * 5
            out.setdefault("probe_results", []).append(
                (*shared, record.check, record.check_type, record.target, record.status, record.duration_ms,
                 record.error, record.reason, *phases, record.http_status, record.response_bytes, record.redirects,
                 record.resolved_ip, _ms(record.cert_expires_at), record.cert_days_left, as_json(record.dns_answers))
            )  # fmt: skip
        elif isinstance(record, HostMetrics):
            m, s = record.memory, record.swap
            out.setdefault("host_metrics", []).append(
                (*shared, record.interval_s, as_json(record.cpu_percent),
                 100.0 - record.cpu_percent["idle"] if "idle" in record.cpu_percent else None,
                 *record.load, m.total, m.available, m.used, m.percent,
                 s.total, s.used, s.percent, s.swapped_in_per_s, s.swapped_out_per_s,
                 as_json(record.disks), as_json(record.disk_io), as_json(record.net),
                 sum(n.bytes_sent_per_s for n in record.net), sum(n.bytes_recv_per_s for n in record.net),
                 record.open_fds, record.max_fds, record.processes, record.uptime_s)
            )  # fmt: skip
        elif isinstance(record, Heartbeat):
            out.setdefault("agent_heartbeats", []).append(
                (*shared, _ms(record.started_at + skew), record.interval_s, record.checks, record.spooled_batches,
                 record.dropped_records, record.self_check_ok)
            )  # fmt: skip
    return out


RESULT_COLUMNS = ("ts", "project_id", "project", "region", "host", "check", "status", "error")
HEARTBEAT_COLUMNS = ("ts", "project_id", "project", "region", "host", "interval_s")


def returning(table: str) -> tuple[str, ...]:
    """The columns ``ProbeStates.apply`` needs back from the rows of ``table`` that were inserted."""
    return {"probe_results": RESULT_COLUMNS, "agent_heartbeats": HEARTBEAT_COLUMNS}.get(table, ())


@dataclasses.dataclass
class RegionState:
    project: str
    state: str  # "up", "down" or "unknown" (no conclusive result yet)
    failures: int
    successes: int
    since: datetime
    last_ts: datetime


@dataclasses.dataclass
class AgentState:
    project: str
    last_heartbeat: datetime
    interval_s: float
    state: str  # "ok" or "lost"
    changed_at: datetime | None = None  # when it was last found lost, to keep the history in order


Change = tuple[Any, ...]  # a probe_state_changes row


def quorum(regions: int) -> int:
    """How many regions must be down for the check to be down."""
    return min(regions, max(2, math.ceil(regions / 2)))


def overall(states: Iterable[str]) -> tuple[str, int, int]:
    """(state, regions down, regions) across a check's regions."""
    states = list(states)
    down = sum(1 for s in states if s == "down")
    if states and down >= quorum(len(states)):
        return "down", down, len(states)
    if down:
        return "degraded", down, len(states)
    return ("up" if any(s == "up" for s in states) else "unknown"), down, len(states)


class ProbeStates:
    """The current states, kept in memory and in ``probe_states``/``probe_agents``; changes go to history."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        # Its tables are made with the others when the store is opened (analytics/store.py).
        self.checks: dict[tuple[int, str, str], RegionState] = {}
        self.agents: dict[tuple[int, str, str], AgentState] = {}
        self.reload(con)

    def reload(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the states back from the store: after a rollback, or after another writer on a DuckLake stored."""
        # (project_id, check, region) → state; region OVERALL holds the check's overall state.
        self.checks = {
            (p, c, r): RegionState(project, state, failures, successes, since, last)
            for p, project, c, r, state, failures, successes, since, last in con.execute(
                'SELECT project_id, project, "check", region, state, failures, successes, since, last_ts '
                "FROM probe_states"
            ).fetchall()
        }
        self.agents = {
            (p, r, h): AgentState(project, last, interval, state)
            for p, project, r, h, last, interval, state in con.execute(
                "SELECT project_id, project, region, host, last_heartbeat, interval_s, state FROM probe_agents"
            ).fetchall()
        }

    def apply(self, con: duckdb.DuckDBPyConnection, inserted: dict[str, pa.Table]) -> None:
        """Advance the states with a batch's inserted results and heartbeats, in the caller's transaction.

        The states in memory move ahead at once; after a rollback the consumer reads them back (``reload``).
        """
        changes: list[Change] = []
        touched_checks: set[tuple[int, str, str]] = set()
        touched_agents: set[tuple[int, str, str]] = set()
        results = inserted.get("probe_results")
        if results is not None and results.num_rows:
            rows = sorted(zip(*(results[c].to_pylist() for c in RESULT_COLUMNS), strict=True), key=lambda r: r[0])
            for ts, project_id, project, region, host, check, status, error in rows:
                self._result(project_id, project, region, host, check, status, error, ts, changes)
                touched_checks.add((project_id, check, region))
            for project_id, check in {(p, c) for p, c, _ in touched_checks}:
                self._overall(project_id, check, changes, touched_checks)
        beats = inserted.get("agent_heartbeats")
        if beats is not None and beats.num_rows:
            for ts, project_id, project, region, host, interval in sorted(
                zip(*(beats[c].to_pylist() for c in HEARTBEAT_COLUMNS), strict=True), key=lambda r: r[0]
            ):
                self._heartbeat(project_id, project, region, host or "", interval, ts, changes)
                touched_agents.add((project_id, region, host or ""))
        self._store(con, changes, touched_checks, touched_agents)

    def lost_agents(
        self, con: duckdb.DuckDBPyConnection, now: datetime, refresh: Callable[[], object] | None = None
    ) -> int:
        """Mark agents whose heartbeats stopped as lost; returns how many became lost (a periodic job).

        ``refresh`` (a writer on a shared DuckLake) runs first in the transaction and reads the states back as other
        writers stored them: an agent looks silent here when its heartbeats went to another writer.
        """
        changes, touched = self._lost(now)
        if not changes:
            return 0
        try:
            with transaction(con):
                if refresh is not None:
                    refresh()
                    changes, touched = self._lost(now)  # from the states as stored
                for key in touched:
                    self.agents[key].state, self.agents[key].changed_at = "lost", now
                if changes:
                    self._store(con, changes, set(), touched)
        except BaseException:
            self.reload(con)
            raise
        return len(changes)

    def _lost(self, now: datetime) -> tuple[list[Change], set[tuple[int, str, str]]]:
        """The agents silent too long (not marked yet): their changes, and their keys."""
        changes: list[Change] = []
        touched: set[tuple[int, str, str]] = set()
        for key, agent in self.agents.items():
            silent = (now - agent.last_heartbeat).total_seconds()
            if agent.state == "ok" and silent > LOST_AFTER_INTERVALS * agent.interval_s:
                project_id, region, host = key
                changes.append((now, project_id, agent.project, "", region, host, "lost", "ok", None, None,
                                f"no heartbeat for {silent:.0f} s"))  # fmt: skip
                touched.add(key)
        return changes, touched

    def _result(
        self, project_id: int, project: str, region: str, host: str | None, check: str, status: str, error: str,
        ts: datetime, changes: list[Change],
    ) -> None:  # fmt: skip
        key = (project_id, check, region)
        current = self.checks.get(key)
        if current is None:
            current = self.checks[key] = RegionState(project, "unknown", 0, 0, ts, ts)
        if ts < current.last_ts:
            return  # delivered late, older than what the state already counts: history, not news
        current.last_ts = ts
        if status == "down":
            current.failures, current.successes = current.failures + 1, 0
        elif status == "up":
            current.failures, current.successes = 0, current.successes + 1
        else:
            return
        new = current.state
        if current.failures >= FAILURES_TO_DOWN:
            new = "down"
        elif current.successes >= SUCCESSES_TO_UP or (current.state == "unknown" and status == "up"):
            new = "up"
        if new != current.state:
            reason = error if new == "down" else ""
            changes.append((ts, project_id, project, check, region, host, new, current.state, None, None, reason))
            current.state, current.since = new, ts

    def _overall(self, project_id: int, check: str, changes: list[Change], touched: set[tuple[int, str, str]]) -> None:
        regions = [s for (p, c, r), s in self.checks.items() if p == project_id and c == check and r != OVERALL]
        state, down, n = overall(s.state for s in regions)
        key = (project_id, check, OVERALL)
        ts = max(s.last_ts for s in regions)
        current = self.checks.get(key)
        if current is None:
            current = self.checks[key] = RegionState(regions[0].project, "unknown", 0, 0, ts, ts)
        current.last_ts = ts
        if state != current.state:
            changes.append((ts, project_id, current.project, check, OVERALL, None, state, current.state, down, n, ""))
            current.state, current.since = state, ts
        touched.add(key)

    def _heartbeat(
        self, project_id: int, project: str, region: str, host: str, interval: float, ts: datetime,
        changes: list[Change],
    ) -> None:  # fmt: skip
        key = (project_id, region, host)
        agent = self.agents.get(key)
        if agent is None:
            self.agents[key] = AgentState(project, ts, interval, "ok")
            changes.append((ts, project_id, project, "", region, host, "ok", None, None, None, "first heartbeat"))
            return
        agent.last_heartbeat, agent.interval_s = max(agent.last_heartbeat, ts), interval
        if agent.state == "lost":
            agent.state = "ok"
            # A heartbeat delivered late may be older than the moment the agent was found lost: the
            # history says it is back no earlier than that, so its rows stay in true order.
            when, reason = ts, "heartbeat again"
            if agent.changed_at is not None and ts < agent.changed_at:
                when, reason = agent.changed_at, "heartbeat again (delivered late)"
            changes.append((when, project_id, project, "", region, host, "ok", "lost", None, None, reason))

    def _store(
        self,
        con: duckdb.DuckDBPyConnection,
        changes: list[Change],
        checks: set[tuple[int, str, str]],
        agents: set[tuple[int, str, str]],
    ) -> None:
        if changes:
            con.executemany("INSERT INTO probe_state_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", changes)
        if checks:
            rows = [(p, self.checks[(p, c, r)].project, c, r, self.checks[(p, c, r)].state,
                     self.checks[(p, c, r)].failures, self.checks[(p, c, r)].successes,
                     self.checks[(p, c, r)].since, self.checks[(p, c, r)].last_ts) for p, c, r in checks]  # fmt: skip
            # Replaced by a delete and an insert: a DuckLake table has no key to replace on (analytics/lake.py).
            con.executemany(
                'DELETE FROM probe_states WHERE project_id = ? AND "check" = ? AND region = ?', list(checks)
            )
            con.executemany("INSERT INTO probe_states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if agents:
            agent_rows = [(p, a.project, r, h, a.last_heartbeat, a.interval_s, a.state)
                    for (p, r, h) in agents for a in [self.agents[(p, r, h)]]]  # fmt: skip
            con.executemany("DELETE FROM probe_agents WHERE project_id = ? AND region = ? AND host = ?", list(agents))
            con.executemany("INSERT INTO probe_agents VALUES (?, ?, ?, ?, ?, ?, ?)", agent_rows)
