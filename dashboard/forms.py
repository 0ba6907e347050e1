"""The edit forms' shared shape: what a logged-in user changes in ``vigil.toml`` from a page.

Services (the Incidents page), rules, channels and silences (the Alerts page) are each a
table and a form under it: labelled fields in a grid, a save and a remove (or end) button,
and a line saying what was done. Clicking a row fills the form (``clicked_row``); saving
first checks who asks and what was given (``refusal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import auth, triage

#: The longest a form field may be (the form's own limit is 2,000; a request may say anything).
MAX_FIELD = 20_000


def text_input(id: str, label: str, placeholder: str = "", max_length: int = 2000) -> html.Label:
    return html.Label([label, dcc.Input(id=id, placeholder=placeholder, maxLength=max_length, className="wide-input")])


def dropdown(id: str, label: str, **options: Any) -> html.Label:
    return html.Label([label, dcc.Dropdown(id=id, **options)])


def edit_form(fields: Sequence[Component], buttons: Sequence[tuple[str, str]], *, result: str) -> list[Component]:
    """The fields in a grid with their buttons (label, id) under them, then the line ``result`` says what was done."""
    actions = html.Div([html.Button(label, id=id, className="button") for label, id in buttons], className="actions")
    return [
        html.Div([*fields, actions], className="service-form"),
        html.P(id=result, className="hint", role="status"),
    ]


def clicked_row(clicked: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The row of a table's ``rowData`` that ``cellClicked`` names, if any."""
    return next((r for r in rows or [] if clicked and r.get("id") == clicked.get("rowId")), None)


def refusal(what: str, project: str | None, name: str | None, *fields: str | None) -> str | None:
    """Why a save or remove of the ``what`` named ``name`` in ``project`` is not done, or None when it may be."""
    if auth.current_user() is None:
        return triage.LOG_IN
    if not project or not name:
        return f"Choose the project and name the {what}."
    if any(len(text or "") > MAX_FIELD for text in (project, name, *fields)):
        return f"Not saved: a field is longer than {MAX_FIELD:,} characters."
    return None
