"""What each kind of alert rule finds (``analytics/alerts.py`` evaluates them; docs/alerts.md).

A rule's kind (``when``) names one function here. An **event** kind's (``EVENTS``, and
``new_issues`` for new issues) lists the events since a time; a **condition** kind's
(``CONDITIONS``) lists the subjects the condition holds for now. Each returns ``Finding``s:
the subject, a title and the figures to show with it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics import anomalies
from analytics.anomalies import INGEST_LAG, judge_count
from analytics.evidence import DISK_PERCENT, FDS_PERCENT
from contracts.alerts import Rule
from contracts.projects import Project

#: Most events one rule alerts in one evaluation; the rest wait for the next (they are not lost).
MAX_EVENTS = 1000
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


@dataclasses.dataclass
class Finding:
    """A subject a rule fires about now, with what to say."""

    subject: str
    title: str
    detail: dict[str, Any]
    action: str = "fired"  # events only: fired, changed or resolved (an incident's activity)


def _in(names: tuple[str, ...], column: str) -> str:
    return f" AND {column} IN (SELECT unnest($names))" if names else ""


# Events.


def new_issues(con: duckdb.DuckDBPyConnection, project: Project, after: int) -> list[Finding]:
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
    rows = anomalies.rows(
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
    rows = anomalies.rows(
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
    rows = anomalies.rows(
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
        source = """SELECT min(started) AS t, bool_or(crashed OR coalesce(unhandled, false)) AS bad FROM beacon_sessions
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
