"""Issues: errors grouped by fingerprint, found, ordered and triaged in bulk.

Linkable: ``/issues?project=shop&range=24h&status=unresolved&q=price&sort=events&release=shop@1.4``
opens the same view. The search box takes words (found in the type, title, culprit or an
event's message) and one ``key:value`` tag; the filters narrow the events counted to a
release, an environment or a browser. Each issue's title links to its own page
(``/issues/12``). The table keeps its rows and their selection by issue id across
refreshes, so a refresh never moves the row under the pointer to another issue; the
selected issues can be resolved, ignored, reopened or merged at once.
"""

from __future__ import annotations

import re
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from contracts.queries import ISSUE_STATUSES as STATUSES
from contracts.queries import SORTS
from contracts.read_api import ReadApiError
from dashboard import triage
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import (
    filters,
    grid,
    id_number,
    markdown_link,
    project_options,
    records,
    refresh_ms,
    search,
    when,
)

dash.register_page(__name__, path="/issues", name="Issues", title="Vigil · Issues", order=1)

COLUMNS = [
    {"field": "issue", "headerName": "Issue", "cellRenderer": "markdown", "flex": 4, "minWidth": 280,
     "wrapText": True, "autoHeight": True},
    {"field": "culprit", "headerName": "Culprit", "flex": 2, "minWidth": 160, "wrapText": True, "autoHeight": True},
    {"field": "status", "headerName": "Status", "minWidth": 120},
    {"field": "events_in_range", "headerName": "Events", "minWidth": 100, "type": "numericColumn"},
    {"field": "users", "headerName": "Users", "minWidth": 90, "type": "numericColumn"},
    {"field": "first_seen", "headerName": "First seen (UTC)", "minWidth": 165},
    {"field": "last_seen", "headerName": "Last seen (UTC)", "minWidth": 165},
    {"field": "last_release", "headerName": "Last release", "minWidth": 120},
]  # fmt: skip
SORT_LABELS = {"last_seen": "Last seen", "events": "Events", "users": "Users", "first_seen": "First seen"}
FACETS = ("release", "environment", "browser")
EMPTY = "No issues with events in this range yet. Errors sent to the collector show up here, grouped into issues."
NO_MATCH = "No issue matches the search and filters in this range: widen the range or clear a filter."
_TAG = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,63}):(\S{1,200})$")


def parse_search(text: str | None) -> tuple[str | None, str | None, str]:
    """(words, tag as ``key:value``, a note for the user) from the search box."""
    words: list[str] = []
    tags: list[str] = []
    for term in (text or "").split()[:20]:
        (tags if _TAG.match(term) else words).append(term)
    note = f"One tag at a time: searching {tags[0]} only." if len(tags) > 1 else ""
    return (" ".join(words)[:200] or None), (tags[0] if tags else None), note


def _dropdown(
    id: str, value: str | None, placeholder: str, options: list[dict[str, str]], clearable: bool = True
) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=id, value=value or None, placeholder=placeholder, options=options, className="facet", clearable=clearable
    )


def layout(
    project: str | None = None,
    range: str | None = None,
    status: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    release: str | None = None,
    environment: str | None = None,
    browser: str | None = None,
    **_: Any,
) -> html.Div:
    """The page for its URL's query; unknown values fall back to the defaults."""
    range_key = range if range in RANGES else DEFAULT_RANGE
    status_options = [{"label": s.replace("_", " "), "value": s} for s in STATUSES if s != "merged"]
    facet_values = {"release": release, "environment": environment, "browser": browser}
    return html.Div(
        [
            dcc.Location(id="issues-url", refresh=False),
            filters(
                "issues",
                project,
                range_key,
                _dropdown("issues-status", status if status in STATUSES else None, "Any status", status_options),
            ),
            html.Div(
                [
                    dcc.Input(
                        id="issues-search",
                        value=(q or "")[:300],
                        type="search",
                        debounce=True,
                        maxLength=300,
                        placeholder="Search: type, message, culprit, or tag:value",
                        className="search",
                    ),
                    *[
                        _dropdown(
                            f"issues-{facet}",
                            (facet_values[facet] or "")[:200],
                            f"Any {facet}",
                            [{"label": v, "value": v} for v in [facet_values[facet]] if v],
                        )
                        for facet in FACETS
                    ],
                    _dropdown(
                        "issues-sort",
                        sort if sort in SORTS else "last_seen",
                        "Sort",
                        [{"label": f"Sort: {SORT_LABELS[s]}", "value": s} for s in SORTS],
                        clearable=False,
                    ),
                ],
                className="filters",
            ),
            html.Div(id="issues-notice", className="notice"),
            html.Div(
                [
                    html.H3("Issues"),
                    html.Div(
                        [
                            html.Span("Selected:", className="muted"),
                            html.Button("Resolve", id="issues-resolve", className="button"),
                            html.Button("Resolve in next release", id="issues-resolve-next", className="button"),
                            dcc.Dropdown(
                                id="issues-ignore",
                                placeholder="Ignore…",
                                className="ignore",
                                searchable=False,
                                options=[{"label": f"Ignore {label}", "value": label} for label in triage.IGNORE],
                            ),
                            html.Button("Reopen", id="issues-reopen", className="button"),
                            html.Button("Merge", id="issues-merge", className="button"),
                            html.Span(id="issues-action-result", className="hint", role="status"),
                        ],
                        className="actions",
                    ),
                    html.P(id="issues-empty", className="empty"),
                    grid(
                        "issues-table",
                        COLUMNS,
                        row_id="id",  # a row and its selection stay its issue
                        rowSelection={
                            "mode": "multiRow",
                            "checkboxes": True,
                            "headerCheckbox": True,
                            "enableClickSelection": False,
                        },
                    ),
                ],
                className="card",
            ),
            dcc.Store(id="issues-changed", data=0),
            dcc.Interval(id="issues-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


@callback(
    Output("issues-table", "rowData"),
    Output("issues-empty", "children"),
    Output("issues-project", "options"),
    *[Output(f"issues-{facet}", "options") for facet in FACETS],
    Output("issues-notice", "children"),
    Output("issues-url", "search"),
    Input("issues-project", "value"),
    Input("issues-range", "value"),
    Input("issues-status", "value"),
    Input("issues-search", "value"),
    *[Input(f"issues-{facet}", "value") for facet in FACETS],
    Input("issues-sort", "value"),
    Input("issues-refresh", "n_intervals"),
    Input("issues-changed", "data"),
)
def refresh(
    project: str | None,
    range_key: str | None,
    status: str | None,
    text: str | None,
    release: str | None,
    environment: str | None,
    browser: str | None,
    sort: str | None,
    *_: Any,
) -> tuple[Any, ...]:
    """Ask the read API for the issues in the range that match."""
    range_key = range_key if range_key in RANGES else None  # it goes into links: only the ranges offered
    status = status if status in STATUSES else None
    sort = sort if sort in SORTS and sort != "last_seen" else None  # the default stays out of the URL
    since, until, _bucket = time_range(range_key)
    words, tag, note = parse_search(text)
    chosen = {"release": release, "environment": environment, "browser": browser}
    url = search(project=project, range=range_key, status=status, q=(text or "").strip()[:300], sort=sort, **chosen)
    unchanged = (dash.no_update,) * len(FACETS)
    read = client()
    try:
        issues = read.query("issues", status=status, limit=200, project=project, since=since, until=until,
                            search=words, tag=tag, sort=sort, **chosen)  # fmt: skip
        projects = read.query("projects")
        facets = read.query("error_facets", project=project, since=since, until=until, limit=50)
    except ReadApiError as e:
        return [], "", dash.no_update, *unchanged, f"No data: {e}", url
    rows = []
    for row in records(issues):
        href = f"/issues/{row['issue_id']}" + (f"?range={range_key}" if range_key else "")
        rows.append(
            {
                **row,
                "id": str(row["issue_id"]),  # the grid's row id: a string
                "issue": markdown_link(str(row["title"] or f"Issue #{row['issue_id']}"), href),
                "first_seen": when(row["first_seen"]),
                "last_seen": when(row["last_seen"]),
                "status": str(row["status"]).replace("_", " "),
            }
        )
    options = [_facet_options(facets.rows, facet, chosen[facet]) for facet in FACETS]
    filtered = any([status, words, tag, *chosen.values()])
    empty = "" if rows else NO_MATCH if filtered else EMPTY
    return rows, empty, project_options([r[0] for r in projects.rows], project), *options, note, url


def _facet_options(rows: list[list[Any]], facet: str, chosen: str | None) -> list[dict[str, str]]:
    """The facet's values with the most errors first, and the chosen one even when it has none in the range."""
    values = [str(value) for kind, value, _ in rows if kind == facet]
    if chosen and chosen not in values:
        values.append(chosen)
    return [{"label": value, "value": value} for value in values]


@callback(
    Output("issues-action-result", "children"),
    Output("issues-changed", "data"),
    Output("issues-ignore", "value"),
    Input("issues-resolve", "n_clicks"),
    Input("issues-resolve-next", "n_clicks"),
    Input("issues-ignore", "value"),
    Input("issues-reopen", "n_clicks"),
    Input("issues-merge", "n_clicks"),
    State("issues-table", "selectedRows"),
    State("issues-changed", "data"),
    prevent_initial_call=True,
)
def triage_selected(
    _resolve: int | None,
    _resolve_next: int | None,
    ignore: str | None,
    _reopen: int | None,
    _merge: int | None,
    selected: list[dict[str, Any]] | None,
    changed: int | None,
) -> tuple[Any, ...]:
    """The chosen action on every selected issue, as the logged-in user."""
    trigger = dash.ctx.triggered_id
    if trigger is None or (trigger == "issues-ignore" and ignore not in triage.IGNORE):
        return dash.no_update, dash.no_update, None
    ids = [n for n in (id_number(row.get("issue_id")) for row in selected or []) if n is not None]
    if not ids:
        return "Select issues first (the boxes on the left).", dash.no_update, None
    if trigger == "issues-ignore":
        done, message = triage.act("ignore", ids, **triage.IGNORE[str(ignore)])
    elif trigger == "issues-merge":
        done, message = triage.act("merge", ids)  # into the one with the most events
    else:
        action = {"issues-resolve": "resolve", "issues-resolve-next": "resolve_next_release",
                  "issues-reopen": "reopen"}[str(trigger)]  # fmt: skip
        done, message = triage.act(action, ids)
    return message, (changed or 0) + 1 if done else dash.no_update, None
