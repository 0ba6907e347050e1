"""The probe agents ``vigil up`` runs: the monitor watching itself, and the demo's two regions.

``vigil up`` writes ``run/probe-local.toml`` in the data directory (readable by its owner
only: it holds the demo project's secret token) and supervises ``vigil probe`` with it:
HTTP checks of the collector's ``/healthz`` and ``/readyz``, the analytics read API's and
the dashboard's ``/healthz``, and this host's metrics, as region ``local``. ``vigil demo``
adds two agents as regions ``demo-eu`` and ``demo-us`` checking the demo site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit

from contracts import runfiles
from contracts.projects import Project

LOCAL_REGION = "local"
DEMO_REGIONS = ("demo-eu", "demo-us")


def write_config(
    data_dir: Path,
    region: str,
    project: Project,
    collector_url: str,
    checks: list[dict[str, Any]],
    *,
    host_metrics: bool,
    metrics_port: int = 0,
) -> Path:
    """Write an agent config for ``region``; returns its path."""
    document = {
        "agent": {
            "collector": collector_url,
            "project_id": project.id,
            "secret_token": project.secret_token,
            "region": region,
            "host": f"vigil-{region}",
            "spool_dir": str((data_dir / "probe-spool" / region).resolve()),
            "push_interval": 2.0,
            "heartbeat_interval": 10.0,
            "host_metrics_interval": 15.0 if host_metrics else 0.0,
            "metrics_port": metrics_port,
        },
        "checks": checks,
    }
    return runfiles.write_private(data_dir / "run" / f"probe-{region}.toml", tomlkit.dumps(document))


def local_checks(collector_url: str, analytics_url: str, dashboard_url: str) -> list[dict[str, Any]]:
    """Vigil's own health endpoints."""
    return [
        {"name": name, "type": "http", "url": url, "interval": 15.0, "timeout": 5.0, "expected_status": [200]}
        for name, url in (
            ("vigil-collector", f"{collector_url}/healthz"),
            ("vigil-collector-ready", f"{collector_url}/readyz"),
            ("vigil-analytics", f"{analytics_url}/healthz"),
            ("vigil-dashboard", f"{dashboard_url}/healthz"),
        )
    ]


def demo_checks(demo_url: str, region: str) -> list[dict[str, Any]]:
    """The demo site's pages and its API, as a shop's uptime checks would be; the home page is asked with the region,
    so the demo site can be slow for one region (``vigil/demo/site.py``)."""
    return [
        {"name": "demo-home", "type": "http", "url": f"{demo_url}/?probe={region}", "interval": 10.0, "timeout": 5.0,
         "expected_status": [200], "max_latency_ms": 2000.0},
        {"name": "demo-tcp", "type": "tcp", "target": demo_url.removeprefix("http://").rstrip("/"),
         "interval": 10.0, "timeout": 5.0},
        {"name": "demo-api", "type": "http", "url": f"{demo_url}/api/health", "interval": 10.0, "timeout": 5.0,
         "expected_status": [200]},
    ]  # fmt: skip
