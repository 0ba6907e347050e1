"""Serve the collector with uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import uvicorn

from collector.settings import CollectorSettings


def serve(settings: CollectorSettings) -> None:
    """Run until SIGTERM/SIGINT; with ``workers`` > 1, uvicorn forks that many processes on one port."""
    uvicorn.run(
        "collector.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_level="warning",
        # Browsers keep connections to the collector open between batches.
        timeout_keep_alive=30,
        # Client addresses come from the connection; X-Forwarded-For is not trusted.
        proxy_headers=False,
    )
