"""Releases: is the new release healthier than the one before it?

Linkable: ``/releases?project=shop&range=7d``. For each release with sessions in the range
(from the beacon and from Sentry SDKs alike): first seen, adoption, sessions, unhandled-free
and crash-free sessions and users (Sentry's release-health definitions, docs/analytics.md),
errors per session, new and regressed issues, each beside the same
figure for the release before it in the same project. Releases are ordered as analytics
orders them (``contracts/releases.py``: versions of one package by version, others by
first seen). A release's name opens the issues list filtered to it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, callback, dcc, html

from contracts.read_api import ReadApiError
from contracts.releases import compare
from dashboard.data import RANGES, client, time_range
from dashboard.widgets import (
    figure,
    filters,
    grid,
    markdown_link,
    plotly_text,
    project_options,
    records,
    refresh_ms,
    search,
)
from dashboard.widgets import when as when_text

dash.register_page(__name__, path="/releases", name="Releases", title="Vigil · Releases", order=2)

DEFAULT_RANGE = "7d"  # a release's health needs more than an hour of sessions
EMPTY = (
    "No sessions in this range yet. Releases appear once pages send their release with the beacon "
    "(Vigil.init({release: 'shop@1.4.2'})) or a Sentry SDK sends sessions."
)
#: Each figure: (field, column header, how it is written, whether more is better).
FIGURES = [
    ("adoption", "Adoption", "percent", None),
    ("sessions", "Sessions", "count", None),
    ("unhandled_free_sessions", "Unhandled-free sessions", "percent", True),
    ("crash_free_sessions", "Crash-free sessions", "percent", True),
    ("unhandled_free_users", "Unhandled-free users", "percent", True),
    ("crash_free_users", "Crash-free users", "percent", True),
    ("errors_per_session", "Errors / session", "ratio", False),
    ("new_issues", "New issues", "count", False),
    ("regressed_issues", "Regressed issues", "count", False),
]
COLUMNS = [
    {"field": "release", "headerName": "Release", "cellRenderer": "markdown", "minWidth": 170},
    {"field": "project", "headerName": "Project", "minWidth": 100},
    {"field": "first_seen", "headerName": "First seen (UTC)", "minWidth": 165},
    {"field": "before", "headerName": "Release before", "minWidth": 140},
    *[{"field": field, "headerName": header, "minWidth": 150, "wrapText": True, "autoHeight": True}
      for field, header, _, _ in FIGURES],
]  # fmt: skip


def layout(project: str | None = None, range: str | None = None, **_: Any) -> html.Div:
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="releases-url", refresh=False),
            filters("releases", project, range_key),
            html.Div(id="releases-notice", className="notice"),
            html.Div(dcc.Graph(id="releases-crash-free", config={"displaylogo": False}), className="card"),
            html.Div(
                [
                    html.H3("Releases, the newest first, each beside the one before it"),
                    html.P(id="releases-empty", className="empty"),
                    grid("releases-table", COLUMNS, row_id="id"),
                ],
                className="card",
            ),
            dcc.Interval(id="releases-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _show(value: object, kind: str) -> str:
    if value is None:
        return "—"
    number = float(value)  # type: ignore[arg-type]
    if kind == "percent":
        return f"{number:.2%}"
    if kind == "ratio":
        return f"{number:.3f}"
    return f"{int(number):,}"


def _beside(now: object, before: object, kind: str, better_up: bool | None) -> str:
    """``99.20 % (was 98.10 %, better)``: the figure, and the release before it's when there is one."""
    shown = _show(now, kind)
    if before is None:
        return shown
    was = f"was {_show(before, kind)}"
    if now is None or now == before or better_up is None:
        return f"{shown} ({was})"
    better = (float(now) > float(before)) == better_up  # type: ignore[arg-type]
    return f"{shown} ({was}, {'better' if better else 'worse'})"


def newest_first(releases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One project's releases, the newest first: by version where the names compare, else by first seen."""

    def order(a: dict[str, Any], b: dict[str, Any]) -> int:
        by_name = compare(str(a["release"]), str(b["release"]))
        if by_name:
            return by_name
        return (str(a["first_seen"]) > str(b["first_seen"])) - (str(a["first_seen"]) < str(b["first_seen"]))

    return sorted(releases, key=functools.cmp_to_key(order), reverse=True)


def by_project(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each project's releases, the newest first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for release in found:
        grouped[str(release["project"])].append(release)
    return {project: newest_first(grouped[project]) for project in sorted(grouped)}


def rows_of(ordered: dict[str, list[dict[str, Any]]], range_key: str | None) -> list[dict[str, Any]]:
    """The table's rows: per project, the newest release first, each with the figures of the one before it."""
    rows = []
    for project, releases in ordered.items():
        for n, release in enumerate(releases):
            before = releases[n + 1] if n + 1 < len(releases) else {}
            link = "/issues?" + urlencode(
                {"project": project, "release": release["release"], **({"range": range_key} if range_key else {})}
            )
            rows.append(
                {
                    "id": f"{project}\x00{release['release']}",
                    "release": markdown_link(str(release["release"]), link),
                    "project": project,
                    "first_seen": when_text(release["first_seen"]),
                    "before": str(before.get("release") or "—"),
                    **{
                        field: _beside(release[field], before.get(field), kind, better_up)
                        for field, _, kind, better_up in FIGURES
                    },
                }
            )
    return rows


@callback(
    Output("releases-table", "rowData"),
    Output("releases-crash-free", "figure"),
    Output("releases-empty", "children"),
    Output("releases-project", "options"),
    Output("releases-notice", "children"),
    Output("releases-url", "search"),
    Input("releases-project", "value"),
    Input("releases-range", "value"),
    Input("releases-refresh", "n_intervals"),
)
def refresh(project: str | None, range_key: str | None, _: int | None) -> tuple[Any, ...]:
    range_key = range_key if range_key in RANGES else None
    since, until, _bucket = time_range(range_key or DEFAULT_RANGE)
    url = search(project=project, range=range_key)
    chart = figure("Unhandled-free sessions by release (no unhandled error, no crash; the newest on the right)",
                   height=280)  # fmt: skip
    chart.update_yaxes(tickformat=".0%", rangemode="tozero")
    read = client()
    try:
        found = records(read.query("releases", project=project, since=since, until=until, limit=200))
        projects = read.query("projects")
    except ReadApiError as e:
        return [], chart, "", dash.no_update, f"No data: {e}", url
    ordered = by_project(found)
    for name, releases in ordered.items():
        oldest_first = releases[::-1]
        chart.add_bar(
            x=[plotly_text(r["release"]) for r in oldest_first],
            y=[r["unhandled_free_sessions"] for r in oldest_first],
            name=plotly_text(name),
            hovertemplate="%{x}: %{y:.2%} unhandled-free<extra></extra>",
        )
    return (
        rows_of(ordered, range_key),
        chart,
        "" if found else EMPTY,
        project_options([r[0] for r in projects.rows], project),
        "",
        url,
    )
