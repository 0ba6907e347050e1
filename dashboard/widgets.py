"""Pieces the pages share: the filter bar, figures, times, and escaping for Plotly labels.

Everything here renders event text as text: Dash components escape it, and Plotly labels go
through ``plotly_text`` first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape as html_escape
from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
import flask
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from contracts.queries import MAX_PARAM
from contracts.read_api import Result
from dashboard.data import RANGES


def plotly_text(value: object) -> str:
    """Event text for a Plotly label: Plotly reads a subset of HTML there (links, <b>, <br>), so escape it."""
    return html_escape(str(value), quote=False)


def refresh_ms() -> int:
    """How often an open page asks again (``[dashboard] refresh_seconds``)."""
    config = flask.current_app.config if flask.has_app_context() else {}
    return int(config.get("VIGIL_REFRESH_MS", 10_000))


def figure(title: str, height: int = 320) -> go.Figure:
    """An empty figure in the dashboard's look."""
    fig = go.Figure()
    fig.update_layout(title=title, margin={"l": 40, "r": 10, "t": 40, "b": 30}, height=height, template="plotly_white")
    return fig


def kpi(value: Any, label: str, *, small: bool = False) -> html.Div:
    """A figure tile: the value (text, or a component such as a link) over its label."""
    shown = value if isinstance(value, Component) else html.Div(value, className="value")
    return html.Div([shown, html.Div(label, className="label")], className="kpi small" if small else "kpi")


def every(bucket_seconds: int) -> str:
    """A time bucket in words, for a figure's title: ``1 min``, ``10 min``."""
    return f"{bucket_seconds // 60} min"


def choices(id: str, value: str | None, options: dict[str, str], default: str, **more: Any) -> dcc.RadioItems:
    """Radio buttons for one of ``options`` (value → label), the URL's value kept when it is one of them."""
    listed = [{"label": label, "value": key} for key, label in options.items()]
    return dcc.RadioItems(id=id, value=value if value in options else default, inline=True, options=listed, **more)


def bounded(value: str | None) -> str | None:
    """A value from a URL or a dropdown, cut to what the read API takes as a parameter; empty is none."""
    return (value or "")[:MAX_PARAM] or None


def filters(prefix: str, project: str | None, range_key: str, *extra: Any) -> html.Div:
    """The project dropdown and range choice, ids ``{prefix}-project`` and ``{prefix}-range``, then ``extra``."""
    return html.Div(
        [
            dcc.Dropdown(
                id=f"{prefix}-project",
                value=project or None,
                placeholder="All projects",
                className="project",
                options=[{"label": project, "value": project}] if project else [],
            ),
            dcc.RadioItems(
                id=f"{prefix}-range",
                value=range_key,
                options=[{"label": label, "value": key} for key, (label, _) in RANGES.items()],
                inline=True,
            ),
            *extra,
        ],
        className="filters",
    )


def choice(id: str, value: str | None, placeholder: str) -> dcc.Dropdown:
    """A dropdown for one value of many (a host, a check, a page), holding the URL's value until its options arrive."""
    return dcc.Dropdown(id=id, value=value, placeholder=placeholder, className="facet",
                        options=[{"label": value, "value": value}] if value else [])  # fmt: skip


def search(**params: object) -> str:
    """The URL query for a view; empty values are left out."""
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def project_options(names: list[str], project: str | None) -> list[dict[str, str]]:
    """Dropdown options for the known projects, keeping the selected one even when it has no data."""
    known = sorted(set(names) | ({project} if project else set()))
    return [{"label": name, "value": name} for name in known]


def grid(
    id: str,
    columns: list[dict[str, Any]],
    *,
    row_id: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    row_class_rules: dict[str, str] | None = None,
    **options: Any,
) -> dag.AgGrid:
    """A sortable, paged ag-grid of ``columns`` in the dashboard's look; ``row_id`` names the field that keeps a
    row (and its selection) the same thing across refreshes; ``options`` add to its grid options."""
    keyed = {"getRowId": f"params.data.{row_id}"} if row_id else {}
    return dag.AgGrid(
        id=id,
        columnDefs=columns,
        rowData=rows or [],
        rowClassRules=row_class_rules or {},
        **keyed,
        defaultColDef={"sortable": True, "resizable": True},
        dashGridOptions={
            "domLayout": "autoHeight",
            "pagination": True,
            "paginationPageSize": 20,
            "suppressColumnVirtualisation": True,  # every column in the page, scrolled or not
            **options,
        },
        className="ag-theme-alpine",
    )


def when(value: object) -> str:
    """A stored time as ``YYYY-MM-DD HH:MM:SS`` (UTC); empty when there is none."""
    return str(value)[:19].replace("T", " ") if value else ""


def records(result: Result) -> list[dict[str, Any]]:
    """A query's rows as dicts keyed by column."""
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~"})


def markdown_text(text: str) -> str:
    """Event text for a grid's markdown cell that is not a link: escaped, on one line."""
    return " ".join(text.split()).translate(_MARKDOWN_SPECIALS)


def markdown_link(text: str, href: str) -> str:
    """A link for a grid's markdown cell: the text escaped (event text must stay text), the href built by us."""
    return f"[{markdown_text(text)}]({href})"  # one line: no headings, no breaks


def time_bars(fig: go.Figure, rows: list[list[Any]], bucket_seconds: int, since: str, until: str, name: str) -> None:
    """Counts per time bucket as bars over the whole range, each as wide as its bucket.

    Plotly sizes a bar on a time axis by the gap to its neighbour: a lone bucket (837 errors
    in one hour) was drawn a millisecond wide, so not at all. The width is given here, and
    the range ends a bucket after ``until`` so the last bar is not cut in half.
    """
    width_ms = bucket_seconds * 1000 * 0.9
    fig.add_bar(x=[r[0] for r in rows], y=[r[1] for r in rows], name=name, width=[width_ms] * len(rows))
    end = datetime.fromisoformat(until.rstrip("Z")) + timedelta(seconds=bucket_seconds)
    fig.update_xaxes(range=[since.rstrip("Z"), end.isoformat()])


def id_number(raw: object) -> int | None:
    """An issue's or an incident's id from a URL or a grid row: ASCII digits only (``isdigit`` takes "²"),
    within the id range."""
    text = str(raw) if raw is not None else ""
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**53 else None
