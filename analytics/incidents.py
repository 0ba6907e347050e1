"""Incidents: a spike of client failures, what the backend did meanwhile, and a verdict (docs/correlation.md).

Every minute ``evaluate`` runs the client-side anomaly tests (``analytics/anomalies.py``).
A project with an anomaly and no open incident gets one; the anomalies of the following
minutes join it; it closes once ``CLOSE_AFTER`` passed without any. While it is open, each
minute gathers the backend evidence over the incident's time (from ``EVIDENCE_BEFORE``
before its first anomalous minute until now) and gives the verdict again:

- **backend**: a check of the failing service down or degraded (per region and at quorum),
  slower than usual, a host of it saturated, or its server-side errors spiking, while its
  own host fails or the pages throw;
- **third_party**: most failures (``THIRD_PARTY_SHARE``) go to hosts that are neither the
  site's own nor a declared service's;
- **network**: the site's own hosts fail at the connection (DNS, TCP, TLS, timeouts) while
  the probes reach them from every region;
- **client**: the pages throw (or a vital worsens) while the backend looks healthy; with the
  release, browser and error type the spike is concentrated in;
- **unknown**: none of these, with what was checked.

What a service is (its hosts, checks, machines and server-side projects) comes from the
project's ``[[projects.services]]`` (``contracts/services.py``). Without a declaration, a
check whose URL has the failing host watches it, every check of the project watches a
page that throws, and every machine reporting metrics to the project serves it: all of
which the evidence marks as inferred.

Each verdict has a confidence, a one-line summary with its figures, and its evidence as
JSON. Every opening, change of verdict, closing and user feedback is appended to
``incident_activity``: what alerts are sent from.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics import anomalies
from analytics import evidence as backend
from analytics.anomalies import NETWORK_CLASSES, Anomaly
from analytics.store import transaction
from contracts.incidents import Feedback, FeedbackError
from contracts.projects import Project

CLOSE_AFTER = timedelta(minutes=5)
EVIDENCE_BEFORE = timedelta(minutes=5)
RELEASE_BEFORE = timedelta(minutes=30)
THIRD_PARTY_SHARE = 0.8
NETWORK_KINDS = ("failed_requests", "nel", "resource_failures")


@dataclasses.dataclass
class Incident:
    incident_id: int
    project_id: int
    project: str
    status: str
    verdict: str
    confidence: float
    summary: str
    started_at: datetime
    opened_at: datetime
    updated_at: datetime
    last_anomaly_at: datetime
    closed_at: datetime | None = None
    signals: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Verdict:
    verdict: str
    confidence: float
    summary: str
    evidence: dict[str, Any]


_COLUMNS = (
    "incident_id, project_id, project, status, verdict, confidence, summary, started_at, opened_at, updated_at, "
    "last_anomaly_at, closed_at, signals, evidence"
)


def evaluate(
    con: duckdb.DuckDBPyConnection,
    projects: Mapping[int, Project],
    now: datetime,
    min_history: int = anomalies.MIN_HISTORY_MINUTES,
    window: timedelta = anomalies.WINDOW,
) -> list[dict[str, Any]]:
    """Open, update and close incidents at ``now`` (naive UTC) in one transaction; returns the activity written."""
    found = anomalies.detect(con, now, min_history, window)
    with transaction(con):
        open_incidents = {i.project_id: i for i in _load(con, "status = 'open'")}
        activity: list[dict[str, Any]] = []
        next_id = con.execute("SELECT coalesce(max(incident_id), 0) + 1 FROM incidents").fetchall()[0][0]
        for project_id in sorted(set(found) | set(open_incidents)):
            signals = found.get(project_id, [])
            incident = open_incidents.get(project_id)
            opened = incident is None
            if incident is None:
                incident = _open(con, project_id, projects, signals, next_id, now)
                next_id += 1
            _merge(incident, signals, now)
            if not signals and now - incident.last_anomaly_at >= CLOSE_AFTER:
                incident.status, incident.closed_at = "closed", now
            judged = judge(con, incident, projects, now)
            before = incident.verdict
            incident.verdict, incident.confidence = judged.verdict, judged.confidence
            incident.summary, incident.evidence, incident.updated_at = judged.summary, judged.evidence, now
            if opened:
                activity.append(_activity(incident, now, "opened", incident.summary))
            elif judged.verdict != before:
                activity.append(_activity(incident, now, "verdict", f"{before} → {judged.verdict}"))
            if incident.status == "closed":
                activity.append(_activity(incident, now, "closed", incident.summary))
            _save(con, incident)
        if activity:
            con.executemany(
                "INSERT INTO incident_activity VALUES ($incident_id, $ts, $actor, $action, $verdict, $detail)",
                activity,
            )
    return activity


def feedback(con: duckdb.DuckDBPyConnection, given: Feedback, now: datetime) -> dict[str, Any]:
    """Keep a user's judgement of an incident's current verdict; returns the incident's id, verdict and feedback."""
    incident_id, actor, note = given.incident_id, given.actor, given.note
    with transaction(con):
        rows = con.execute("SELECT verdict FROM incidents WHERE incident_id = ?", [incident_id]).fetchall()
        if not rows:
            raise FeedbackError(f"no incident {incident_id}")
        verdict, judged = rows[0][0], "right" if given.right else "wrong"
        con.execute(
            """UPDATE incidents SET feedback = ?, feedback_verdict = ?, feedback_note = ?, feedback_by = ?,
               feedback_at = ? WHERE incident_id = ?""",
            [judged, verdict, note, actor, now, incident_id],
        )
        detail = f"the verdict {verdict} is {judged}" + (f": {note}" if note else "")
        con.execute(
            "INSERT INTO incident_activity VALUES (?, ?, ?, 'feedback', ?, ?)",
            [incident_id, now, actor, verdict, detail],
        )
    return {"incident_id": incident_id, "verdict": verdict, "feedback": judged}


def _load(con: duckdb.DuckDBPyConnection, where: str) -> list[Incident]:
    found = []
    for row in con.execute(f"SELECT {_COLUMNS} FROM incidents WHERE {where}").fetchall():
        incident = Incident(*row[:12])
        incident.signals, incident.evidence = json.loads(row[12] or "{}"), json.loads(row[13] or "{}")
        found.append(incident)
    return found


def _open(
    con: duckdb.DuckDBPyConnection, project_id: int, projects: Mapping[int, Project], signals: list[Anomaly],
    incident_id: int, now: datetime,
) -> Incident:  # fmt: skip
    project = projects.get(project_id)
    if project is not None:
        name = project.name
    else:
        rows = con.execute(
            "SELECT any_value(project) FROM event_counts_1m WHERE project_id = ?", [project_id]
        ).fetchall()
        name = rows[0][0] or str(project_id)
    started = min(s.first_minute for s in signals)
    return Incident(incident_id, project_id, name, "open", "", 0.0, "", started, now, now, now)


def _merge(incident: Incident, signals: list[Anomaly], now: datetime) -> None:
    """Each series keeps its strongest window, and its first minute out of line."""
    for signal in signals:
        key = f"{signal.kind}|{signal.key}"
        seen = incident.signals.get(key)
        fresh = signal.as_json()
        if seen is not None:
            fresh["first_minute"] = min(seen["first_minute"], fresh["first_minute"])
            if seen["observed"] > fresh["observed"]:
                fresh = {**seen, "first_minute": fresh["first_minute"]}
        fresh["last_seen"] = now.isoformat()
        incident.signals[key] = fresh
    if signals:
        incident.last_anomaly_at = now
        incident.started_at = min(incident.started_at, *(s.first_minute for s in signals))


def _save(con: duckdb.DuckDBPyConnection, incident: Incident) -> None:
    """Write the incident's row; a user's feedback on it stays as it is."""
    values = [
        incident.project_id, incident.project, incident.status, incident.verdict, incident.confidence,
        incident.summary, incident.started_at, incident.opened_at, incident.updated_at, incident.last_anomaly_at,
        incident.closed_at, json.dumps(incident.signals), json.dumps(incident.evidence), incident.incident_id,
    ]  # fmt: skip
    ((updated,),) = con.execute(
        """UPDATE incidents SET project_id = ?, project = ?, status = ?, verdict = ?, confidence = ?, summary = ?,
               started_at = ?, opened_at = ?, updated_at = ?, last_anomaly_at = ?, closed_at = ?, signals = ?,
               evidence = ? WHERE incident_id = ?""",
        values,
    ).fetchall()
    if not updated:
        con.execute(f"INSERT INTO incidents ({_COLUMNS}) VALUES ({', '.join(['?'] * 14)})", [values[-1], *values[:-1]])


def _activity(incident: Incident, now: datetime, action: str, detail: str) -> dict[str, Any]:
    return {"incident_id": incident.incident_id, "ts": now, "actor": "vigil", "action": action,
            "verdict": incident.verdict, "detail": detail}  # fmt: skip


def judge(
    con: duckdb.DuckDBPyConnection, incident: Incident, projects: Mapping[int, Project], now: datetime
) -> Verdict:
    """The verdict on an incident's signals, from the backend's evidence over its time."""
    project = projects.get(incident.project_id)
    services = project.services if project is not None else ()
    signals = list(incident.signals.values())
    start = datetime.fromisoformat(min(s["first_minute"] for s in signals)) if signals else incident.started_at
    since = start - EVIDENCE_BEFORE
    failing: Counter[str] = Counter()
    classes: dict[str, set[str]] = defaultdict(set)
    for s in signals:
        if s["kind"] in NETWORK_KINDS:
            failing[s["host"]] += s["observed"]
            classes[s["host"]].add(s["class"] or s["kind"])
    own_hosts = backend.own_hosts(con, incident.project_id, project, since, now)
    own = {h for h in failing if backend.is_own(h, own_hosts, services)}
    third = {h: n for h, n in failing.items() if h not in own}
    network = bool(failing)

    # The services (and checks) of the site's failing hosts; when none of them fails (the pages throw, or only
    # third parties fail), every service: what says whether the backend was healthy meanwhile.
    relevant = [s for s in services if any(backend.serves(s, h) for h in own)] if own else list(services)
    checks = backend.checks(con, incident.project_id, relevant, own or None, bool(services), now)
    machines = backend.machines(con, incident.project_id, relevant, bool(services), since, now)
    backend_ids = {p.id: p.name for p in projects.values() for s in relevant if p.name in s.backend_projects}
    evidence: dict[str, Any] = {
        "since": since.isoformat(),
        "until": now.isoformat(),
        "failing_hosts": [
            {
                "host": h,
                "count": n,
                "own": h in own,
                "service": next((s.name for s in services if backend.serves(s, h)), None),
                "classes": sorted(classes[h]),
            }
            for h, n in failing.most_common()
        ],
        "checks": backend.check_evidence(con, incident.project_id, checks, since, now),
        "hosts": backend.host_evidence(con, incident.project_id, machines, since, now),
        "server_errors": backend.server_errors(con, backend_ids, since, now),
        "releases": backend.new_releases(con, [incident.project_id, *backend_ids], start - RELEASE_BEFORE, now),
        "concentration": {},
        "services": [s.name for s in relevant],
    }
    down = [c for c in evidence["checks"] if c["worst"] in ("down", "degraded")]
    slow = [c for c in evidence["checks"] if c["slow_regions"]]
    hot = [h for h in evidence["hosts"] if h["saturated"]]
    spikes = [e for e in evidence["server_errors"] if e["spike"]]
    evidence["checked"] = backend.checked(evidence, relevant)
    js = [s for s in signals if s["kind"] in ("js_errors", "vital")]

    if (own or not network) and (down or slow or hot or spikes):
        parts = [_check_text(c) for c in down] + [_slow_text(c) for c in slow if c not in down]
        parts += [_host_text(h) for h in hot] + [_spike_text(e) for e in spikes]
        confidence = 0.9 if any(c["worst"] == "down" for c in down) else 0.7 if down or slow else 0.65
        kinds = sum(bool(x) for x in (down or slow, hot, spikes))
        confidence = min(0.95, confidence + 0.05 * (kinds - 1))
        if any(c["inferred"] for c in down + slow) or any(h["inferred"] for h in hot):
            confidence -= 0.1
        return Verdict("backend", round(confidence, 2), "; ".join(parts), evidence)
    if network and sum(third.values()) >= THIRD_PARTY_SHARE * sum(failing.values()):
        hosts = ", ".join(list(third)[:3])
        healthy = _healthy_text(evidence["checks"], "your checks healthy", "no check of yours ran")
        confidence = 0.85 if evidence["checks"] else 0.7
        return Verdict("third_party", confidence, f"failures concentrated on {hosts}, not yours; {healthy}", evidence)
    if own:
        countries = backend.concentration(con, incident.project_id, since, now, "network_failures", "country", own)
        evidence["concentration"]["country"] = countries
        only = backend.only(countries)
        if all(classes[h] <= NETWORK_CLASSES for h in own):
            what = _class_text(set().union(*(classes[h] for h in own)))
            where = f" from users in {' and '.join(only)} only" if only else ""
            healthy = _healthy_text(evidence["checks"], "probes healthy in every region", "no probe watches it")
            confidence = (0.8 if evidence["checks"] else 0.55) + (0.1 if only else 0.0)
            return Verdict("network", round(confidence, 2), f"{what}{where}; {healthy}", evidence)
        hosts = ", ".join(sorted(own)[:3])
        what = _class_text(set().union(*(classes[h] for h in own)))
        healthy = _healthy_text(evidence["checks"], "its checks stay up", "no check watches it")
        return Verdict("backend", 0.55, f"{what} from {hosts}; {healthy}", evidence)
    if js:
        concentration = {
            by: backend.concentration(con, incident.project_id, since, now, "errors", by, None)
            for by in ("error_type", "release", "browser")
        }
        evidence["concentration"] = concentration
        kind = backend.only(concentration["error_type"], 1)
        thrown = any(s["kind"] == "js_errors" for s in js)
        what = f"{kind[0]} spike" if kind and thrown else "; ".join(s["label"] for s in js)
        release, browser = backend.only(concentration["release"], 1), backend.only(concentration["browser"], 1)
        where = (f" in release {release[0]}" if release else "") + (f", {browser[0]} only" if browser else "")
        healthy = _healthy_text(evidence["checks"], "backend healthy", "nothing watches the backend")
        confidence = (0.8 if evidence["checks"] else 0.6) + (0.1 if release or browser else 0.0)
        return Verdict("client", round(confidence, 2), f"{what}{where}; {healthy}", evidence)
    labels = "; ".join(s["label"] for s in signals) or "no anomaly"
    return Verdict("unknown", 0.3, f"{labels}; checked {', '.join(evidence['checked']) or 'nothing'}", evidence)


def _time(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M") if iso else "?"


def _check_text(check: dict[str, Any]) -> str:
    where = (
        f"in {check['regions_down']} of {check['regions']} regions" if check["regions"]
        else f"in {', '.join(check['down_regions'])}" if check["down_regions"] else ""
    )  # fmt: skip
    return f"{check['check']} {check['worst']} {where} since {_time(check['since'])} UTC".replace("  ", " ")


def _slow_text(check: dict[str, Any]) -> str:
    slowest = max(check["slow_regions"], key=lambda r: r["median_ms"] / r["usual_ms"])
    ratio = slowest["median_ms"] / slowest["usual_ms"]
    return f"{check['check']} {ratio:.1f} times slower in {slowest['region']} ({slowest['median_ms']:.0f} ms)"


def _host_text(host: dict[str, Any]) -> str:
    names = {"cpu": "CPU", "memory": "memory", "disk": "disk", "fds": "open files"}
    return f"host {host['host']} " + ", ".join(f"{names[k]} {host[k]:.0f}%" for k in host["saturated"])


def _spike_text(errors: dict[str, Any]) -> str:
    return f"server errors of {errors['project']} {errors['errors']} against {errors['expected']:.0f} expected"


def _class_text(classes: set[str]) -> str:
    names = {"dns": "DNS", "tls": "TLS", "tcp": "TCP", "network": "connection", "timeout": "timeout",
             "http_5xx": "5xx", "http_4xx": "4xx", "http": "HTTP"}  # fmt: skip
    ordered = sorted({names.get(c, c) for c in classes})
    return (" and ".join(ordered) if len(ordered) < 3 else ", ".join(ordered)) + " failures"


def _healthy_text(checks: list[dict[str, Any]], healthy: str, none: str) -> str:
    if not checks:
        return none
    failing = [c["check"] for c in checks if c["worst"] in ("down", "degraded")]
    return healthy if not failing else f"{', '.join(failing)} also failing"
