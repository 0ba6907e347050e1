"""Checking a read API request's parameters against its query's declaration (``contracts/queries.py``).

Every parameter is bounded (``MAX_PARAM`` characters), typed (text, integer, ISO-8601 time,
calendar day) and, where declared, one of its choices; anything else is a ``QueryError``
with a one-line reason for a 400. The values go to SQL as bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.queries import MAX_PARAM, QUERIES, Query, QueryError

_INTEGER = re.compile(r"-?[0-9]{1,12}")


def _parse_time(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise QueryError(f"{name}: expected an ISO-8601 time, got {raw[:40]!r}") from None
    return value


def declared(name: str) -> Query:
    """The query called ``name``; raises ``QueryError`` for any other name."""
    query = QUERIES.get(name)
    if query is None:
        raise QueryError(f"unknown query {name[:60]!r}")
    return query


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_day(name: str, text: str) -> str:
    """A calendar day as YYYY-MM-DD, checked to exist."""
    try:
        if _DAY.fullmatch(text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise QueryError(f"{name}: expected a day as YYYY-MM-DD, got {text[:40]!r}")


def bind(query: Query, raw: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """Check ``raw`` request parameters against the query's declaration; returns SQL parameters.

    Times are naive UTC datetimes; an absent ``since`` is an hour before ``now``, an absent ``until`` is ``now``.
    """
    unknown = set(raw) - {p.name for p in query.params}
    if unknown:
        raise QueryError(f"{query.name}: unknown parameter {sorted(unknown)[0]!r}")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    values: dict[str, Any] = {}
    for p in query.params:
        text = raw.get(p.name)
        if text is None or text == "":
            if p.kind == "time":
                values[p.name] = now - timedelta(hours=1) if p.name == "since" else now
            else:
                values[p.name] = p.default
            continue
        if len(text) > MAX_PARAM:
            raise QueryError(f"{p.name}: longer than {MAX_PARAM} characters")
        if p.kind == "time":
            values[p.name] = _parse_time(p.name, text)
        elif p.kind == "date":
            values[p.name] = _parse_day(p.name, text)
        elif p.kind == "int":
            if not _INTEGER.fullmatch(text):
                raise QueryError(f"{p.name}: expected an integer, got {text[:40]!r}")
            number = int(text)
            if not p.minimum <= number <= p.maximum:
                raise QueryError(f"{p.name}: must be between {p.minimum} and {p.maximum}")
            values[p.name] = number
        else:
            if p.choices and text not in p.choices:
                raise QueryError(f"{p.name}: one of {', '.join(p.choices)}, not {text[:40]!r}")
            values[p.name] = text
    return values
