"""Network: which requests fail for users, where they were going, how they failed, and which pages they hurt.

Linkable: ``/network?project=shop&range=24h&target=cdn.vendor.example&route=/checkout``.
Failed requests are grouped by target host, path (ids collapsed), status and failure class;
the browser's own reports (Network Error Logging) are counted beside the beacon's. Each host
is the page's own site, a declared service (``[[projects.services]]``) or a third party. A
host narrows the page to it (the pages it hurts); a page narrows it to that page. Requests
that took a second or more are shown by the phase their time went to (DNS, connect, TLS,
the server, the transfer). Failed images, scripts, styles, fonts and media are listed
below, by URL, and what the pages' Content Security Policy blocked (the beacon's and the
browser's reports).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from contracts.services import Service
from dashboard import audience
from dashboard.data import DEFAULT_RANGE, RANGES, client, party, services, time_range
from dashboard.widgets import (
    bounded,
    choice,
    every,
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
)

dash.register_page(__name__, path="/network", name="Network", title="Vigil · Network", order=1.6)

CLASSES = (
    "How requests failed: dns, tcp, tls (the browser's own reports say which), network (no answer, and a page "
    "cannot tell why), timeout, abandoned (the page gave up), http (an answer of 400 or more)."
)
EMPTY = (
    "No failed requests in this range. The beacon reports fetch and XMLHttpRequest calls that fail; browsers "
    "report more with Network Error Logging (docs/reporting.md). Widen the range or clear a filter."
)
#: How many rows of targets and pages the page asks for (the read API's most): the figures are over all of them.
ALL = 1000
NO_SLOW = (
    "No request of the pages' code took a second or more in this range. The beacon reports fetch and "
    "XMLHttpRequest calls that take 1 s or more, with their phases when the answer lets the page see them "
    "(same origin, or a Timing-Allow-Origin header)."
)
#: How many of the slowest targets the phases chart draws (the table lists them all).
SLOW_BARS = 12
NO_RESOURCES = "No image, script, style, font or media failed to load in this range."
NO_CSP = (
    "Nothing blocked by a Content Security Policy in this range. The beacon reports what the page sees; set "
    "the reporting headers for the browser's own reports (docs/reporting.md)."
)


def layout(project: str | None = None, range: str | None = None, target: str | None = None, **given: Any) -> html.Div:
    """The page for its URL's query; unknown values fall back to the defaults."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    chosen = bounded(target)
    return html.Div(
        [
            dcc.Location(id="network-url", refresh=False),
            filters(
                "network",
                project,
                range_key,
                choice("network-target", chosen, "Any host"),
            ),
            audience.dropdowns("network", audience.values(given)),
            html.Div(id="network-notice", className="notice"),
            html.Div(id="network-kpis", className="kpis"),
            html.Div(dcc.Graph(id="network-trend", config={"displaylogo": False}), className="card"),
            html.Div(
                [html.H3("Failed requests"), html.P(CLASSES, className="hint"), html.Div(id="network-targets")],
                className="card",
            ),
            html.Div([html.H3("Pages they hurt"), html.Div(id="network-pages")], className="card"),
            html.Div(
                [
                    html.H3("Slow requests: where the time went"),
                    html.P(
                        "Fetch and XHR calls of the pages that took a second or more, by host and path: the "
                        "median of each phase, over the requests whose answer showed its timing (another "
                        "origin must send Timing-Allow-Origin). The server's part includes time queued in "
                        "the browser.",
                        className="hint",
                    ),
                    html.Div(id="network-slow"),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H3("Slow page loads: where the time went"),
                    html.P(
                        "The slowest quarter of each page's loads (at or above its p75), from the browser's "
                        "navigation timing: the median of each phase.",
                        className="hint",
                    ),
                    dcc.Graph(id="network-loads", config={"displaylogo": False}),
                ],
                className="card",
            ),
            html.Div([html.H3("Failed resources"), html.Div(id="network-resources")], className="card"),
            html.Div([html.H3("Blocked by the pages' policy (CSP)"), html.Div(id="network-csp")], className="card"),
            dcc.Interval(id="network-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def kpis(targets: list[dict[str, Any]], pages: list[dict[str, Any]], slow: list[dict[str, Any]]) -> list[Any]:
    """Over every target (``targets`` are the query's whole answer, up to ``ALL`` rows, each with its ``whose``)."""
    failures = sum(t["failures"] for t in targets)
    third = sum(t["failures"] for t in targets if t["whose"] == "third party")
    return [
        kpi(f"{failures:,}", "Failed requests"),
        kpi(f"{sum(t['browser_reports'] for t in targets):,}", "Reported by browsers (NEL)"),
        kpi(f"{100 * third / failures:.0f} %" if failures else "—", "To third parties"),
        kpi(f"{len({t['host'] for t in targets}):,}", "Hosts failing"),
        kpi(f"{len(pages):,}", "Pages hurt"),
        kpi(f"{sum(s['requests'] for s in slow):,}", "Slow requests (1 s or more)"),
    ]


def trend_figure(rows: list[dict[str, Any]], bucket_seconds: int, since: str, until: str) -> go.Figure:
    fig = figure(f"Failed requests per {every(bucket_seconds)}, by how they failed")
    by_class: dict[str, list[list[Any]]] = defaultdict(list)
    for row in rows:
        by_class[row["failure_class"]].append([row["minute"], row["failures"]])
    for name, points in sorted(by_class.items()):
        time_bars(fig, points, bucket_seconds, since, until, plotly_text(name))  # a browser's NEL type names some
    fig.update_layout(barmode="stack", legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.12})
    return fig


TARGET_COLUMNS = [
    {"field": "host", "headerName": "Host", "cellRenderer": "markdown", "flex": 2, "minWidth": 160},
    {"field": "path", "headerName": "Path", "flex": 2, "minWidth": 140, "cellClass": "code"},
    {"field": "status", "headerName": "Status", "minWidth": 80},
    {"field": "failure_class", "headerName": "Failed by", "minWidth": 100},
    {"field": "whose", "headerName": "Whose", "minWidth": 130},
    *[{"field": f, "headerName": h, "type": "numericColumn", "minWidth": 110, "flex": 1}
      for f, h in (("failures", "Failures"), ("browser_reports", "Of them NEL"), ("pages", "Pages"),
                   ("sessions", "Sessions"), ("median", "Median time"))],
]  # fmt: skip


def targets_table(rows: list[dict[str, Any]], view: dict[str, Any]) -> Any:
    shaped = [
        {"id": f"{r['host']}\x00{r['path']}\x00{r['status']}\x00{r['failure_class']}",
         "host": markdown_link(r["host"] or "(no host)", search(**{**view, "target": r["host"]})),
         "path": r["path"], "status": str(r["status"] or "—"), "failure_class": r["failure_class"],
         "whose": r["whose"], "failures": r["failures"], "browser_reports": r["browser_reports"],
         "pages": r["pages"], "sessions": r["sessions"],
         "median": "—" if r["median_ms"] is None else f"{r['median_ms']:,.0f} ms"}
        for r in rows
    ]  # fmt: skip
    return grid("network-targets-grid", TARGET_COLUMNS, row_id="id", rows=shaped,
                row_class_rules={"third-party": "params.data.whose == 'third party'"})  # fmt: skip


def pages_table(rows: list[dict[str, Any]], view: dict[str, Any]) -> Any:
    shaped = [
        {"id": r["route"], "page": markdown_link(r["route"], search(**{**view, "route": r["route"]})),
         "failures": r["failures"], "hosts": r["hosts"], "sessions": r["sessions"], "views": r["page_views"],
         "per_1000": "—" if r["failures_per_1000_views"] is None else f"{r['failures_per_1000_views']:,.1f}"}
        for r in rows
    ]  # fmt: skip
    columns = [
        {"field": "page", "headerName": "Page", "cellRenderer": "markdown", "flex": 2, "minWidth": 160},
        *[{"field": f, "headerName": h, "type": "numericColumn", "flex": 1, "minWidth": 90}
          for f, h in (("failures", "Failed requests"), ("hosts", "Hosts"), ("sessions", "Sessions hurt"),
                       ("views", "Page views"), ("per_1000", "Failures / 1,000 views"))],
    ]  # fmt: skip
    return grid("network-pages-grid", columns, row_id="id", rows=shaped)


def resources_table(rows: list[dict[str, Any]], declared: list[tuple[str, Service]]) -> Any:
    if not rows:
        return html.P(NO_RESOURCES, className="empty")
    shaped = [
        {"id": f"{r['url']}\x00{r['element']}", "url": r["url"], "element": r["element"], "host": r["host"],
         "whose": party(r["url"], r["same_host"], declared), "failures": r["failures"],
         "status": str(r["status"] or "—"), "pages": r["pages"], "sessions": r["sessions"]}
        for r in rows
    ]  # fmt: skip
    columns = [
        {"field": "url", "headerName": "URL", "flex": 3, "minWidth": 220, "cellClass": "code"},
        {"field": "element", "headerName": "Element", "minWidth": 90},
        {"field": "whose", "headerName": "Whose", "minWidth": 120},
        *[{"field": f, "headerName": h, "type": "numericColumn", "minWidth": 85, "flex": 1}
          for f, h in (("failures", "Failures"), ("pages", "Pages"), ("sessions", "Sessions"))],
        {"field": "status", "headerName": "Status", "minWidth": 80},
    ]  # fmt: skip
    return grid("network-resources-grid", columns, row_id="id", rows=shaped)


LOAD_PHASES = (("dns", "DNS"), ("connect", "connect"), ("tls", "TLS"), ("server", "server's answer"),
               ("dom", "building the DOM"), ("rest", "loading the rest"))  # fmt: skip


def phase_bars(title: str, labels: list[str], rows: list[dict[str, Any]], phases: tuple[tuple[str, str], ...],
               *, min_height: int, label_width: int) -> go.Figure:  # fmt: skip
    """One horizontal stacked bar per row (the first at the top), a segment per phase in ms."""
    fig = figure(title, height=max(min_height, 130 + 34 * len(rows)))
    for key, name in phases:
        fig.add_bar(y=labels, x=[r[key] or 0 for r in rows], name=name, orientation="h",
                    hovertemplate="%{x:.0f} ms<extra>" + name + "</extra>")  # fmt: skip
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.25, "yanchor": "top"},
                      margin={"l": label_width, "r": 10, "t": 50, "b": 80})  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="ms")
    return fig


def loads_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Per page (the slowest at the top), its slow loads' phases as one stacked bar."""
    pages = [f"{plotly_text(r['route'])} (p75 {r['p75_load'] / 1000:.1f} s)" for r in rows]
    return phase_bars("Slow page loads by phase (median ms of the slowest quarter; p75 of the load beside)", pages,
                      rows, LOAD_PHASES, min_height=260, label_width=220)  # fmt: skip


REQUEST_PHASES = (("dns", "DNS"), ("connect", "connect"), ("tls", "TLS"), ("server", "server"),
                  ("transfer", "transfer"))  # fmt: skip


def slow_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Per host and path whose phases were seen (the most requests at the top), the median phases as one bar."""
    timed = [r for r in rows if r["timed"]][:SLOW_BARS]
    names = [plotly_text(f"{r['host'] or ''}{r['path']}") + f" ({r['requests']:,}, p75 {r['p75_ms'] / 1000:.1f} s)"
             for r in timed]  # fmt: skip
    return phase_bars("Slow requests by phase (median ms; requests and p75 beside)", names, timed, REQUEST_PHASES,
                      min_height=220, label_width=320)  # fmt: skip


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def slow_section(rows: list[dict[str, Any]], view: dict[str, Any], declared: list[tuple[str, Service]]) -> Any:
    """The phases chart (when any request showed its timing) above the table of every slow target."""
    if not rows:
        return html.P(NO_SLOW, className="empty")
    shaped = [
        {"id": f"{r['host']}\x00{r['path']}",
         "host": markdown_link(r["host"] or "(no host)", search(**{**view, "target": r["host"]})),
         "path": r["path"], "whose": party(r["example_url"], r["same_host"], declared), "requests": r["requests"],
         "pages": r["pages"], "sessions": r["sessions"], "median": _ms(r["median_ms"]), "p75": _ms(r["p75_ms"]),
         "phases": f"{r['timed']:,} of {r['requests']:,}" if r["timed"] else "hidden (no Timing-Allow-Origin)",
         **{key: _ms(r[key]) for key, _ in REQUEST_PHASES}}
        for r in rows
    ]  # fmt: skip
    columns = [
        {"field": "host", "headerName": "Host", "cellRenderer": "markdown", "flex": 2, "minWidth": 160},
        {"field": "path", "headerName": "Path", "flex": 2, "minWidth": 140, "cellClass": "code"},
        {"field": "whose", "headerName": "Whose", "minWidth": 120},
        *[{"field": f, "headerName": h, "type": "numericColumn", "minWidth": 90, "flex": 1}
          for f, h in (("requests", "Requests"), ("pages", "Pages"), ("sessions", "Sessions"), ("median", "Median"),
                       ("p75", "p75"))],
        {"field": "phases", "headerName": "Timing seen", "minWidth": 150},
        *[{"field": key, "headerName": name[0].upper() + name[1:], "type": "numericColumn", "minWidth": 90,
           "flex": 1} for key, name in REQUEST_PHASES],
    ]  # fmt: skip
    table = grid("network-slow-grid", columns, row_id="id", rows=shaped)
    if not any(r["timed"] for r in rows):
        return table
    return html.Div([dcc.Graph(id="network-slow-phases", figure=slow_figure(rows), config={"displaylogo": False}),
                     table])  # fmt: skip


def csp_table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.P(NO_CSP, className="empty")
    shaped = [
        {"id": f"{r['blocked']}\x00{r['directive']}", "blocked": r["blocked"], "directive": r["directive"],
         "how": "blocked" if r["enforced"] else "reported only", "violations": r["violations"],
         "browser_reports": r["browser_reports"], "pages": r["pages"], "sessions": r["sessions"]}
        for r in rows
    ]  # fmt: skip
    columns = [
        {"field": "blocked", "headerName": "Blocked", "flex": 3, "minWidth": 220, "cellClass": "code"},
        {"field": "directive", "headerName": "Directive", "minWidth": 150},
        {"field": "how", "headerName": "Policy", "minWidth": 110},
        *[{"field": f, "headerName": h, "type": "numericColumn", "minWidth": 100, "flex": 1}
          for f, h in (("violations", "Violations"), ("browser_reports", "Of them from browsers"),
                       ("pages", "Pages"), ("sessions", "Sessions"))],
    ]  # fmt: skip
    return grid("network-csp-grid", columns, row_id="id", rows=shaped)


@callback(
    Output("network-kpis", "children"),
    Output("network-trend", "figure"),
    Output("network-targets", "children"),
    Output("network-pages", "children"),
    Output("network-slow", "children"),
    Output("network-loads", "figure"),
    Output("network-resources", "children"),
    Output("network-csp", "children"),
    Output("network-project", "options"),
    Output("network-target", "options"),
    *[Output(f"network-{facet}", "options") for facet in audience.FACETS],
    Output("network-notice", "children"),
    Output("network-url", "search"),
    Input("network-project", "value"),
    Input("network-range", "value"),
    Input("network-target", "value"),
    *[Input(f"network-{facet}", "value") for facet in audience.FACETS],
    Input("network-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, target: str | None, *rest: Any) -> tuple[Any, ...]:
    """Ask the read API for the failed requests and resources, narrowed to a host and the chosen audience."""
    *facet_values, _ = rest
    chosen = audience.values(dict(zip(audience.FACETS, facet_values, strict=True)))
    target = bounded(target)
    since, until, bucket = time_range(range_key)
    view = {"project": project, "range": range_key, "target": target, **chosen}
    narrowed = {"project": project, "since": since, "until": until, "target": target, **chosen}
    read = client()
    try:
        targets = records(read.query("network_targets", **narrowed, limit=ALL))
        trend = records(read.query("network_trend", **narrowed, bucket_seconds=bucket))
        pages = records(read.query("network_pages", **narrowed, limit=ALL))
        slow = records(read.query("slow_requests", **narrowed, limit=ALL))
        resources = records(read.query("resource_failures_by_url", **narrowed))
        audience_only = {k: v for k, v in narrowed.items() if k != "target"}
        csp = records(read.query("csp_violations", **audience_only))
        loads = records(read.query("page_load_phases", **audience_only))
        # The host list offers every host, not only the one chosen.
        hosts = records(read.query("network_targets", **{**narrowed, "target": None}, limit=ALL)) if target else targets
        facet_options = audience.options(read, project, since, until, chosen)
        projects = read.query("projects")
    except ReadApiError as e:
        return ("", dash.no_update, "", "", "", dash.no_update, "", "", dash.no_update, dash.no_update,
                *[dash.no_update] * len(audience.FACETS), f"No data: {e}", search(**view))  # fmt: skip
    declared = services(project)
    for t in targets:  # per row: a service declared by URL prefix may own some of a host's paths only
        t["whose"] = party(t["example_url"], t["same_host"], declared)
    host_names = sorted({h["host"] for h in [*hosts, *slow] if h["host"]} | ({target} if target else set()))
    empty = html.P(EMPTY, className="empty")
    return (
        kpis(targets, pages, slow),
        trend_figure(trend, bucket, since, until),
        targets_table(targets, view) if targets else empty,
        pages_table(pages, view) if pages else "",
        slow_section(slow, view, declared),
        loads_figure(loads),
        resources_table(resources, declared),
        csp_table(csp),
        project_options([r[0] for r in projects.rows], project),
        [{"label": h, "value": h} for h in host_names],
        *facet_options,
        "",
        search(**view),
    )
