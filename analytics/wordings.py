"""One wording for the same error, whichever browser engine threw it.

V8 (Chrome, Edge, Node), SpiderMonkey (Firefox) and JavaScriptCore (Safari) word the same
mistake differently: reading ``item.price`` when ``item`` is undefined is "Cannot read
properties of undefined (reading 'price')" in Chrome, "can't access property "price", item
is undefined" in Firefox and "undefined is not an object (evaluating 'item.price')" in
Safari. ``canonical`` maps the known phrasings to one (V8's current one, the most common),
so an error without usable frames groups as one issue across browsers, and every issue is
titled by that wording rather than by whichever browser reported first. A message no rule
knows is kept as it is.

The table is of phrasings seen in the engines' sources and in the wild; each rule has a
test (``tests/analytics/test_wordings.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from contracts.memo import memo

Rule = tuple[str | None, re.Pattern[str], Callable[[re.Match[str]], tuple[str, str] | None]]

_PROPERTY = re.compile(r"(?:\.|\?\.)([\w$]+)$|\[['\"]?([^'\"\]]+)['\"]?\]$")


def _read(value: str, prop: str) -> tuple[str, str]:
    return "TypeError", f"Cannot read properties of {value} (reading '{prop}')"


def _read_evaluating(match: re.Match[str]) -> tuple[str, str] | None:
    """JavaScriptCore names the expression, not the property: ``item.price`` → ``price``."""
    found = _PROPERTY.search(match["expr"].strip())
    return _read(match["value"], found[1] or found[2]) if found else None


def _set(value: str, prop: str) -> tuple[str, str]:
    return "TypeError", f"Cannot set properties of {value} (setting '{prop}')"


RULES: list[Rule] = [
    # ReferenceError: V8 and SpiderMonkey agree; JavaScriptCore does not.
    ("ReferenceError", re.compile(r"^Can't find variable: (?P<name>[\w$]+)$"),
     lambda m: ("ReferenceError", f"{m['name']} is not defined")),
    # Reading a property of undefined or null.
    ("TypeError", re.compile(r"^Cannot read property '(?P<prop>[^']*)' of (?P<value>undefined|null)$"),
     lambda m: _read(m["value"], m["prop"])),
    ("TypeError", re.compile(r"^(?P<value>undefined|null) is not an object \(evaluating '(?P<expr>[^']*)'\)$"),
     _read_evaluating),
    ("TypeError", re.compile(r"^can't access property \"(?P<prop>[^\"]*)\", .+ is (?P<value>undefined|null)$"),
     lambda m: _read(m["value"], m["prop"])),
    # Setting a property of undefined or null.
    ("TypeError", re.compile(r"^Cannot set property '(?P<prop>[^']*)' of (?P<value>undefined|null)$"),
     lambda m: _set(m["value"], m["prop"])),
    ("TypeError",
     re.compile(r"^can't assign to property \"(?P<prop>[^\"]*)\" on (?P<value>undefined|null): not an object$"),
     lambda m: _set(m["value"], m["prop"])),
    # Calling what is not a function: JavaScriptCore adds what it found.
    ("TypeError", re.compile(r"^(?P<expr>.+) is not a function\. \(In '.*', '.*' is .+\)$"),
     lambda m: ("TypeError", f"{m['expr']} is not a function")),
    ("TypeError", re.compile(r"^(?:undefined|null) is not a function \(evaluating '(?P<callee>[^'(]+)\(.*\)'\)$"),
     lambda m: ("TypeError", f"{m['callee']} is not a function")),
    # Iterating what is not iterable.
    ("TypeError", re.compile(r"^(?P<expr>.+) is not iterable \(cannot read property Symbol\(Symbol\.iterator\)\)$"),
     lambda m: ("TypeError", f"{m['expr']} is not iterable")),
    # Assigning to a constant.
    ("TypeError", re.compile(r"^invalid assignment to const ['\"]?[\w$]+['\"]?$"),
     lambda m: ("TypeError", "Assignment to constant variable.")),
    ("TypeError", re.compile(r"^Attempted to assign to readonly property\.$"),
     lambda m: ("TypeError", "Assignment to constant variable.")),
    # Recursion without end: SpiderMonkey even calls it another type.
    ("InternalError", re.compile(r"^too much recursion$"),
     lambda m: ("RangeError", "Maximum call stack size exceeded")),
    ("RangeError", re.compile(r"^Maximum call stack size exceeded\.$"),
     lambda m: ("RangeError", "Maximum call stack size exceeded")),
    # JSON.parse of what is not JSON (an HTML error page where an API answer was expected).
    ("SyntaxError",
     re.compile(r"^(?:Unexpected token .{1,8} in JSON at position \d+|Unexpected token '.{1,8}', .* is not valid JSON"
                r"|JSON\.parse: .+ of the JSON data|JSON Parse error: .+|Unexpected end of JSON input"
                r"|\"undefined\" is not valid JSON)$"),
     lambda m: ("SyntaxError", "JSON.parse: not valid JSON")),
    # fetch() that got no answer at all (offline, DNS, TLS, CORS): each engine's one sentence for it.
    ("TypeError", re.compile(r"^(?:NetworkError when attempting to fetch resource\.|Load failed)$"),
     lambda m: ("TypeError", "Failed to fetch")),
]  # fmt: skip


@memo(maxsize=8192, max_chars=512)
def canonical(error_type: str, message: str) -> tuple[str, str]:
    """The error type and message in the one wording used for grouping and titles; unknown ones unchanged."""
    text = message.strip()
    for rule_type, pattern, build in RULES:
        if rule_type is not None and rule_type != error_type:
            continue
        found = pattern.match(text[:2000])
        if found is not None:
            result = build(found)
            if result is not None:
                return result
    return error_type, message
