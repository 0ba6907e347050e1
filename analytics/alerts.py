"""Alert rules evaluated: what fires, what resolves, and what each channel is owed (docs/alerts.md).

Every ``alerts_seconds`` the consumer's thread runs ``evaluate`` over every project's rules
(``[[projects.alerts]]``, ``contracts/alerts.py``). Two kinds of rule:

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
matches is kept with the silence's id and owes nothing; its resolve owes nothing either.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.anomalies import INGEST_LAG, judge_count
from analytics.evidence import DISK_PERCENT, FDS_PERCENT
from analytics.store import transaction
from contracts.alerts import Rule, Silence, SilenceError
from contracts.projects import Project

log = logging.getLogger("vigil.analytics")

#: Events (new issues, regressions, incident activity) are looked for this far back, never before the rule existed.
EVENT_LOOKBACK = timedelta(hours=1)
#: Most events one rule alerts in one evaluation; the rest wait for the next (they are not lost).
MAX_EVENTS = 1000
MAX_TITLE = 300
SPIKE_BASELINE = timedelta(hours=24)
#: The SRE workbook's multi-window, multi-burn-rate alerts: (long window, short window, burn rate), in minutes.
SLO_WINDOWS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "page": ((60, 5, 14.4), (360, 30, 6.0)),
    "ticket": ((1440, 120, 3.0), (4320, 360, 1.0)),
}
#: An SLO is judged on at least this many sessions (or vitals) in its long window.
SLO_MIN_EVENTS = 20
METRIC_SQL = {
    "cpu": "cpu_busy_percent",
    "memory": "memory_percent",
    "disk": DISK_PERCENT,
    "load": "load1",
    "fds": FDS_PERCENT,
    "swap": "swap_percent",
}
#: A host whose last metrics are older than this is not judged (its agent may be lost: another rule).
METRICS_STALE = timedelta(minutes=5)
EVENT_KINDS = ("new_issue", "regression", "incident")
WATCHING = "*"


@dataclasses.dataclass
class Finding:
    """A subject a rule fires about now, with what to say."""

    subject: str
    title: str
    detail: dict[str, Any]
    action: str = "fired"  # events only: fired, changed or resolved (an incident's activity)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` with the ``params`` it names (DuckDB refuses others)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()


def _in(names: tuple[str, ...], column: str) -> str:
    return f" AND {column} IN (SELECT unnest($names))" if names else ""


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
            findings = _new_issues(con, project, int(mark or 0))
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


# Events.


def _new_issues(con: duckdb.DuckDBPyConnection, project: Project, after: int) -> list[Finding]:
    rows = con.execute(
        """SELECT issue_id, error_type, title, culprit, first_release, level FROM issues
           WHERE project_id = ? AND issue_id > ? AND merged_into IS NULL ORDER BY issue_id LIMIT ?""",
        [project.id, after, MAX_EVENTS],
    ).fetchall()
    return [
        Finding(f"issue:{issue_id}", f"New issue: {title or error_type or 'an error'}",
                {"issue_id": issue_id, "culprit": culprit, "release": release, "level": level,
                 "path": f"/issues/{issue_id}"})
        for issue_id, error_type, title, culprit, release, level in rows
    ]  # fmt: skip


def _regressions(
    con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, since: datetime, now: datetime
) -> list[Finding]:
    rows = con.execute(
        """SELECT a.issue_id, a.ts, i.title, a.detail, a.release FROM issue_activity a JOIN issues i USING (issue_id)
           WHERE i.project_id = ? AND a.action = 'regressed' AND a.ts >= ? ORDER BY a.ts, a.issue_id LIMIT ?""",
        [project.id, since, MAX_EVENTS],
    ).fetchall()
    return [
        Finding(f"issue:{issue_id}:regressed:{ts.isoformat()}", f"Regressed: {title} ({why})",
                {"issue_id": issue_id, "release": release, "path": f"/issues/{issue_id}"})
        for issue_id, ts, title, why, release in rows
    ]  # fmt: skip


def _incidents(
    con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, since: datetime, now: datetime
) -> list[Finding]:
    rows = con.execute(
        """SELECT a.incident_id, a.ts, a.action, a.verdict, a.detail, i.summary, i.confidence
           FROM incident_activity a JOIN incidents i USING (incident_id)
           WHERE i.project_id = ? AND a.action IN (SELECT unnest(?)) AND a.ts >= ?
           ORDER BY a.ts, a.incident_id LIMIT ?""",
        [project.id, list(rule.on), since, MAX_EVENTS],
    ).fetchall()
    findings = []
    for incident_id, ts, what, verdict, detail, summary, confidence in rows:
        label = verdict.replace("_", " ")
        title = {
            "opened": f"Incident #{incident_id} opened, blamed on the {label}: {detail}",
            "verdict": f"Incident #{incident_id}: verdict now {label} ({detail}): {summary}",
            "closed": f"Incident #{incident_id} closed ({label}): {detail}",
        }[what]
        action = {"opened": "fired", "verdict": "changed", "closed": "resolved"}[what]
        figures = {"incident_id": incident_id, "verdict": verdict, "confidence": confidence,
                   "path": f"/incidents/{incident_id}"}  # fmt: skip
        findings.append(Finding(f"incident:{incident_id}:{what}:{ts.isoformat()}", title, figures, action))
    return findings


EVENTS = {"regression": _regressions, "incident": _incidents}


# Conditions.


def _issue_spikes(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[Finding]:
    window_end = (now - INGEST_LAG).replace(second=0, microsecond=0)
    window_start = window_end - timedelta(minutes=rule.minutes)
    baseline_start = window_start - SPIKE_BASELINE
    rows = con.execute(
        """SELECT c.issue_id, sum(c.count) FILTER (WHERE c.minute >= $ws) AS now_count,
                  coalesce(sum(c.count) FILTER (WHERE c.minute < $ws), 0) AS before_count,
                  any_value(i.first_seen), any_value(i.title)
           FROM event_counts_1m c JOIN issues i USING (issue_id)
           WHERE c.project_id = $p AND c.kind = 'errors' AND c.minute >= $bs AND c.minute < $we
           GROUP BY c.issue_id HAVING sum(c.count) FILTER (WHERE c.minute >= $ws) > 0""",
        {"p": project.id, "ws": window_start, "we": window_end, "bs": baseline_start},
    ).fetchall()
    findings = []
    for issue_id, count, before, first_seen, title in rows:
        # The baseline is the issue's own past within the day: a new issue has none, and is no spike.
        baseline_minutes = max((window_start - max(first_seen, baseline_start)).total_seconds() / 60, 0.0)
        rate = before / baseline_minutes if baseline_minutes else 0.0
        spiking, expected, p = judge_count(float(count), float(rule.minutes), rate, baseline_minutes)
        if spiking:
            findings.append(
                Finding(f"issue:{issue_id}", f"Spike: {title}: {count} events in {rule.minutes} min, "
                        f"{count / expected:.0f}x its usual {expected:.1f}",
                        {"issue_id": issue_id, "events": count, "expected": round(expected, 2), "p_value": p,
                         "path": f"/issues/{issue_id}"})
            )  # fmt: skip
    return findings


def _users_affected(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[Finding]:
    rows = con.execute(
        """SELECT e.issue_id, count(DISTINCT nullif(e.user_id, '')) AS users, any_value(i.title)
           FROM errors e JOIN issues i USING (issue_id)
           WHERE e.project_id = ? AND e.ts >= ? AND e.ts <= ? AND e.issue_id IS NOT NULL
           GROUP BY e.issue_id HAVING count(DISTINCT nullif(e.user_id, '')) > ? ORDER BY users DESC LIMIT ?""",
        [project.id, now - timedelta(minutes=rule.minutes), now, rule.users, MAX_EVENTS],
    ).fetchall()
    return [
        Finding(f"issue:{issue_id}", f"{users} users affected in {rule.minutes} min by {title}",
                {"issue_id": issue_id, "users": users, "path": f"/issues/{issue_id}"})
        for issue_id, users, title in rows
    ]  # fmt: skip


def _checks(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[Finding]:
    states = ("down",) if rule.when == "check_down" else ("down", "degraded")
    rows = _rows(
        con,
        f"""SELECT o."check", o.state, o.since,
                   list(r.region ORDER BY r.region) FILTER (WHERE r.state = 'down') AS down,
                   count(r.region) AS regions
            FROM probe_states o LEFT JOIN probe_states r
              ON r.project_id = o.project_id AND r."check" = o."check" AND r.region <> '*'
            WHERE o.project_id = $p AND o.region = '*' AND o.state IN (SELECT unnest($states))
                  {_in(rule.checks, 'o."check"')}
            GROUP BY ALL ORDER BY o."check\"""",
        {"p": project.id, "states": list(states), "names": list(rule.checks)},
    )
    findings = []
    for check, state, since, down, regions in rows:
        down = down or []
        where = f"{len(down)} of {regions} regions ({', '.join(down)})"
        title = f"{check} {'down' if state == 'down' else 'degraded'}: down in {where} since {since:%H:%M} UTC"
        findings.append(
            Finding(check, title, {"check": check, "state": state, "since": since, "regions_down": down,
                                   "regions": regions, "path": f"/checks?check={check}"})
        )  # fmt: skip
    return findings


def _agents_lost(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[Finding]:
    rows = _rows(
        con,
        f"""SELECT region, host, last_heartbeat FROM probe_agents WHERE project_id = $p AND state = 'lost'
            {_in(rule.regions, "region")} ORDER BY region, host""",
        {"p": project.id, "names": list(rule.regions)},
    )
    return [
        Finding(f"{region}/{host}", f"Probe agent {host} in {region} lost: no heartbeat since {last:%H:%M} UTC",
                {"region": region, "host": host, "last_heartbeat": last, "path": "/checks"})
        for region, host, last in rows
    ]  # fmt: skip


def _host_metrics(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[Finding]:
    lasting = timedelta(minutes=rule.minutes)
    rows = _rows(
        con,
        f"""WITH m AS (SELECT host, ts, {METRIC_SQL[rule.metric]} AS v FROM host_metrics
                       WHERE project_id = $p AND ts >= $lookback AND ts <= $now{_in(rule.hosts, 'host')})
            SELECT host, arg_max(v, ts), max(ts), max(ts) FILTER (WHERE v IS NULL OR v <= $above), min(ts)
            FROM m GROUP BY host ORDER BY host""",
        {"p": project.id, "lookback": now - 2 * lasting - METRICS_STALE, "now": now, "above": rule.above,
         "names": list(rule.hosts)},
    )  # fmt: skip
    unit = "" if rule.metric == "load" else "%"
    findings = []
    for host, value, last, last_ok, first in rows:
        if value is None or value <= rule.above or last < now - METRICS_STALE:
            continue
        if (last_ok or first) > now - lasting:
            continue  # above for less than the rule's minutes (or reporting for less)
        findings.append(
            Finding(host, f"{host} {rule.metric} {value:.0f}{unit}, above {rule.above:g}{unit} for "
                    f"{rule.minutes} min or more", {"host": host, "metric": rule.metric, "value": round(value, 1),
                                                     "above": rule.above, "path": "/incidents"})
        )  # fmt: skip
    return findings


def _slo_counts(
    con: duckdb.DuckDBPyConnection, project_id: int, signal: str, windows: list[int], now: datetime
) -> dict[int, tuple[int, int]]:
    """(all, bad) per window of minutes ending at ``now``."""
    params: dict[str, Any] = {"p": project_id, "now": now}
    columns = []
    for n, minutes in enumerate(windows):
        params[f"w{n}"] = now - timedelta(minutes=minutes)
        columns.append(f"count(*) FILTER (WHERE t >= $w{n}), count(*) FILTER (WHERE t >= $w{n} AND bad)")
    params["longest"] = now - timedelta(minutes=max(windows))
    if signal == "error_free_sessions":
        source = """SELECT min(started) AS t, bool_or(crashed) AS bad FROM beacon_sessions
                    WHERE project_id = $p AND started >= $longest AND started <= $now GROUP BY session_id, release"""
    else:
        source = """SELECT ts AS t, rating <> 'good' AS bad FROM web_vitals WHERE project_id = $p
                    AND ts >= $longest AND ts <= $now AND name IN ('LCP', 'INP', 'CLS') AND rating IS NOT NULL"""
    (row,) = con.execute(f"SELECT {', '.join(columns)} FROM ({source})", params).fetchall()
    return {minutes: (int(row[2 * n]), int(row[2 * n + 1])) for n, minutes in enumerate(windows)}


def _slo_burn(con: duckdb.DuckDBPyConnection, project: Project, rule: Rule, now: datetime) -> list[Finding]:
    pairs = SLO_WINDOWS[rule.severity]
    counts = _slo_counts(con, project.id, rule.signal, sorted({w for pair in pairs for w in pair[:2]}), now)
    budget = 1 - rule.objective / 100
    what = "error-free sessions" if rule.signal == "error_free_sessions" else "good Web Vitals"
    for long, short, burn in pairs:
        (total, bad), (short_total, short_bad) = counts[long], counts[short]
        if total < SLO_MIN_EVENTS or not short_total:
            continue
        long_rate, short_rate = bad / total / budget, short_bad / short_total / budget
        if long_rate >= burn and short_rate >= burn:
            title = (f"{what} below {rule.objective:g}%: the error budget burns {long_rate:.1f}x too fast over "
                     f"{long} min ({bad} of {total} bad) and {short_rate:.1f}x over {short} min")  # fmt: skip
            figures = {"signal": rule.signal, "objective": rule.objective, "long_minutes": long, "short_minutes": short,
                       "burn_rate": burn, "long_burn": round(long_rate, 2), "short_burn": round(short_rate, 2),
                       "bad": bad, "total": total, "path": "/releases"}  # fmt: skip
            return [Finding(rule.signal, title, figures)]
    return []


CONDITIONS = {
    "issue_spike": _issue_spikes,
    "users_affected": _users_affected,
    "check_down": _checks,
    "check_degraded": _checks,
    "agent_lost": _agents_lost,
    "host_metric": _host_metrics,
    "slo_burn": _slo_burn,
}


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
