"""From stream entries to rows, one small named step after another.

``decode → enrich (user agent) → rows``. An entry that cannot be decoded is set aside
with its reason (it goes to the dead-letter stream); the rest of the batch goes on.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import msgspec
import pyarrow as pa

from analytics.enrich.ua import parse_user_agent
from analytics.store import ERRORS
from collector.schema import ErrorEvent
from collector.stream import StreamEntry, decode_entry


@dataclasses.dataclass
class Processed:
    """The outcome of one batch of entries: rows per table, and the entries that failed."""

    errors: pa.Table
    dead: list[tuple[bytes, bytes, str]]  # (entry id, raw entry, reason)


def _ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC).replace(tzinfo=None)


def decode(raw: list[tuple[bytes, bytes]]) -> tuple[list[StreamEntry], list[tuple[bytes, bytes, str]]]:
    """Step 1: stream entries to typed ``StreamEntry``; undecodable ones come back with a reason."""
    entries, dead = [], []
    for entry_id, data in raw:
        try:
            entries.append(decode_entry(data))
        except msgspec.DecodeError as e:
            dead.append((entry_id, data, f"undecodable entry: {e}"))
    return entries, dead


def error_rows(entries: list[StreamEntry]) -> pa.Table:
    """Step 2 and 3: each error event, enriched with its client, as one row of ``errors``."""
    columns: dict[str, list[object]] = {name: [] for name in ERRORS.names}
    for entry in entries:
        client = parse_user_agent(entry.user_agent)
        batch = entry.batch
        received_at = _ms(entry.received_at)
        for event in batch.events:
            if not isinstance(event, ErrorEvent):
                continue
            row = (
                event.event_id, batch.batch_id, _ms(event.ts), received_at, entry.project, entry.project_id,
                batch.environment, batch.release, batch.session_id, event.page_url, event.error_type,
                event.message, event.stack, event.file, event.line, event.column, event.mechanism,
                entry.user_agent, client.browser, client.browser_version, client.os, client.os_version,
                client.device_type, client.is_bot,
            )  # fmt: skip
            for values, value in zip(columns.values(), row, strict=True):
                values.append(value)
    return pa.Table.from_pydict(columns, schema=ERRORS)


def process(raw: list[tuple[bytes, bytes]]) -> Processed:
    entries, dead = decode(raw)
    return Processed(errors=error_rows(entries), dead=dead)
