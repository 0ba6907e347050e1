"""How a page reaches the analytics service: the read client held by the running app.

The client lives in the Flask app's config (set by ``create_app``), not in a module
global, so tests and several apps in one process each have their own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask

from contracts.projects import load_projects
from contracts.read_api import ReadClient
from contracts.services import Service
from contracts.settings import ConfigError
from dashboard.settings import DashboardSettings

CLIENT_KEY = "VIGIL_READ_CLIENT"
SETTINGS_KEY = "VIGIL_SETTINGS"

#: The time ranges the pages offer, as URL values → (label, length).
RANGES: dict[str, tuple[str, timedelta]] = {
    "15m": ("15 minutes", timedelta(minutes=15)),
    "1h": ("1 hour", timedelta(hours=1)),
    "6h": ("6 hours", timedelta(hours=6)),
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
}
DEFAULT_RANGE = "1h"


def client() -> ReadClient:
    """The read client of the app serving the current request."""
    read_client: ReadClient = flask.current_app.config[CLIENT_KEY]
    return read_client


def time_range(key: str | None, now: datetime | None = None) -> tuple[str, str, int]:
    """(since, until, bucket seconds) for a range key; unknown keys mean the default range."""
    _, length = RANGES.get(key or DEFAULT_RANGE, RANGES[DEFAULT_RANGE])
    now = now or datetime.now(UTC)
    # Keep about 60-300 buckets whatever the range, so a figure stays readable.
    bucket = max(60, int(length.total_seconds() // 240) // 60 * 60)
    return (now - length).strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ"), bucket


def data_dir() -> Path:
    """The data directory of the app serving the current request, where ``vigil.toml`` is."""
    settings: DashboardSettings = flask.current_app.config[SETTINGS_KEY]
    return settings.data_dir


def services(project: str | None) -> list[tuple[str, Service]]:
    """The services declared in vigil.toml (of ``project``, or of every project), with their project's name; none
    when the file cannot be read (the page says so elsewhere)."""
    try:
        projects = load_projects(data_dir())
    except ConfigError:
        return []
    return [(p.name, s) for p in projects.values() if project in (None, p.name) for s in p.services]


def party(url: str, same_host: bool, declared: list[tuple[str, Service]]) -> str:
    """Whose a failing URL is: a declared service (by name; the site's own API is often one), the page's own site,
    or a third party."""
    for _, service in declared:
        if service.serves(url):
            return f"service {service.name}"
    return "own site" if same_host else "third party"
