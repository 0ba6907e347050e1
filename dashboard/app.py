"""The Dash app: pages from ``dashboard/pages``, data from the analytics read API."""

from __future__ import annotations

from pathlib import Path

import dash
import flask
from dash import dcc, html

from contracts.read_api import ReadClient
from dashboard import auth, reports
from dashboard.data import CLIENT_KEY, SETTINGS_KEY
from dashboard.settings import DashboardSettings

HERE = Path(__file__).parent


def create_app(settings: DashboardSettings, client: ReadClient | None = None) -> dash.Dash:
    server = flask.Flask(__name__)
    server.config[CLIENT_KEY] = client or ReadClient(settings.analytics_url)
    server.config[SETTINGS_KEY] = settings
    server.config["VIGIL_REFRESH_MS"] = settings.refresh_seconds * 1000

    @server.get("/healthz")
    def healthz() -> flask.Response:
        return flask.jsonify(status="ok")

    @server.get("/reports/<project>/<day>.<form>")
    def stored_report(project: str, day: str, form: str) -> flask.Response:
        return reports.stored(project, day, form)

    app = dash.Dash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash accepts a Flask app; its hint says bool
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="Vigil",
        update_title=None,  # type: ignore[arg-type]  # None turns the "Updating…" title off
        suppress_callback_exceptions=True,
    )
    app.layout = _layout
    auth.install(server, settings, app.csp_hashes)
    return app


def _layout() -> html.Div:
    """Each page load's frame: the navigation, who is logged in, and the page."""
    return html.Div(
        [
            html.Header(
                [
                    html.A("Vigil", href="/", className="brand"),
                    html.Nav(
                        [
                            dcc.Link(page["name"], href=page["relative_path"])
                            for page in dash.page_registry.values()
                            if not page.get("path_template")  # one issue's page is reached from the issues
                        ]
                    ),
                    _account(),
                ]
            ),
            dash.page_container,
        ],
        className="vigil",
    )


def _account() -> html.Div:
    user = auth.current_user() if flask.has_request_context() else None
    if user is None:
        return html.Div(className="account")
    return html.Div(
        html.Form(
            [
                html.Span(user, className="user", id="account-user"),
                dcc.Input(type="hidden", name="csrf_token", value=auth.csrf_token()),
                html.Button("Log out", type="submit", id="logout", className="link-button"),
            ],
            method="POST",
            action="/logout",
        ),
        className="account",
    )
