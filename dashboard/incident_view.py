"""One incident on the page: its verdict, the timeline that aligns the client with the backend, and its evidence.

Shared by the incident pages (page modules must not import each other). Everything from
events is rendered as text: Dash escapes component children, and Plotly labels go through
``plotly_text``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from dash import html
from plotly.subplots import make_subplots

from contracts.read_api import ReadClient
from dashboard.widgets import kpi, plotly_text, records, when

VERDICTS = {
    "backend": "Your backend",
    "network": "The network or a CDN",
    "third_party": "A third party",
    "client": "Your own JavaScript",
    "unknown": "Not known yet",
}
#: Before and after the incident, on its timeline.
BEFORE, AFTER = timedelta(minutes=30), timedelta(minutes=10)
TOP_HOSTS = 5


def verdict_badge(verdict: str) -> html.Span:
    return html.Span(VERDICTS.get(verdict, verdict), className=f"badge verdict-{verdict}")


def span(incident: dict[str, Any], now: datetime | None = None) -> tuple[str, str, int]:
    """(since, until, bucket seconds) of an incident's timeline: half an hour before it until ten minutes after."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    start = _time(incident["started_at"]) - BEFORE
    end = min(now, (_time(incident["closed_at"]) if incident.get("closed_at") else now) + AFTER)
    bucket = max(60, int((end - start).total_seconds() // 240) // 60 * 60)
    return f"{start:%Y-%m-%dT%H:%M:%S}Z", f"{end:%Y-%m-%dT%H:%M:%S}Z", bucket


def _time(value: object) -> datetime:
    return datetime.fromisoformat(str(value).rstrip("Z")).replace(tzinfo=None)


def timeline(read: ReadClient, incident: dict[str, Any], evidence: dict[str, Any]) -> go.Figure:
    """The client's series above the backend's, on one time axis, the incident shaded and releases marked."""
    since, until, bucket = span(incident)
    window = {"project": incident["project"], "since": since, "until": until, "bucket_seconds": bucket}
    unit = "minute" if bucket == 60 else f"{bucket // 60} minutes"
    rows: list[tuple[str, list[go.Scatter]]] = []

    counts = read.query("event_counts", **window)
    by_kind: dict[str, dict[Any, int]] = defaultdict(dict)
    for minute, kind, events in counts.rows:
        by_kind[kind][minute] = events
    rows.append((f"Your pages: errors and page views per {unit}", [
        _line(by_kind.get("errors", {}), "errors", "#b42318"),
        _line(by_kind.get("page_views", {}), "page views", "#8c96a8", dash="dot"),
    ]))  # fmt: skip

    failures: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for minute, host, _kind, count in read.query("failures_per_minute", **window, limit=TOP_HOSTS).rows:
        failures[host or "unknown host"][minute] += count
    if failures:
        rows.append((f"Failed requests and resources per {unit}, by host",
                     [_line(points, host) for host, points in failures.items()]))  # fmt: skip

    vitals: dict[str, dict[Any, float]] = defaultdict(dict)
    for minute, name, _samples, p75 in read.query("vitals_per_minute", **window).rows:
        if name != "CLS":  # unitless: another scale
            vitals[name][minute] = p75
    if vitals:
        rows.append(("Web Vitals p75 (ms)", [_line(points, name) for name, points in sorted(vitals.items())]))

    watched = {c["check"] for c in evidence.get("checks", [])}
    checks: dict[str, dict[Any, float]] = defaultdict(dict)
    down: dict[str, dict[Any, float]] = defaultdict(dict)
    for minute, check, region, _up, failed, median_ms in read.query("check_results_per_minute", **window).rows:
        if check in watched:
            checks[f"{check} · {region}"][minute] = median_ms
            if failed:
                down[f"{check} · {region}"][minute] = median_ms
    if checks:
        traces = [_line(points, name) for name, points in sorted(checks.items())]
        traces += [
            go.Scatter(x=list(points), y=list(points.values()), mode="markers", name=f"{plotly_text(name)} down",
                       marker={"color": "#b42318", "symbol": "x", "size": 9})
            for name, points in sorted(down.items())
        ]  # fmt: skip
        rows.append(("Checks: median time per region (ms), a cross where a result was down", traces))

    machines = {h["host"] for h in evidence.get("hosts", [])}
    hosts: dict[str, dict[Any, float]] = defaultdict(dict)
    for minute, host, cpu, memory, _disk, _fds in read.query("host_metrics_per_minute", **window).rows:
        if host in machines:
            hosts[f"{host} CPU"][minute] = cpu
            hosts[f"{host} memory"][minute] = memory
    if hosts:
        rows.append(("Hosts: CPU busy and memory used (%)", [_line(p, name) for name, p in sorted(hosts.items())]))

    server: dict[str, dict[Any, int]] = {}
    for backend in evidence.get("server_errors", []):
        result = read.query("events_per_minute", project=backend["project"], since=since, until=until,
                            bucket_seconds=bucket)  # fmt: skip
        server[backend["project"]] = {minute: errors for minute, errors in result.rows}
    if server:
        rows.append((f"Server-side errors per {unit}", [_line(points, name) for name, points in server.items()]))

    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[plotly_text(title) for title, _ in rows])  # fmt: skip
    for n, (_, traces) in enumerate(rows, start=1):
        for trace in traces:
            fig.add_trace(trace, row=n, col=1)
    end = incident.get("closed_at") or until.rstrip("Z")
    fig.add_vrect(x0=str(incident["started_at"]), x1=str(end), fillcolor="#f0c36d", opacity=0.2, line_width=0,
                  annotation_text="incident", annotation_position="top left")  # fmt: skip
    for n, release in enumerate(evidence.get("releases", [])):
        fig.add_vline(x=release["first_seen"], line_dash="dash", line_color="#1f5fbf")
        fig.add_annotation(
            x=release["first_seen"], y=1, yref="paper", yshift=14 * n, text=plotly_text(release["release"]),
            showarrow=False, font={"color": "#1f5fbf", "size": 11}, yanchor="bottom",
        )  # fmt: skip
    fig.update_layout(height=170 * len(rows) + 80, margin={"l": 50, "r": 10, "t": 50, "b": 30},
                      template="plotly_white", legend={"orientation": "h", "y": -0.08},
                      title="What the clients saw, above what the backend did (UTC)")  # fmt: skip
    fig.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    return fig


def _line(points: dict[Any, Any], name: str, color: str | None = None, dash: str | None = None) -> go.Scatter:
    ordered = sorted(points.items(), key=lambda p: str(p[0]))
    return go.Scatter(x=[p[0] for p in ordered], y=[p[1] for p in ordered], mode="lines+markers",
                      name=plotly_text(name), line={"color": color, "dash": dash}, marker={"size": 4})  # fmt: skip


def header(incident: dict[str, Any]) -> list[Any]:
    closed = incident.get("closed_at")
    duration = (_time(closed) if closed else datetime.now(UTC).replace(tzinfo=None)) - _time(incident["started_at"])
    minutes = max(1, round(duration.total_seconds() / 60))
    facts = [
        ("Started", f"{when(incident['started_at'])} UTC"),
        ("Closed" if closed else "Open for", f"{when(closed)} UTC" if closed else f"{minutes} min"),
        ("Lasted", f"{minutes} min") if closed else ("Opened", f"{when(incident['opened_at'])} UTC"),
        ("Confidence", f"{float(incident['confidence']):.0%}"),
    ]
    return [
        html.P(
            [
                html.Span(f"Incident #{incident['incident_id']}", className="muted"),
                " · ",
                str(incident["project"]),
                " · ",
                html.Span(str(incident["status"]), className=f"badge status-{incident['status']}"),
            ]
        ),
        html.H2([verdict_badge(str(incident["verdict"])), str(incident["summary"])], className="verdict"),
        html.Div([kpi(value, label, small=True) for label, value in facts], className="kpis"),
        _feedback_line(incident),
    ]


def _feedback_line(incident: dict[str, Any]) -> html.P:
    if not incident.get("feedback"):
        return html.P("Nobody has judged this verdict yet.", className="hint")
    note = f": {incident['feedback_note']}" if incident.get("feedback_note") else ""
    verdict = VERDICTS.get(str(incident["feedback_verdict"]), str(incident["feedback_verdict"]))
    return html.P(f"{incident['feedback_by']} said the verdict \"{verdict}\" is {incident['feedback']}{note}.",
                  className="hint")  # fmt: skip


def signal_rows(signals: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": key, "label": s["label"], "observed": s["observed"], "expected": s["expected"],
         "ratio": f"{s['ratio']:g} times", "first": when(s["first_minute"]), "last": when(s.get("last_seen"))}
        for key, s in signals.items()
    ]  # fmt: skip


def check_rows(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in evidence.get("checks", []):
        slow = ", ".join(
            f"{r['region']} {r['median_ms']:.0f} ms (usually {r['usual_ms']:.0f})" for r in c["slow_regions"]
        )
        rows.append({
            "check": c["check"], "how": "inferred from its target" if c["inferred"] else "declared",
            "worst": c["worst"], "since": when(c["since"]),
            "regions": f"{c['regions_down']} of {c['regions']}" if c["regions"] else ", ".join(c["down_regions"]),
            "slow": slow or "no",
        })  # fmt: skip
    return rows


def host_rows(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"host": h["host"], "how": "inferred: it reports to the project" if h["inferred"] else "declared",
         **{k: "" if h[k] is None else f"{h[k]:.0f}%" for k in ("cpu", "memory", "disk", "fds")},
         "saturated": ", ".join(h["saturated"]) or "no"}
        for h in evidence.get("hosts", [])
    ]  # fmt: skip


def other_evidence(evidence: dict[str, Any]) -> list[Any]:
    """Failing hosts, server errors, new releases, concentration and what was checked, as lists."""
    parts: list[Any] = []

    def section(title: str, items: list[str]) -> None:
        if items:
            parts.extend([html.H4(title), html.Ul([html.Li(i) for i in items])])

    section("Where the failures went", [
        f"{f['host']}: {f['count']:.0f} failures ({'yours' if f['own'] else 'a third party'}"
        f"{', service ' + f['service'] if f['service'] else ''}; {', '.join(f['classes'])})"
        for f in evidence.get("failing_hosts", [])
    ])  # fmt: skip
    section("Server-side errors", [
        f"{e['project']}: {e['errors']} errors, {e['expected']:g} expected" + (" — a spike" if e["spike"] else "")
        for e in evidence.get("server_errors", [])
    ])  # fmt: skip
    section("New releases", [f"{r['release']} first seen {when(r['first_seen'])} UTC"
                             for r in evidence.get("releases", [])])  # fmt: skip
    for by, shares in (evidence.get("concentration") or {}).items():
        section(f"By {by.replace('_', ' ')}", [
            f"{value}: {of_events:.0%} of the failing events"
            + ("" if of_views is None else f", {of_views:.0%} of page views")
            for value, of_events, of_views in shares
        ])  # fmt: skip
    if evidence.get("checked"):
        parts.append(html.P("Checked: " + "; ".join(evidence["checked"]) + ".", className="hint"))
    return parts or [html.P("No backend evidence was gathered for this incident.", className="empty")]


def history(result: Any) -> list[Any]:
    return [
        html.Li([html.Span(f"{when(a['ts'])} UTC", className="when"), html.Span(str(a["actor"]), className="actor"),
                 html.Span(str(a["detail"] or a["action"]))])
        for a in records(result)
    ] or [html.Li("No history yet.")]  # fmt: skip


def parse(incident: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The incident's signals and evidence, from their JSON."""
    return json.loads(incident.get("signals") or "{}"), json.loads(incident.get("evidence") or "{}")
