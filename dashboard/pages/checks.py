"""Checks: every probe check's current state per region and across regions, the agents, and uptime.

Linkable: ``/checks?project=shop&range=7d&check=shop-home``. The states and agents are current
(the range does not change them); the range selects the uptime shown. A lost agent is called
out above everything else: its checks' states are stale, not down. A check's name opens it
up close: where its runs' time went (DNS, connect, TLS, first byte, transfer) per region over
the range, and its states over time, so "it got slow in eu-west at 14:02" is a picture.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from dashboard.checks_view import OVERALL, phases_figure, states_figure
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import (
    bounded,
    choice,
    filters,
    grid,
    markdown_link,
    project_options,
    records,
    refresh_ms,
    search,
    when,
)

dash.register_page(__name__, path="/checks", name="Checks", title="Vigil · Checks", order=5)

NO_CHECKS = "No checks have reported yet. Start a probe agent (docs/probes.md) and its checks show up here."
NO_AGENTS = "No probe agents have sent a heartbeat yet."
NO_UPTIME = "No conclusive check results in this range."


def layout(project: str | None = None, range: str | None = None, check: str | None = None, **_: Any) -> html.Div:
    """The page for ``?project=…&range=…&check=…``; unknown values fall back to all projects / one hour."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    chosen = bounded(check)
    return html.Div(
        [
            dcc.Location(id="checks-url", refresh=False),
            filters(
                "checks",
                project,
                range_key,
                choice("checks-check", chosen, "Pick a check"),
            ),
            html.Div(id="checks-notice", className="notice"),
            html.Div(id="checks-lost", className="alert"),
            html.Div([html.H3("Checks"), html.Div(id="checks-states")], className="card"),
            html.Div(
                [
                    dcc.Graph(id="checks-phases", config={"displaylogo": False}),
                    dcc.Graph(id="checks-timeline", config={"displaylogo": False}),
                ],
                id="checks-detail",
                className="card",
            ),
            html.Div([html.H3("Probe agents"), html.Div(id="checks-agents")], className="card"),
            html.Div([html.H3("Uptime"), html.Div(id="checks-uptime")], className="card"),
            dcc.Interval(id="checks-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


#: A state cell's class, by its word (the colours of vigil.css); "—" where the check does not run in a region.
STATE_CLASSES = {
    f"state state-{state}": f"params.value == '{word}'"
    for state, word in (("up", "up"), ("degraded", "degraded"), ("down", "down"), ("unknown", "unknown"),
                        ("none", "—"))
}  # fmt: skip


def _state_column(field: str, header: str) -> dict[str, Any]:
    return {"field": field, "headerName": header, "cellClassRules": STATE_CLASSES, "tooltipField": f"{field}_since",
            "minWidth": 110}  # fmt: skip


def _since(cell: dict[str, Any]) -> str:
    return f"since {when(cell['since'])} UTC" if cell.get("since") else ""


def _uptime_share(minutes_up: int, minutes: int) -> str:
    return f"{100 * minutes_up / minutes:.2f} %" if minutes else "—"


def states_table(checks: list[dict[str, Any]], uptime: list[dict[str, Any]], view: dict[str, Any]) -> Any:
    """One row per check: its state across regions, per region (hover: since when), and its uptime over the range."""
    if not checks:
        return html.P(NO_CHECKS, className="empty")
    regions = sorted({c["region"] for c in checks if c["region"] != OVERALL})
    by_check: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for c in checks:
        by_check[(c["project"], c["check"])][c["region"]] = c
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for u in uptime:
        totals[(u["project"], u["check"])][0] += u["minutes_up"]
        totals[(u["project"], u["check"])][1] += u["minutes"]
    rows = []
    for (project, check), cells in by_check.items():
        overall = cells.get(OVERALL, {})
        row: dict[str, Any] = {
            "id": f"{project}\x00{check}", "project": project,
            "check": markdown_link(check, search(**{**view, "project": project, "check": check})),
            "overall": overall.get("state") or "—", "overall_since": _since(overall),
            "uptime": _uptime_share(*totals[(project, check)]) if (project, check) in totals else "—",
            "last": when(overall.get("last_ts")),
        }  # fmt: skip
        for n, region in enumerate(regions):
            cell = cells.get(region, {})
            row[f"r{n}"], row[f"r{n}_since"] = cell.get("state") or "—", _since(cell)
        rows.append(row)
    columns = [
        {"field": "project", "headerName": "Project", "minWidth": 100},
        {"field": "check", "headerName": "Check", "minWidth": 140, "cellClass": "check", "cellRenderer": "markdown"},
        _state_column("overall", "All regions"),
        *[_state_column(f"r{n}", region) for n, region in enumerate(regions)],
        {"field": "uptime", "headerName": "Uptime (range)", "minWidth": 120},
        {"field": "last", "headerName": "Last result (UTC)", "minWidth": 165},
    ]
    return grid("checks-states-grid", columns, row_id="id", rows=rows, tooltipShowDelay=200)


AGENT_COLUMNS: list[dict[str, Any]] = [
    {"field": "project", "headerName": "Project"},
    {"field": "region", "headerName": "Region"},
    {"field": "host", "headerName": "Host"},
    {"field": "state", "headerName": "State", "cellClassRules": {"state state-down": "params.value == 'lost'",
                                                                  "state state-up": "params.value != 'lost'"}},
    {"field": "last_heartbeat", "headerName": "Last heartbeat (UTC)", "minWidth": 165},
    {"field": "every", "headerName": "Heartbeat every"},
]  # fmt: skip


def agents_table(agents: list[dict[str, Any]]) -> Any:
    """Every agent; a lost one's row stands out."""
    if not agents:
        return html.P(NO_AGENTS, className="empty")
    rows = [
        {"id": f"{a['region']}\x00{a['host']}", "project": a["project"], "region": a["region"], "host": a["host"],
         "state": a["state"], "last_heartbeat": when(a["last_heartbeat"]), "every": f"{a['interval_s']:g} s"}
        for a in agents
    ]  # fmt: skip
    return grid(
        "checks-agents-grid",
        AGENT_COLUMNS,
        row_id="id",
        rows=rows,
        row_class_rules={"lost": "params.data.state == 'lost'"},
    )


UPTIME_COLUMNS = [
    {"field": "check", "headerName": "Check", "cellClass": "check"},
    {"field": "day", "headerName": "Day (UTC)"},
    {"field": "minutes", "headerName": "Minutes", "type": "numericColumn"},
    {"field": "minutes_up", "headerName": "Minutes up", "type": "numericColumn"},
    {"field": "uptime", "headerName": "Uptime"},
]


def uptime_table(uptime: list[dict[str, Any]]) -> Any:
    """Per check and UTC day: minutes with a conclusive result, and the share with a region up."""
    if not uptime:
        return html.P(NO_UPTIME, className="empty")
    rows = [
        {"check": u["check"], "day": str(u["day"])[:10], "minutes": f"{u['minutes']:,}",
         "minutes_up": f"{u['minutes_up']:,}", "uptime": _uptime_share(u["minutes_up"], u["minutes"])}
        for u in uptime
    ]  # fmt: skip
    return grid("checks-uptime-grid", UPTIME_COLUMNS, rows=rows)


def lost_alert(agents: list[dict[str, Any]]) -> str:
    """One line naming the lost agents, or nothing."""
    lost = [f"{a['region']}/{a['host']}" for a in agents if a["state"] == "lost"]
    if not lost:
        return ""
    agent = "agent" if len(lost) == 1 else "agents"
    return f"{len(lost)} probe {agent} lost: {', '.join(lost)}. Their checks' states are stale, not down."


@callback(
    Output("checks-states", "children"),
    Output("checks-agents", "children"),
    Output("checks-uptime", "children"),
    Output("checks-lost", "children"),
    Output("checks-project", "options"),
    Output("checks-check", "options"),
    Output("checks-phases", "figure"),
    Output("checks-timeline", "figure"),
    Output("checks-detail", "style"),
    Output("checks-notice", "children"),
    Output("checks-url", "search"),
    Input("checks-project", "value"),
    Input("checks-range", "value"),
    Input("checks-check", "value"),
    Input("checks-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, check: str | None, _: int | None) -> tuple[Any, ...]:
    """Ask the read API for the checks' states, the agents, the uptime over the range, and the picked check's
    phases and states over time."""
    since, until, bucket = time_range(range_key)
    check = bounded(check)
    view = {"project": project, "range": range_key, "check": check}
    url = search(**view)
    read = client()
    try:
        checks = records(read.query("checks", project=project))
        agents = records(read.query("agents", project=project))
        uptime = records(read.query("check_uptime", project=project, since=since, until=until))
        projects = read.query("projects")
        phases = records(read.query("check_phases", project=project, since=since, until=until, check=check,
                                    bucket_seconds=bucket)) if check else []  # fmt: skip
        history = records(read.query("check_history", project=project, since=since, until=until,
                                     check=check)) if check else []  # fmt: skip
    except ReadApiError as e:
        none = dash.no_update
        return "", "", "", "", none, none, none, none, {"display": "none"}, f"No data: {e}", url
    known = [r[0] for r in projects.rows] + [c["project"] for c in checks] + [a["project"] for a in agents]
    options = project_options(known, project)
    names = sorted({c["check"] for c in checks} | ({check} if check else set()))
    return (
        states_table(checks, uptime, view),
        agents_table(agents),
        uptime_table(uptime),
        lost_alert(agents),
        options,
        [{"label": n, "value": n} for n in names],
        phases_figure(phases, check, bucket, since, until) if check else dash.no_update,
        states_figure(history, check, since, until) if check else dash.no_update,
        {} if check else {"display": "none"},
        "",
        url,
    )
