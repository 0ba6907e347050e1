"""Issues: errors grouped by fingerprint, with their counts and people affected in the range.

Linkable: ``/issues?project=shop&range=24h&status=unresolved`` opens the same view. Each
issue's title links to its own page (``/issues/12``, ``dashboard/pages/issue.py``). The
table is sortable by any column and keeps its rows by issue id across refreshes, so a
refresh never moves the row under the pointer to another issue.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from contracts.queries import ISSUE_STATUSES as STATUSES
from contracts.read_api import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import filters, markdown_link, project_options, records, refresh_ms, search, when

dash.register_page(__name__, path="/issues", name="Issues", title="Vigil · Issues", order=1)

COLUMNS = [
    {"field": "issue", "headerName": "Issue", "cellRenderer": "markdown", "flex": 4, "minWidth": 280,
     "wrapText": True, "autoHeight": True},
    {"field": "culprit", "headerName": "Culprit", "flex": 2, "minWidth": 160, "wrapText": True, "autoHeight": True},
    {"field": "status", "headerName": "Status", "minWidth": 120},
    {"field": "events_in_range", "headerName": "Events", "minWidth": 100, "type": "numericColumn", "sort": "desc"},
    {"field": "users", "headerName": "Users", "minWidth": 90, "type": "numericColumn"},
    {"field": "first_seen", "headerName": "First seen (UTC)", "minWidth": 165},
    {"field": "last_seen", "headerName": "Last seen (UTC)", "minWidth": 165},
    {"field": "last_release", "headerName": "Last release", "minWidth": 120},
]  # fmt: skip
EMPTY = "No issues with events in this range yet. Errors sent to the collector show up here, grouped into issues."


def layout(project: str | None = None, range: str | None = None, status: str | None = None, **_: Any) -> html.Div:
    """The page for ``?project=…&range=…&status=…``; unknown values fall back to the defaults."""
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
            filters("issues", project, range_key, status_filter),
            html.Div(id="issues-notice", className="notice"),
            html.Div(
                [
                    html.H3("Issues"),
                    html.P(id="issues-empty", className="empty"),
                    dag.AgGrid(
                        id="issues-table",
                        columnDefs=COLUMNS,
                        rowData=[],
                        getRowId="params.data.issue_id",  # a row stays its issue across refreshes
                        defaultColDef={"sortable": True, "resizable": True},
                        dashGridOptions={
                            "domLayout": "autoHeight",
                            "pagination": True,
                            "paginationPageSize": 20,
                            "suppressColumnVirtualisation": True,  # every column in the page, scrolled or not
                        },
                        className="ag-theme-alpine",
                    ),
                ],
                className="card",
            ),
            dcc.Interval(id="issues-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


@callback(
    Output("issues-table", "rowData"),
    Output("issues-empty", "children"),
    Output("issues-project", "options"),
    Output("issues-notice", "children"),
    Output("issues-url", "search"),
    Input("issues-project", "value"),
    Input("issues-range", "value"),
    Input("issues-status", "value"),
    Input("issues-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, status: str | None, _: int | None) -> tuple[Any, ...]:
    """Ask the read API for the issues in the range."""
    range_key = range_key if range_key in RANGES else None  # it goes into links: only the ranges offered
    since, until, _bucket = time_range(range_key)
    url = search(project=project, range=range_key, status=status)
    read = client()
    try:
        issues = read.query("issues", status=status, limit=200, project=project, since=since, until=until)
        projects = read.query("projects")
    except ReadApiError as e:
        return [], "", dash.no_update, f"No data: {e}", url
    rows = []
    for row in records(issues):
        href = f"/issues/{row['issue_id']}" + (f"?range={range_key}" if range_key else "")
        rows.append(
            {
                **row,
                "issue": markdown_link(str(row["title"] or f"Issue #{row['issue_id']}"), href),
                "first_seen": when(row["first_seen"]),
                "last_seen": when(row["last_seen"]),
                "status": str(row["status"]).replace("_", " "),
            }
        )
    options = project_options([r[0] for r in projects.rows], project)
    return rows, "" if rows else EMPTY, options, "", url
