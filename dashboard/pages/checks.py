"""Checks: every probe check's current state per region and across regions, the agents, and uptime.

Linkable: ``/checks?project=shop&range=7d``. The states and agents are current (the range does
not change them); the range selects the uptime shown. A lost agent is called out above
everything else: its checks' states are stale, not down.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import filters, project_options, records, refresh_ms, search, when

dash.register_page(__name__, path="/checks", name="Checks", title="Vigil · Checks", order=3)

OVERALL = "*"  # the region that stands for a check's state across its regions (docs/probes.md)
NO_CHECKS = "No checks have reported yet. Start a probe agent (docs/probes.md) and its checks show up here."
NO_AGENTS = "No probe agents have sent a heartbeat yet."
NO_UPTIME = "No conclusive check results in this range."


def layout(project: str | None = None, range: str | None = None, **_: Any) -> html.Div:
    """The page for ``?project=…&range=…``; unknown values fall back to all projects / one hour."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="checks-url", refresh=False),
            filters("checks", project, range_key),
            html.Div(id="checks-notice", className="notice"),
            html.Div(id="checks-lost", className="alert"),
            html.Div([html.H3("Checks"), html.Div(id="checks-states")], className="card"),
            html.Div([html.H3("Probe agents"), html.Div(id="checks-agents")], className="card"),
            html.Div([html.H3("Uptime"), html.Div(id="checks-uptime")], className="card"),
            dcc.Interval(id="checks-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _state(state: str | None, since: object = None) -> html.Td:
    """A state cell: its word, coloured by a class; ``—`` where the check does not run in that region."""
    if state is None:
        return html.Td("—", className="state state-none")
    return html.Td(state, className=f"state state-{state}", title=f"since {when(since)} UTC" if since else None)


def _table(header: list[str], rows: list[html.Tr]) -> html.Table:
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)], className="grid")


def _uptime_share(minutes_up: int, minutes: int) -> str:
    return f"{100 * minutes_up / minutes:.2f} %" if minutes else "—"


def states_table(checks: list[dict[str, Any]], uptime: list[dict[str, Any]]) -> html.Table | html.P:
    """One row per check: its state across regions, per region, and its uptime over the range."""
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
        rows.append(
            html.Tr(
                [
                    html.Td(project),
                    html.Td(check, className="check"),
                    _state(overall.get("state"), overall.get("since")),
                    *[_state(cells[r]["state"], cells[r]["since"]) if r in cells else _state(None) for r in regions],
                    html.Td(_uptime_share(*totals[(project, check)]) if (project, check) in totals else "—"),
                    html.Td(when(overall.get("last_ts"))),
                ]
            )
        )
    return _table(["Project", "Check", "All regions", *regions, "Uptime (range)", "Last result (UTC)"], rows)


def agents_table(agents: list[dict[str, Any]]) -> html.Table | html.P:
    """Every agent; a lost one's row stands out."""
    if not agents:
        return html.P(NO_AGENTS, className="empty")
    rows = [
        html.Tr(
            [
                html.Td(a["project"]),
                html.Td(a["region"]),
                html.Td(a["host"]),
                html.Td(a["state"], className=f"state state-{'down' if a['state'] == 'lost' else 'up'}"),
                html.Td(when(a["last_heartbeat"])),
                html.Td(f"{a['interval_s']:g} s"),
            ],
            className="lost" if a["state"] == "lost" else None,
        )
        for a in agents
    ]
    return _table(["Project", "Region", "Host", "State", "Last heartbeat (UTC)", "Heartbeat every"], rows)


def uptime_table(uptime: list[dict[str, Any]]) -> html.Table | html.P:
    """Per check and UTC day: minutes with a conclusive result, and the share with a region up."""
    if not uptime:
        return html.P(NO_UPTIME, className="empty")
    rows = [
        html.Tr(
            [
                html.Td(u["check"], className="check"),
                html.Td(str(u["day"])[:10]),
                html.Td(f"{u['minutes']:,}"),
                html.Td(f"{u['minutes_up']:,}"),
                html.Td(_uptime_share(u["minutes_up"], u["minutes"])),
            ]
        )
        for u in uptime
    ]
    return _table(["Check", "Day (UTC)", "Minutes", "Minutes up", "Uptime"], rows)


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
    Output("checks-notice", "children"),
    Output("checks-url", "search"),
    Input("checks-project", "value"),
    Input("checks-range", "value"),
    Input("checks-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, _: int | None) -> tuple[Any, ...]:
    """Ask the read API for the checks' states, the agents and the uptime over the range."""
    since, until, _bucket = time_range(range_key)
    url = search(project=project, range=range_key)
    read = client()
    try:
        checks = records(read.query("checks", project=project))
        agents = records(read.query("agents", project=project))
        uptime = records(read.query("check_uptime", project=project, since=since, until=until))
        projects = read.query("projects")
    except ReadApiError as e:
        return "", "", "", "", dash.no_update, f"No data: {e}", url
    names = [r[0] for r in projects.rows] + [c["project"] for c in checks] + [a["project"] for a in agents]
    options = project_options(names, project)
    return (
        states_table(checks, uptime),
        agents_table(agents),
        uptime_table(uptime),
        lost_alert(agents),
        options,
        "",
        url,
    )
