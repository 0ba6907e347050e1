"""What symbolic reads of a map: functions named by scope, sourceRoot joined as a URL, index maps by section."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from analytics.enrich.maps import MapFiles, resolve_dots
from analytics.enrich.stack import Frame, parse_stack
from analytics.enrich.symbolicate import SourceMapCache, symbolicate
from tests.analytics.test_symbolicate import (
    PAGE,
    RELEASE,
    RUN,
    URL,
    Store,
    build,
    mapped_frame,
    raw_map,
    shop,  # noqa: F401 (the fixture)
    throw_column,
)


def test_with_the_minified_file_every_frame_is_named_by_the_function_it_runs_in(
    shop: tuple[str, bytes, str],  # noqa: F811
) -> None:
    bundle, map_bytes, stack = shop
    frames = parse_stack(stack, PAGE)
    arrow = frames[1]
    store = Store({(RELEASE, URL): MapFiles(map_bytes, bundle.encode())})

    result = symbolicate(frames, RELEASE, SourceMapCache(store))

    map_line = "  const prices = items.map((item) => applyTax(item.price, rate));"
    # Scope analysis of the minified file: the arrow function is anonymous, and the outermost frame, whose
    # caller has no map, is named too.
    assert [(s.function, s.source, s.source_line, s.source_column) for s in result[:6]] == [
        ("applyTax", "src/tax.js", 3, 11),
        ("<anonymous>", "src/cart.js", 4, 38),
        ("Array.map", "", None, None),
        ("computeTotal", "src/cart.js", 4, 24),
        ("checkout", "src/main.js", 4, 17),
        ("pay", "src/main.js", 9, 10),
    ]
    assert result[1] == dataclasses.replace(
        mapped_frame("", arrow, "src/cart.js", 4, 38, map_line), function="<anonymous>"
    )


CLASSES = """\
export class Cart {
  constructor(items) {
    this.items = items;
  }
  checkout(rate) {
    return this.items.map((item) => item.price * rate).reduce(sum);
  }
}
function sum(a, b) {
  if (b < 0) throw new Error("refund in a sale");
  return a + b;
}
export const api = {
  order(items) {
    return new Cart(items).checkout(2);
  },
};
"""


def test_methods_are_named_with_their_class_or_object(tmp_path: Path) -> None:
    bundle, map_bytes = build(tmp_path, {"main.js": CLASSES}, "--global-name=shop")
    (tmp_path / "run.js").write_text(RUN.replace("shop.pay({ items: [{ price: 2 }], rate: -1, currency: \"EUR\" })",
                                                 "shop.api.order([{ price: 1 }, { price: -1 }])"))  # fmt: skip
    run = subprocess.run(["node", "run.js", "app.js", URL], cwd=tmp_path, capture_output=True, text=True, check=True,
                         timeout=60)  # fmt: skip
    frames = [f for f in parse_stack(run.stdout, PAGE) if f.url == URL]
    with_scopes = SourceMapCache(Store({(RELEASE, URL): MapFiles(map_bytes, bundle.encode())}))
    map_alone = SourceMapCache(Store({(RELEASE, URL): map_bytes}))

    named = [s.function for s in symbolicate(frames, RELEASE, with_scopes)]
    by_call_sites = [s.function for s in symbolicate(frames, RELEASE, map_alone)]

    assert named == ["sum", "Cart.checkout", "api.order"]
    # Without the minified file, a frame takes the name its caller called it by: sum, called by Array.reduce (no
    # map there), and the outermost frame, whose caller has no map either, keep their minified names.
    assert (by_call_sites[0], by_call_sites[2]) == (frames[0].function, frames[2].function)


def test_source_root_is_joined_as_a_url(
    shop: tuple[str, bytes, str],  # noqa: F811
) -> None:
    bundle, map_bytes, _ = shop
    raw = json.loads(map_bytes)
    rooted = raw_map(map_bytes, sourceRoot="https://src.example/app/", sources=["../../" + s for s in raw["sources"]])
    frame = Frame("e", URL, 1, throw_column(bundle), True)

    (result,) = symbolicate([frame], RELEASE, SourceMapCache(Store({(RELEASE, URL): rooted})))

    assert (result.source, result.source_line) == ("https://src.example/src/tax.js", 3)


@pytest.mark.parametrize(
    ("name", "resolved"),
    [
        ("https://src.example/app/../../node_modules/x.js", "https://src.example/node_modules/x.js"),
        ("https://src.example/app/./y.js", "https://src.example/app/y.js"),
        ("webpack://shop/./src/a.js", "webpack://shop/src/a.js"),
        ("/static/../b.js", "/b.js"),
        ("/a/b/..", "/a/"),
        ("../src/a.ts", "../src/a.ts"),  # relative to the map, as bundlers write them: kept
        ("src/.hidden/a.ts", "src/.hidden/a.ts"),
        ("https://src.example/.well-known/a.js", "https://src.example/.well-known/a.js"),
    ],
)
def test_dot_segments_of_urls_and_absolute_paths_are_resolved(name: str, resolved: str) -> None:
    assert resolve_dots(name) == resolved


def test_an_index_map_covers_each_section_from_its_offset(
    tmp_path: Path,
    shop: tuple[str, bytes, str],  # noqa: F811
) -> None:
    bundle, map_bytes, _ = shop
    wide_source = 'export function wide(n) {\n  throw new Error("wide " + n);\n}\n'
    wide_bundle, wide_map = build(tmp_path, {"main.js": wide_source}, "--format=esm")
    # A concatenated file: the shop's bundle on its first line, the other bundle after it.
    index = {
        "version": 3,
        "sections": [
            {"offset": {"line": 0, "column": 0}, "map": json.loads(map_bytes)},
            {"offset": {"line": 1, "column": 0}, "map": json.loads(wide_map)},
        ],
    }
    frames = [
        Frame("e", URL, 1, throw_column(bundle), True),
        Frame("t", URL, 2, wide_bundle.index('new Error("wide') + 1, True),
    ]

    result = symbolicate(frames, RELEASE, SourceMapCache(Store({(RELEASE, URL): json.dumps(index).encode()})))

    assert [(s.source, s.source_line, s.context.strip()) for s in result] == [
        ("src/tax.js", 3, 'throw new RangeError("negative tax rate: " + rate);'),
        ("src/main.js", 2, 'throw new Error("wide " + n);'),
    ]
