"""Traffic: page views, sessions and users, the pages people view and enter by, and who they are.

Linkable: ``/traffic?project=shop&range=24h&by=country&route=/product/:id``. These are the
denominators of every rate on the other pages: errors here are per 1,000 page views, not
raw counts. A page links to itself narrowed (and to its Web Vitals); a country, browser or
device in the breakdown narrows the whole page to it.
"""

from __future__ import annotations

from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html

from contracts.queries import TRAFFIC_BREAKDOWNS
from contracts.read_api import ReadApiError
from dashboard import audience
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import (
    choices,
    every,
    figure,
    filters,
    grid,
    kpi,
    markdown_link,
    markdown_text,
    project_options,
    records,
    refresh_ms,
    search,
    time_bars,
)

dash.register_page(__name__, path="/traffic", name="Traffic", title="Vigil · Traffic", order=0.5)

BREAKDOWNS = {"country": "Country", "browser": "Browser", "device": "Device", "os": "Operating system",
              "referrer": "Referrer"}  # fmt: skip
assert tuple(BREAKDOWNS) == TRAFFIC_BREAKDOWNS
EMPTY = (
    "No page views in this range yet. Add the beacon to your pages (README, Send your site's errors to Vigil): "
    "each page load and route change is counted here. Or widen the range, or clear a filter."
)


def layout(project: str | None = None, range: str | None = None, by: str | None = None, **given: Any) -> html.Div:
    """The page for its URL's query; unknown values fall back to the defaults."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="traffic-url", refresh=False),
            filters("traffic", project, range_key),
            audience.dropdowns("traffic", audience.values(given)),
            html.Div(id="traffic-notice", className="notice"),
            html.Div(id="traffic-kpis", className="kpis"),
            html.Div(dcc.Graph(id="traffic-trend", config={"displaylogo": False}), className="card"),
            html.Div([html.H3("Pages"), html.Div(id="traffic-pages")], className="card"),
            html.Div(
                [
                    html.H3("Who"),
                    choices("traffic-by", by, BREAKDOWNS, "country"),
                    html.Div(id="traffic-breakdown"),
                ],
                className="card",
            ),
            dcc.Interval(id="traffic-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def kpis(totals: dict[str, Any], view: dict[str, Any]) -> list[Any]:
    rate = totals["errors_per_1000_views"]
    issues = "/issues" + search(project=view["project"], range=view["range"], release=view["release"],
                                browser=view["browser"])  # fmt: skip
    return [
        kpi(f"{totals['page_views']:,}", "Page views"),
        kpi(f"{totals['sessions']:,}", "Sessions"),
        kpi(f"{totals['users']:,}", "Users"),
        kpi(f"{totals['errors']:,}", "Errors"),
        kpi("—" if rate is None else f"{rate:,.1f}", "Errors per 1,000 page views"),
        html.Div(dcc.Link("Their issues →", href=issues), className="kpi small"),
    ]


def trend_figure(rows: list[dict[str, Any]], bucket_seconds: int, since: str, until: str) -> go.Figure:
    fig = figure(f"Page views and sessions per {every(bucket_seconds)}")
    time_bars(fig, [[r["minute"], r["page_views"]] for r in rows], bucket_seconds, since, until, "page views")
    fig.add_scatter(x=[r["minute"] for r in rows], y=[r["sessions"] for r in rows], name="sessions",
                    mode="lines+markers")  # fmt: skip
    fig.update_layout(legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.12})
    return fig


PAGE_COLUMNS = [
    {"field": "page", "headerName": "Page", "cellRenderer": "markdown", "flex": 3, "minWidth": 180},
    *[{"field": f, "headerName": h, "type": "numericColumn", "flex": 1, "minWidth": 90}
      for f, h in (("views", "Views"), ("entries", "Entries"), ("sessions", "Sessions"), ("users", "Users"),
                   ("errors", "Errors"), ("per_1000", "Errors / 1,000 views"))],
    {"field": "vitals", "headerName": "", "cellRenderer": "markdown", "minWidth": 110},
]  # fmt: skip


def pages_table(rows: list[dict[str, Any]], view: dict[str, Any]) -> Any:
    """Per page: views, entries, sessions, users, errors and errors per 1,000 views; most viewed first."""
    shaped = [
        {"id": r["route"], "page": markdown_link(r["route"], search(**{**view, "route": r["route"]})),
         "views": r["views"], "entries": r["entries"], "sessions": r["sessions"], "users": r["users"],
         "errors": r["errors"], "per_1000": f"{r['errors_per_1000_views']:,.1f}",
         "vitals": markdown_link("Web Vitals", "/vitals" + search(project=view["project"], range=view["range"],
                                                                   route=r["route"]))}
        for r in rows
    ]  # fmt: skip
    return grid("traffic-pages-grid", PAGE_COLUMNS, row_id="id", rows=shaped)


def breakdown_table(rows: list[dict[str, Any]], by: str, view: dict[str, Any]) -> Any:
    """Views, sessions and users by one dimension; a country, browser or device narrows the page to it."""
    narrows = by in audience.FACETS

    def value(v: str) -> str:
        return markdown_link(v, search(**{**view, by: v})) if narrows and not v.startswith("(") else markdown_text(v)

    shaped = [
        {"id": r["value"], "value": value(r["value"]), "views": r["page_views"], "sessions": r["sessions"],
         "users": r["users"], "share": f"{100 * r['share']:.1f} %"}
        for r in rows
    ]  # fmt: skip
    columns = [
        {"field": "value", "headerName": BREAKDOWNS[by], "cellRenderer": "markdown", "flex": 2, "minWidth": 160},
        *[{"field": f, "headerName": h, "type": "numericColumn", "flex": 1}
          for f, h in (("views", "Page views"), ("sessions", "Sessions"), ("users", "Users"), ("share", "Share"))],
    ]  # fmt: skip
    return grid("traffic-breakdown-grid", columns, row_id="id", rows=shaped)


@callback(
    Output("traffic-kpis", "children"),
    Output("traffic-trend", "figure"),
    Output("traffic-pages", "children"),
    Output("traffic-breakdown", "children"),
    Output("traffic-project", "options"),
    *[Output(f"traffic-{facet}", "options") for facet in audience.FACETS],
    Output("traffic-notice", "children"),
    Output("traffic-url", "search"),
    Input("traffic-project", "value"),
    Input("traffic-range", "value"),
    *[Input(f"traffic-{facet}", "value") for facet in audience.FACETS],
    Input("traffic-by", "value"),
    Input("traffic-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, *rest: Any) -> tuple[Any, ...]:
    """Ask the read API for the traffic, narrowed to the chosen audience."""
    *facet_values, by, _ = rest
    chosen = audience.values(dict(zip(audience.FACETS, facet_values, strict=True)))
    by = by if by in BREAKDOWNS else "country"
    since, until, bucket = time_range(range_key)
    view = {"project": project, "range": range_key, **chosen, "by": by}
    narrowed = {"project": project, "since": since, "until": until, **chosen}
    read = client()
    try:
        [totals] = records(read.query("traffic_totals", **narrowed))
        trend = records(read.query("traffic_trend", **narrowed, bucket_seconds=bucket))
        pages = records(read.query("traffic_pages", **narrowed))
        breakdown = records(read.query("traffic_by", **narrowed, by=by))
        facet_options = audience.options(read, project, since, until, chosen)
        projects = read.query("projects")
    except ReadApiError as e:
        return ("", dash.no_update, "", "", dash.no_update, *[dash.no_update] * len(audience.FACETS),
                f"No data: {e}", search(**view))  # fmt: skip
    empty = html.P(EMPTY, className="empty")
    return (
        kpis(totals, view),
        trend_figure(trend, bucket, since, until),
        pages_table(pages, view) if pages else empty,
        breakdown_table(breakdown, by, view) if breakdown else "",
        project_options([r[0] for r in projects.rows], project),
        *facet_options,
        "",
        search(**view),
    )
