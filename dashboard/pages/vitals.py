"""Web Vitals: which pages are slow, for whom, and since which release.

Linkable: ``/vitals?project=shop&range=24h&route=/product/:id&metric=INP&by=release&browser=Safari``.
Each page (route, ids collapsed) shows the p75 of LCP, INP, CLS, FCP and TTFB coloured by the
published thresholds; a release that made a page slower is named beside it. Picking a page
(its link) narrows everything below to it: the trend and spread of one metric, its
breakdown by browser, device, country or release (each a link that narrows further), and
what made it slow (the LCP element and its resource, the INP target and event, the element
that shifted most, and where the time went).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from contracts.vitals import MEANINGS, METRICS, THRESHOLDS
from dashboard import audience
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.vitals_view import (
    RATING_WORDS,
    histogram_figure,
    phases_figure,
    rating_class,
    share,
    shown,
    slower_releases,
    summary_tiles,
    trend_figure,
)
from dashboard.widgets import (
    choices,
    filters,
    grid,
    markdown_link,
    markdown_text,
    project_options,
    records,
    refresh_ms,
    search,
)

dash.register_page(__name__, path="/vitals", name="Web Vitals", title="Vigil · Web Vitals", order=1.3)

BREAKDOWNS = {"browser": "Browser", "device": "Device", "country": "Country", "release": "Release"}
EMPTY = (
    "No Web Vitals in this range yet. Add the beacon to your pages (README, Send your site's errors to Vigil): "
    "it reports LCP, INP, CLS, FCP and TTFB as people use them. Or widen the range, or clear a filter."
)
NO_ATTRIBUTION = "No attribution for this metric here (FCP and TTFB have phases, not an element)."


def layout(
    project: str | None = None, range: str | None = None, metric: str | None = None, by: str | None = None,
    **given: Any,
) -> html.Div:  # fmt: skip
    """The page for its URL's query; unknown values fall back to the defaults."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="vitals-url", refresh=False),
            filters("vitals", project, range_key),
            audience.dropdowns("vitals", audience.values(given)),
            html.Div(id="vitals-notice", className="notice"),
            html.Div(id="vitals-summary", className="kpis"),
            html.Div(
                [
                    html.H3("Pages"),
                    html.P("p75 of each metric; pick a page to look closer.", className="hint"),
                    html.Div(id="vitals-pages"),
                ],
                className="card",
            ),
            html.Div([html.H3("Slower since a release"), html.Div(id="vitals-slower")], className="card"),
            choices("vitals-metric", metric, {m: m for m in METRICS}, "LCP", className="choice"),
            html.P(id="vitals-meaning", className="hint"),
            html.Div(
                [
                    html.Div(dcc.Graph(id="vitals-trend", config={"displaylogo": False}), className="card"),
                    html.Div(dcc.Graph(id="vitals-histogram", config={"displaylogo": False}), className="card"),
                ],
                className="row even",
            ),
            html.Div(
                [
                    html.H3("Breakdown"),
                    choices("vitals-by", by, BREAKDOWNS, "browser"),
                    html.Div(id="vitals-breakdown"),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H3("What made it slow"),
                    dcc.Graph(id="vitals-phases", config={"displaylogo": False}),
                    html.Div(id="vitals-attribution"),
                ],
                className="card",
            ),
            dcc.Interval(id="vitals-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _value_columns(metric: str, header: str) -> dict[str, Any]:
    return {"field": metric, "headerName": header, "cellClassRules": rating_class(metric), "minWidth": 80, "flex": 1,
            "type": "numericColumn", "tooltipField": f"{metric}_tip"}  # fmt: skip


def pages_table(rows: list[dict[str, Any]], slower: dict[str, str], view: dict[str, Any]) -> Any:
    """One row per page: the p75 of each metric (hover: the shares), its samples, and the release that slowed it."""
    by_route: dict[str, dict[str, Any]] = {}
    for r in rows:
        row = by_route.setdefault(r["route"], {"id": r["route"], "samples": 0})
        row[r["name"]], row[f"{r['name']}_p75"] = shown(r["name"], r["p75"]), r["p75"]
        shares = f"{share(r['good'])} good, {share(r['needs_improvement'])} needs improvement, {share(r['poor'])} poor"
        row[f"{r['name']}_tip"] = f"{r['samples']:,} samples: {shares}"
        row["samples"] = max(row["samples"], r["samples"])
    for route, row in by_route.items():
        row["page"] = markdown_link(route, search(**{**view, "route": route}))
        row["slower"] = slower.get(route, "")
    columns = [
        {"field": "page", "headerName": "Page", "cellRenderer": "markdown", "flex": 2, "minWidth": 150},
        {"field": "samples", "headerName": "Samples", "type": "numericColumn", "minWidth": 90, "flex": 1},
        *[_value_columns(m, m) for m in METRICS],
        {"field": "slower", "headerName": "Slower since", "flex": 3, "minWidth": 220, "wrapText": True,
         "autoHeight": True, "cellClass": "slower"},
    ]  # fmt: skip
    ordered = sorted(by_route.values(), key=lambda r: (-r["samples"], r["id"]))
    return grid("vitals-pages-grid", columns, row_id="id", rows=ordered, tooltipShowDelay=200)


def summary(rows: list[dict[str, Any]]) -> list[Any]:
    """A tile per metric: its p75 coloured by its rating, and how its samples rate."""
    tiles = []
    for tile in summary_tiles(rows):
        shares = [html.Span(f"{share(value)} {RATING_WORDS[r]}", className=f"rating-{r}") for r, value in
                  tile["shares"]]  # fmt: skip
        tiles.append(
            html.Div(
                [
                    html.Div(tile["p75"], className=f"value rating-{tile['rating']}"),
                    html.Div(f"{tile['metric']} p75 · {tile['samples']:,} samples", className="label"),
                    html.Div(shares, className="shares"),
                ],
                className="kpi vital",
                title=MEANINGS[tile["metric"]],
            )
        )
    return tiles


def slower_list(found: list[Any], view: dict[str, Any]) -> Any:
    if not found:
        return html.P("No release made a page slower in this range (p75 up 20 % or more on the release before, "
                      "beyond chance).", className="empty")  # fmt: skip
    return html.Ul(
        [html.Li([dcc.Link(s.route, href="/vitals" + search(**{**view, "route": s.route, "metric": s.metric})),
                  " ", s.text()]) for s in found[:20]],
        className="slower",
    )  # fmt: skip


def breakdown_table(rows: list[dict[str, Any]], metric: str, by: str, view: dict[str, Any]) -> Any:
    """The metric by one dimension; each value links to the page narrowed to it."""
    if not rows:
        return html.P("No samples of this metric here.", className="empty")
    shaped = [
        {"id": r["value"], "value": markdown_text(r["value"]) if r["value"] == "(none)"
         else markdown_link(r["value"], search(**{**view, by: r["value"]})),
         "samples": r["samples"], metric: shown(metric, r["p75"]), f"{metric}_p75": r["p75"],
         "good": share(r["good"]), "poor": share(r["poor"])}
        for r in rows
    ]  # fmt: skip
    columns: list[dict[str, Any]] = [
        {"field": "value", "headerName": BREAKDOWNS[by], "cellRenderer": "markdown", "flex": 2, "minWidth": 160},
        {"field": "samples", "headerName": "Samples", "type": "numericColumn"},
        {**_value_columns(metric, f"{metric} p75"), "tooltipField": None},
        {"field": "good", "headerName": "Good", "type": "numericColumn"},
        {"field": "poor", "headerName": "Poor", "type": "numericColumn"},
    ]
    return grid("vitals-breakdown-grid", columns, row_id="id", rows=shaped)


def attribution_table(rows: list[dict[str, Any]], metric: str) -> Any:
    if not rows or metric in ("FCP", "TTFB"):
        return html.P(NO_ATTRIBUTION if metric in ("FCP", "TTFB") else "No samples of this metric here.",
                      className="empty")  # fmt: skip
    detail = {"LCP": "Resource", "INP": "Event"}.get(metric)
    shaped = [
        {"id": f"{r['target']}\x00{r['detail']}", "target": r["target"], "detail": r["detail"],
         "samples": r["samples"], metric: shown(metric, r["p75"]), f"{metric}_p75": r["p75"], "poor": share(r["poor"])}
        for r in rows
    ]  # fmt: skip
    element = {"LCP": "LCP element", "INP": "Interaction target", "CLS": "Element that shifted most"}[metric]
    columns: list[dict[str, Any]] = [
        {"field": "target", "headerName": element, "flex": 2, "minWidth": 200, "cellClass": "code"},
        *([{"field": "detail", "headerName": detail, "flex": 2, "minWidth": 160}] if detail else []),
        {"field": "samples", "headerName": "Samples", "type": "numericColumn"},
        {**_value_columns(metric, f"{metric} p75"), "tooltipField": None},
        {"field": "poor", "headerName": "Poor", "type": "numericColumn"},
    ]
    return grid("vitals-attribution-grid", columns, row_id="id", rows=shaped)


@callback(
    Output("vitals-summary", "children"),
    Output("vitals-pages", "children"),
    Output("vitals-slower", "children"),
    Output("vitals-trend", "figure"),
    Output("vitals-histogram", "figure"),
    Output("vitals-breakdown", "children"),
    Output("vitals-phases", "figure"),
    Output("vitals-attribution", "children"),
    Output("vitals-meaning", "children"),
    Output("vitals-project", "options"),
    *[Output(f"vitals-{facet}", "options") for facet in audience.FACETS],
    Output("vitals-notice", "children"),
    Output("vitals-url", "search"),
    Input("vitals-project", "value"),
    Input("vitals-range", "value"),
    *[Input(f"vitals-{facet}", "value") for facet in audience.FACETS],
    Input("vitals-metric", "value"),
    Input("vitals-by", "value"),
    Input("vitals-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, *rest: Any) -> tuple[Any, ...]:
    """Ask the read API for the page's figures, narrowed to the chosen audience."""
    *facet_values, metric, by, _ = rest
    chosen = audience.values(dict(zip(audience.FACETS, facet_values, strict=True)))
    metric = metric if metric in METRICS else "LCP"
    by = by if by in BREAKDOWNS else "browser"
    since, until, bucket = time_range(range_key)
    view = {"project": project, "range": range_key, **chosen, "metric": metric, "by": by}
    url = search(**view)
    narrowed = {"project": project, "since": since, "until": until, **chosen}
    where = chosen["route"] or "all pages"
    read = client()
    try:
        pages = records(read.query("vitals_pages", **narrowed))
        totals = records(read.query("vitals_summary", **narrowed))
        releases = records(read.query("vitals_releases", **narrowed))
        trend = records(read.query("vitals_trend", **narrowed, bucket_seconds=bucket))
        spread = records(read.query("vitals_histogram", **narrowed, metric=metric))
        breakdown = records(read.query("vitals_breakdown", **narrowed, metric=metric, by=by))
        phases = records(read.query("vitals_phases", **narrowed, metric=metric))
        attribution = records(read.query("vitals_attribution", **narrowed, metric=metric))
        facet_options = audience.options(read, project, since, until, chosen)
        projects = read.query("projects")
    except ReadApiError as e:
        return ("", "", "", dash.no_update, dash.no_update, "", dash.no_update, "", "", dash.no_update,
                *[dash.no_update] * len(audience.FACETS), f"No data: {e}", url)  # fmt: skip
    slower = slower_releases(releases)
    first_slower: dict[str, str] = {}
    for s in slower:
        first_slower.setdefault(s.route, s.text())
    pages_view = {k: v for k, v in view.items() if k != "route"}
    return (
        summary(totals),
        pages_table(pages, first_slower, pages_view) if pages else html.P(EMPTY, className="empty"),
        slower_list(slower, pages_view),
        trend_figure(trend, metric, where, bucket, since, until),
        histogram_figure(spread, metric, where),
        breakdown_table(breakdown, metric, by, view),
        phases_figure(phases, metric),
        attribution_table(attribution, metric),
        MEANINGS[metric] + f". Good up to {shown(metric, THRESHOLDS[metric][0])}.",
        project_options([r[0] for r in projects.rows], project),
        *facet_options,
        "",
        url,
    )
