"""Overview: error volume over time, errors by type, the top messages, and what was not stored, per project and range.

Linkable: ``/?project=shop&range=6h`` opens the same view; changing a filter rewrites the
URL. Everything shown comes from named queries of the read API; text from events is
rendered by Dash as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import (
    figure,
    filters,
    grid,
    kpi,
    markdown_link,
    plotly_text,
    project_options,
    records,
    refresh_ms,
    search,
    time_bars,
    when,
)

dash.register_page(__name__, path="/", name="Overview", title="Vigil · Overview", order=0)

NOT_STORED_COLUMNS = [
    {"field": "what", "headerName": "What happened", "flex": 3, "wrapText": True, "autoHeight": True},
    {"field": "outcome", "headerName": "Outcome", "flex": 1},
    {"field": "reason", "headerName": "Reason", "flex": 2},
    {"field": "count", "headerName": "How many", "type": "numericColumn", "flex": 1},
]
#: What each outcome means for the user, and what to do about it (docs/collector.md, docs/analytics.md).
OUTCOMES = {
    "filtered": "Dropped by the project's inbound filters ([projects.filters] in vigil.toml)",
    "invalid": "Refused or not stored: not a valid body or event (a sender bug, or a newer protocol)",
    "forbidden": "Refused: unknown key, wrong project or an origin the project does not allow",
    "rate_limited": "Refused: over a rate limit; the sender was told to retry later",
    "spike_sampled": "Dropped by spike protection during a sudden flood",
    "too_large": "Refused: larger than the collector's bounds",
    "unavailable": "Refused for now: Redis or analytics behind; the sender retries",
    "skipped": "Not kept: a kind of item Vigil does not store",
    "clamped": "Stored, its time replaced: the sender's clock was absurd",
    "issue_overflow": 'Stored, grouped into the project\'s "Too many new issues" issue',
}

MESSAGE_COLUMNS = [
    {"field": "message", "headerName": "Message (opens its issue)", "cellRenderer": "markdown", "flex": 4,
     "minWidth": 260, "wrapText": True, "autoHeight": True},
    {"field": "error_type", "headerName": "Type", "flex": 1, "minWidth": 120},
    {"field": "errors", "headerName": "Events", "type": "numericColumn", "minWidth": 90},
    {"field": "pages", "headerName": "Pages", "type": "numericColumn", "minWidth": 80},
    {"field": "browsers", "headerName": "Browsers", "type": "numericColumn", "minWidth": 90},
    {"field": "last_seen", "headerName": "Last seen (UTC)", "minWidth": 165},
]  # fmt: skip


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
                    grid("overview-messages", MESSAGE_COLUMNS),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H3("Not stored as sent"),
                    html.P(
                        "Events and requests a collector refused, a filter dropped, or analytics changed, in the "
                        "range: when a page shows less than you expect, the reason is here.",
                        className="hint",
                    ),
                    html.P(id="overview-not-stored-empty", className="empty"),
                    html.Div(grid("overview-not-stored", NOT_STORED_COLUMNS), id="overview-not-stored-box"),
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
    Output("overview-messages", "rowData"),
    Output("overview-not-stored", "rowData"),
    Output("overview-not-stored-empty", "children"),
    Output("overview-not-stored-box", "style"),
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
        [traffic] = records(read.query("traffic_totals", **window))
        not_stored = read.query("not_stored", limit=50, **window)
        projects = read.query("projects")
    except ReadApiError as e:
        return per_minute, by_type, [], [], "", {"display": "none"}, [], dash.no_update, f"No data: {e}", url
    # The whole range, not just the minutes that had errors, so quiet time shows as quiet.
    time_bars(per_minute, series.rows, bucket, since, until, "errors")
    by_type.add_bar(
        y=[plotly_text(r[0]) for r in reversed(types.rows)],
        x=[r[1] for r in reversed(types.rows)],
        orientation="h",
        name="errors",
    )
    rows = records(messages)
    suffix = f"?range={range_key}" if range_key in RANGES else ""
    for row in rows:
        row["last_seen"] = when(row["last_seen"])
        text = str(row["message"] or row["error_type"] or "(no message)")
        row["message"] = markdown_link(text, f"/issues/{row['issue_id']}{suffix}") if row["issue_id"] else text
    kpis = [kpi(f"{value:,}", label) for value, label in zip(totals, ["errors", "distinct messages", "pages",
                                                                    "sessions"], strict=True)]  # fmt: skip
    # The rate beside the count: errors per 1,000 page views, its page views a link to the traffic.
    rate = traffic["errors_per_1000_views"]
    kpis += [
        kpi("—" if rate is None else f"{rate:,.1f}", "errors per 1,000 page views"),
        kpi(dcc.Link(f"{traffic['page_views']:,}", href="/traffic" + url, className="value"), "page views"),
    ]
    options = project_options([r[0] for r in projects.rows], project)
    dropped = [
        {**row, "what": OUTCOMES.get(row["outcome"], row["outcome"]), "reason": f"{row['reason']} ({row['unit']}s)"}
        for row in records(not_stored)
    ]
    empty = "" if dropped else "Everything sent in this range was stored as sent."
    box = {} if dropped else {"display": "none"}
    return per_minute, by_type, rows, dropped, empty, box, kpis, options, "", url
