"""The beacon's wire format, version 1 (``docs/protocol.md``), as typed, bounded structs.

Every string and array an attacker can reach has a bound here; the collector decodes a
request body straight into ``Batch`` and anything that does not fit is a 400. The same
structs are re-encoded into the stream entry, so the analytics service decodes exactly
what was validated.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

PROTOCOL_VERSION = 1

# Bounds, in characters (or items). The beacon truncates to these before sending.
MAX_EVENTS = 100
MAX_ID = 64
MAX_URL = 2048
MAX_NAME = 200
MAX_MESSAGE = 8192
MAX_STACK = 16384
MAX_SHORT = 64

# Milliseconds since the Unix epoch; up to year 9999, so a timestamp is always representable.
EpochMs = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID)]
Url = Annotated[str, msgspec.Meta(max_length=MAX_URL)]
Short = Annotated[str, msgspec.Meta(max_length=MAX_SHORT)]
Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
Position = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class ErrorEvent(msgspec.Struct, tag="error", tag_field="type"):
    """An uncaught error, an unhandled rejection, or an error the page reported itself."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    error_type: Name
    message: Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE)]
    stack: Annotated[str, msgspec.Meta(max_length=MAX_STACK)] = ""
    file: Url = ""
    line: Position | None = None
    column: Position | None = None
    # How it was caught: "onerror", "onunhandledrejection" or "manual".
    mechanism: Short = "onerror"


Event = ErrorEvent


class Batch(msgspec.Struct):
    """One request from the beacon: shared context plus up to ``MAX_EVENTS`` events."""

    v: Literal[1]
    batch_id: Id
    sent_at: EpochMs
    events: Annotated[list[Event], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]
    release: Name = ""
    environment: Short = ""
    session_id: Annotated[str, msgspec.Meta(max_length=MAX_ID)] = ""
    sdk: Short = ""


_decoder = msgspec.json.Decoder(Batch)


class InvalidBatch(ValueError):
    """The body is not a valid batch; ``str()`` is the one-line reason for the 400."""


def decode_batch(body: bytes) -> Batch:
    """Decode and validate a request body, or raise ``InvalidBatch`` with a one-line reason."""
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as e:
        raise InvalidBatch(f"invalid batch: {e}") from None
    except msgspec.DecodeError as e:
        raise InvalidBatch(f"malformed JSON: {e}") from None
