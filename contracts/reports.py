"""A project's daily error report: when it is made, and who gets it (``[projects.report]`` in ``vigil.toml``).

    [projects.report]
    hour = 8                          # made at 08:00 in the time zone below, for the day before
    timezone = "Europe/Paris"         # an IANA zone; UTC when absent
    email = ["team@shop.example"]     # mailed through the [analytics] smtp_* server; kept only when empty

Every project gets its report, stored and listed on the dashboard's Reports page; the
analytics service builds it (``analytics/report.py``, docs/reports.md).
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from typing import Any

from contracts.alerts import EMAIL_RE
from contracts.services import MAX_ITEMS


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    hour: int = 8
    timezone: str = "UTC"
    email: tuple[str, ...] = ()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def parse_report(raw: object) -> ReportSettings:
    """The ``report`` table of a project; a bad one raises ``ValueError`` with a one-line message."""
    if raw is None:
        return ReportSettings()
    if not isinstance(raw, dict):
        raise ValueError("report must be a table ([projects.report])")
    unknown = sorted(set(raw) - {"hour", "timezone", "email"})
    if unknown:
        raise ValueError(f"report: unknown key {unknown[0][:40]!r} (known: hour, timezone, email)")
    hour: Any = raw.get("hour", 8)
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ValueError("report: hour must be an integer from 0 to 23")
    zone = raw.get("timezone", "UTC")
    try:
        if not isinstance(zone, str) or len(zone) > 64:
            raise ValueError
        zoneinfo.ZoneInfo(zone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ValueError(f"report: timezone {str(zone)[:64]!r} is not a time zone (as Europe/Paris, or UTC)") from None
    emails = raw.get("email", [])
    if not isinstance(emails, list) or len(emails) > MAX_ITEMS or not all(isinstance(e, str) for e in emails):
        raise ValueError(f"report: email must be a list of at most {MAX_ITEMS} addresses")
    bad = next((e for e in emails if not EMAIL_RE.fullmatch(e)), None)
    if bad is not None:
        raise ValueError(f"report: {bad[:60]!r} is not an e-mail address (name@domain)")
    return ReportSettings(hour, zone, tuple(dict.fromkeys(emails)))
