"""One issue: what it is, who it hits, and its events down to the line of original source.

``/issues/12`` shows issue 12 over the default range with its latest event;
``/issues/12?range=24h&event=<event id>`` one event of it over a day: every view is a link.
The header says what the issue is and how it was grouped; the trend and the breakdowns
(browser, OS, device, release, environment, page, country) say where it happens; the
event view (``dashboard/event_view.py``) shows one event whole, with newer and older ones a
click away.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import dash
from dash import Input, Output, State, callback, dcc, html

from contracts.queries import BREAKDOWNS
from contracts.read_api import ReadApiError, Result
from dashboard import event_view, triage
from dashboard.data import DEFAULT_RANGE, RANGES, client, time_range
from dashboard.widgets import figure, grid, id_number, kpi, markdown_link, records, refresh_ms, search, time_bars, when

dash.register_page(__name__, path_template="/issues/<issue_id>", name="Issue", title="Vigil · Issue", order=90)

BREAKDOWN_LABELS = {
    "browser": "Browser", "os": "OS", "device": "Device", "release": "Release", "environment": "Environment",
    "page": "Page", "country": "Country",
}  # fmt: skip
EVENT_COLUMNS = [
    {"field": "event", "headerName": "Event", "cellRenderer": "markdown", "flex": 2},
    {"field": "ts", "headerName": "Time (UTC)", "flex": 2},
    {"field": "release", "headerName": "Release", "flex": 1},
    {"field": "browser", "headerName": "Browser", "flex": 1},
    {"field": "page_url", "headerName": "Page", "flex": 3},
]
GROUPING = {
    "frames": "the frames of its stack trace",
    "message": "its error type and message (in one wording for every browser)",
    "family": "its family of noisy errors",
    "fingerprint": "the fingerprint the page sent",
    "overflow": "the project's bound on new issues a minute",
}


def layout(issue_id: str | None = None, event: str | None = None, range: str | None = None, **_: Any) -> html.Div:
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="issue-url", refresh=False),
            dcc.Store(id="issue-id", data=id_number(issue_id)),
            dcc.Store(id="issue-event", data=(event or "")[:64] or None),
            html.Div(
                [
                    dcc.Link("← Issues", href="/issues", className="back"),
                    dcc.RadioItems(
                        id="issue-range",
                        value=range_key,
                        options=[{"label": label, "value": key} for key, (label, _) in RANGES.items()],
                        inline=True,
                    ),
                ],
                className="filters",
            ),
            html.Div(id="issue-notice", className="notice"),
            html.Div(id="issue-header", className="card issue-header"),
            _actions(),
            html.Div(
                [
                    html.Div(dcc.Graph(id="issue-trend", config={"displaylogo": False}), className="card wide"),
                    html.Div(id="issue-breakdowns", className="card breakdowns"),
                ],
                className="row",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(id="issue-event-nav", className="event-nav"),
                            event_view.minified_toggle("issue"),
                        ],
                        className="event-bar",
                    ),
                    html.Div(id="issue-event-view", className="event"),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H3("Its latest events"),
                    grid("issue-events", EVENT_COLUMNS),
                ],
                className="card",
            ),
            html.Div([html.H3("Activity"), html.Ul(id="issue-activity", className="activity")], className="card"),
            dcc.Store(id="issue-changed", data=0),
            dcc.Interval(id="issue-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _actions() -> html.Div:
    """Triage buttons; each acts as the logged-in user (dashboard/triage.py)."""
    return html.Div(
        [
            html.Div(
                [
                    html.Button("Resolve", id="issue-resolve", className="button"),
                    html.Button("Resolve in next release", id="issue-resolve-next", className="button"),
                    dcc.Input(
                        id="issue-release",
                        placeholder="release, as shop@2.4.0",
                        maxLength=200,
                        debounce=True,
                        className="short",
                    ),
                    html.Button("Resolve in release", id="issue-resolve-in", className="button"),
                    dcc.Dropdown(
                        id="issue-ignore",
                        placeholder="Ignore…",
                        options=[{"label": f"Ignore {label}", "value": label} for label in triage.IGNORE],
                        className="ignore",
                        searchable=False,
                    ),
                    html.Button("Reopen", id="issue-reopen", className="button"),
                    dcc.Input(
                        id="issue-merge-with",
                        placeholder="merge with #",
                        maxLength=200,
                        debounce=True,
                        className="short",
                    ),
                    html.Button("Merge", id="issue-merge", className="button"),
                ],
                className="actions",
            ),
            html.P(id="issue-action-result", className="hint", role="status"),
        ],
        className="card",
    )


@callback(
    Output("issue-action-result", "children"),
    Output("issue-changed", "data"),
    Output("issue-ignore", "value"),
    Input("issue-resolve", "n_clicks"),
    Input("issue-resolve-next", "n_clicks"),
    Input("issue-resolve-in", "n_clicks"),
    Input("issue-ignore", "value"),
    Input("issue-reopen", "n_clicks"),
    Input("issue-merge", "n_clicks"),
    State("issue-id", "data"),
    State("issue-release", "value"),
    State("issue-merge-with", "value"),
    State("issue-changed", "data"),
    prevent_initial_call=True,
)
def triage_issue(
    _resolve: int | None,
    _resolve_next: int | None,
    _resolve_in: int | None,
    ignore: str | None,
    _reopen: int | None,
    _merge: int | None,
    issue_id: int | None,
    release: str | None,
    merge_with: str | None,
    changed: int | None,
) -> tuple[Any, ...]:
    """The button pressed (or the ignore chosen), as the logged-in user; the page refreshes when it was done."""
    trigger = dash.ctx.triggered_id
    if issue_id is None or trigger is None or (trigger == "issue-ignore" and ignore not in triage.IGNORE):
        return dash.no_update, dash.no_update, None
    if trigger == "issue-ignore":
        done, message = triage.act("ignore", [issue_id], **triage.IGNORE[str(ignore)])
    elif trigger == "issue-resolve-in":
        done, message = triage.act("resolve_in_release", [issue_id], release=(release or "").strip())
    elif trigger == "issue-merge":
        numbers = re.findall(r"\d+", merge_with or "")[:50]
        if not numbers or any(len(n) > 15 for n in numbers):
            return "Name the issues to merge with this one by their numbers, as 12, 31.", dash.no_update, None
        others = [int(n) for n in numbers]
        done, message = triage.act("merge", [issue_id, *others], into=issue_id)
    else:
        action = {"issue-resolve": "resolve", "issue-resolve-next": "resolve_next_release", "issue-reopen": "reopen"}
        done, message = triage.act(action[str(trigger)], [issue_id])
    return message, (changed or 0) + 1 if done else dash.no_update, None


def _header(issue: dict[str, Any]) -> list[Any]:
    status = str(issue.get("status") or "").replace("_", " ")
    return [
        html.H2(str(issue.get("title") or f"Issue #{issue.get('issue_id')}"), className="issue-title"),
        html.P(
            [
                html.Span(str(issue.get("culprit") or "no culprit in the site's own code"), className="culprit"),
                html.Span(status, className=f"badge status-{issue.get('status')}"),
                html.Span(str(issue.get("level") or ""), className="badge"),
            ]
        ),
        html.Div(
            [
                kpi(f"{issue.get('events') or 0:,}", "Events"),
                kpi(f"{issue.get('users') or 0:,}", "Users"),
                kpi(f"{issue.get('sessions') or 0:,}", "Sessions"),
                kpi(
                    f"{when(issue.get('first_seen'))} · {issue.get('first_release') or 'no release'}",
                    "First seen",
                    small=True,
                ),
                kpi(
                    f"{when(issue.get('last_seen'))} · {issue.get('last_release') or 'no release'}",
                    "Last seen",
                    small=True,
                ),
            ],
            className="kpis",
        ),
        html.P(
            f"Grouped by {GROUPING.get(str(issue.get('grouping') or ''), 'the rules of an earlier version')}.",
            className="hint",
        ),
    ]


def _breakdown(by: str, rows: list[list[Any]]) -> html.Div:
    items = [
        html.Li(
            [
                html.Span(str(value), className="value"),
                html.Span(f"{share:.0%}", className="share"),
                html.Div(html.Div(style={"width": f"{share * 100:.1f}%"}, className="fill"), className="bar"),
            ]
        )
        for value, _, share in rows
    ]
    return html.Div([html.H4(BREAKDOWN_LABELS[by]), html.Ul(items or [html.Li("no events in the range")])])


@callback(
    Output("issue-header", "children"),
    Output("issue-trend", "figure"),
    Output("issue-breakdowns", "children"),
    Output("issue-event-nav", "children"),
    Output("issue-event-view", "children"),
    Output("issue-events", "rowData"),
    Output("issue-activity", "children"),
    Output("issue-notice", "children"),
    Output("issue-url", "search"),
    Input("issue-range", "value"),
    Input("issue-minified", "value"),
    Input("issue-refresh", "n_intervals"),
    Input("issue-changed", "data"),
    State("issue-id", "data"),
    State("issue-event", "data"),
)
def refresh(
    range_key: str | None,
    minified: list[str] | None,
    _: int | None,
    _changed: int | None,
    issue_id: int | None,
    event_id: str | None,
) -> tuple[Any, ...]:
    range_key = range_key if range_key in RANGES else None  # it goes into links: only the ranges offered
    url = search(range=range_key, event=event_id)
    since, until, bucket = time_range(range_key)
    trend = figure("Events per minute" if bucket == 60 else "Events over time", height=260)
    if issue_id is None:
        return [], trend, [], [], [], [], [], "No such issue: the address should end in its number, as /issues/12.", url
    read = client()
    try:
        found = read.query("issue", issue_id=issue_id)
        if not found.rows:
            return [], trend, [], [], [], [], [], f"There is no issue {issue_id}.", url
        issue = records(found)[0]
        window = {"project": issue["project"], "since": since, "until": until}
        series = read.query("issue_events_per_minute", issue_id=issue_id, bucket_seconds=bucket, **window)
        breakdowns = {
            by: read.query("issue_breakdown", issue_id=issue_id, by=by, since=since, until=until, limit=5).rows
            for by in BREAKDOWNS
        }
        chosen = read.query("issue_event", issue_id=issue_id, event_id=event_id)
        latest = read.query("issue_events", issue_id=issue_id, limit=50)
        activity = read.query("issue_activity", issue_id=issue_id, limit=50)
    except ReadApiError as e:
        return [], trend, [], [], [], [], [], f"No data: {e}", url
    time_bars(trend, series.rows, bucket, since, until, "events")
    cards = [_breakdown(by, rows) for by, rows in breakdowns.items()]
    if not chosen.rows:
        nav: list[Any] = [html.Span(f"No event {event_id} in this issue.", className="empty")]
        view: list[Any] = []
    else:
        event = records(chosen)[0]
        nav = _event_nav(issue_id, event, range_key)
        view = event_view.view(event, minified=bool(minified))
    rows = [
        {
            "event": markdown_link(str(r["event_id"]), _event_href(issue_id, str(r["event_id"]), range_key)),
            "ts": when(r["ts"]), "release": r["release"], "browser": r["browser"], "page_url": r["page_url"],
        }
        for r in records(latest)
    ]  # fmt: skip
    merged = issue.get("merged_into")
    notice = (
        dcc.Link(f"This issue was merged into issue #{merged}: its events are there.", href=f"/issues/{merged}")
        if merged
        else ""
    )
    return _header(issue), trend, cards, nav, view, rows, _activity(activity), notice, url


def _activity(activity: Result) -> list[Any]:
    items = [
        html.Li(
            [
                html.Span(f"{when(a['ts'])} UTC", className="when"),
                html.Span(str(a["actor"]), className="actor"),
                html.Span(str(a["detail"] or a["action"])),
            ]
        )
        for a in records(activity)
    ]
    return items or [html.Li("Nobody has triaged this issue yet. Resolve, ignore or merge it with the buttons above.")]


def _event_href(issue_id: int, event_id: str, range_key: str | None) -> str:
    return f"/issues/{issue_id}?event={quote(event_id, safe='')}" + (f"&range={range_key}" if range_key else "")


def _event_nav(issue_id: int, event: dict[str, Any], range_key: str | None) -> list[Any]:
    links: list[Any] = [html.Span(f"Event {event['event_id']} · {when(event['ts'])} UTC", className="event-id")]
    for label, key in (("← Newer", "newer"), ("Older →", "older")):
        target = event.get(key)
        links.append(
            dcc.Link(label, href=_event_href(issue_id, str(target), range_key), refresh=True, className="button")
            if target
            else html.Span(label, className="button disabled")
        )
    return links
