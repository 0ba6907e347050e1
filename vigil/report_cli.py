"""``vigil report daily``: any day's error report of a project, made now, as HTML or JSON.

Through the running analytics service's read API when it runs (it holds the DuckDB file);
straight from the file, opened read-only, when it does not (as ``vigil sql``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from analytics import report
from analytics.settings import AnalyticsSettings
from contracts.projects import load_projects
from contracts.read_api import live_client
from contracts.settings import ConfigError, load
from vigil.sql import open_read_only


def daily(data_dir: Path, project_name: str, day: date | None, form: str) -> str:
    """The report's text: an HTML page or JSON."""
    project = next((p for p in load_projects(data_dir).values() if p.name == project_name), None)
    if project is None:
        raise ConfigError(f"no project named {project_name[:60]!r} (vigil project list)")
    client = live_client(data_dir)
    if client is not None:
        with client:
            return client.daily_report(project.name, day.isoformat() if day else None, form)
    today = datetime.now(UTC).astimezone(project.report.zone).date()
    day = day or today - timedelta(days=1)
    if not today - timedelta(days=report.MAX_DAYS_BACK) <= day <= today:
        raise ConfigError(f"--date: from {report.MAX_DAYS_BACK} days ago to today ({today})")
    settings = load(AnalyticsSettings, "analytics", data_dir)
    con = open_read_only(settings)
    try:
        made = report.build(con, project, day)
    finally:
        con.close()
    return report.render_html(made, settings.dashboard_url) if form == "html" else json.dumps(made, default=str)
