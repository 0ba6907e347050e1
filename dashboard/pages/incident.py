"""One incident: the verdict on top, the client's series aligned with the backend's, and the evidence.

``/incidents/12``. The header says what Vigil concluded (your backend, the network or a
CDN, a third party, your own JavaScript, or not known yet), how sure it is, and since
when; a logged-in user says whether the verdict is right. The timeline
(``dashboard/incident_view.py``) puts errors, failed requests by host and vitals above the
checks per region, host metrics and server-side errors on one time axis, with the
incident shaded and new releases marked. Below: the client signals that were out of line,
the checks and hosts looked at, and the incident's history.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from contracts.read_api import ReadApiError
from dashboard import incident_view, triage
from dashboard.data import client
from dashboard.widgets import figure, grid, id_number, records, refresh_ms

dash.register_page(
    __name__, path_template="/incidents/<incident_id>", name="Incident", title="Vigil · Incident", order=91
)

SIGNAL_COLUMNS = [
    {"field": "label", "headerName": "Client series out of line", "flex": 3, "wrapText": True, "autoHeight": True},
    {"field": "observed", "headerName": "Observed", "maxWidth": 120},
    {"field": "expected", "headerName": "Expected", "maxWidth": 120},
    {"field": "ratio", "headerName": "Ratio", "maxWidth": 110},
    {"field": "first", "headerName": "First minute (UTC)", "minWidth": 165},
    {"field": "last", "headerName": "Last seen (UTC)", "minWidth": 165},
]
CHECK_COLUMNS = [
    {"field": "check", "headerName": "Check", "flex": 1},
    {"field": "how", "headerName": "Why it was looked at", "flex": 1},
    {"field": "worst", "headerName": "Worst state", "maxWidth": 130,
     "cellClassRules": {f"state state-{s}": f"params.value == '{s}'" for s in ("up", "degraded", "down", "unknown")}},
    {"field": "since", "headerName": "Since (UTC)", "minWidth": 165},
    {"field": "regions", "headerName": "Regions down", "maxWidth": 140},
    {"field": "slow", "headerName": "Slower than usual", "flex": 2, "wrapText": True, "autoHeight": True},
]  # fmt: skip
HOST_COLUMNS = [
    {"field": "host", "headerName": "Host", "flex": 1},
    {"field": "how", "headerName": "Why it was looked at", "flex": 1},
    {"field": "cpu", "headerName": "CPU busy", "maxWidth": 110},
    {"field": "memory", "headerName": "Memory", "maxWidth": 110},
    {"field": "disk", "headerName": "Fullest disk", "maxWidth": 120},
    {"field": "fds", "headerName": "Open files", "maxWidth": 120},
    {"field": "saturated", "headerName": "Saturated", "maxWidth": 140},
]


def layout(incident_id: str | None = None, **_: Any) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="incident-id", data=id_number(incident_id)),
            html.Div(dcc.Link("← Incidents", href="/incidents", className="back"), className="filters"),
            html.Div(id="incident-notice", className="notice"),
            html.Div(id="incident-header", className="card incident-header"),
            html.Div(
                [
                    html.Div(
                        [
                            html.Button("The verdict is right", id="incident-right", className="button"),
                            html.Button("The verdict is wrong", id="incident-wrong", className="button"),
                            dcc.Input(
                                id="incident-note",
                                placeholder="what it really was (kept with your judgement)",
                                maxLength=1000,
                                className="wide-input",
                            ),
                        ],
                        className="actions",
                    ),
                    html.P(id="incident-feedback-result", className="hint", role="status"),
                ],
                className="card",
            ),
            html.Div(dcc.Graph(id="incident-timeline", config={"displaylogo": False}), className="card"),
            html.Div(
                [html.H3("What the clients saw"), grid("incident-signals", SIGNAL_COLUMNS, row_id="id")],
                className="card",
            ),
            html.Div(
                [
                    html.H3("What the backend did meanwhile"),
                    html.H4("Checks"),
                    html.P(id="incident-checks-empty", className="empty"),
                    grid("incident-checks", CHECK_COLUMNS),
                    html.H4("Hosts"),
                    html.P(id="incident-hosts-empty", className="empty"),
                    grid("incident-hosts", HOST_COLUMNS),
                    html.Div(id="incident-evidence"),
                ],
                className="card",
            ),
            html.Div([html.H3("History"), html.Ul(id="incident-history", className="activity")], className="card"),
            dcc.Store(id="incident-changed", data=0),
            dcc.Interval(id="incident-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


@callback(
    Output("incident-feedback-result", "children"),
    Output("incident-changed", "data"),
    Input("incident-right", "n_clicks"),
    Input("incident-wrong", "n_clicks"),
    State("incident-id", "data"),
    State("incident-note", "value"),
    State("incident-changed", "data"),
    prevent_initial_call=True,
)
def judge(_right: int | None, _wrong: int | None, incident_id: int | None, note: str | None,
          changed: int | None) -> tuple[Any, ...]:  # fmt: skip
    """The logged-in user's judgement of the verdict; the page refreshes when it was kept."""
    if incident_id is None or dash.ctx.triggered_id is None:
        return dash.no_update, dash.no_update
    done, message = triage.judge(incident_id, dash.ctx.triggered_id == "incident-right", note or "")
    return message, (changed or 0) + 1 if done else dash.no_update


@callback(
    Output("incident-header", "children"),
    Output("incident-timeline", "figure"),
    Output("incident-signals", "rowData"),
    Output("incident-checks", "rowData"),
    Output("incident-checks-empty", "children"),
    Output("incident-hosts", "rowData"),
    Output("incident-hosts-empty", "children"),
    Output("incident-evidence", "children"),
    Output("incident-history", "children"),
    Output("incident-notice", "children"),
    Input("incident-refresh", "n_intervals"),
    Input("incident-changed", "data"),
    State("incident-id", "data"),
)
def refresh(_: int | None, _changed: int | None, incident_id: int | None) -> tuple[Any, ...]:
    empty_figure = figure("What the clients saw, above what the backend did", height=200)
    nothing: tuple[Any, ...] = ([], empty_figure, [], [], "", [], "", [], [])
    if incident_id is None:
        return *nothing, "No such incident: the address should end in its number, as /incidents/12."
    read = client()
    try:
        found = read.query("incident", incident_id=incident_id)
        if not found.rows:
            return *nothing, f"There is no incident {incident_id}."
        incident = records(found)[0]
        signals, evidence = incident_view.parse(incident)
        timeline = incident_view.timeline(read, incident, evidence)
        history = read.query("incident_activity", incident_id=incident_id)
    except ReadApiError as e:
        return *nothing, f"No data: {e}"
    checks, hosts = incident_view.check_rows(evidence), incident_view.host_rows(evidence)
    return (
        incident_view.header(incident),
        timeline,
        incident_view.signal_rows(signals),
        checks,
        "" if checks else "No probe check watches what failed. Declare the service's checks on the Incidents page.",
        hosts,
        "" if hosts else "No host metrics from the machines behind it. Run a probe agent with host metrics there.",
        incident_view.other_evidence(evidence),
        incident_view.history(history),
        "",
    )
