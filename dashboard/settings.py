"""The dashboard's settings (documented in the README's configuration table)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from contracts.read_api import DEFAULT_PORT as ANALYTICS_PORT
from contracts.settings import DEFAULT_DATA_DIR, setting

DEFAULT_PORT = 8471


@dataclasses.dataclass(frozen=True)
class DashboardSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    host: str = setting("127.0.0.1", "Address the dashboard listens on.")
    port: int = setting(DEFAULT_PORT, "Port the dashboard listens on.", minimum=0)
    analytics_url: str = setting(f"http://127.0.0.1:{ANALYTICS_PORT}", "The analytics service's read API.")
    refresh_seconds: int = setting(10, "How often an open page refreshes its figures.", minimum=1)
    session_hours: int = setting(12, "How long a login lasts.", minimum=1)
    secure_cookies: bool = setting(
        False, "Mark the session cookies Secure: set it when browsers reach the dashboard over HTTPS (a proxy)."
    )
