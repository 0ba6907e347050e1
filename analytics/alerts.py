"""Alert rules evaluated: what fires, what resolves, and what each channel is owed (docs/alerts.md).

Every ``alerts_seconds`` the consumer's thread runs ``evaluate`` over every project's rules
(``[[projects.alerts]]``, ``contracts/alerts.py``). Two kinds of rule, whose findings are
``analytics/alert_kinds.py``'s:

- **conditions** (issue spike, users affected, check down or degraded, agent lost, host
  metric, SLO burn): each evaluation finds the subjects the condition holds for now (a
  check, a host, an issue). A subject not firing before **fires**; a firing one the
  condition no longer holds for **resolves**. What fires is kept in ``alert_states``, so a
  restart neither fires it again nor forgets to resolve it.
- **events** (new issue, regression, incident opened / verdict changed / closed): each event
  since the rule was first evaluated fires once; ``alert_states`` remembers the events
  already alerted (``seen``) for as long as they could be looked at again.

Each alert is appended to ``alerts``, and, in the same transaction, one row per channel of
its rule to ``alert_notifications``: a notification is written before anything is sent,
and the notifier (``analytics/notify.py``) groups and delivers them. An alert a silence
matches (``analytics/silences.py``) is kept with the silence's id and owes nothing; its
resolve owes nothing either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.alert_kinds import CONDITIONS, EVENTS, Finding, new_issues
from analytics.store import transaction
from contracts.alerts import Rule
from contracts.projects import Project

log = logging.getLogger("vigil.analytics")

#: Events (new issues, regressions, incident activity) are looked for this far back, never before the rule existed.
EVENT_LOOKBACK = timedelta(hours=1)
MAX_TITLE = 300
EVENT_KINDS = ("new_issue", "regression", "incident")
WATCHING = "*"


def evaluate(con: duckdb.DuckDBPyConnection, projects: Mapping[int, Project], now: datetime) -> list[dict[str, Any]]:
    """Evaluate every rule of every project at ``now`` (naive UTC); returns the alerts written.

    Each rule is evaluated in its own transaction: a rule that fails is logged and tried again
    at the next turn, and leaves the others alone.
    """
    written: list[dict[str, Any]] = []
    # A project taken out of vigil.toml leaves nothing firing behind.
    con.execute("DELETE FROM alert_states WHERE project_id NOT IN (SELECT unnest($ids))", {"ids": list(projects)})
    for project in projects.values():
        names = [r.name for r in project.alerts]
        # A rule taken out of vigil.toml (or renamed) leaves nothing behind to resolve.
        con.execute(
            "DELETE FROM alert_states WHERE project_id = $p AND rule NOT IN (SELECT unnest($names))",
            {"p": project.id, "names": names},
        )
        for rule in project.alerts:
            try:
                with transaction(con):
                    written += _evaluate_rule(con, project, rule, now)
            except Exception:
                # Rolled back; the rule is tried again at the next turn, and the consumer goes on.
                log.exception("alerts: rule %r of %s failed", rule.name, project.name)
    return written


def _evaluate_rule(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[dict[str, Any]]:
    key = {"p": project.id, "rule": rule.name}
    watching = con.execute(
        "SELECT since, mark FROM alert_states WHERE project_id = $p AND rule = $rule AND subject = '*'", key
    ).fetchall()
    if watching:
        since, mark = watching[0]
    else:
        # A new rule alerts from now on: a new-issue rule from the issues after the newest there is.
        since = now
        mark = (
            con.execute("SELECT coalesce(max(issue_id), 0) FROM issues").fetchall()[0][0]
            if rule.when == "new_issue"
            else None
        )
        con.execute(
            "INSERT INTO alert_states VALUES ($p, $rule, '*', 'watching', $now, NULL, true, $mark)",
            {**key, "now": now, "mark": mark},
        )
    # A rule that changed kind leaves nothing of the other kind behind.
    con.execute(
        "DELETE FROM alert_states WHERE project_id = $p AND rule = $rule AND status = $other",
        {**key, "other": "firing" if rule.when in EVENT_KINDS else "seen"},
    )
    since = max(since, now - EVENT_LOOKBACK)
    silences = con.execute(
        """SELECT silence_id, lower(subject) FROM silences WHERE project_id = $p AND (rule IS NULL OR rule = $rule)
           AND starts_at <= $now AND ends_at > $now AND ended_by IS NULL ORDER BY silence_id""",
        {**key, "now": now},
    ).fetchall()
    alerts = _Writer(con, project, rule, now, silences)
    if rule.when in EVENT_KINDS:
        if rule.when == "new_issue":
            # By issue number, not time: an issue whose events were stored late (a backlog, a restart) still counts.
            findings = new_issues(con, project, int(mark or 0))
            if findings:
                con.execute(
                    "UPDATE alert_states SET mark = $mark WHERE project_id = $p AND rule = $rule AND subject = '*'",
                    {**key, "mark": max(f.detail["issue_id"] for f in findings)},
                )
        else:
            findings = EVENTS[rule.when](con, project, rule, since, now)
        if not findings:
            return []
        seen = {
            s
            for (s,) in con.execute(
                "SELECT subject FROM alert_states WHERE project_id = $p AND rule = $rule "
                "AND subject IN (SELECT unnest($subjects))",
                {**key, "subjects": [f.subject for f in findings]},
            ).fetchall()
        }
        for finding in findings:
            if finding.subject in seen:
                continue
            alert_id, notified = alerts.write(finding, finding.action)
            con.execute(
                "INSERT INTO alert_states VALUES ($p, $rule, $subject, 'seen', $now, $alert_id, $notified, NULL)",
                {**key, "subject": finding.subject, "now": now, "alert_id": alert_id, "notified": notified},
            )
        # An event older than the look-back is never looked at again: its mark can go.
        con.execute(
            "DELETE FROM alert_states WHERE project_id = $p AND rule = $rule AND status = 'seen' AND since < $old",
            {**key, "old": now - 2 * EVENT_LOOKBACK},
        )
        return alerts.written
    active = {f.subject: f for f in CONDITIONS[rule.when](con, project, rule, now)}
    firing = {
        subject: (alert_id, notified)
        for subject, alert_id, notified in con.execute(
            "SELECT subject, alert_id, notified FROM alert_states WHERE project_id = $p AND rule = $rule "
            "AND status = 'firing'",
            key,
        ).fetchall()
    }
    for subject, finding in active.items():
        if subject in firing and not firing[subject][1] and alerts.silence_for(finding) is None:
            # It fired under a silence that is over, and it still holds: the channels are told now.
            alert_id, _ = alerts.write(finding, "fired")
            con.execute(
                "UPDATE alert_states SET alert_id = $alert_id, notified = true WHERE project_id = $p "
                "AND rule = $rule AND subject = $subject",
                {**key, "subject": subject, "alert_id": alert_id},
            )
        if subject not in firing:
            alert_id, notified = alerts.write(finding, "fired")
            con.execute(
                "INSERT INTO alert_states VALUES ($p, $rule, $subject, 'firing', $now, $alert_id, $notified, NULL)",
                {**key, "subject": subject, "now": now, "alert_id": alert_id, "notified": notified},
            )
    for subject, (fired_id, notified) in firing.items():
        if subject in active:
            continue
        ((title, detail),) = con.execute("SELECT title, detail FROM alerts WHERE alert_id = ?", [fired_id]).fetchall()
        figures = {**json.loads(detail or "{}"), "fired_alert": fired_id}
        alerts.write(Finding(subject, f"Resolved: {title}", figures), "resolved", quiet=not notified)
        con.execute(
            "DELETE FROM alert_states WHERE project_id = $p AND rule = $rule AND subject = $subject",
            {**key, "subject": subject},
        )
    return alerts.written


class _Writer:
    """Appends a rule's alerts, and what each owes its channels, in the caller's transaction."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime, silences: list[Any]
    ) -> None:
        self.con, self.project, self.rule, self.now, self.silences = con, project, rule, now, silences
        self.written: list[dict[str, Any]] = []
        self.next_id = int(con.execute("SELECT coalesce(max(alert_id), 0) + 1 FROM alerts").fetchall()[0][0])

    def silence_for(self, finding: Finding) -> int | None:
        """The silence in force that keeps ``finding`` quiet, if any."""
        text = f"{finding.subject} {finding.title}".lower()
        return next((sid for sid, part in self.silences if not part or part in text), None)

    def write(self, finding: Finding, action: str, *, quiet: bool = False) -> tuple[int, bool]:
        """Append the alert; returns its id and whether it owes notifications (no silence, not ``quiet``)."""
        silence = self.silence_for(finding)
        alert: dict[str, Any] = {
            "alert_id": self.next_id,
            "project_id": self.project.id,
            "project": self.project.name,
            "rule": self.rule.name,
            "kind": self.rule.when,
            "subject": finding.subject[:MAX_TITLE],
            "action": action,
            "ts": self.now,
            "title": finding.title[:MAX_TITLE],
            "detail": json.dumps(finding.detail, default=str),
            "silence_id": silence,
        }
        self.next_id += 1
        self.con.execute(
            "INSERT INTO alerts VALUES ($alert_id, $project_id, $project, $rule, $kind, $subject, $action, $ts, "
            "$title, $detail, $silence_id)",
            alert,
        )
        owes = silence is None and not quiet
        if owes and self.rule.channels:
            self.con.executemany(
                "INSERT INTO alert_notifications VALUES (?, ?, ?, NULL)",
                [[alert["alert_id"], channel, self.now] for channel in self.rule.channels],
            )
        self.written.append(alert)
        return int(alert["alert_id"]), silence is None
