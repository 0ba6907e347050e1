"""Hosts: the fleet at a glance: which of our machines is in trouble, and what it did over time.

Linkable: ``/hosts?project=shop&range=6h&measure=disk&by=service&host=db-003``. The heat map
has one cell per host (every host that reported in the last hour), grouped by region or by
the declared service it serves (``[[projects.services]] hosts``), the worst first, coloured
by the chosen measure now (the last five minutes): CPU, memory, fullest disk, load, open
files, the errors of its services' backend projects over the range, or the state of its
services' checks. A host that stopped reporting is grey and first. Clicking a cell (or
picking a host) shows that host over the range.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from dashboard.data import DEFAULT_RANGE, RANGES, client, services, time_range
from dashboard.hosts_view import GROUPS, MEASURES, Host, described, grouped, heatmap, hosts, series_figure, worst_first
from dashboard.widgets import (
    bounded,
    choice,
    choices,
    filters,
    grid,
    kpi,
    markdown_link,
    project_options,
    records,
    refresh_ms,
    search,
    when,
)

dash.register_page(__name__, path="/hosts", name="Hosts", title="Vigil · Hosts", order=5.5)

EMPTY = (
    "No host has reported in the last hour. Run a probe agent with host metrics on each machine "
    "(docs/probes.md, host_metrics_interval): each becomes a cell here."
)
WORST = 100
FIGURES = ("cpu", "memory", "disk", "load1", "fds")


def layout(
    project: str | None = None, range: str | None = None, measure: str | None = None, by: str | None = None,
    host: str | None = None, **_: Any,
) -> html.Div:  # fmt: skip
    """The page for its URL's query; unknown values fall back to the defaults."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    chosen = bounded(host)
    return html.Div(
        [
            dcc.Location(id="hosts-url", refresh=False),
            filters(
                "hosts",
                project,
                range_key,
                choice("hosts-host", chosen, "Pick a host"),
            ),
            html.Div(
                [
                    choices("hosts-measure", measure, {k: v[0] for k, v in MEASURES.items()}, "cpu"),
                    choices("hosts-by", by, {k: f"by {v.lower()}" for k, v in GROUPS.items()}, "region"),
                ],
                className="filters choice",
            ),
            html.Div(id="hosts-notice", className="notice"),
            html.Div(id="hosts-kpis", className="kpis"),
            html.Div(
                [dcc.Graph(id="hosts-heatmap", config={"displaylogo": False}), html.Div(id="hosts-empty")],
                className="card",
            ),
            html.Div(
                [html.H3(id="hosts-detail-title"), dcc.Graph(id="hosts-series", config={"displaylogo": False})],
                className="card",
                id="hosts-detail",
            ),
            html.Div([html.H3("The worst hosts"), html.Div(id="hosts-worst")], className="card"),
            dcc.Interval(id="hosts-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


@callback(Output("hosts-host", "value"), Input("hosts-heatmap", "clickData"), prevent_initial_call=True)
def pick(click: dict[str, Any] | None) -> Any:
    """A click on a cell picks its host."""
    points = (click or {}).get("points") or [{}]
    name = points[0].get("customdata")
    return bounded(name) if isinstance(name, str) and name else dash.no_update


def kpis(found: list[Host]) -> list[Any]:
    silent = sum(1 for h in found if h.silent)
    tiles = [kpi(f"{len(found):,}", "Hosts"), kpi(f"{silent:,}", "Silent (no report for 5 min)")]
    for key, threshold in (("cpu", 90.0), ("memory", 90.0), ("disk", 90.0), ("fds", 80.0)):
        hot = sum(1 for h in found if (h.values.get(key) or 0) >= threshold)
        tiles.append(kpi(f"{hot:,}", f"{MEASURES[key][0]} ≥ {threshold:g} %"))
    return tiles


def worst_table(found: list[Host], measure: str, view: dict[str, Any]) -> Any:
    ordered = sorted(found, key=lambda h: worst_first(h, measure))
    rows = [
        {"id": h.name, "host": markdown_link(h.name, search(**{**view, "host": h.name})), "region": h.region,
         "services": ", ".join(h.services), "measure": described(h, measure) if h.silent else "",
         **{k: "—" if h.values.get(k) is None else f"{h.values[k]:g}" for k in FIGURES},
         "last_seen": when(h.last_seen)}
        for h in ordered[:WORST]
    ]  # fmt: skip
    columns = [
        {"field": "host", "headerName": "Host", "cellRenderer": "markdown", "minWidth": 120},
        {"field": "region", "headerName": "Region", "minWidth": 110},
        {"field": "services", "headerName": "Services", "minWidth": 110, "flex": 1},
        *[{"field": k, "headerName": MEASURES[k][0] + (" %" if MEASURES[k][1].startswith("%") else ""),
           "type": "numericColumn", "minWidth": 95, "flex": 1, "headerTooltip": MEASURES[k][0],
           **({"cellClass": "measure"} if k == measure else {})} for k in FIGURES],
        {"field": "last_seen", "headerName": "Last report (UTC)", "minWidth": 165},
        {"field": "measure", "headerName": "Note", "minWidth": 150},
    ]  # fmt: skip
    return grid("hosts-worst-grid", columns, row_id="id", rows=rows)


@callback(
    Output("hosts-kpis", "children"),
    Output("hosts-heatmap", "figure"),
    Output("hosts-heatmap", "style"),
    Output("hosts-empty", "children"),
    Output("hosts-worst", "children"),
    Output("hosts-detail-title", "children"),
    Output("hosts-series", "figure"),
    Output("hosts-detail", "style"),
    Output("hosts-project", "options"),
    Output("hosts-host", "options"),
    Output("hosts-notice", "children"),
    Output("hosts-url", "search"),
    Input("hosts-project", "value"),
    Input("hosts-range", "value"),
    Input("hosts-measure", "value"),
    Input("hosts-by", "value"),
    Input("hosts-host", "value"),
    Input("hosts-refresh", "n_intervals"),
)
def refresh(
    project: str | None, range_key: str | None, measure: str | None, by: str | None, host: str | None,
    _: int | None,
) -> tuple[Any, ...]:  # fmt: skip
    """Ask the read API for every host's state now and the picked host's series."""
    measure = measure if measure in MEASURES else "cpu"
    by = by if by in GROUPS else "region"
    host = bounded(host)
    since, until, bucket = time_range(range_key)
    view = {"project": project, "range": range_key, "measure": measure, "by": by, "host": host}
    read = client()
    try:
        now = records(read.query("hosts_now", project=project, until=until))
        errors = {r["project"]: r["errors"] for r in records(read.query("errors_by_project", since=since, until=until))}
        checks = {(c["project"], c["check"]): c["state"] for c in records(read.query("checks", project=project))
                  if c["region"] == "*"}  # fmt: skip
        series = records(read.query("host_series", project=project, since=since, until=until, host=host,
                                    bucket_seconds=bucket)) if host else []  # fmt: skip
        projects = read.query("projects")
    except ReadApiError as e:
        return ("", dash.no_update, dash.no_update, "", "", "", dash.no_update, dash.no_update, dash.no_update,
                dash.no_update, f"No data: {e}", search(**view))  # fmt: skip
    found = hosts(now, services(project), errors, checks)
    groups = grouped(found, by, measure)
    names = sorted({h.name for h in found} | ({host} if host else set()))
    options = [{"label": n, "value": n} for n in names]
    hidden: dict[str, str] = {"display": "none"}
    shown: dict[str, str] = {}
    return (
        kpis(found),
        heatmap(groups, measure),
        shown if found else hidden,
        "" if found else html.P(EMPTY, className="empty"),
        worst_table(found, measure, view) if found else "",
        f"{host} over the last {RANGES.get(range_key or '', RANGES[DEFAULT_RANGE])[0]}" if host else "",
        series_figure(series, host, since, until) if host else dash.no_update,
        shown if host else hidden,
        project_options([r[0] for r in projects.rows], project),
        options,
        "",
        search(**view),
    )
