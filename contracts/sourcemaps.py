"""What is checked of a source map before it is accepted (by the collector) and before it is built (by analytics)."""

from __future__ import annotations

import msgspec

#: A byte order mark some tools write before a map's JSON; it is not part of the JSON.
BOM = b"\xef\xbb\xbf"


class Section(msgspec.Struct):
    """A section of an index map: its map inline, or (not accepted) the URL of another file."""

    url: str | None = None


class MapHead(msgspec.Struct):
    """What is read of a map to check it: a regular map (``mappings``) or an index map (``sections``); the rest is
    skipped unread."""

    version: int | None = None
    mappings: str | None = None
    sections: list[Section] | None = None
    sources: list[str | None] = []
    debugId: str | None = None  # the field's name in the maps bundlers write
    debug_id: str | None = None


_head = msgspec.json.Decoder(MapHead)


def check_map(body: bytes) -> MapHead:
    """The head of a version 3 source map (a byte order mark before it allowed); ``ValueError`` says why not."""
    try:
        head = _head.decode(body.removeprefix(BOM))
    except (msgspec.DecodeError, RecursionError) as e:
        raise ValueError(f"not a source map: {str(e)[:200]}") from None
    if head.version != 3:
        raise ValueError(f"not a version 3 source map (version {head.version})")
    if head.mappings is None and head.sections is None:
        raise ValueError("not a source map: neither mappings nor sections")
    if head.sections and any(section.url for section in head.sections):
        raise ValueError("an index map whose sections name other files by url: inline their maps (section.map)")
    return head
