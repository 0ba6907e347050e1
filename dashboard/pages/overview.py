"""Overview: error volume over time, errors by type and the top messages, per project and time range.

Linkable: ``/?project=shop&range=6h`` opens the same view; changing a filter rewrites the
URL. Everything shown comes from named queries of the read API; text from events is
rendered by Dash as text, never as HTML.
"""

from __future__ import annotations

from html import escape as html_escape
from typing import Any
from urllib.parse import urlencode

import dash
import flask
import plotly.graph_objects as go
from dash import Input, Output, callback, dash_table, dcc, html

from analytics.client import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range

dash.register_page(__name__, path="/", name="Overview", title="Vigil · Overview")

MESSAGE_COLUMNS = [
    {"id": "error_type", "name": "Type"},
    {"id": "message", "name": "Message"},
    {"id": "errors", "name": "Events"},
    {"id": "pages", "name": "Pages"},
    {"id": "browsers", "name": "Browsers"},
    {"id": "last_seen", "name": "Last seen (UTC)"},
]


def layout(project: str | None = None, range: str | None = None, **_: Any) -> html.Div:
    """The page for ``?project=…&range=…``; unknown values fall back to all projects / one hour."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="overview-url", refresh=False),
            html.Div(
                [
                    dcc.Dropdown(
                        id="overview-project",
                        value=project or None,
                        placeholder="All projects",
                        className="project",
                        options=[{"label": project, "value": project}] if project else [],
                    ),
                    dcc.RadioItems(
                        id="overview-range",
                        value=range_key,
                        options=[{"label": label, "value": key} for key, (label, _) in RANGES.items()],
                        inline=True,
                    ),
                ],
                className="filters",
            ),
            html.Div(id="overview-notice", className="notice"),
            html.Div(id="overview-kpis", className="kpis"),
            html.Div(
                [
                    html.Div(dcc.Graph(id="overview-per-minute", config={"displaylogo": False}), className="card"),
                    html.Div(dcc.Graph(id="overview-by-type", config={"displaylogo": False}), className="card"),
                ],
                className="row",
            ),
            html.Div(
                [
                    html.H3("Top error messages"),
                    dash_table.DataTable(  # type: ignore[attr-defined]
                        id="overview-messages",
                        columns=MESSAGE_COLUMNS,
                        page_size=20,
                        style_cell={"textAlign": "left", "whiteSpace": "normal", "maxWidth": "40rem"},
                        style_header={"fontWeight": "600"},
                    ),
                ],
                className="card",
            ),
            dcc.Interval(id="overview-refresh", interval=_refresh_ms()),
        ],
        className="page",
    )


def plotly_text(value: object) -> str:
    """Event text for a Plotly label: Plotly reads a subset of HTML there (links, <b>, <br>), so escape it."""
    return html_escape(str(value), quote=False)


def _refresh_ms() -> int:
    config = flask.current_app.config if flask.has_app_context() else {}
    return int(config.get("VIGIL_REFRESH_MS", 10_000))


def _figure(title: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, margin={"l": 40, "r": 10, "t": 40, "b": 30}, height=320, template="plotly_white")
    return figure


@callback(
    Output("overview-per-minute", "figure"),
    Output("overview-by-type", "figure"),
    Output("overview-messages", "data"),
    Output("overview-kpis", "children"),
    Output("overview-project", "options"),
    Output("overview-notice", "children"),
    Output("overview-url", "search"),
    Input("overview-project", "value"),
    Input("overview-range", "value"),
    Input("overview-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, _: int | None) -> tuple[Any, ...]:
    """Ask the read API for this view's queries and turn the answers into figures and rows."""
    since, until, bucket = time_range(range_key)
    search = "?" + urlencode({k: v for k, v in (("project", project), ("range", range_key)) if v})
    per_minute, by_type = (
        _figure("Errors per minute" if bucket == 60 else "Errors over time"),
        _figure("Errors by type"),
    )
    window = {"project": project, "since": since, "until": until}
    read = client()
    try:
        series = read.query("events_per_minute", bucket_seconds=bucket, **window)
        types = read.query("errors_by_type", limit=10, **window)
        messages = read.query("top_messages", limit=50, **window)
        (totals,) = read.query("totals", **window).rows
        projects = read.query("projects")
    except ReadApiError as e:
        return per_minute, by_type, [], [], dash.no_update, f"No data: {e}", search
    per_minute.add_bar(x=[r[0] for r in series.rows], y=[r[1] for r in series.rows], name="errors")
    # The whole range, not just the minutes that had errors, so quiet time shows as quiet.
    per_minute.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    by_type.add_bar(
        y=[plotly_text(r[0]) for r in reversed(types.rows)],
        x=[r[1] for r in reversed(types.rows)],
        orientation="h",
        name="errors",
    )
    rows = [dict(zip(messages.columns, r, strict=True)) for r in messages.rows]
    for row in rows:
        row["last_seen"] = str(row["last_seen"])[:19].replace("T", " ")
    kpis = [
        html.Div([html.Div(f"{value:,}", className="value"), html.Div(label, className="label")], className="kpi")
        for value, label in zip(totals, ["errors", "distinct messages", "pages", "sessions"], strict=True)
    ]
    options = [{"label": r[0], "value": r[0]} for r in projects.rows]
    if project and project not in {o["value"] for o in options}:
        options.append({"label": project, "value": project})
    return per_minute, by_type, rows, kpis, options, "", search
