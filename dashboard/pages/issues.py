"""Issues: errors grouped by fingerprint, with their counts in the range and one issue's trend.

Linkable: ``/issues?project=shop&range=24h&status=unresolved&issue=12`` opens the same view,
the issue's trend included; clicking an issue in the table selects it and rewrites the URL.
Status is read-only here: changing it needs the read API's token (``POST
/v1/issues/{id}/status``), which the dashboard does not hold.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dash_table, dcc, html

from contracts.queries import ISSUE_STATUSES as STATUSES
from contracts.read_api import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import figure, filters, project_options, records, refresh_ms, search, when

dash.register_page(__name__, path="/issues", name="Issues", title="Vigil · Issues", order=1)

COLUMNS = [
    {"id": "title", "name": "Issue"},
    {"id": "culprit", "name": "Culprit"},
    {"id": "status", "name": "Status"},
    {"id": "events_in_range", "name": "Events"},
    {"id": "users", "name": "Users"},
    {"id": "first_seen", "name": "First seen (UTC)"},
    {"id": "last_seen", "name": "Last seen (UTC)"},
    {"id": "last_release", "name": "Last release"},
]
EMPTY = "No issues with events in this range yet. Errors sent to the collector show up here, grouped into issues."
NONE_SELECTED = "Select an issue in the table to see its events over time."


def layout(
    project: str | None = None,
    range: str | None = None,
    status: str | None = None,
    issue: str | None = None,
    **_: Any,
) -> html.Div:
    """The page for ``?project=…&range=…&status=…&issue=…``; unknown values fall back to the defaults."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    status_filter = dcc.Dropdown(
        id="issues-status",
        value=status if status in STATUSES else None,
        placeholder="Any status",
        className="status",
        options=[{"label": s.replace("_", " "), "value": s} for s in STATUSES],
    )
    return html.Div(
        [
            dcc.Location(id="issues-url", refresh=False),
            dcc.Store(id="issues-selected", data=_issue_id(issue)),
            filters("issues", project, range_key, status_filter),
            html.Div(id="issues-notice", className="notice"),
            html.Div(
                [
                    html.H3("Issues"),
                    html.P(id="issues-empty", className="empty"),
                    dash_table.DataTable(  # type: ignore[attr-defined]
                        id="issues-table",
                        columns=COLUMNS,
                        page_size=25,
                        style_cell={"textAlign": "left", "whiteSpace": "normal", "maxWidth": "36rem"},
                        style_header={"fontWeight": "600"},
                    ),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H3(id="issues-detail-title"),
                    html.P(id="issues-detail-hint", className="empty"),
                    dcc.Graph(id="issues-trend", config={"displaylogo": False}),
                ],
                className="card",
                id="issues-detail",
            ),
            dcc.Interval(id="issues-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _issue_id(raw: object) -> int | None:
    """An issue id from the URL or a table row; anything else means none is selected."""
    text = str(raw) if raw is not None else ""
    return int(text) if text.isdigit() and 0 < int(text) < 2**53 else None


@callback(
    Output("issues-selected", "data"),
    Input("issues-table", "active_cell"),
    State("issues-selected", "data"),
    prevent_initial_call=True,
)
def select(active_cell: dict[str, Any] | None, selected: int | None) -> Any:
    """Clicking a row selects its issue (the row's ``id`` is the issue id)."""
    if not active_cell:
        return dash.no_update
    return _issue_id(active_cell.get("row_id")) or selected


@callback(
    Output("issues-table", "data"),
    Output("issues-empty", "children"),
    Output("issues-detail-title", "children"),
    Output("issues-detail-hint", "children"),
    Output("issues-trend", "figure"),
    Output("issues-trend", "style"),
    Output("issues-project", "options"),
    Output("issues-notice", "children"),
    Output("issues-url", "search"),
    Input("issues-project", "value"),
    Input("issues-range", "value"),
    Input("issues-status", "value"),
    Input("issues-selected", "data"),
    Input("issues-refresh", "n_intervals"),
)
def refresh(
    project: str | None, range_key: str | None, status: str | None, selected: int | None, _: int | None
) -> tuple[Any, ...]:
    """Ask the read API for the issues in the range and the selected issue's trend."""
    since, until, bucket = time_range(range_key)
    url = search(project=project, range=range_key, status=status, issue=selected)
    window = {"project": project, "since": since, "until": until}
    trend = figure("Events per minute" if bucket == 60 else "Events over time", height=260)
    hidden = {"display": "none"}
    read = client()
    try:
        issues = read.query("issues", status=status, limit=200, **window)
        projects = read.query("projects")
        series_rows = (
            read.query("issue_events_per_minute", issue_id=selected, bucket_seconds=bucket, **window).rows
            if selected
            else []
        )
    except ReadApiError as e:
        return [], "", "", "", trend, hidden, dash.no_update, f"No data: {e}", url
    rows = records(issues)
    for row in rows:
        row["id"] = row["issue_id"]
        for column in ("first_seen", "last_seen"):
            row[column] = when(row[column])
        row["status"] = row["status"].replace("_", " ")
    options = project_options([r[0] for r in projects.rows], project)
    if selected is None:
        return rows, "" if rows else EMPTY, "", NONE_SELECTED, trend, hidden, options, "", url
    title = next((r["title"] for r in rows if r["id"] == selected), None) or f"Issue #{selected}"
    trend.add_bar(x=[r[0] for r in series_rows], y=[r[1] for r in series_rows], name="events")
    trend.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    hint = "" if series_rows else "No events of this issue in this range."
    return rows, "" if rows else EMPTY, title, hint, trend, {}, options, "", url
