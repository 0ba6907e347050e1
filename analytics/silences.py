"""Silences: a rule (or every rule) of a project kept quiet for a while (docs/alerts.md#silences).

Made and ended through the read API (``POST /v1/silences``); ``analytics/alerts.py`` reads
the silences in force when it evaluates a rule, and an alert one matches owes nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.store import transaction
from contracts.alerts import Silence, SilenceError
from contracts.projects import Project

_SILENCE_IDS = threading.Lock()  # the read API makes silences from several threads


def create_silence(con: duckdb.DuckDBPyConnection, project: Project, silence: Silence, now: datetime) -> dict[str, Any]:
    """Keep ``silence`` (already checked) from ``now`` on; returns it as stored."""
    if silence.rule and silence.rule not in {r.name for r in project.alerts}:
        raise SilenceError(f"project {project.name!r} has no alert rule {silence.rule[:60]!r}")
    with _SILENCE_IDS, transaction(con):
        silence_id = int(con.execute("SELECT coalesce(max(silence_id), 0) + 1 FROM silences").fetchall()[0][0])
        row = {
            "silence_id": silence_id,
            "project_id": project.id,
            "project": project.name,
            "rule": silence.rule or None,
            "subject": silence.subject.lower() or None,
            "starts_at": now,
            "ends_at": now + timedelta(minutes=silence.minutes),
            "created_by": silence.actor,
            "reason": silence.reason or None,
        }
        con.execute(
            "INSERT INTO silences VALUES ($silence_id, $project_id, $project, $rule, $subject, $starts_at, $ends_at, "
            "$created_by, $reason, NULL)",
            row,
        )
    return row


def end_silence(con: duckdb.DuckDBPyConnection, silence_id: int, actor: str, now: datetime) -> dict[str, Any]:
    """End a silence now; raises ``SilenceError`` if there is none with that id, or it is over."""
    with transaction(con):
        found = con.execute("SELECT ends_at, ended_by FROM silences WHERE silence_id = ?", [silence_id]).fetchall()
        if not found:
            raise SilenceError(f"no silence {silence_id}")
        if found[0][1] is not None or found[0][0] <= now:
            raise SilenceError(f"silence {silence_id} is already over")
        con.execute("UPDATE silences SET ends_at = ?, ended_by = ? WHERE silence_id = ?", [now, actor, silence_id])
    return {"silence_id": silence_id, "ends_at": now, "ended_by": actor}
