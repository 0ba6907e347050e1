"""What the collector and analytics both read of Sentry's payloads: its timestamps, and which headers are secret."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from contracts.memo import memo

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


#: Request headers never kept: cookies, credentials, anything named like a secret, and the user's address. The
#: collector drops them from an event before it queues it; analytics leaves them out of what it stores too.
SECRET_HEADER = re.compile(
    r"cookie|auth|token|secret|password|session|csrf|xsrf|api[-_]?key"
    r"|forwarded|real-ip|client-ip|connecting-ip",  # the user's address: kept only as client_ip, anonymized or not
    re.IGNORECASE,
)


def pairs(value: dict[str, Any] | list[list[Any]] | None) -> Iterable[tuple[Any, Any]]:
    """A field SDKs send as an object or as ``[key, value]`` pairs (``tags``, request ``headers``), as pairs."""
    if isinstance(value, dict):
        return value.items()
    return (tuple(p[:2]) for p in value or [] if len(p) >= 2)


@memo(maxsize=1024, max_chars=64)  # the same few header names in every event
def secret_header(name: str) -> bool:
    """Whether a request header is one never kept (``SECRET_HEADER``); names are looked up once each."""
    return SECRET_HEADER.search(name) is not None
