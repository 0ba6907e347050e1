"""Serve the dashboard: the Dash (Flask) app under uvicorn, like every other Vigil server."""

from __future__ import annotations

import uvicorn
from a2wsgi import WSGIMiddleware

from dashboard.app import create_app
from dashboard.settings import DashboardSettings


def serve(settings: DashboardSettings) -> None:
    """Run until SIGTERM/SIGINT."""
    app = create_app(settings)
    uvicorn.run(WSGIMiddleware(app.server), host=settings.host, port=settings.port, log_level="warning")
