"""Minified stack frames mapped back to the original source with the release's source maps.

A frame is looked up in the map uploaded for its release and minified file, at its position
(stacks and the look-up both count lines and columns from 1). A frame with no map, or at a
position the map does not cover, is kept as it is with ``mapped=False``.

Which map: :func:`candidates` lists the keys a map may have been uploaded under, most specific
first, and the first that has a usable map wins:

1. the bundle's debug id, when the event names one for the file (``debug_meta`` or the beacon);
2. the URL exactly as the stack gives it: ``https://shop.example/static/app.js?v=3#main``;
3. the same without query string and fragment (cache busters): ``https://shop.example/static/app.js``;
4. the path alone behind ``~`` (Sentry's convention), which matches any origin (CDN, staging, www):
   ``~/static/app.js``.

Maps are read by Sentry's ``symbolic`` (Rust): regular and index maps (``sections`` with inline
maps), and, where the minified file was uploaded with its map, the scopes of the minified code.

Function names: the names in a minified stack ("t", "e") say nothing. With the minified file,
a frame is named after the function it runs in, by scope analysis of the minified source whose
scope names the map turns back into the original ones (``Cart.checkout``, ``api.fetchUser``),
as Sentry does. Where that gives no name (a map uploaded alone, an anonymous function, code a
minifier moved into an anonymous one), the call site names the frame: the map's token at a frame's
own position names whatever stands there (in a caller, the function it calls), so the name of
frame *i* is the ``name`` of the token at frame *i+1*'s position, in its caller, when both are
mapped and in the same file. Otherwise an anonymous function is ``<anonymous>`` and any other
frame keeps its minified name. This is the order Sentry's symbolicator takes.

File names: ``symbolic`` prefixes each source with the map's ``sourceRoot`` as a string;
``..`` and ``.`` segments of a URL or absolute path so made are resolved
(``https://src.example/app/../lib/x.js`` is ``https://src.example/lib/x.js``).

Memory: built maps are kept in an LRU bounded in estimated bytes, see :data:`BYTES_PER_MAP_BYTE`.

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

from symbolic.sourcemapcache import SourceMapCacheToken as Token

from analytics.enrich.maps import MAX_MAP_BYTES, MalformedMap, MapFiles, ParsedMap, parse_map
from analytics.enrich.stack import ANONYMOUS, Frame

log = logging.getLogger(__name__)


MapLoader = Callable[[str, str], MapFiles | None]
"""(release, key) → the map and its minified file, or ``None`` when nothing was uploaded under that key."""

NEGATIVE_TTL = 60.0
#: The largest line or column looked up (the protocol's bound of a position).
MAX_POSITION = 2**31 - 1
#: Symbolicated stacks remembered per cache (see ``SourceMapCache.remembered``), and the characters they hold
#: (their frames' strings, as sent and as symbolicated, and ``FRAME_CHARS`` a frame for the objects).
STACK_MEMO_SIZE = 4096
STACK_MEMO_CHARS = 8_000_000
FRAME_CHARS = 400
MAX_CONTEXT = 200
NEGATIVE_BYTES = 200  # a remembered "no map here": the entry, its key tuple and strings

# JavaScript's line terminators (ECMA-262 §12.3), the ones a map's line numbers count.
_LINE_END = re.compile(r"(?:\r\n|[\n\r\u2028\u2029])\Z")
# Frames that are calls in the script itself: an eval frame's position is the eval call, a
# native one has none, so neither is a call site that names its callee.
_CALLS = frozenset({"normal", "anonymous", "async"})
# What symbolic answers for a scope that names no function: no scope (top-level code, or no minified file), or a
# function without a name.
_USELESS_SCOPES = frozenset({"<unknown>", ANONYMOUS})
# A frame's name that names nothing: none, or the "?" Sentry's JavaScript SDKs write for an anonymous function.
_NO_NAME = frozenset({"", "?"})


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


def _cut_line(text: str | None, column: int) -> str:
    """A source line from symbolic without its line end, at most ``MAX_CONTEXT`` characters around ``column``."""
    if not text:
        return ""
    return _cut_around(_LINE_END.sub("", text), column)


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
        self._stack_chars = 0
        self._stacks_until = 0.0

    def find(self, release: str, url: str, debug_id: str = "") -> ParsedMap | None:
        """The built map for a minified file of a release, trying each of :func:`candidates` (by ``debug_id`` first
        when known)."""
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
            self._stack_chars = 0
            self._stacks_until = now + self.negative_ttl
        return self._stacks.get(key)

    def remember(self, key: StackKey, result: list[Symbolicated]) -> None:
        size = sum(_chars(f) for f in key[1]) + sum(_chars(f) for f in result)
        if len(self._stacks) >= STACK_MEMO_SIZE or self._stack_chars + size > STACK_MEMO_CHARS:
            self._stacks.clear()
            self._stack_chars = 0
        self._stacks[key] = result
        self._stack_chars += size

    def invalidate(self, release: str, url: str) -> None:
        """Forget what is cached under exactly this key (under every release for ``ANY_RELEASE``): a new map was
        uploaded under it."""
        self._stacks.clear()
        self._stack_chars = 0
        keys = [k for k in self._entries if k[1] == url] if release == ANY_RELEASE else [(release, url)]
        for key in keys:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self.bytes -= entry.cost

    def _load(self, release: str, key: str, previous: _Entry | None, now: float) -> _Entry:
        files = self._loader(release, key)
        if files is None:
            entry = _Entry(None, NEGATIVE_BYTES, now + self.negative_ttl)
        else:
            try:
                parsed = parse_map(files.map, files.source, self.max_map_bytes)
            except MalformedMap as exc:
                # Logged when first found, not again each time the negative entry expires.
                if previous is None or not previous.malformed:
                    log.warning("source map %r of release %r is unusable, treated as missing: %s", key, release, exc)
                entry = _Entry(None, NEGATIVE_BYTES, now + self.negative_ttl, malformed=True)
            except OSError as exc:  # not the map's fault: tried again after the negative entry expires
                log.error("source map %r of release %r could not be built: %s", key, release, exc)
                entry = _Entry(None, NEGATIVE_BYTES, now + self.negative_ttl)
            else:
                entry = _Entry(parsed, parsed.cost)
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
    if parsed is None or frame.line is None or frame.column is None:
        return None
    if not (0 < frame.line <= MAX_POSITION and 0 < frame.column <= MAX_POSITION):  # symbolic takes 32-bit numbers
        return None
    token = parsed.lookup(frame.line, frame.column, context=frame.in_app)
    return None if token is None else (token, parsed)


def _chars(frame: Frame | Symbolicated) -> int:
    """What a remembered frame holds, in characters: its strings, and the objects around them."""
    return (
        FRAME_CHARS + len(frame.function) + len(frame.url) + len(frame.context)
        + sum(len(line) for line in frame.pre_context) + sum(len(line) for line in frame.post_context)
        + (len(frame.source) if isinstance(frame, Symbolicated) else 0)
    )  # fmt: skip


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
        column = token.col - 1
        result.append(
            Symbolicated(
                function=_function(frames, found, i) or frame.function,
                url=frame.url,
                line=frame.line,
                column=frame.column,
                in_app=frame.in_app,
                kind=frame.kind,
                source=parsed.source(token),
                source_line=token.line,
                source_column=token.col,
                context=_cut_line(token.context_line, column),
                mapped=True,
                pre_context=tuple(_cut_line(text, 0) for text in token.pre_context) if frame.in_app else (),
                post_context=tuple(_cut_line(text, 0) for text in token.post_context) if frame.in_app else (),
            )
        )
    return result


def _function(frames: Sequence[Frame], found: Sequence[tuple[Token, ParsedMap] | None], i: int) -> str | None:
    """Frame ``i``'s original function name: its scope's, else the name its caller calls it by (see the module
    doc); an anonymous function with neither is ``<anonymous>``. The order Sentry's symbolicator takes."""
    hit = found[i]
    if hit is None:
        return None
    token, parsed = hit
    scope = token.function_name if parsed.scopes else None
    if scope and scope not in _USELESS_SCOPES:
        return scope
    called_as = _caller_name(frames, found, i)
    if called_as:
        return called_as
    return ANONYMOUS if scope == ANONYMOUS and frames[i].function in _NO_NAME else None


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
