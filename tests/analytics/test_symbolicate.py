"""Symbolication against bundles built by esbuild in the test and stacks thrown by Node."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics.enrich.maps import MapFiles, parse_map
from analytics.enrich.stack import Frame, parse_stack
from analytics.enrich.symbolicate import (
    SourceMapCache,
    Symbolicated,
    candidates,
    symbolicate,
)

ESBUILD = Path(__file__).resolve().parents[2] / "beacon-js" / "node_modules" / ".bin" / "esbuild"
PAGE = "https://shop.example/cart"
URL = "https://shop.example/static/app.js?v=3"
RELEASE = "shop@1.4.0"

TAX = """\
export function applyTax(amount, rate) {
  if (rate < 0) {
    throw new RangeError("negative tax rate: " + rate);
  }
  return amount * (1 + rate);
}
"""
CART = """\
import { applyTax } from "./tax.js";

export function computeTotal(items, rate) {
  const prices = items.map((item) => applyTax(item.price, rate));
  return prices.reduce((sum, price) => sum + price, 0);
}
"""
MAIN = """\
import { computeTotal } from "./cart.js";

function checkout(cart) {
  const total = computeTotal(cart.items, cart.rate);
  return { total, currency: cart.currency };
}

export function pay(cart) {
  return checkout(cart);
}
"""
# Runs the bundle as a classic script under the URL a browser would have loaded it from, so
# the stack names that URL (V8 prints the script's name), then throws through the nested calls.
RUN = """\
const vm = require("node:vm");
const fs = require("node:fs");
vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"), { filename: process.argv[3] });
try {
  shop.pay({ items: [{ price: 2 }], rate: -1, currency: "EUR" });
} catch (err) {
  process.stdout.write(err.stack);
}
"""


def build(folder: Path, sources: dict[str, str], *args: str) -> tuple[str, bytes]:
    """(minified bundle, its map) of ``src/main.js`` and its imports, built by esbuild."""
    for name, text in sources.items():
        (folder / "src").mkdir(parents=True, exist_ok=True)
        (folder / "src" / name).write_text(text)
    command = [str(ESBUILD), "src/main.js", "--bundle", "--minify", "--sourcemap", "--sources-content=true"]
    subprocess.run([*command, "--outfile=app.js", "--log-level=error", *args], cwd=folder, check=True, timeout=60)
    return (folder / "app.js").read_text(), (folder / "app.js.map").read_bytes()


class Store:
    """The loader's edge: maps uploaded by (release, key), and every key asked for."""

    def __init__(self, maps: dict[tuple[str, str], bytes | MapFiles] | None = None) -> None:
        self.maps = dict(maps or {})
        self.asked: list[str] = []

    def __call__(self, release: str, key: str) -> MapFiles | None:
        self.asked.append(key)
        found = self.maps.get((release, key))
        return MapFiles(found) if isinstance(found, bytes) else found


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes, str]:
    """(bundle, map, V8 stack thrown through it) of the three-file shop."""
    folder = tmp_path_factory.mktemp("shop")
    bundle, map_bytes = build(folder, {"tax.js": TAX, "cart.js": CART, "main.js": MAIN}, "--global-name=shop")
    (folder / "run.js").write_text(RUN)
    run = subprocess.run(
        ["node", "run.js", "app.js", URL], cwd=folder, capture_output=True, text=True, check=True, timeout=60
    )
    return bundle, map_bytes, run.stdout


def throw_column(bundle: str) -> int:
    """Where V8 reports the throw in applyTax: the `new` (1-based, the bundle is one line)."""
    return bundle.index("new RangeError") + 1


SOURCES = {"src/tax.js": TAX, "src/cart.js": CART, "src/main.js": MAIN}


def mapped_frame(function: str, frame: Frame, source: str, line: int, column: int, context: str) -> Symbolicated:
    """A frame the map resolved; a frame of the site's own code carries two source lines either side."""
    lines = SOURCES[source].split("\n")
    before, after = (
        (tuple(lines[max(0, line - 3) : line - 1]), tuple(lines[line : line + 2])) if frame.in_app else ((), ())
    )
    return Symbolicated(
        function, frame.url, frame.line, frame.column, frame.in_app, frame.kind, source, line, column, context, True,
        before, after,
    )  # fmt: skip


def kept(frame: Frame) -> Symbolicated:
    return Symbolicated(
        frame.function, frame.url, frame.line, frame.column, frame.in_app, frame.kind, "", None, None, "", False
    )


def test_node_stack_through_esbuild_bundle(shop: tuple[str, bytes, str]) -> None:
    _, map_bytes, stack = shop
    frames = parse_stack(stack, PAGE)
    assert stack.startswith("RangeError: negative tax rate: -1\n")
    throw, arrow, native, total, checkout, pay, *node = frames
    assert [f.url for f in (throw, arrow, total, checkout, pay)] == [URL] * 5
    assert native == Frame("Array.map", "", None, None, False, "native")

    result = symbolicate(frames, RELEASE, SourceMapCache(Store({(RELEASE, URL): map_bytes})))

    tax_line = '    throw new RangeError("negative tax rate: " + rate);'
    map_line = "  const prices = items.map((item) => applyTax(item.price, rate));"
    assert result[:6] == [
        # Named by the call site in the arrow function; the position is the `new` of the throw.
        mapped_frame("applyTax", throw, "src/tax.js", 3, 11, tax_line),
        # Called by Array.map, which no map covers: the (empty) minified name stays.
        mapped_frame("", arrow, "src/cart.js", 4, 38, map_line),
        kept(native),
        mapped_frame("computeTotal", total, "src/cart.js", 4, 24, map_line),
        mapped_frame(
            "checkout", checkout, "src/main.js", 4, 17, "  const total = computeTotal(cart.items, cart.rate);"
        ),
        # The outermost bundle frame: its caller (the Node script) has no map, so no name to take.
        mapped_frame(pay.function, pay, "src/main.js", 9, 10, "  return checkout(cart);"),
    ]
    # The positions are the ones V8 reports: the throw's `new` and each call's callee.
    at = [s.context[s.source_column - 1 :] for s in result[:6] if s.source_column]
    assert [text.split("(")[0] for text in at] == ["new RangeError", "applyTax", "map", "computeTotal", "checkout"]
    assert pay.function not in {"pay", "checkout", "computeTotal", "applyTax"}  # minified, kept
    assert len(node) == 4  # run.js, then Node's module loader: V8 keeps 10 frames
    assert result[6:] == [kept(frame) for frame in node]


def test_frames_without_a_map_are_kept_and_marked(shop: tuple[str, bytes, str]) -> None:
    _, map_bytes, _ = shop
    frames = [
        Frame("t", "https://shop.example/static/vendor.js", 1, 40, True),  # no map uploaded
        Frame("e", URL, 99, 1, True),  # past the map's last line
        Frame("e", URL, 1, None, True),  # no column (old engines)
        Frame("e", URL, 2**40, 2**33, True),  # beyond what a position can be
        Frame("eval", "", None, None, False, "native"),
    ]
    store = Store({(RELEASE, URL): map_bytes})

    assert symbolicate(frames, RELEASE, SourceMapCache(store)) == [kept(frame) for frame in frames]
    assert store.asked == [
        "https://shop.example/static/vendor.js",
        "~/static/vendor.js",
        URL,
    ]


def test_candidate_keys_most_specific_first(shop: tuple[str, bytes, str]) -> None:
    assert candidates("https://shop.example/static/app.js?v=3#main") == [
        "https://shop.example/static/app.js?v=3#main",
        "https://shop.example/static/app.js",
        "~/static/app.js",
    ]
    assert candidates("https://shop.example/static/app.js") == ["https://shop.example/static/app.js", "~/static/app.js"]
    assert candidates("app.js") == ["app.js"]

    # A map uploaded for "~/static/app.js" serves the same file from any origin, after the
    # more specific keys were asked for.
    bundle, map_bytes, _ = shop
    store = Store({(RELEASE, "~/static/app.js"): map_bytes})
    cache = SourceMapCache(store)
    frame = Frame("e", "https://cdn.example.net/static/app.js?v=9#x", 1, throw_column(bundle), True)
    (result,) = symbolicate([frame], RELEASE, cache)
    assert (result.source, result.source_line, result.source_column, result.mapped) == ("src/tax.js", 3, 11, True)
    assert store.asked == [
        "https://cdn.example.net/static/app.js?v=9#x",
        "https://cdn.example.net/static/app.js",
        "~/static/app.js",
    ]
    assert cache.find("shop@1.3.0", "https://cdn.example.net/static/app.js") is None  # another release


def test_lru_evicts_by_estimated_bytes(shop: tuple[str, bytes, str]) -> None:
    _, map_bytes, _ = shop
    url = "https://shop.example/static/app.js"
    cost = parse_map(map_bytes).cost
    store = Store({(release, url): map_bytes for release in ("r1", "r2", "r3")})
    cache = SourceMapCache(store, max_bytes=2 * cost + cost // 2)

    assert cache.find("r1", url) is not None
    assert cache.find("r2", url) is not None
    assert (cache.bytes, cache.evictions) == (2 * cost, 0)
    assert cache.find("r1", url) is not None  # r1 is now the most recently used
    assert cache.find("r3", url) is not None  # evicts r2, the least recently used
    assert (cache.bytes, cache.evictions) == (2 * cost, 1)
    assert store.asked == [url] * 3

    assert cache.find("r1", url) is not None
    assert store.asked == [url] * 3
    assert cache.find("r2", url) is not None  # parsed again
    assert store.asked == [url] * 4
    assert (cache.hits, cache.misses, cache.evictions) == (2, 4, 2)


def test_a_one_megabyte_map_is_parsed_once(tmp_path: Path) -> None:
    count = 3800
    lines = [
        f"export function step{k}(a, b) {{ const total = a * {k} + b; if (total < 0) {{ "
        f'throw new Error("step{k} " + total); }} return total; }}'
        for k in range(count)
    ]
    bundle, map_bytes = build(tmp_path, {"main.js": "\n".join(lines) + "\n"}, "--format=esm")
    assert 1_000_000 <= len(map_bytes) <= 1_500_000
    # Frames at the `new Error` of five functions, where V8 would report them.
    picks = [0, 900, 1900, 2800, 3799]
    frames = [Frame("t", URL, 1, bundle.index(f'new Error("step{k} ') + 1, True) for k in picks]
    store = Store({(RELEASE, URL): map_bytes})
    cache = SourceMapCache(store)

    for n in range(1000):  # a different caller name each time: not the same stack again (see the next test)
        result = symbolicate([frames[0]._replace(function=f"t{n}"), *frames[1:]], RELEASE, cache)

    assert store.asked == [URL]
    assert (cache.misses, cache.hits) == (1, 999)
    assert [(s.source_line, s.source_column) for s in result] == [
        (k + 1, lines[k].index("new Error") + 1) for k in picks
    ]
    assert [s.context for s in result] == [lines[k] for k in picks]


def test_context_of_a_very_long_line_is_cut_around_the_position(tmp_path: Path) -> None:
    statements = "".join(f"let v{k} = n * {k}; n += v{k} % 7; " for k in range(100))
    source = f'export function wide(n) {{ {statements}throw new Error("wide " + n); }}\n'
    bundle, map_bytes = build(tmp_path, {"main.js": source}, "--format=esm")
    frame = Frame("t", URL, 1, bundle.index('new Error("wide') + 1, True)

    (result,) = symbolicate([frame], RELEASE, SourceMapCache(Store({(RELEASE, URL): map_bytes})))

    assert (result.source_line, result.source_column) == (1, source.index('new Error("wide') + 1)
    assert len(result.context) == 200
    assert result.context in source
    assert 'new Error("wide' in result.context


def raw_map(map_bytes: bytes, **changes: object) -> bytes:
    return json.dumps(json.loads(map_bytes) | changes).encode()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated-json"),
        pytest.param(lambda data: b"\xff\xfe" + data, id="not-utf8"),
        pytest.param(lambda data: raw_map(data, version=2), id="version-2"),
        pytest.param(lambda data: raw_map(data, mappings="!!!!"), id="bad-vlq"),
        pytest.param(lambda data: raw_map(data, mappings=None), id="mappings-null"),
        pytest.param(
            lambda data: json.dumps(
                {"version": 3, "sections": [{"offset": {"line": 0, "column": 0}, "url": "a.map"}]}
            ).encode(),
            id="index-map-naming-another-file",
        ),
        pytest.param(lambda data: b"[]", id="json-array"),
        pytest.param(lambda data: data + b" " * 2_000, id="over-size-bound"),
    ],
)
def test_malformed_map_is_logged_once_and_cached_as_missing(
    shop: tuple[str, bytes, str], damage: Callable[[bytes], bytes], caplog: pytest.LogCaptureFixture
) -> None:
    bundle, map_bytes, _ = shop
    url = "https://shop.example/static/app.js"
    store = Store({(RELEASE, url): damage(map_bytes)})
    clock = Clock()
    # The size bound is set just above the good map, so only the padded one is over it.
    cache = SourceMapCache(store, max_map_bytes=len(map_bytes) + 1_000, clock=clock)
    frame = Frame("e", url, 1, throw_column(bundle), True)

    with caplog.at_level(logging.WARNING, logger="analytics.enrich.symbolicate"):
        assert symbolicate([frame], RELEASE, cache) == [kept(frame)]
        assert symbolicate([frame], RELEASE, cache) == [kept(frame)]
        assert store.asked == [url, "~/static/app.js"]  # remembered, not parsed per event
        clock.now += 60
        assert cache.find(RELEASE, url) is None  # asked again after the negative entry expired
        assert store.asked == [url, "~/static/app.js"] * 2

    (record,) = caplog.records
    assert record.getMessage().startswith(f"source map '{url}' of release '{RELEASE}' is unusable")


def test_missing_map_is_cached_for_a_minute_then_asked_again(shop: tuple[str, bytes, str]) -> None:
    _, map_bytes, _ = shop
    store = Store()
    clock = Clock()
    cache = SourceMapCache(store, clock=clock)
    keys = candidates(URL)

    assert cache.find(RELEASE, URL) is None
    assert store.asked == keys
    clock.now += 59.9
    assert cache.find(RELEASE, URL) is None
    assert store.asked == keys
    assert (cache.misses, cache.hits) == (1, 1)

    store.maps[(RELEASE, "~/static/app.js")] = map_bytes  # uploaded meanwhile, by another process
    clock.now += 0.1
    assert cache.find(RELEASE, URL) is not None
    assert store.asked == keys * 2


def test_invalidate_replaces_the_cached_map(shop: tuple[str, bytes, str]) -> None:
    bundle, map_bytes, _ = shop
    url = "https://shop.example/static/app.js"
    store = Store({(RELEASE, url): map_bytes})
    cache = SourceMapCache(store)
    frame = Frame("e", url, 1, throw_column(bundle), True)
    assert symbolicate([frame], RELEASE, cache)[0].source == "src/tax.js"
    held = cache.bytes

    store.maps[(RELEASE, url)] = raw_map(map_bytes, sourceRoot="/build/")
    assert symbolicate([frame], RELEASE, cache)[0].source == "src/tax.js"  # still the cached one
    cache.invalidate(RELEASE, url)
    assert cache.bytes == 0
    (result,) = symbolicate([frame], RELEASE, cache)
    assert (result.source, result.context) == (
        "/build/src/tax.js",
        '    throw new RangeError("negative tax rate: " + rate);',
    )
    assert cache.bytes > held  # the JSON grew by the sourceRoot
    assert store.asked == [url, url]


def test_a_stack_seen_before_is_remembered_until_a_map_changes_or_a_minute_passes(
    shop: tuple[str, bytes, str],
) -> None:
    bundle, map_bytes, _ = shop
    url = "https://shop.example/static/app.js"
    store = Store({(RELEASE, url): map_bytes})
    clock = Clock()
    cache = SourceMapCache(store, clock=clock)
    frames = [Frame("e", url, 1, throw_column(bundle), True)]

    first = symbolicate(frames, RELEASE, cache)
    assert symbolicate(frames, RELEASE, cache) == first
    assert (cache.misses, cache.hits) == (1, 0)  # the second time, not even the map cache was asked

    store.maps[(RELEASE, url)] = raw_map(map_bytes, sourceRoot="/build/")
    cache.invalidate(RELEASE, url)  # a new upload
    assert symbolicate(frames, RELEASE, cache)[0].source == "/build/src/tax.js"

    del store.maps[(RELEASE, url)]
    cache.invalidate(RELEASE, url)
    assert symbolicate(frames, RELEASE, cache)[0].mapped is False
    store.maps[(RELEASE, url)] = map_bytes  # arrives without an invalidation (another process stored it)
    assert symbolicate(frames, RELEASE, cache)[0].mapped is False  # still remembered as missing
    clock.now += 61
    assert symbolicate(frames, RELEASE, cache)[0].source == "src/tax.js"
