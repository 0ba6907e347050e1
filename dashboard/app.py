"""The Dash app: pages from ``dashboard/pages``, data from the analytics read API."""

from __future__ import annotations

from pathlib import Path

import dash
import flask
from dash import dcc, html

from contracts.read_api import ReadClient
from dashboard.data import CLIENT_KEY
from dashboard.settings import DashboardSettings

HERE = Path(__file__).parent


def create_app(settings: DashboardSettings, client: ReadClient | None = None) -> dash.Dash:
    server = flask.Flask(__name__)
    server.config[CLIENT_KEY] = client or ReadClient(settings.analytics_url)
    server.config["VIGIL_REFRESH_MS"] = settings.refresh_seconds * 1000

    @server.get("/healthz")
    def healthz() -> flask.Response:
        return flask.jsonify(status="ok")

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
    app.layout = html.Div(
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
                ]
            ),
            dash.page_container,
        ],
        className="vigil",
    )
    return app
