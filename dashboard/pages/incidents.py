"""Incidents: each spike of client failures, and whether it was your backend, the network, a third party or your code.

Linkable: ``/incidents?project=shop&range=7d&status=open``. The list shows every incident
during the range, the latest first, with its verdict, confidence and one-line summary; an
incident's number opens its page (``/incidents/12``): the timeline and the evidence. Below,
each project's services (what its pages call, and the checks, hosts and backend projects
behind them) are listed, and edited by a logged-in user: correlation reads them from
``vigil.toml`` (docs/correlation.md).
"""

from __future__ import annotations

import re
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from contracts.projects import load_projects, save_service
from contracts.read_api import ReadApiError
from contracts.services import Service, parse_service
from contracts.settings import ConfigError
from dashboard.data import RANGES, client, data_dir, time_range
from dashboard.forms import clicked_row, dropdown, edit_form, refusal, text_input
from dashboard.incident_view import VERDICTS
from dashboard.widgets import filters, grid, markdown_link, project_options, records, refresh_ms, search, when

dash.register_page(__name__, path="/incidents", name="Incidents", title="Vigil · Incidents", order=3)

DEFAULT_RANGE = "7d"
STATUSES = {"": "Open and closed", "open": "Open", "closed": "Closed"}
EMPTY = (
    "No incidents in this range. Vigil opens one when a client series (the error rate, failed requests or "
    "browsers' network error reports per host, failed resources, a Web Vital) spikes against its own last day. "
    "Declare your services below so it can tell your backend from a third party."
)
COLUMNS = [
    {"field": "incident", "headerName": "Incident", "cellRenderer": "markdown", "width": 95},
    {"field": "verdict", "headerName": "Verdict", "width": 170},
    {"field": "summary", "headerName": "Summary", "flex": 1, "minWidth": 320, "wrapText": True, "autoHeight": True},
    {"field": "confidence", "headerName": "Confidence", "width": 115},
    {"field": "project", "headerName": "Project", "width": 110},
    {"field": "started", "headerName": "Started (UTC)", "width": 165},
    {"field": "status", "headerName": "Status", "width": 175},
    {"field": "feedback", "headerName": "Judged", "width": 130, "wrapText": True, "autoHeight": True},
]
SERVICE_COLUMNS = [
    {"field": "project", "headerName": "Project", "maxWidth": 130},
    {"field": "name", "headerName": "Service", "maxWidth": 170},
    *[{"field": key, "headerName": label, "flex": 1, "wrapText": True, "autoHeight": True}
      for key, label in (("domains", "Hosts its pages call"), ("url_prefixes", "URL prefixes"),
                         ("checks", "Probe checks"), ("hosts", "Machines"), ("backend_projects", "Backend projects"))],
]  # fmt: skip
FIELDS = ("domains", "url_prefixes", "checks", "hosts", "backend_projects")


def layout(project: str | None = None, range: str | None = None, status: str | None = None, **_: Any) -> html.Div:
    range_key = range if range in RANGES else DEFAULT_RANGE
    chosen = status if status in STATUSES else ""
    return html.Div(
        [
            dcc.Location(id="incidents-url", refresh=False),
            filters(
                "incidents",
                project,
                range_key,
                dcc.RadioItems(
                    id="incidents-status",
                    value=chosen,
                    inline=True,
                    options=[{"label": label, "value": key} for key, label in STATUSES.items()],
                ),
            ),
            html.Div(id="incidents-notice", className="notice"),
            html.Div(
                [
                    html.H3("Incidents, the latest first"),
                    html.P(id="incidents-empty", className="empty"),
                    grid("incidents-table", COLUMNS, row_id="id"),
                ],
                className="card",
            ),
            _services(),
            dcc.Interval(id="incidents-refresh", interval=refresh_ms()),
        ],
        className="page",
    )


def _services() -> html.Div:
    return html.Div(
        [
            html.H3("Services: what your pages call, and what watches and serves it"),
            html.P(
                "A failing request's host names its service; the service names the checks, machines and backend "
                "projects to look at. Without one, a check whose URL has the failing host is taken as watching "
                "it (and said to be inferred). Click a service to edit it; lists are separated by commas.",
                className="hint",
            ),
            html.P(id="services-empty", className="empty"),
            grid("services-table", SERVICE_COLUMNS, row_id="id"),
            *edit_form(
                [
                    dropdown("service-project", "Project", placeholder="Project"),
                    text_input("service-name", "Service", "as checkout-api", max_length=63),
                    text_input("service-domains", "Hosts its pages call", "as api.shop.example, *.cdn.example"),
                    text_input("service-url_prefixes", "URL prefixes", "as https://shop.example/api/"),
                    text_input("service-checks", "Probe checks watching it", "as checkout-api"),
                    text_input("service-hosts", "Machines serving it", "as api-7"),
                    text_input("service-backend_projects", "Backend projects (server-side errors)", "as shop-api"),
                ],
                [("Save service", "service-save"), ("Remove service", "service-remove")],
                result="service-result",
            ),
        ],
        className="card",
    )


def _service_rows() -> tuple[list[dict[str, Any]], list[str], str]:
    """(rows, project names, a notice) from vigil.toml."""
    try:
        projects = load_projects(data_dir())
    except ConfigError as e:
        return [], [], f"The services cannot be read: {e}"
    rows = [
        {"id": f"{p.name}\x00{s.name}", "project": p.name, "name": s.name,
         **{key: ", ".join(getattr(s, key)) for key in FIELDS}}
        for p in sorted(projects.values(), key=lambda p: p.name) for s in p.services
    ]  # fmt: skip
    return rows, sorted(p.name for p in projects.values()), ""


@callback(
    Output("incidents-table", "rowData"),
    Output("incidents-empty", "children"),
    Output("incidents-project", "options"),
    Output("incidents-notice", "children"),
    Output("incidents-url", "search"),
    Output("services-table", "rowData"),
    Output("services-empty", "children"),
    Output("service-project", "options"),
    Input("incidents-project", "value"),
    Input("incidents-range", "value"),
    Input("incidents-status", "value"),
    Input("incidents-refresh", "n_intervals"),
    Input("service-result", "children"),
)
def refresh(project: str | None, range_key: str | None, status: str | None, *_: Any) -> tuple[Any, ...]:
    range_key = range_key if range_key in RANGES else None
    status = status if status in ("open", "closed") else None
    since, until, _bucket = time_range(range_key or DEFAULT_RANGE)
    url = search(project=project, range=range_key, status=status)
    services, names, services_notice = _service_rows()
    services_empty = "" if services else "No services declared yet: add one below, or in vigil.toml."
    read = client()
    try:
        found = records(read.query("incidents", project=project, since=since, until=until, incident_status=status))
        projects = [r[0] for r in read.query("projects").rows]
    except ReadApiError as e:
        return [], "", dash.no_update, f"No data: {e}", url, services, services_empty, names
    rows = [
        {
            "id": str(i["incident_id"]),
            "incident": markdown_link(f"#{i['incident_id']}", f"/incidents/{i['incident_id']}"),
            "verdict": VERDICTS.get(i["verdict"], i["verdict"]),
            "summary": i["summary"],
            "confidence": f"{float(i['confidence']):.0%}",
            "project": i["project"],
            "status": f"closed {when(i['closed_at'])[:16]}" if i["closed_at"] else "open",
            "started": when(i["started_at"]),
            "feedback": f"{i['feedback']} ({i['feedback_by']})" if i["feedback"] else "",
        }
        for i in found
    ]
    options = project_options(sorted(set(projects) | set(names)), project)
    return rows, "" if rows else EMPTY, options, services_notice, url, services, services_empty, names


@callback(
    Output("service-project", "value"),
    Output("service-name", "value"),
    *[Output(f"service-{key}", "value") for key in FIELDS],
    Input("services-table", "cellClicked"),
    State("services-table", "rowData"),
    prevent_initial_call=True,
)
def fill_form(clicked: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """The clicked service in the form, to change it."""
    row = clicked_row(clicked, rows)
    if row is None:
        return (dash.no_update,) * (2 + len(FIELDS))
    return row["project"], row["name"], *(row[key] for key in FIELDS)


@callback(
    Output("service-result", "children"),
    Input("service-save", "n_clicks"),
    Input("service-remove", "n_clicks"),
    State("service-project", "value"),
    State("service-name", "value"),
    *[State(f"service-{key}", "value") for key in FIELDS],
    prevent_initial_call=True,
)
def edit_service(_save: int | None, _remove: int | None, project: str | None, name: str | None,
                 *lists: str | None) -> str:  # fmt: skip
    """Save or remove a service of a project in vigil.toml, as the logged-in user."""
    if refused := refusal("service", project, name, *lists):
        return refused
    assert project  # refusal() saw to both
    assert name
    name = name.strip()
    try:
        if dash.ctx.triggered_id == "service-remove":
            save_service(data_dir(), project, name, None)
            return f"Removed {name} from {project}."
        raw = {key: [v for v in re.split(r"[\s,]+", text or "") if v] for key, text in zip(FIELDS, lists, strict=True)}
        service: Service = parse_service({"name": name, **raw}, "service")
        save_service(data_dir(), project, name, service)
    except (ConfigError, ValueError) as e:
        return f"Not saved: {e}"
    return f"Saved {name} in {project}; correlation uses it from its next minute."
