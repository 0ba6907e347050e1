"""``vigil incidents``: the incidents correlation opened, one incident's verdict and evidence, and feedback on it.

Reads go through the running analytics service's read API; feedback through its
``POST /v1/incidents/feedback`` with the token of ``run/analytics.json``, kept as
``cli:<login>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.incidents import Feedback, check
from vigil.issues_cli import _client, _print, actor
from vigil.table import dumps, render_table

LIST_COLUMNS = ("incident_id", "project", "status", "verdict", "confidence", "started_at", "closed_at", "summary")


def list_incidents(data_dir: Path, echo: Callable[[str], None], as_json: bool, **params: Any) -> None:
    with _client(data_dir) as read:
        result = read.query("incidents", **params)
    if not result.rows and not as_json:
        echo("No incidents in this range.")
        return
    _print(result, LIST_COLUMNS, as_json, echo)


def show(data_dir: Path, incident_id: int, echo: Callable[[str], None], as_json: bool) -> None:
    with _client(data_dir) as read:
        result = read.query("incident", incident_id=incident_id)
        history = read.query("incident_activity", incident_id=incident_id)
    if not result.rows:
        raise LookupError(f"no incident {incident_id}")
    incident = dict(zip(result.columns, result.rows[0], strict=True))
    signals, evidence = json.loads(incident.pop("signals") or "{}"), json.loads(incident.pop("evidence") or "{}")
    if as_json:
        activity = [dict(zip(history.columns, row, strict=True)) for row in history.rows]
        echo(dumps({**incident, "signals": list(signals.values()), "evidence": evidence, "activity": activity}))
        return
    echo(f"Incident {incident_id} · {incident['project']} · {incident['status']}")
    echo(f"Verdict: {incident['verdict']} (confidence {incident['confidence']:.0%}): {incident['summary']}")
    closed = f", closed {incident['closed_at']}" if incident["closed_at"] else ""
    echo(f"Started {incident['started_at']}{closed}")
    if incident["feedback"]:
        note = f": {incident['feedback_note']}" if incident["feedback_note"] else ""
        echo(f"Feedback: the verdict {incident['feedback_verdict']} is {incident['feedback']} "
             f"({incident['feedback_by']}){note}")  # fmt: skip
    echo("\nClient signals out of line:")
    rows = [[s["label"], s["observed"], s["expected"], s["first_minute"]] for s in signals.values()]
    echo(render_table(["signal", "observed", "expected", "first minute"], rows))
    for line in evidence_lines(evidence):
        echo(line)
    echo("\nHistory:")
    echo(render_table(["ts", "actor", "action", "detail"],
                      [[r[history.columns.index(c)] for c in ("ts", "actor", "action", "detail")]
                       for r in history.rows]))  # fmt: skip


def evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """The evidence in words, one line each."""
    lines = ["\nEvidence:"]
    for check_ in evidence.get("checks", []):
        how = "inferred from its target" if check_["inferred"] else "declared"
        slow = "; slow in " + ", ".join(r["region"] for r in check_["slow_regions"]) if check_["slow_regions"] else ""
        lines.append(f"  check {check_['check']} ({how}): {check_['worst']}{slow}")
    for host in evidence.get("hosts", []):
        figures = ", ".join(f"{k} {host[k]}%" for k in ("cpu", "memory", "disk", "fds") if host[k] is not None)
        lines.append(f"  host {host['host']}: {figures}" + (" (saturated)" if host["saturated"] else ""))
    for errors in evidence.get("server_errors", []):
        lines.append(f"  server errors of {errors['project']}: {errors['errors']} ({errors['expected']} expected)")
    for release in evidence.get("releases", []):
        lines.append(f"  new release {release['release']} first seen {release['first_seen']}")
    for failing in evidence.get("failing_hosts", []):
        whose = "yours" if failing["own"] else "third party"
        lines.append(f"  failing host {failing['host']} ({whose}): {failing['count']:.0f} failures")
    if evidence.get("checked"):
        lines.append("  checked: " + ", ".join(evidence["checked"]))
    return lines if len(lines) > 1 else []


def feedback(data_dir: Path, incident_id: int, right: bool, note: str, echo: Callable[[str], None]) -> None:
    given = check(Feedback(incident_id, right, actor(), note))
    with _client(data_dir) as read:
        answer = read.feedback(given)
    echo(f"incident {answer['incident_id']}: the verdict {answer['verdict']} is kept as {answer['feedback']}")
