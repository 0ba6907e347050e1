"""Reports: each project's daily error reports, the latest day first, each opened whole (docs/reports.md).

Linkable: ``/reports?project=shop``. A row gives the day's headline figures and whether the
mail went; "Open" shows the stored page (``/reports/shop/2026-12-06.html``), "JSON" the
same content as data.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from dashboard.data import client
from dashboard.widgets import grid, project_options, records, refresh_ms, search

dash.register_page(__name__, path="/reports", name="Reports", title="Vigil · Reports", order=6)

EMPTY = (
    "No report yet. Vigil makes each project's report of a day the next morning (at [projects.report] hour, 8:00 by "
    "default, in the project's time zone) and mails it to the project's report e-mail; "
    "`vigil report daily --project NAME` makes one of any day now."
)
COLUMNS = [
    {"field": "day", "headerName": "Day", "width": 115},
    {"field": "project", "headerName": "Project", "width": 110},
    {"field": "open", "headerName": "Report", "cellRenderer": "markdown", "width": 130},
    {"field": "errors", "headerName": "Errors", "width": 100},
    {"field": "rate", "headerName": "Errors / 1,000 views", "width": 160},
    {"field": "unhandled_free", "headerName": "Unhandled-free sessions", "width": 180},
    {"field": "crash_free", "headerName": "Crash-free sessions", "width": 160},
    {"field": "new_issues", "headerName": "New issues", "width": 110},
    {"field": "incidents", "headerName": "Incidents", "width": 100},
    {"field": "mail", "headerName": "Mail", "flex": 1, "minWidth": 200, "wrapText": True, "autoHeight": True},
]


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:g}%"


def layout(project: str | None = None, **_: Any) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="reports-url", refresh=False),
            html.Div(
                [
                    html.Label(
                        ["Project", dcc.Dropdown(id="reports-project", value=project, placeholder="All projects")]
                    )
                ],
                className="filters",
            ),
            html.Div(id="reports-notice", className="notice"),
            html.Div(
                [
                    html.H3("Daily error reports, the latest day first"),
                    html.P(id="reports-empty", className="empty"),
                    grid("reports-table", COLUMNS, row_id="id"),
                ],
                className="card",
            ),
            dcc.Interval(id="reports-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _mail(r: dict[str, Any]) -> str:
    if r["mail_status"] == "none":
        return "not mailed (no [projects.report] email)"
    if r["mail_status"] == "sent":
        return f"sent to {r['recipients']} at {str(r['mailed_at'])[11:16]} UTC"
    return f"{r['mail_status']} after {r['mail_attempts']} attempts: {r['mail_error'] or 'waiting'}"


@callback(
    Output("reports-table", "rowData"),
    Output("reports-empty", "children"),
    Output("reports-project", "options"),
    Output("reports-notice", "children"),
    Output("reports-url", "search"),
    Input("reports-project", "value"),
    Input("reports-refresh", "n_intervals"),
)
def refresh(project: str | None, _: Any) -> tuple[Any, ...]:
    url = search(project=project)
    read = client()
    try:
        found = records(read.query("daily_reports", project=project))
        projects = [r[0] for r in read.query("projects").rows]
    except ReadApiError as e:
        return [], "", dash.no_update, f"No data: {e}", url
    rows = []
    for r in found:
        path = f"/reports/{quote(r['project'])}/{r['day']}"
        rows.append(
            {
                "id": f"{r['project']}/{r['day']}",
                "day": str(r["day"]),
                "project": r["project"],
                "open": f"[Open]({path}.html) · [JSON]({path}.json)",
                "errors": r["errors"],
                "rate": "" if r["errors_per_1000_page_views"] is None else f"{r['errors_per_1000_page_views']:g}",
                "unhandled_free": _percent(r["unhandled_free_sessions"]),
                "crash_free": _percent(r["crash_free_sessions"]),
                "new_issues": r["new_issues"],
                "incidents": r["incidents"],
                "mail": _mail(r),
            }
        )
    return rows, "" if rows else EMPTY, project_options(projects, project), "", url
