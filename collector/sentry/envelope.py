"""Split a Sentry envelope into its header and items, within bounds.

An envelope is a JSON header line, then items: each a JSON header line and a payload of
``length`` bytes (then a newline), or, without ``length``, the rest of the line
(https://develop.sentry.dev/sdk/envelopes/#serialization-format).
"""

from __future__ import annotations

from typing import Any

import msgspec

MAX_ITEMS = 100
#: The envelope's header line (event id, DSN, SDK, sent_at) is small; longer is not an envelope.
MAX_HEADER_BYTES = 16_384


class EnvelopeError(ValueError):
    """Not a valid envelope; the message is the one-line reason for the 400."""


class ItemHeader(msgspec.Struct):
    type: str = ""
    length: int | None = None
    content_type: str = ""


class Item(msgspec.Struct, frozen=True):
    type: str
    payload: bytes


_object = msgspec.json.Decoder(dict[str, Any])
_item_header = msgspec.json.Decoder(ItemHeader)


def parse_header(line: bytes) -> dict[str, Any]:
    """The envelope's first line as a JSON object (``{}`` at least); ``EnvelopeError`` otherwise.

    An empty body or a blank first line is not an envelope: Relay refuses it too.
    """
    if not line.strip():
        raise EnvelopeError("empty envelope: the first line must be a JSON object, such as {}")
    if len(line) > MAX_HEADER_BYTES:
        raise EnvelopeError(f"envelope header is longer than {MAX_HEADER_BYTES} bytes")
    try:
        return _object.decode(line)
    except (msgspec.DecodeError, RecursionError) as e:
        raise EnvelopeError(f"envelope header is not a JSON object: {e}") from None


def parse_envelope(body: bytes, max_item_bytes: int) -> tuple[dict[str, Any], list[Item]]:
    """The envelope's header and its items; ``EnvelopeError`` for anything that breaks the format."""
    end = body.find(b"\n")
    first, position = (body, len(body)) if end < 0 else (body[:end], end + 1)
    header = parse_header(first)
    items: list[Item] = []
    while position < len(body):
        end = body.find(b"\n", position)
        line = body[position:] if end < 0 else body[position:end]
        position = len(body) if end < 0 else end + 1
        if not line.strip():
            continue  # blank lines between items (a trailing newline, some SDKs' padding)
        if len(items) == MAX_ITEMS:
            raise EnvelopeError(f"more than {MAX_ITEMS} items")
        try:
            item_header = _item_header.decode(line)
        except (msgspec.DecodeError, RecursionError) as e:
            raise EnvelopeError(f"item {len(items)} header is not valid: {e}") from None
        if item_header.length is not None:
            if item_header.length < 0 or position + item_header.length > len(body):
                raise EnvelopeError(f"item {len(items)} is shorter than its length {item_header.length}")
            payload = body[position : position + item_header.length]
            position += item_header.length
            if body[position : position + 1] == b"\n":
                position += 1
        else:
            end = body.find(b"\n", position)
            payload = body[position:] if end < 0 else body[position:end]
            position = len(body) if end < 0 else end + 1
        if len(payload) > max_item_bytes:
            raise EnvelopeError(f"item {len(items)} is larger than {max_item_bytes} bytes")
        items.append(Item(item_header.type[:64], payload))
    return header, items
