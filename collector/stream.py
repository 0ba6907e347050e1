"""The stream entry: what the collector appends to Redis and the analytics service reads.

One entry per accepted request. It carries the validated batch plus what only the
collector knows (which project authenticated, when the request arrived, the browser's
User-Agent header), encoded as JSON in the single field ``e`` so ``redis-cli XRANGE``
stays readable.
"""

from __future__ import annotations

import msgspec

from collector.schema import Batch

#: The beacon's events. One stream per kind of record; the consumer group is ``ingest``.
EVENTS_STREAM = "vigil:events"
#: What happened to every request and event the collectors saw (collector/outcomes.py).
OUTCOMES_STREAM = "vigil:outcomes"
#: Sessions and client reports from Sentry SDKs (collector/sentry/convert.py).
SENTRY_STREAM = "vigil:sentry"
#: Uploaded source maps (collector/sourcemaps.py).
SOURCEMAPS_STREAM = "vigil:sourcemaps"
CONSUMER_GROUP = "ingest"
ENTRY_FIELD = b"e"
#: Several entries that arrived together, in one stream entry: a JSON array of them.
GROUP_FIELD = b"g"


class StreamEntry(msgspec.Struct, frozen=True):
    """One accepted beacon request, as queued for analytics."""

    project_id: int
    project: str
    received_at: int  # milliseconds since the Unix epoch, the collector's clock
    user_agent: str
    # The validated batch. The collector writes the request's own bytes here when they
    # decoded as a batch unchanged (no re-encoding on the hot path), so unknown extra
    # fields may ride along; decoding ignores them.
    batch: Batch
    v: int = 1
    # The sender's address, anonymized unless the project keeps addresses; empty if unknown.
    client_ip: str = ""
    # The client's country (ISO 3166 two letters) from a trusted CDN header; empty if unknown.
    country: str = ""
    # Who sent it: "beacon" (page script, Sentry SDKs included) or "reporting_api" (the browser itself).
    source: str = "beacon"


class _OutgoingEntry(msgspec.Struct, frozen=True):
    project_id: int
    project: str
    received_at: int
    user_agent: str
    batch: msgspec.Raw
    v: int = 1
    client_ip: str = ""
    country: str = ""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StreamEntry)


def encode_entry(entry: StreamEntry, raw_batch: bytes | None = None) -> bytes:
    """The entry's bytes; with ``raw_batch``, those bytes stand for ``entry.batch`` as they are."""
    if raw_batch is None:
        return _encoder.encode(entry)
    return _encoder.encode(
        _OutgoingEntry(
            entry.project_id,
            entry.project,
            entry.received_at,
            entry.user_agent,
            msgspec.Raw(raw_batch),
            entry.v,
            entry.client_ip,
            entry.country,
        )
    )


_group = msgspec.json.Decoder(list[msgspec.Raw])


def payloads(fields: dict[bytes, bytes] | None) -> list[bytes]:
    """The entries a stream entry holds: its ``e`` field, or each element of its ``g`` array.

    Raises ``msgspec.DecodeError`` for a ``g`` that is not a JSON array, ``KeyError`` when neither is there.
    """
    fields = fields or {}
    single = fields.get(ENTRY_FIELD)
    if single is not None:
        return [single]
    return [bytes(raw) for raw in _group.decode(fields[GROUP_FIELD])]


def decode_entry(data: bytes) -> StreamEntry:
    """Decode one entry's ``e`` field; raises ``msgspec.DecodeError`` if it is not one."""
    return _decoder.decode(data)
