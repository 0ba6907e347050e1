"""What the collector and analytics both read of Sentry's payloads: its timestamps."""

from __future__ import annotations

from datetime import datetime

Timestamp = float | str | None  # seconds since the epoch, or RFC 3339


def to_ms(timestamp: Timestamp, default: int) -> int:
    """Milliseconds since the epoch from Sentry's seconds or RFC 3339; ``default`` if absent or absurd."""
    try:
        if isinstance(timestamp, int | float):
            value = int(timestamp * 1000)
        elif isinstance(timestamp, str) and timestamp:
            value = int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
        else:
            return default
    except (ValueError, OverflowError):
        return default
    return value if 0 <= value <= 253_402_300_799_999 else default
