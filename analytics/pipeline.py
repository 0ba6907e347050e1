"""Each stream's processor (one entry → rows per table), and rows → Arrow tables.

The events stream's steps are in ``analytics/events.py``; the other streams carry records
the collector already shaped, so their processors only turn them into rows. A processor
raises if an entry cannot be processed; the consumer then dead-letters that entry alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from analytics.events import EventPipeline, Rows, ms
from analytics.probes import process_probes
from analytics.project_settings import DEFAULT
from analytics.routes import route_array
from analytics.tables import BUILT, TABLES
from contracts.stream import (
    EVENTS_STREAM,
    OUTCOMES_STREAM,
    PROBES_STREAM,
    SENTRY_STREAM,
    SOURCEMAPS_STREAM,
    decode_outcomes,
    decode_sentry_entry,
    decode_sourcemap_entry,
)

_ms = ms


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
    releases = [
        (entry.id, n, received_at, entry.project, entry.project_id, r.release, r.action, _ms(r.started),
         _ms(r.released) if r.released is not None else None, r.environment or None, r.url or None, entry.sdk or None)
        for n, r in enumerate(entry.releases)
    ]  # fmt: skip
    return {"sentry_sessions": sessions, "client_drops": drops, "sentry_releases": releases}


def process_sourcemap(data: bytes) -> Rows:
    """An uploaded source map, kept whole for symbolication."""
    entry = decode_sourcemap_entry(data)
    text = bytes(entry.map).decode("utf-8", errors="replace")
    return {
        "source_maps": [
            (entry.project_id, entry.project, entry.release, entry.url, entry.debug_id or None,
             _ms(entry.uploaded_at), len(entry.map), text, entry.source or None)
        ]
    }  # fmt: skip


Processor = Callable[[bytes], Rows]


def processors(events: EventPipeline) -> dict[str, Processor]:
    """Each stream the consumer reads, and how one of its entries becomes rows."""
    return {
        EVENTS_STREAM: events,
        OUTCOMES_STREAM: process_outcomes,
        SENTRY_STREAM: process_sentry,
        SOURCEMAPS_STREAM: process_sourcemap,
        PROBES_STREAM: process_probes,
    }


#: With default settings for every project and no source maps (tests, tools).
PROCESSORS = processors(EventPipeline(lambda project_id: DEFAULT))


def merge(processed: list[Rows]) -> Rows:
    """The rows of many entries, table by table, in order."""
    merged: Rows = {}
    for entry_rows in processed:
        for table, table_rows in entry_rows.items():
            merged.setdefault(table, []).extend(table_rows)
    return merged


def to_tables(processed: list[Rows]) -> dict[str, pa.Table]:
    """The rows of many entries as one Arrow table per stored table (only tables that got rows)."""
    return {name: to_arrow(name, table_rows) for name, table_rows in merge(processed).items() if table_rows}


def to_arrow(name: str, table_rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows to an Arrow table of the stored schema, column by column; an event table's route computed from its
    rows' page URLs (vectorised, analytics/routes.py)."""
    schema, built = TABLES[name], BUILT[name]
    columns = list(zip(*table_rows, strict=True))
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, built, strict=True)]
    if len(built) < len(schema):
        arrays.append(route_array(arrays[built.get_field_index("page_url")]))
    return pa.Table.from_arrays(arrays, schema=schema)
