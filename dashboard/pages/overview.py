"""Overview: error volume over time, errors by type and the top messages, per project and time range.

Linkable: ``/?project=shop&range=6h`` opens the same view; changing a filter rewrites the
URL. Everything shown comes from named queries of the read API; text from events is
rendered by Dash as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dash_table, dcc, html

from contracts.read_api import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import figure, filters, plotly_text, project_options, records, refresh_ms, search, when

dash.register_page(__name__, path="/", name="Overview", title="Vigil · Overview", order=0)

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
            filters("overview", project, range_key),
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
            dcc.Interval(id="overview-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


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
    url = search(project=project, range=range_key)
    per_minute, by_type = (
        figure("Errors per minute" if bucket == 60 else "Errors over time"),
        figure("Errors by type"),
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
        return per_minute, by_type, [], [], dash.no_update, f"No data: {e}", url
    per_minute.add_bar(x=[r[0] for r in series.rows], y=[r[1] for r in series.rows], name="errors")
    # The whole range, not just the minutes that had errors, so quiet time shows as quiet.
    per_minute.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    by_type.add_bar(
        y=[plotly_text(r[0]) for r in reversed(types.rows)],
        x=[r[1] for r in reversed(types.rows)],
        orientation="h",
        name="errors",
    )
    rows = records(messages)
    for row in rows:
        row["last_seen"] = when(row["last_seen"])
    kpis = [
        html.Div([html.Div(f"{value:,}", className="value"), html.Div(label, className="label")], className="kpi")
        for value, label in zip(totals, ["errors", "distinct messages", "pages", "sessions"], strict=True)
    ]
    options = project_options([r[0] for r in projects.rows], project)
    return per_minute, by_type, rows, kpis, options, "", url
