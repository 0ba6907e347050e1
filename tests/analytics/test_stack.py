"""Stack parsing: real stacks from Chromium, and the Firefox and Safari formats."""

from __future__ import annotations

import time

import pytest

from analytics.enrich.stack import Frame, parse_stack

PAGE = "https://shop.example/cart"

FIREFOX = """total@https://shop.example/static/app.js:1:2045
checkout/<@https://shop.example/static/app.js:1:2436
async*pay@https://shop.example/static/app.js:2:10
@https://shop.example/static/app.js line 3 > eval:1:7
render@https://shop.example/static/app.js line 9 > Function:2:3
@https://cdn.example.net/vendor.js:2:18840
"""

SAFARI = """total@https://shop.example/static/app.js:1:2045
https://shop.example/static/app.js:1:2436
global code@https://shop.example/cart:12:3
eval code@
eval@[native code]
[native code]
module code@https://shop.example/static/main.mjs:4:1
"""


def test_firefox_frames():
    assert parse_stack(FIREFOX, PAGE) == [
        Frame("total", "https://shop.example/static/app.js", 1, 2045, True),
        Frame("checkout/<", "https://shop.example/static/app.js", 1, 2436, True, "anonymous"),
        Frame("pay", "https://shop.example/static/app.js", 2, 10, True, "async"),
        Frame("", "https://shop.example/static/app.js", 3, None, False, "eval"),
        Frame("render", "https://shop.example/static/app.js", 9, None, False, "eval"),
        Frame("", "https://cdn.example.net/vendor.js", 2, 18840, False, "anonymous"),
    ]


def test_safari_frames():
    assert parse_stack(SAFARI, PAGE) == [
        Frame("total", "https://shop.example/static/app.js", 1, 2045, True),
        Frame("", "https://shop.example/static/app.js", 1, 2436, True, "anonymous"),
        Frame("global code", "https://shop.example/cart", 12, 3, True),
        Frame("eval code", "", None, None, False, "native"),
        Frame("eval", "", None, None, False, "native"),
        Frame("[native code]", "", None, None, False, "native"),
        Frame("module code", "https://shop.example/static/main.mjs", 4, 1, True),
    ]


def test_v8_shapes():
    stack = """TypeError: x is not a function
    at total (https://shop.example/static/app.js:1:2045)
    at HTMLButtonElement.<anonymous> (https://shop.example/static/app.js:1:2436)
    at async checkout (https://shop.example/static/app.js:2:10)
    at Array.forEach (<anonymous>)
    at JSON.parse (native)
    at eval (eval at run (https://shop.example/static/app.js:3:4), <anonymous>:1:7)
    at https://cdn.example.net/vendor.js:2:18840
    at new Widget (https://shop.example/node_modules/w/index.js:5:6)
    at Object.fn [as handler] (http://localhost:8080/app.js:7:1)"""
    assert parse_stack(stack, PAGE) == [
        Frame("total", "https://shop.example/static/app.js", 1, 2045, True),
        Frame("HTMLButtonElement.<anonymous>", "https://shop.example/static/app.js", 1, 2436, True),
        Frame("checkout", "https://shop.example/static/app.js", 2, 10, True, "async"),
        Frame("Array.forEach", "", None, None, False, "native"),
        Frame("JSON.parse", "", None, None, False, "native"),
        Frame("eval", "https://shop.example/static/app.js", 3, 4, False, "eval"),
        Frame("", "https://cdn.example.net/vendor.js", 2, 18840, False, "anonymous"),
        Frame("new Widget", "https://shop.example/node_modules/w/index.js", 5, 6, False),
        Frame("Object.fn [as handler]", "http://localhost:8080/app.js", 7, 1, False),
    ]


def test_digits_that_are_not_ascii_are_not_a_position():
    # "²" and "³" are digits to str.isdigit, and int() refuses them: the location is kept as text.
    stack = "TypeError: x\n    at f (https://shop.example/app.js:²:³)\n    at g (https://shop.example/app.js:1:2)"
    assert parse_stack(stack, PAGE)[0] == Frame("f", "https://shop.example/app.js:²:³", None, None, True)


@pytest.mark.parametrize(
    "hostile",
    ["    at " + "(" * 200_000, "a@" * 200_000, ":1" * 200_000, "    at f (" + "x:" * 100_000 + ")", "\n" * 500_000],
)
def test_hostile_stacks_cost_time_in_proportion_and_keep_at_most_100_frames(hostile):
    started = time.perf_counter()
    frames = parse_stack(hostile * 3, PAGE)
    assert time.perf_counter() - started < 5  # a bound for a broken parser, not a benchmark
    assert len(frames) <= 100


@pytest.mark.browser
def test_real_chromium_stacks(page, site):
    site.pages["/shop/cart"] = "<!doctype html><html><body></body></html>"
    site.pages["/static/app.js"] = (
        "function total(items) { return items.price; }\n"
        "class Cart { sum() { return [1].map(function each() { return total(undefined); }); } }\n"
        "window.capture = async function checkout() {\n"
        "  await null;\n"
        "  try { new Cart().sum(); } catch (e) { return e.stack; }\n"
        "};\n"
        "window.captureEval = function run() {\n"
        "  try { eval('(function inner() { null.x; })()'); } catch (e) { return e.stack; }\n"
        "};\n"
    )
    page.goto(f"{site.url}/shop/cart")
    page.add_script_tag(url=f"{site.url}/static/app.js")
    app = f"{site.url}/static/app.js"

    frames = parse_stack(page.evaluate("capture()"), f"{site.url}/shop/cart")
    evaluated = parse_stack(page.evaluate("captureEval()"), f"{site.url}/shop/cart")

    assert [(f.function, f.url, f.line, f.in_app, f.kind) for f in frames[:5]] == [
        ("total", app, 1, True, "normal"),
        ("each", app, 2, True, "normal"),
        ("Array.map", "", None, False, "native"),
        ("Cart.sum", app, 2, True, "normal"),
        ("checkout", app, 5, True, "normal"),
    ]
    assert all(f.column for f in frames if f.url)
    assert [(f.function, f.kind) for f in evaluated[:2]] == [("inner", "eval"), ("eval", "eval")]
    assert evaluated[2].function == "run"
