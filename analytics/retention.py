"""Retention: rows older than their table's limit are deleted by a periodic job.

Raw event tables keep ``retention_days`` (90 by default), the per-minute rollups and the
beacon's sessions ``rollup_retention_days`` (400), so charts and release health of long
ranges outlive the raw rows; the
``retention`` setting overrides single tables (``errors=180,page_views=30``; 0 keeps a
table forever). Issues and source maps are not aged out: an issue outlives its events,
and a source map is replaced by the next upload for the same release and file.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from analytics.tables import DERIVED, ROLLUPS, TABLES
from contracts.settings import ConfigError

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("vigil.analytics")

#: Each table aged out, and the time column that decides a row's age.
TIME_COLUMNS: dict[str, str] = {
    **{name: "ts" for name, schema in TABLES.items() if "event_id" in schema.names},
    "client_drops": "received_at",
    "sentry_sessions": "received_at",
    "outcomes": "window_start",
    "probe_results": "ts",
    "host_metrics": "ts",
    "agent_heartbeats": "ts",
    **{name: "minute" for name in ROLLUPS},
    "beacon_sessions": "started",
}


def policy(default_days: int, rollup_days: int, overrides: str) -> dict[str, int]:
    """Days kept per table; ``overrides`` is ``table=days`` pairs separated by commas."""
    days = {name: rollup_days if name in DERIVED else default_days for name in TIME_COLUMNS}
    for pair in filter(None, (p.strip() for p in overrides.split(","))):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not value.strip().isdigit():
            raise ConfigError(f"analytics retention: expected table=days, got {pair!r}")
        if name not in TIME_COLUMNS:
            raise ConfigError(f"analytics retention: no table {name!r} is aged out (tables: {', '.join(TIME_COLUMNS)})")
        days[name] = int(value)
    return days


def enforce(con: duckdb.DuckDBPyConnection, days: dict[str, int], now: datetime) -> dict[str, int]:
    """Delete the rows past each table's limit, one transaction per table; returns rows deleted per table."""
    deleted: dict[str, int] = {}
    for name, keep in days.items():
        if keep <= 0:
            continue
        (row,) = con.execute(
            f"DELETE FROM {name} WHERE {TIME_COLUMNS[name]} < $cutoff", {"cutoff": now - timedelta(days=keep)}
        ).fetchall()
        if row[0]:
            deleted[name] = int(row[0])
    if deleted:
        log.info("retention: deleted %s", ", ".join(f"{n} rows from {t}" for t, n in deleted.items()))
    return deleted
