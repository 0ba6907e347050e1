"""Minified stack frames mapped back to the original source with the release's source maps.

Issue 5, item 2. A frame is looked up in the map uploaded for its release and minified file,
at its position (stacks count lines and columns from 1, maps from 0). A frame with no map, or
at a position the map does not cover, is kept as it is with ``mapped=False``.

Which map: :func:`candidates` lists the keys a map may have been uploaded under, most specific
first, and the first that has a usable map wins:

1. the URL exactly as the stack gives it: ``https://shop.example/static/app.js?v=3#main``;
2. the same without query string and fragment (cache busters): ``https://shop.example/static/app.js``;
3. the path alone behind ``~`` (Sentry's convention), which matches any origin (CDN, staging, www):
   ``~/static/app.js``.

Function names: the names in a minified stack ("t", "e") say nothing, and the map token at a
frame's own position names whatever stands there (in a caller, that is the function it calls),
not the function the frame runs in. So the original name of frame *i* is the ``name`` of the token
at frame *i+1*'s position, the call site in its caller, when both frames are mapped and in the same
file; otherwise the minified name is kept. (Deliberately no fallback to the token at the frame's own
position: for every caller that is the callee's name, and for the innermost frame the name of
whatever it was doing when it threw, e.g. ``new CartError`` named the frame "CartError".)

Memory: parsed maps are kept in an LRU bounded in estimated bytes, see :data:`BYTES_PER_TOKEN`.

The cache is not thread-safe: it belongs to the analytics consumer's one thread.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

import sourcemap
from sourcemap.objects import SourceMapIndex, Token

from analytics.enrich.stack import Frame

log = logging.getLogger(__name__)

MapLoader = Callable[[str, str], bytes | None]
"""(release, key) → the map's bytes, or ``None`` when nothing was uploaded under that key."""

MAX_MAP_BYTES = 50_000_000
NEGATIVE_TTL = 60.0
#: Symbolicated stacks remembered per cache (see ``SourceMapCache.remembered``).
STACK_MEMO_SIZE = 4096
MAX_CONTEXT = 200
#: Source lines kept before and after a frame's own, where the map embeds the sources: five lines in all.
CONTEXT_LINES = 2

# Measured with tracemalloc on 15 esbuild maps (0.14-5 MB, with and without sourcesContent),
# parse plus every source split into lines: a 1.10 MB map with sources (59,297 tokens, 80 ms to
# load) keeps 19.0 MB (17x its size; 15.7x before splitting), but a 0.70 MB map without sources
# keeps 29.5 MB (42x) and a 5.1 MB map full of sources 40.4 MB (8x), so no single factor of the
# raw size holds. The sourcemap package keeps a Token, a dict entry and a tuple key per mapping
# (~280 bytes), plus the raw JSON (mappings and sources) and the split lines:
# 3 x raw size + 280 x tokens was within 10% of every measured map.
BYTES_PER_RAW_BYTE = 3
BYTES_PER_TOKEN = 280
NEGATIVE_BYTES = 200  # a remembered "no map here": the entry, its key tuple and strings

# JavaScript's line terminators (ECMA-262 §12.3), the ones a map's line numbers count.
_NEWLINE = re.compile(r"\r\n|[\n\r\u2028\u2029]")
# Frames that are calls in the script itself: an eval frame's position is the eval call, a
# native one has none, so neither is a call site that names its callee.
_CALLS = frozenset({"normal", "anonymous", "async"})


@dataclasses.dataclass(frozen=True, slots=True)
class Symbolicated:
    """A frame with its original source position, or kept as it came (``mapped=False``)."""

    function: str  # original function name when the map can tell, else the minified one
    url: str  # the minified file URL, as in the stack
    line: int | None  # minified position, kept
    column: int | None
    in_app: bool
    kind: str
    source: str  # original source file as the map names it ("src/cart.ts"), "" when not mapped
    source_line: int | None  # 1-based
    source_column: int | None  # 1-based
    context: str  # the original source line when the map embeds sourcesContent, else ""
    mapped: bool
    # The lines before and after ``context`` (up to ``CONTEXT_LINES`` each), for an event's stack trace.
    pre_context: tuple[str, ...] = ()
    post_context: tuple[str, ...] = ()


#: A symbolicated stack remembered: its release key, its frames, and the debug ids of its files.
StackKey = tuple[str, tuple[Frame, ...], tuple[tuple[str, str], ...]]
#: A cache key that names a map by its debug id (the bundle's ``//# debugId=``), whatever its URL and release.
DEBUG_ID = "debug-id:"
#: The release key of an invalidation that holds for every release (a map found by debug id).
ANY_RELEASE = "\x00*"


def candidates(url: str, debug_id: str = "") -> list[str]:
    """The keys a map for ``url`` may be uploaded under, most specific first (see the module doc); its debug id
    first of all, as Sentry looks maps up."""
    keys = [f"{DEBUG_ID}{debug_id.lower()}"] if debug_id else []
    keys.append(url)
    bare = url.partition("#")[0].partition("?")[0]
    if bare != url:
        keys.append(bare)
    try:
        path = urlsplit(bare).path
    except ValueError:  # e.g. an unclosed "[" in the host: no path to match on
        return keys
    if path.startswith("/") and "~" + path not in keys:
        keys.append("~" + path)
    return keys


class ParsedMap:
    """A parsed map and its embedded sources, cut into lines the first time a line is asked for."""

    __slots__ = ("_contents", "_lines", "index")

    def __init__(self, index: SourceMapIndex) -> None:
        self.index = index
        contents = index.raw.get("sourcesContent")
        # index.sources has sourceRoot joined, as the tokens' src does.
        pairs = zip(index.sources, contents if isinstance(contents, list) else [], strict=False)
        self._contents: dict[str, str] = {source: text for source, text in pairs if isinstance(text, str)}
        self._lines: dict[str, list[str]] = {}

    def _source_lines(self, source: str) -> list[str] | None:
        lines = self._lines.get(source)
        if lines is None:
            text = self._contents.get(source)
            if text is None:
                return None
            lines = self._lines[source] = _NEWLINE.split(text)
        return lines

    def context(self, source: str, line: int, column: int) -> str:
        """Line ``line`` (0-based) of ``source``, cut to ``MAX_CONTEXT`` characters around ``column``."""
        lines = self._source_lines(source)
        if lines is None or not 0 <= line < len(lines):
            return ""
        return _cut_around(lines[line], column)

    def around(self, source: str, line: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The ``CONTEXT_LINES`` lines before line ``line`` (0-based) of ``source`` and after it, each cut short."""
        lines = self._source_lines(source)
        if lines is None or not 0 <= line < len(lines):
            return (), ()
        before = lines[max(0, line - CONTEXT_LINES) : line]
        after = lines[line + 1 : line + 1 + CONTEXT_LINES]
        return tuple(_cut_around(t, 0) for t in before), tuple(_cut_around(t, 0) for t in after)


def _cut_around(text: str, column: int) -> str:
    """At most ``MAX_CONTEXT`` characters of a line, around ``column``."""
    if len(text) <= MAX_CONTEXT:
        return text
    # A bundled minified dependency has lines of megabytes: keep what surrounds the position.
    start = max(0, min(column - MAX_CONTEXT // 2, len(text) - MAX_CONTEXT))
    return text[start : start + MAX_CONTEXT]


@dataclasses.dataclass(slots=True)
class _Entry:
    parsed: ParsedMap | None  # None: no usable map under this key
    cost: int  # estimated bytes
    expires: float = math.inf  # monotonic time after which a negative answer is asked again
    malformed: bool = False


class MalformedMap(ValueError):
    """An uploaded map that cannot be used: over the size bound, not JSON, not version 3, …"""


def parse_map(data: bytes, max_bytes: int = MAX_MAP_BYTES) -> ParsedMap:
    """Parse a version 3 source map; :class:`MalformedMap` for anything unusable."""
    if len(data) > max_bytes:
        raise MalformedMap(f"{len(data)} bytes, over the {max_bytes} bytes bound")
    try:
        index = sourcemap.loads(data.decode("utf-8-sig"))
    except Exception as exc:  # An upload is user input: whatever the untyped decoder raises on it means unusable.
        raise MalformedMap(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    if not isinstance(index.raw, dict) or index.raw.get("version") != 3:
        raise MalformedMap("not a version 3 source map")
    return ParsedMap(index)


class SourceMapCache:
    """Parsed maps by (release, key), LRU, bounded in estimated bytes, with negative entries.

    A map is parsed once, not per event; a key with no usable map (missing or malformed) is
    remembered for ``negative_ttl`` seconds, so neither is looked up again per event. The
    loader's own errors (storage unreachable) propagate: they say nothing about the map.
    The newest entry always stays, so ``bytes`` may exceed ``max_bytes`` by at most one map.
    Not thread-safe: one instance per consumer thread.

    Stats: ``hits`` and ``misses`` count :meth:`get` calls answered from memory or needing the
    loader, ``evictions`` entries dropped for room, ``bytes`` the estimated total held.
    """

    def __init__(
        self,
        loader: MapLoader,
        max_bytes: int = 256_000_000,
        *,
        max_map_bytes: int = MAX_MAP_BYTES,
        negative_ttl: float = NEGATIVE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self.max_bytes = max_bytes
        self.max_map_bytes = max_map_bytes
        self.negative_ttl = negative_ttl
        self._clock = clock
        self._entries: collections.OrderedDict[tuple[str, str], _Entry] = collections.OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.bytes = 0
        # Whole stacks already symbolicated: the same error keeps coming with the same frames.
        # Emptied when a map is invalidated, when full, and every ``negative_ttl`` seconds
        # (a map missing before may have arrived).
        self._stacks: dict[StackKey, list[Symbolicated]] = {}
        self._stacks_until = 0.0

    def get(self, release: str, url: str) -> SourceMapIndex | None:
        """The parsed map for a minified file of a release, trying each of :func:`candidates`."""
        parsed = self.find(release, url)
        return None if parsed is None else parsed.index

    def find(self, release: str, url: str, debug_id: str = "") -> ParsedMap | None:
        """Like :meth:`get`, with the map's embedded sources for context lines; by ``debug_id`` first when known."""
        now = self._clock()
        loaded = False
        found: ParsedMap | None = None
        for key in candidates(url, debug_id):
            entry = self._entries.get((release, key))
            if entry is None or entry.expires <= now:
                entry = self._load(release, key, entry, now)
                loaded = True
            else:
                self._entries.move_to_end((release, key))
            if entry.parsed is not None:
                found = entry.parsed
                break
        if loaded:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def remembered(self, key: StackKey) -> list[Symbolicated] | None:
        """A stack of a release symbolicated before, if still remembered."""
        now = self._clock()
        if now >= self._stacks_until:
            self._stacks.clear()
            self._stacks_until = now + self.negative_ttl
        return self._stacks.get(key)

    def remember(self, key: StackKey, result: list[Symbolicated]) -> None:
        if len(self._stacks) >= STACK_MEMO_SIZE:
            self._stacks.clear()
        self._stacks[key] = result

    def invalidate(self, release: str, url: str) -> None:
        """Forget what is cached under exactly this key (under every release for ``ANY_RELEASE``): a new map was
        uploaded under it."""
        self._stacks.clear()
        keys = [k for k in self._entries if k[1] == url] if release == ANY_RELEASE else [(release, url)]
        for key in keys:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self.bytes -= entry.cost

    def _load(self, release: str, key: str, previous: _Entry | None, now: float) -> _Entry:
        data = self._loader(release, key)
        if data is None:
            entry = _Entry(None, NEGATIVE_BYTES, now + self.negative_ttl)
        else:
            try:
                parsed = parse_map(data, self.max_map_bytes)
            except MalformedMap as exc:
                # Logged when first found, not again each time the negative entry expires.
                if previous is None or not previous.malformed:
                    log.warning("source map %r of release %r is unusable, treated as missing: %s", key, release, exc)
                entry = _Entry(None, NEGATIVE_BYTES, now + self.negative_ttl, malformed=True)
            else:
                cost = BYTES_PER_RAW_BYTE * len(data) + BYTES_PER_TOKEN * len(parsed.index.tokens)
                entry = _Entry(parsed, cost)
        self._store((release, key), entry)
        return entry

    def _store(self, key: tuple[str, str], entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.cost
        self._entries[key] = entry
        self.bytes += entry.cost
        while self.bytes > self.max_bytes and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.cost
            self.evictions += 1


def _locate(frame: Frame, parsed: ParsedMap | None) -> tuple[Token, ParsedMap] | None:
    """The map token at a frame's position and its map, or ``None`` when no map covers it."""
    if parsed is None or frame.line is None or frame.column is None or frame.line < 1 or frame.column < 1:
        return None
    try:
        token = parsed.index.lookup(frame.line - 1, frame.column - 1)
    except IndexError:  # a line past the map's end, or a column before the line's first mapping
        return None
    return None if token.src is None else (token, parsed)


def symbolicate(
    frames: Sequence[Frame], release: str, cache: SourceMapCache, debug_ids: Mapping[str, str] | None = None
) -> list[Symbolicated]:
    """The frames (innermost first) with their original positions, names and context lines; ``debug_ids`` (file
    URL → debug id, from the event) find maps by debug id before release and URL."""
    ids = dict(debug_ids or {})
    key = (release, tuple(frames), tuple(sorted(ids.items())))
    known = cache.remembered(key)
    if known is not None:
        return list(known)
    result = _symbolicate(frames, release, cache, ids)
    cache.remember(key, result)
    return list(result)


def _symbolicate(
    frames: Sequence[Frame], release: str, cache: SourceMapCache, debug_ids: Mapping[str, str]
) -> list[Symbolicated]:
    maps: dict[str, ParsedMap | None] = {}  # one cache lookup per file of the stack, not per frame
    found = []
    for frame in frames:
        if frame.url and frame.url not in maps:
            maps[frame.url] = cache.find(release, frame.url, debug_ids.get(frame.url, ""))
        found.append(_locate(frame, maps.get(frame.url)))
    result = []
    for i, (frame, hit) in enumerate(zip(frames, found, strict=True)):
        if hit is None:
            result.append(_kept(frame))
            continue
        token, parsed = hit
        before, after = parsed.around(token.src, token.src_line) if frame.in_app else ((), ())
        result.append(
            Symbolicated(
                function=_caller_name(frames, found, i) or frame.function,
                url=frame.url,
                line=frame.line,
                column=frame.column,
                in_app=frame.in_app,
                kind=frame.kind,
                source=token.src,
                source_line=token.src_line + 1,
                source_column=token.src_col + 1,
                context=parsed.context(token.src, token.src_line, token.src_col),
                mapped=True,
                pre_context=before,
                post_context=after,
            )
        )
    return result


def _caller_name(frames: Sequence[Frame], found: Sequence[tuple[Token, ParsedMap] | None], i: int) -> str | None:
    """The name frame ``i``'s caller calls it by, from the token at the call site (see the module doc)."""
    if i + 1 >= len(frames) or found[i] is None or (site := found[i + 1]) is None:
        return None
    frame, caller = frames[i], frames[i + 1]
    if caller.url != frame.url or frame.kind not in _CALLS or caller.kind not in _CALLS:
        return None
    name: str | None = site[0].name
    return name or None


def _kept(frame: Frame) -> Symbolicated:
    """A frame no map covers, as it came."""
    return Symbolicated(
        function=frame.function,
        url=frame.url,
        line=frame.line,
        column=frame.column,
        in_app=frame.in_app,
        kind=frame.kind,
        source="",
        source_line=None,
        source_column=None,
        context=frame.context,
        mapped=False,
        pre_context=frame.pre_context,
        post_context=frame.post_context,
    )
