"""The Alerts page's rules and channels: the card listing them, and its two forms (docs/alerts.md).

A logged-in user adds, changes or removes a project's rules and channels; they are written
to ``vigil.toml``, which the analytics service reads at its next evaluation. The page
(``dashboard/pages/alerts.py``) puts ``card()`` in its layout and ``config()`` in its
refresh; importing this module with it registers the forms' callbacks.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import dash
from dash import Input, Output, State, callback, html

from contracts.alerts import FORMATS, KINDS, Channel, Rule, parse_channel, parse_rule
from contracts.projects import load_projects, save_item
from contracts.settings import ConfigError
from dashboard import auth
from dashboard.data import data_dir
from dashboard.forms import clicked_row, dropdown, edit_form, refusal, text_input
from dashboard.widgets import grid

RULE_COLUMNS = [
    {"field": "project", "headerName": "Project", "width": 105},
    {"field": "name", "headerName": "Rule", "width": 160},
    {"field": "when", "headerName": "When", "width": 140},
    {"field": "settings", "headerName": "Settings", "flex": 1, "minWidth": 200, "wrapText": True, "autoHeight": True},
    {"field": "channels", "headerName": "Channels", "width": 200},
]
CHANNEL_COLUMNS = [
    {"field": "project", "headerName": "Project", "width": 105},
    {"field": "name", "headerName": "Channel", "width": 160},
    {"field": "target", "headerName": "Goes to", "flex": 1},
]


def card() -> html.Div:
    """The rules and channels of every project, and the forms that edit them."""
    settings_hint = "; ".join(f"{kind}: {', '.join(takes) or 'none'}" for kind, (_, takes) in KINDS.items())
    kinds = [{"label": f"{k}: {what}", "value": k} for k, (what, _) in KINDS.items()]
    return html.Div(
        [
            html.H3("Rules and channels"),
            html.P(
                "Each rule watches one thing (when) and notifies its channels; a rule without channels is kept in "
                f"the history only. Settings by kind: {settings_hint}. Click a rule or channel to edit it.",
                className="hint",
            ),
            html.P(id="rules-empty", className="empty"),
            grid("rules-table", RULE_COLUMNS, row_id="id"),
            *edit_form(
                [
                    dropdown("rule-project", "Project", placeholder="Project"),
                    text_input("rule-name", "Rule", "as checkout down"),
                    dropdown("rule-when", "When", placeholder="What fires it", options=kinds),
                    text_input("rule-settings", "Settings", "as checks = checkout-api; or metric = memory; above = 95"),
                    text_input("rule-channels", "Channels", "as ops-mail, ops-chat"),
                ],
                [("Save rule", "rule-save"), ("Remove rule", "rule-remove")],
                result="rule-result",
            ),
            grid("channels-table", CHANNEL_COLUMNS, row_id="id"),
            *edit_form(
                [
                    dropdown("channel-project", "Project", placeholder="Project"),
                    text_input("channel-name", "Channel", "as ops-mail"),
                    text_input("channel-target", "E-mail addresses or webhook URL", "as ops@shop.example"),
                    dropdown("channel-format", "Webhook format", value="vigil", clearable=False, options=list(FORMATS)),
                ],
                [("Save channel", "channel-save"), ("Remove channel", "channel-remove")],
                result="channel-result",
            ),
        ],
        className="card",
    )


def config() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[str]], str]:
    """(rules, channels, rule names by project, a notice) from vigil.toml."""
    try:
        projects = sorted(load_projects(data_dir()).values(), key=lambda p: p.name)
    except ConfigError as e:
        return [], [], {}, f"The rules cannot be read: {e}"
    rules = [{"id": f"{p.name}\x00{r.name}", "project": p.name, "name": r.name, "when": r.when,
              "settings": r.settings_text(), "channels": ", ".join(r.channels) or "(history only)"}
             for p in projects for r in p.alerts]  # fmt: skip
    channels = [{"id": f"{p.name}\x00{c.name}", "project": p.name, "name": c.name, "target": c.target,
                 "format": c.format}
                for p in projects for c in p.channels]  # fmt: skip
    return rules, channels, {p.name: [r.name for r in p.alerts] for p in projects}, ""


@callback(
    Output("rule-project", "value"),
    Output("rule-name", "value"),
    Output("rule-when", "value"),
    Output("rule-settings", "value"),
    Output("rule-channels", "value"),
    Input("rules-table", "cellClicked"),
    State("rules-table", "rowData"),
    prevent_initial_call=True,
)
def fill_rule(clicked: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    row = clicked_row(clicked, rows)
    if row is None:
        return (dash.no_update,) * 5
    channels = "" if row["channels"] == "(history only)" else row["channels"]
    return row["project"], row["name"], row["when"], row["settings"], channels


def parse_settings(text: str) -> dict[str, Any]:
    """``checks = a, b; minutes = 5`` → ``{"checks": ["a", "b"], "minutes": 5}`` (lists and numbers as a kind takes
    them; ``parse_rule`` says what is wrong)."""
    settings: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key:
            raise ValueError(f"settings: {part[:40]!r} is not key = value")
        if key in ("checks", "regions", "hosts", "on"):
            settings[key] = [v for v in re.split(r"[\s,]+", value) if v]
        elif re.fullmatch(r"-?[0-9]+", value):
            settings[key] = int(value)
        elif re.fullmatch(r"-?[0-9]*\.[0-9]+", value):
            settings[key] = float(value)
        else:
            settings[key] = value
    return settings


@callback(
    Output("rule-result", "children"),
    Input("rule-save", "n_clicks"),
    Input("rule-remove", "n_clicks"),
    State("rule-project", "value"),
    State("rule-name", "value"),
    State("rule-when", "value"),
    State("rule-settings", "value"),
    State("rule-channels", "value"),
    prevent_initial_call=True,
)
def edit_rule(_save: int | None, _remove: int | None, project: str | None, name: str | None, kind: str | None,
              settings: str | None, channels: str | None) -> str:  # fmt: skip
    if refused := refusal("rule", project, name, kind, settings, channels):
        return refused
    assert project  # refusal() saw to both
    assert name
    name = name.strip()
    try:
        if dash.ctx.triggered_id == "rule-remove":
            save_item(data_dir(), project, "alerts", name, None)
            return f"Removed rule {name} from {project}."
        raw = {"name": name, "when": kind, **parse_settings(settings or ""),
               "channels": [c for c in re.split(r"[\s,]+", channels or "") if c]}  # fmt: skip
        rule: Rule = parse_rule(raw, "rule")
        save_item(data_dir(), project, "alerts", name, rule.as_toml())
    except (ConfigError, ValueError) as e:
        return f"Not saved: {e}"
    return f"Saved rule {name} in {project}; the analytics service uses it from its next evaluation."


@callback(
    Output("channel-project", "value"),
    Output("channel-name", "value"),
    Output("channel-target", "value"),
    Output("channel-format", "value"),
    Input("channels-table", "cellClicked"),
    State("channels-table", "rowData"),
    prevent_initial_call=True,
)
def fill_channel(clicked: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    row = clicked_row(clicked, rows)
    if row is None:
        return (dash.no_update,) * 4
    # A webhook's whole URL (its path is often its secret) goes only to a logged-in user, and only here.
    target = ""
    if auth.current_user() is not None:
        with contextlib.suppress(ConfigError):
            found = {(p.name, c.name): c for p in load_projects(data_dir()).values() for c in p.channels}
            channel = found.get((row["project"], row["name"]))
            target = (", ".join(channel.email) or channel.webhook) if channel else ""
    return row["project"], row["name"], target, row["format"]


@callback(
    Output("channel-result", "children"),
    Input("channel-save", "n_clicks"),
    Input("channel-remove", "n_clicks"),
    State("channel-project", "value"),
    State("channel-name", "value"),
    State("channel-target", "value"),
    State("channel-format", "value"),
    prevent_initial_call=True,
)
def edit_channel(_save: int | None, _remove: int | None, project: str | None, name: str | None, target: str | None,
                 form: str | None) -> str:  # fmt: skip
    if refused := refusal("channel", project, name, target, form):
        return refused
    assert project  # refusal() saw to both
    assert name
    name, target = name.strip(), (target or "").strip()
    try:
        if dash.ctx.triggered_id == "channel-remove":
            save_item(data_dir(), project, "channels", name, None)
            return f"Removed channel {name} from {project}."
        if target.startswith(("http://", "https://")):
            raw: dict[str, Any] = {"name": name, "webhook": target, "format": form or "vigil"}
        else:
            raw = {"name": name, "email": [a for a in re.split(r"[\s,;]+", target) if a]}
        channel: Channel = parse_channel(raw, "channel")
        save_item(data_dir(), project, "channels", name, channel.as_toml())
    except (ConfigError, ValueError) as e:
        return f"Not saved: {e}"
    return f"Saved channel {name} in {project}."
