"""Serve the dashboard: the Dash (Flask) app under uvicorn, like every other Vigil server."""

from __future__ import annotations

import uvicorn
from a2wsgi import WSGIMiddleware

from contracts.settings import ConfigError
from dashboard.app import create_app
from dashboard.auth import loopback
from dashboard.settings import DashboardSettings
from dashboard.users import Users, users_file


def serve(settings: DashboardSettings) -> None:
    """Run until SIGTERM/SIGINT; refuses an address other than loopback while there is no user to log in."""
    if not (settings.host == "localhost" or loopback(settings.host)) and not Users(users_file(settings.data_dir)).any():
        raise ConfigError(
            f"the dashboard listens on {settings.host}, beyond this machine, but has no user to log in: "
            "create one with `vigil user add NAME`, or listen on 127.0.0.1"
        )
    app = create_app(settings)
    uvicorn.run(WSGIMiddleware(app.server), host=settings.host, port=settings.port, log_level="warning")
