"""Serve the collector with uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import os
import shutil

import uvicorn

from collector.settings import CollectorSettings


def serve(settings: CollectorSettings) -> None:
    """Run until SIGTERM/SIGINT; with ``workers`` > 1, uvicorn forks that many processes on one port."""
    if settings.workers > 1:
        # Metrics from every worker, whichever answers /metrics (collector/metrics.py).
        directory = settings.data_dir.resolve() / "run" / f"metrics-collector-{settings.port}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
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
        # Client addresses come from the connection, or from X-Forwarded-For when the connection
        # is from a proxy the settings trust (the rightmost address no trusted proxy added).
        proxy_headers=bool(settings.proxies),
        forwarded_allow_ips=settings.proxies or None,
    )
