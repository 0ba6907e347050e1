"""From one stream entry to stored rows, one small named step after another.

    decode → enrich (user agent) → rows per table

``process_entry`` runs the steps for one entry and raises if any of them fails; the
consumer then sends that entry, and only that entry, to the dead-letter stream.
``to_tables`` turns the rows of many entries into one Arrow table per stored table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from analytics import rows
from analytics.enrich.ua import Client, parse_user_agent
from analytics.tables import TABLES
from collector.outcomes import decode_outcomes
from collector.sentry.convert import decode_sentry_entry
from collector.sourcemaps import decode_sourcemap_entry
from collector.stream import (
    EVENTS_STREAM,
    OUTCOMES_STREAM,
    SENTRY_STREAM,
    SOURCEMAPS_STREAM,
    StreamEntry,
    decode_entry,
)

Rows = dict[str, list[tuple[Any, ...]]]


def _ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC).replace(tzinfo=None)


def decode(data: bytes) -> StreamEntry:
    """Step 1: the entry's bytes to a typed ``StreamEntry`` (raises ``msgspec.DecodeError``)."""
    return decode_entry(data)


def enrich(entry: StreamEntry) -> Client:
    """Step 2: browser, OS and device from the User-Agent header."""
    return parse_user_agent(entry.user_agent)


def to_rows(entry: StreamEntry, client: Client) -> Rows:
    """Step 3: one row per event in its kind's table, plus what the sender reported dropping."""
    out: Rows = {}
    batch = entry.batch
    received_at = _ms(entry.received_at)
    context = (
        received_at, entry.project, entry.project_id, batch.environment, batch.release, batch.session_id, batch.user_id,
    )  # fmt: skip
    device = (
        client.browser, client.browser_version, client.os, client.os_version, client.device_type, client.is_bot,
        entry.client_ip or None,
    )  # fmt: skip
    for event in batch.events:
        table, build = rows.BY_KIND[type(event)]
        shared = (event.event_id, batch.batch_id, _ms(event.ts), *context, event.page_url, *device)
        out.setdefault(table, []).append(shared + build(event, batch.tags, entry.user_agent, entry.source))
    for reason, count in batch.dropped.items():
        out.setdefault("client_drops", []).append(
            (
                batch.batch_id,
                received_at,
                entry.project,
                entry.project_id,
                batch.session_id,
                batch.sdk,
                reason,
                count,
                "",
            )
        )
    return out


def process_entry(data: bytes) -> Rows:
    """Every step for one beacon entry, top to bottom."""
    entry = decode(data)
    client = enrich(entry)
    return to_rows(entry, client)


def process_outcomes(data: bytes) -> Rows:
    """A collector's outcome counts: one row per (project, outcome, reason)."""
    batch = decode_outcomes(data)
    start, end = _ms(batch.start), _ms(batch.end)
    return {
        "outcomes": [
            (batch.id, batch.collector, start, end, r.project_id, r.project, r.outcome, r.reason, r.unit, r.count)
            for r in batch.rows
        ]
    }


def process_sentry(data: bytes) -> Rows:
    """Sessions and client reports from a Sentry SDK."""
    entry = decode_sentry_entry(data)
    received_at = _ms(entry.received_at)
    sessions = [
        (entry.id, n, received_at, entry.project, entry.project_id, s.release, s.environment, _ms(s.started),
         s.session_id or None, s.distinct_id or None, s.status, s.errors, s.duration, s.quantity, s.init, entry.sdk)
        for n, s in enumerate(entry.sessions)
    ]  # fmt: skip
    drops = [
        (entry.id, received_at, entry.project, entry.project_id, "", entry.sdk, d.reason, d.quantity, d.category)
        for d in entry.drops
    ]
    return {"sentry_sessions": sessions, "client_drops": drops}


def process_sourcemap(data: bytes) -> Rows:
    """An uploaded source map, kept whole for symbolication."""
    entry = decode_sourcemap_entry(data)
    text = bytes(entry.map).decode("utf-8", errors="replace")
    return {
        "source_maps": [
            (entry.project_id, entry.project, entry.release, entry.url, entry.debug_id or None,
             _ms(entry.uploaded_at), len(entry.map), text)
        ]
    }  # fmt: skip


Processor = Callable[[bytes], Rows]

#: Each stream the consumer reads, and how one of its entries becomes rows.
PROCESSORS: dict[str, Processor] = {
    EVENTS_STREAM: process_entry,
    OUTCOMES_STREAM: process_outcomes,
    SENTRY_STREAM: process_sentry,
    SOURCEMAPS_STREAM: process_sourcemap,
}


def to_tables(processed: list[Rows]) -> dict[str, pa.Table]:
    """The rows of many entries as one Arrow table per stored table (only tables that got rows)."""
    merged: Rows = {}
    for entry_rows in processed:
        for table, table_rows in entry_rows.items():
            merged.setdefault(table, []).extend(table_rows)
    return {name: to_arrow(name, table_rows) for name, table_rows in merged.items() if table_rows}


def to_arrow(name: str, table_rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows to an Arrow table of the stored schema, column by column."""
    schema = TABLES[name]
    columns = list(zip(*table_rows, strict=True))
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)
