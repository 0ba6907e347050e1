"""Alerts: what fires now, what fired and how each channel was told, silences, and each project's rules.

Linkable: ``/alerts?project=shop&range=24h``. "Firing now" lists the subjects of each rule
that have not resolved; the history lists every alert (fired, resolved, changed) with its
delivery per channel: waiting for its group, pending (with attempts and the last error),
sent, failed, or kept quiet by a silence. A logged-in user silences a project (or one rule,
or the alerts whose subject contains some text) until an end time, ends a silence, and adds,
changes or removes rules and channels (``dashboard/alert_rules.py``), which the analytics
service reads from ``vigil.toml`` at its next evaluation (docs/alerts.md).
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from contracts.alerts import delivery_text
from contracts.read_api import ReadApiError
from dashboard import alert_rules, auth, triage
from dashboard.data import RANGES, client, time_range
from dashboard.forms import MAX_FIELD, dropdown, edit_form, text_input
from dashboard.widgets import filters, grid, markdown_link, project_options, records, refresh_ms, search, when

dash.register_page(__name__, path="/alerts", name="Alerts", title="Vigil · Alerts", order=4)

DEFAULT_RANGE = "24h"
SILENCE_FOR = {"30 minutes": 30, "1 hour": 60, "4 hours": 240, "1 day": 1440, "1 week": 10080}
EMPTY_HISTORY = (
    "No alerts in this range. Add a rule below (or in vigil.toml, docs/alerts.md): a check down, a new issue, "
    "an incident opened… and a channel (e-mail or a webhook) for it to notify."
)
HISTORY_COLUMNS = [
    {"field": "ts", "headerName": "When (UTC)", "width": 165},
    {"field": "project", "headerName": "Project", "width": 105},
    {"field": "rule", "headerName": "Rule", "width": 150},
    {"field": "action", "headerName": "", "width": 95},
    {"field": "title", "headerName": "Alert", "cellRenderer": "markdown", "flex": 1, "minWidth": 320,
     "wrapText": True, "autoHeight": True},
    {"field": "delivery", "headerName": "Delivery", "width": 280, "wrapText": True, "autoHeight": True},
]  # fmt: skip
FIRING_COLUMNS = [
    {"field": "since", "headerName": "Since (UTC)", "width": 165},
    {"field": "project", "headerName": "Project", "width": 105},
    {"field": "rule", "headerName": "Rule", "width": 150},
    {"field": "title", "headerName": "What", "flex": 1, "minWidth": 320, "wrapText": True, "autoHeight": True},
    {"field": "notified", "headerName": "Told", "width": 110},
]
SILENCE_COLUMNS = [
    {"field": "silence_id", "headerName": "#", "width": 70},
    {"field": "project", "headerName": "Project", "width": 105},
    {"field": "what", "headerName": "Keeps quiet", "flex": 1, "minWidth": 200},
    {"field": "until", "headerName": "Until (UTC)", "width": 165},
    {"field": "state", "headerName": "", "width": 90},
    {"field": "by", "headerName": "By", "width": 110},
    {"field": "reason", "headerName": "Why", "flex": 1, "minWidth": 160},
    {"field": "quiet", "headerName": "Alerts kept quiet", "width": 140},
]


def layout(project: str | None = None, range: str | None = None, **_: Any) -> html.Div:
    range_key = range if range in RANGES else DEFAULT_RANGE
    return html.Div(
        [
            dcc.Location(id="alerts-url", refresh=False),
            filters("alerts", project, range_key),
            html.Div(id="alerts-notice", className="notice"),
            html.Div(
                [
                    html.H3("Firing now"),
                    html.P(id="alerts-firing-empty", className="empty"),
                    grid("alerts-firing", FIRING_COLUMNS, row_id="id"),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H3("History: every alert, and how each channel was told"),
                    html.P(id="alerts-empty", className="empty"),
                    grid("alerts-history", HISTORY_COLUMNS, row_id="id"),
                ],
                className="card",
            ),
            _silences(),
            alert_rules.card(),
            dcc.Interval(id="alerts-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _silences() -> html.Div:
    durations = [{"label": k, "value": v} for k, v in SILENCE_FOR.items()]
    return html.Div(
        [
            html.H3("Silences"),
            html.P(
                "A silence keeps a project's alerts (or one rule's, or those whose subject contains some text) from "
                "being sent until its end; they stay in the history. Click a silence to end it.",
                className="hint",
            ),
            html.P(id="silences-empty", className="empty"),
            grid("silences-table", SILENCE_COLUMNS, row_id="id"),
            dcc.Store(id="silence-chosen"),
            *edit_form(
                [
                    dropdown("silence-project", "Project", placeholder="Project"),
                    dropdown("silence-rule", "Rule", placeholder="Every rule"),
                    text_input("silence-subject", "Subject contains", "as checkout-api"),
                    dropdown("silence-for", "For", value=60, clearable=False, options=durations),
                    text_input("silence-reason", "Why", "as deploy of the API"),
                ],
                [("Silence", "silence-save"), ("End the chosen silence", "silence-end")],
                result="silence-result",
            ),
        ],
        className="card",
    )


def _path(alert: dict[str, Any]) -> str:
    """The dashboard page an alert points at (its issue, incident or check)."""
    path = json.loads(alert["detail"] or "{}").get("path")
    return path if isinstance(path, str) and path.startswith("/") else "/alerts"


def _silenced(silence: dict[str, Any]) -> str:
    what = f"rule {silence['rule']}" if silence["rule"] else "every rule"
    return what + (f", about “{silence['subject']}”" if silence["subject"] else "")


@callback(
    Output("alerts-history", "rowData"),
    Output("alerts-empty", "children"),
    Output("alerts-firing", "rowData"),
    Output("alerts-firing-empty", "children"),
    Output("silences-table", "rowData"),
    Output("silences-empty", "children"),
    Output("rules-table", "rowData"),
    Output("channels-table", "rowData"),
    Output("rules-empty", "children"),
    Output("alerts-project", "options"),
    Output("silence-project", "options"),
    Output("rule-project", "options"),
    Output("channel-project", "options"),
    Output("alerts-notice", "children"),
    Output("alerts-url", "search"),
    Input("alerts-project", "value"),
    Input("alerts-range", "value"),
    Input("alerts-refresh", "n_intervals"),
    Input("silence-result", "children"),
    Input("rule-result", "children"),
    Input("channel-result", "children"),
)
def refresh(project: str | None, range_key: str | None, *_: Any) -> tuple[Any, ...]:
    range_key = range_key if range_key in RANGES else None
    since, until, _bucket = time_range(range_key or DEFAULT_RANGE)
    url = search(project=project, range=range_key)
    rules, channels, names, notice = alert_rules.config()
    rules_empty = "" if rules else "No rules yet: add one below (and a channel for it to notify)."
    configured = list(names)
    read = client()
    try:
        history = records(read.query("alerts", project=project, since=since, until=until, limit=500))
        firing = records(read.query("alerts_firing", project=project))
        silences = records(read.query("silences", project=project, since=since, until=until))
        known = [r[0] for r in read.query("projects").rows]
    except ReadApiError as e:
        none: list[Any] = []
        return (none, "", none, "", none, "", rules, channels, rules_empty, dash.no_update, configured, configured,
                configured, f"No data: {e}", url)  # fmt: skip
    history_rows = [
        {"id": str(a["alert_id"]), "ts": when(a["ts"]), "project": a["project"], "rule": a["rule"],
         "action": a["action"], "title": markdown_link(a["title"], _path(a)),
         "delivery": delivery_text(a["deliveries"], a["silence_id"])}
        for a in history
    ]  # fmt: skip
    firing_rows = [
        {"id": f"{f['project']}\x00{f['rule']}\x00{f['subject']}", "since": when(f["since"]), "project": f["project"],
         "rule": f["rule"], "title": f["title"], "notified": "yes" if f["notified"] else "silenced"}
        for f in firing
    ]  # fmt: skip
    silence_rows = [
        {"id": str(s["silence_id"]), "silence_id": s["silence_id"], "project": s["project"],
         "what": _silenced(s),
         "until": when(s["ends_at"]), "state": "active" if s["active"] else "over",
         "by": (s["ended_by"] and f"{s['created_by']} (ended by {s['ended_by']})") or s["created_by"],
         "reason": s["reason"] or "", "quiet": s["alerts_kept_quiet"]}
        for s in silences
    ]  # fmt: skip
    options = project_options(sorted(set(known) | set(names)), project)
    return (
        history_rows, "" if history_rows else EMPTY_HISTORY,
        firing_rows, "" if firing_rows else "Nothing fires now.",
        silence_rows, "" if silence_rows else "No silences in this range.",
        rules, channels, rules_empty, options, configured, configured, configured, notice, url,
    )  # fmt: skip


@callback(Output("silence-rule", "options"), Input("silence-project", "value"))
def silence_rules(project: str | None) -> list[str]:
    return alert_rules.config()[2].get(project or "", [])


@callback(Output("silence-chosen", "data"), Input("silences-table", "cellClicked"), prevent_initial_call=True)
def choose_silence(clicked: dict[str, Any] | None) -> str | None:
    return str(clicked.get("rowId")) if clicked else None


@callback(
    Output("silence-result", "children"),
    Input("silence-save", "n_clicks"),
    Input("silence-end", "n_clicks"),
    State("silence-project", "value"),
    State("silence-rule", "value"),
    State("silence-subject", "value"),
    State("silence-for", "value"),
    State("silence-reason", "value"),
    State("silence-chosen", "data"),
    prevent_initial_call=True,
)
def edit_silence(_save: int | None, _end: int | None, project: str | None, rule: str | None, subject: str | None,
                 minutes: int | None, reason: str | None, chosen: str | None) -> str:  # fmt: skip
    if auth.current_user() is None:
        return triage.LOG_IN
    if any(len(str(text or "")) > MAX_FIELD for text in (project, rule, subject, reason)):
        return f"Not done: a field is longer than {MAX_FIELD:,} characters."
    if dash.ctx.triggered_id == "silence-end":
        if not chosen or not chosen.isdigit():
            return "Click the silence to end in the list first."
        return triage.end_silence(int(chosen))[1]
    if not project:
        return "Choose the project to silence."
    if minutes not in SILENCE_FOR.values():
        return "Choose how long."
    return triage.silence(project, rule or "", subject or "", int(minutes or 0), reason or "")[1]
