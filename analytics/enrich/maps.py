"""A source map built by Sentry's ``symbolic`` (Rust) for look-ups, with its minified file's scopes when uploaded.

Regular and index maps (``sections`` with inline maps) are read. With the minified file, symbolic
analyses its scopes and turns each scope's minified name back into the original one through the
map, so a position names the function it is in (see ``analytics/enrich/symbolicate.py``).

``symbolic`` prefixes each source with the map's ``sourceRoot`` as a string; :func:`resolve_dots`
resolves the ``..`` and ``.`` segments of a URL or absolute path so made.
"""

from __future__ import annotations

from typing import NamedTuple

from symbolic.exceptions import IoError, SymbolicError
from symbolic.sourcemapcache import SourceMapCache as _SymbolicCache
from symbolic.sourcemapcache import SourceMapCacheToken as Token

from contracts.sourcemaps import BOM, check_map


class MapFiles(NamedTuple):
    """An uploaded map and the minified file it belongs to (``b""`` when only the map was uploaded)."""

    map: bytes
    source: bytes = b""


MAX_MAP_BYTES = 50_000_000
#: Source lines kept before and after a frame's own, where the map embeds the sources: five lines in all.
CONTEXT_LINES = 2

# What a built map holds, off the Python heap: symbolic writes its cache (every mapping with its scope, the names,
# the embedded sources with their line offsets) to an unlinked temporary file and maps it into memory. Measured
# (bench/symbolication.py, the mapped file and the Python heap against the inputs): 1.9 bytes per byte of map on
# real esbuild and terser bundles with their sources embedded, 3.8 on a map without them (jQuery's), where the
# mappings weigh more. Rounded up here; the minified file is read for its scopes and counted once. A map of
# nothing but tiny segments holds more, so each segment (a "," or ";" of its mappings) counts at least
# BYTES_PER_SEGMENT, what symbolic keeps of one mapping.
BYTES_PER_MAP_BYTE = 4
BYTES_PER_SOURCE_BYTE = 1
BYTES_PER_SEGMENT = 28
#: The largest minified file whose scopes are analysed (its syntax tree is built, several times its size, while
#: the map is built); a larger one's frames are named by their call sites, as a map uploaded alone.
MAX_SCOPE_SOURCE = 10_000_000


class ParsedMap:
    """A map built by symbolic, looked up by 1-based minified position."""

    __slots__ = ("_cache", "_sources", "cost", "scopes")

    def __init__(self, cache: _SymbolicCache, scopes: bool, cost: int) -> None:
        self._cache = cache
        self.scopes = scopes  # built with the minified file: functions are named by their scope
        self.cost = cost  # estimated bytes held (see BYTES_PER_MAP_BYTE)
        self._sources: dict[str, str] = {}  # symbolic's file name → the resolved one

    def lookup(self, line: int, column: int, context: bool = True) -> Token | None:
        """The mapping at a position (both from 1), with ``CONTEXT_LINES`` around it when ``context``; ``None`` when
        unmapped."""
        token: Token | None = self._cache.lookup(line, column, CONTEXT_LINES if context else 0)
        return None if token is None or token.src is None else token

    def source(self, token: Token) -> str:
        """The token's original file, its ``sourceRoot`` resolved (see the module doc)."""
        name = token.src or ""
        resolved = self._sources.get(name)
        if resolved is None:
            resolved = self._sources[name] = resolve_dots(name)
        return resolved


def resolve_dots(name: str) -> str:
    """``..`` and ``.`` segments of a URL's or an absolute path's path resolved (RFC 3986 §5.2.4); a relative path
    (``../src/a.ts``, as bundlers write them relative to the map) is kept as it is."""
    if "/." not in name:
        return name
    scheme, sep, rest = name.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        prefix, path = f"{scheme}://{authority}", slash + path
    elif name.startswith("/"):
        prefix, path = "", name
    else:
        return name
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        elif segment == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    return prefix + "/".join(out)


class MalformedMap(ValueError):
    """An uploaded map that cannot be used: over the size bound, not JSON, not version 3, …"""


def parse_map(data: bytes, source: bytes = b"", max_bytes: int = MAX_MAP_BYTES) -> ParsedMap:
    """Build a version 3 source map, with its minified file's scopes when ``source`` is given; :class:`MalformedMap`
    for anything unusable. ``OSError`` when symbolic cannot write its cache (an unwritable ``TMPDIR``)."""
    for what, size in (("map", len(data)), ("minified file", len(source))):
        if size > max_bytes:
            raise MalformedMap(f"{what} of {size} bytes, over the {max_bytes} bytes bound")
    data = data.removeprefix(BOM)
    try:
        head = check_map(data)
    except ValueError as exc:
        raise MalformedMap(str(exc)) from None
    if len(source) > MAX_SCOPE_SOURCE:
        source = b""
    try:
        cache = _SymbolicCache.from_bytes(source.removeprefix(BOM), data)
    except IoError as exc:
        raise OSError(f"symbolic could not write its cache (is TMPDIR writable?): {exc}") from None
    except SymbolicError as exc:
        raise MalformedMap(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    segments = head.mappings.count(",") + head.mappings.count(";") if head.mappings else 0
    cost = max(BYTES_PER_MAP_BYTE * len(data), BYTES_PER_SEGMENT * segments) + BYTES_PER_SOURCE_BYTE * len(source)
    return ParsedMap(cache, scopes=bool(source), cost=cost)
