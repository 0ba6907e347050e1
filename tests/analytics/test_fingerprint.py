"""Grouping: the same error from three browsers and two releases is one fingerprint; different errors are not."""

from __future__ import annotations

from analytics.enrich.stack import parse_stack
from analytics.fingerprint import grouping, module_of, normalize_message

PAGE = "https://shop.example/cart"


def group(error_type: str, message: str, stack: str, **kw):  # type: ignore[no-untyped-def]
    frames = [(f, f.url, "", "") for f in parse_stack(stack, PAGE)]
    return grouping(error_type, message, frames, **kw)


# The same bug (addToCart reads item.price of undefined, called from a click handler inside
# checkout), as each engine reports it, in two releases whose bundles have other hashes
# and shifted positions.
CHROME_1 = """TypeError: Cannot read properties of undefined (reading 'price')
    at addToCart (https://shop.example/static/app.41ab.js:1:1187)
    at Cart.total (https://shop.example/static/app.41ab.js:1:1500)
    at HTMLButtonElement.<anonymous> (https://shop.example/static/app.41ab.js:1:1578)
    at https://cdn.example.net/vendor.js:2:18840"""
FIREFOX_2 = """addToCart@https://shop.example/static/app.9c1e.js:1:2211
total@https://shop.example/static/app.9c1e.js:1:2590
checkout/<@https://shop.example/static/app.9c1e.js:1:2602
@https://cdn.example.net/vendor.js:2:18840"""
SAFARI_2 = """addToCart@https://shop.example/static/app.9c1e.js:1:2211
total@https://shop.example/static/app.9c1e.js:1:2590
https://shop.example/static/app.9c1e.js:1:2602
https://cdn.example.net/vendor.js:2:18840"""


def test_one_bug_from_three_browsers_and_two_releases_is_one_group():
    chrome = group("TypeError", "Cannot read properties of undefined (reading 'price')", CHROME_1)
    firefox = group("TypeError", "item is undefined", FIREFOX_2)
    safari = group("TypeError", "undefined is not an object (evaluating 'item.price')", SAFARI_2)
    assert chrome.app_hash == firefox.app_hash == safari.app_hash
    assert chrome.full_hash == firefox.full_hash == safari.full_hash
    assert chrome.culprit == "addToCart (app.js)"


def test_different_bugs_are_different_groups():
    other = CHROME_1.replace("addToCart", "removeFromCart")
    assert group("TypeError", "x", CHROME_1).app_hash != group("TypeError", "x", other).app_hash


def test_vendor_frames_only_change_the_full_hash():
    with_other_vendor = CHROME_1.replace(
        "at https://cdn.example.net/vendor.js", "at lib (https://cdn.example.net/lib.js"
    )
    a, b = group("TypeError", "x", CHROME_1), group("TypeError", "x", with_other_vendor + ")")
    assert a.app_hash == b.app_hash
    assert a.full_hash != b.full_hash


def test_without_frames_the_normalized_message_groups():
    a = group("Error", "Order 1234 failed for bob@shop.example at https://shop.example/o/1234", "")
    b = group("Error", "Order 98 failed for ann@shop.example at https://shop.example/o/98", "")
    c = group("Error", "Payment declined", "")
    assert a.app_hash == b.app_hash != c.app_hash
    assert normalize_message("id 550e8400-e29b-41d4-a716-446655440000 from 10.0.0.7 (0xdeadbeef) took 12.5s") == (
        "id <uuid> from <ip> (<hex>) took <n>s"
    )


def test_noisy_families_group_together():
    chunk_a = group("ChunkLoadError", "Loading chunk 742 failed.", CHROME_1)
    chunk_b = group("Error", "Loading CSS chunk 12 failed", "")
    script_a = group("Error", "Script error.", "")
    script_b = group("Error", "Script error.", CHROME_1, cross_origin=True)
    resize = group("Error", "ResizeObserver loop completed with undelivered notifications.", "")
    assert chunk_a.app_hash == chunk_b.app_hash
    assert script_a.app_hash == script_b.app_hash
    assert len({chunk_a.app_hash, script_a.app_hash, resize.app_hash}) == 3


def test_a_client_fingerprint_wins_and_can_extend_the_default():
    own = group("TypeError", "x", CHROME_1, client_fingerprint=["checkout-broken"])
    other_stack = group("Error", "y", FIREFOX_2.replace("addToCart", "pay"), client_fingerprint=["checkout-broken"])
    extended = group("TypeError", "x", CHROME_1, client_fingerprint=["{{ default }}", "eu"])
    assert own.app_hash == other_stack.app_hash
    assert extended.app_hash not in {own.app_hash, group("TypeError", "x", CHROME_1).app_hash}


def test_bundle_hashes_leave_module_names():
    assert [module_of(u) for u in (
        "https://x/static/app.9c1e.js", "https://x/main-3f8a2b1c.js?v=2", "https://x/app-5XZ2KQ3L.js",
        "https://x/page-checkout.js", "https://x/vendor.js",
    )] == ["app.js", "main.js", "app.js", "page-checkout.js", "vendor.js"]  # fmt: skip
    assert module_of("https://x/app.js", source="webpack://shop/./src/cart.ts") == "src/cart.ts"
    assert module_of("https://x/app.js", source="../src/cart.ts") == "src/cart.ts"


def test_without_frames_the_engines_wordings_group_and_title_as_one():
    safari = group("ReferenceError", "Can't find variable: gtag", "")
    chrome = group("ReferenceError", "gtag is not defined", "")
    assert safari.app_hash == chrome.app_hash
    assert safari.title == chrome.title == "ReferenceError: gtag is not defined"
    read = group("TypeError", "undefined is not an object (evaluating 'item.price')", "")
    assert read.title == "TypeError: Cannot read properties of undefined (reading 'price')"
    assert (safari.rule, group("TypeError", "x", CHROME_1).rule) == ("message", "frames")
    assert group("TypeError", "x", CHROME_1, client_fingerprint=["a"]).rule == "fingerprint"
    assert group("Error", "Script error.", "").rule == "family"


def test_minified_names_no_map_replaced_do_not_split_an_issue_by_release():
    """Payment service answered 502, from two builds whose minifier named the functions otherwise."""
    build_1 = "Error: x\n    at n (https://shop.example/static/app.41ab.js:1:100)\n    at Qe (https://shop.example/static/app.41ab.js:1:900)"
    build_2 = "Error: x\n    at r (https://shop.example/static/app.9c1e.js:1:180)\n    at Ue (https://shop.example/static/app.9c1e.js:1:950)"
    first = group("Error", "Payment service answered 502", build_1)
    second = group("Error", "Payment service answered 502", build_2)
    assert first.app_hash == second.app_hash
    assert first.rule == "message"
