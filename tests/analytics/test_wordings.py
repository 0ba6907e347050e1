"""The engines' wordings of the same errors, as a table: each phrasing to the one wording Vigil groups and titles by."""

from __future__ import annotations

import pytest

from analytics.wordings import canonical

READ_PRICE = ("TypeError", "Cannot read properties of undefined (reading 'price')")


@pytest.mark.parametrize(
    ("engine", "error_type", "message", "expected"),
    [
        # Reading a property of undefined (item.price).
        ("V8", "TypeError", "Cannot read properties of undefined (reading 'price')", READ_PRICE),
        ("V8 before 9.3", "TypeError", "Cannot read property 'price' of undefined", READ_PRICE),
        ("JavaScriptCore", "TypeError", "undefined is not an object (evaluating 'item.price')", READ_PRICE),
        ("JavaScriptCore", "TypeError", "undefined is not an object (evaluating 'cart.items[0].price')", READ_PRICE),
        ("JavaScriptCore", "TypeError", "undefined is not an object (evaluating 'row?.price')", READ_PRICE),
        ("SpiderMonkey", "TypeError", 'can\'t access property "price", item is undefined', READ_PRICE),
        # And of null.
        ("V8", "TypeError", "Cannot read properties of null (reading 'focus')",
         ("TypeError", "Cannot read properties of null (reading 'focus')")),
        ("JavaScriptCore", "TypeError", "null is not an object (evaluating 'input.focus')",
         ("TypeError", "Cannot read properties of null (reading 'focus')")),
        ("SpiderMonkey", "TypeError", 'can\'t access property "focus", document.getElementById(...) is null',
         ("TypeError", "Cannot read properties of null (reading 'focus')")),
        # An undefined variable.
        ("V8, SpiderMonkey", "ReferenceError", "gtag is not defined", ("ReferenceError", "gtag is not defined")),
        ("JavaScriptCore", "ReferenceError", "Can't find variable: gtag", ("ReferenceError", "gtag is not defined")),
        # Setting a property of undefined.
        ("V8", "TypeError", "Cannot set properties of undefined (setting 'total')",
         ("TypeError", "Cannot set properties of undefined (setting 'total')")),
        ("V8 before 9.3", "TypeError", "Cannot set property 'total' of undefined",
         ("TypeError", "Cannot set properties of undefined (setting 'total')")),
        ("SpiderMonkey", "TypeError", 'can\'t assign to property "total" on undefined: not an object',
         ("TypeError", "Cannot set properties of undefined (setting 'total')")),
        # Calling what is not a function.
        ("V8, SpiderMonkey", "TypeError", "cart.sum is not a function", ("TypeError", "cart.sum is not a function")),
        ("JavaScriptCore", "TypeError", "cart.sum is not a function. (In 'cart.sum(1)', 'cart.sum' is undefined)",
         ("TypeError", "cart.sum is not a function")),
        ("JavaScriptCore before 13", "TypeError", "undefined is not a function (evaluating 'cart.sum(1)')",
         ("TypeError", "cart.sum is not a function")),
        # Iterating what is not iterable.
        ("V8", "TypeError", "items is not iterable (cannot read property Symbol(Symbol.iterator))",
         ("TypeError", "items is not iterable")),
        ("SpiderMonkey", "TypeError", "items is not iterable", ("TypeError", "items is not iterable")),
        # Assigning to a constant.
        ("V8", "TypeError", "Assignment to constant variable.", ("TypeError", "Assignment to constant variable.")),
        ("SpiderMonkey", "TypeError", "invalid assignment to const 'total'",
         ("TypeError", "Assignment to constant variable.")),
        ("JavaScriptCore", "TypeError", "Attempted to assign to readonly property.",
         ("TypeError", "Assignment to constant variable.")),
        # Recursion without end.
        ("V8", "RangeError", "Maximum call stack size exceeded", ("RangeError", "Maximum call stack size exceeded")),
        ("JavaScriptCore", "RangeError", "Maximum call stack size exceeded.",
         ("RangeError", "Maximum call stack size exceeded")),
        ("SpiderMonkey", "InternalError", "too much recursion", ("RangeError", "Maximum call stack size exceeded")),
        # JSON.parse of an HTML error page.
        ("V8 before 10.5", "SyntaxError", "Unexpected token < in JSON at position 0",
         ("SyntaxError", "JSON.parse: not valid JSON")),
        ("V8", "SyntaxError", "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
         ("SyntaxError", "JSON.parse: not valid JSON")),
        ("SpiderMonkey", "SyntaxError", "JSON.parse: unexpected character at line 1 column 1 of the JSON data",
         ("SyntaxError", "JSON.parse: not valid JSON")),
        ("JavaScriptCore", "SyntaxError", "JSON Parse error: Unrecognized token '<'",
         ("SyntaxError", "JSON.parse: not valid JSON")),
        # fetch() without an answer.
        ("V8", "TypeError", "Failed to fetch", ("TypeError", "Failed to fetch")),
        ("SpiderMonkey", "TypeError", "NetworkError when attempting to fetch resource.",
         ("TypeError", "Failed to fetch")),
        ("JavaScriptCore", "TypeError", "Load failed", ("TypeError", "Failed to fetch")),
    ],
)  # fmt: skip
def test_each_engines_wording_becomes_one(engine, error_type, message, expected):
    assert canonical(error_type, message) == expected, engine


@pytest.mark.parametrize(
    ("error_type", "message"),
    [
        ("Error", "Payment service answered 502"),  # the site's own: kept
        ("TypeError", "undefined is not an object (evaluating 'Object.keys(x)')"),  # no property named: kept
        ("TypeError", "item is undefined"),  # old Firefox: the property is not said, so it cannot be matched up
        ("ReferenceError", "Can't find variable: a b"),
        ("SyntaxError", "Unexpected token '<'"),  # not JSON.parse's
    ],
)
def test_messages_no_rule_knows_stay_as_they_are(error_type, message):
    assert canonical(error_type, message) == (error_type, message)
