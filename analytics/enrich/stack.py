"""Stack strings from the three JavaScript engines, parsed into frames.

    V8 (Chrome, Edge, Node):   "    at fn (https://x/app.js:1:20)", "    at https://x/app.js:1:20",
                               "    at async fn (…)", "    at eval (eval at fn (…), <anonymous>:1:2)",
                               "    at Array.forEach (<anonymous>)", "    at fn (native)"
    SpiderMonkey (Firefox):    "fn@https://x/app.js:1:20", "@https://x/app.js:1:20", "fn/<@…",
                               "async*fn@…", "fn@https://x/app.js line 3 > eval:1:2"
    JavaScriptCore (Safari):   "fn@https://x/app.js:1:20", "https://x/app.js:1:20", "global code@…",
                               "eval code@", "[native code]"

No regular expressions with nested or overlapping quantifiers: a line is cut to
``MAX_LINE`` characters and taken apart with string operations from its ends, so a
hostile stack costs time proportional to its length, and at most ``MAX_FRAMES`` frames
are kept (the innermost, where the error was thrown).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from contracts.beacon import SentFrame
from contracts.memo import memo

MAX_LINE = 1000
MAX_FRAMES = 100
ANONYMOUS = "<anonymous>"


class Frame(NamedTuple):
    """One call, innermost first in a parsed stack. A tuple: a whole stack is a key of the symbolicated stacks
    remembered (``analytics/enrich/symbolicate.py``), hashed and compared in C."""

    function: str
    url: str
    line: int | None
    column: int | None
    in_app: bool
    kind: str = "normal"  # "normal", "anonymous", "eval", "native" or "async"
    # The source lines an SDK sent with the frame (contracts.beacon.SentFrame); a stack string has none.
    context: str = ""
    pre_context: tuple[str, ...] = ()
    post_context: tuple[str, ...] = ()


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also says yes to "²", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _position(location: str) -> tuple[str, int | None, int | None]:
    """``url:line:col`` (or ``url:line``) → (url, line, col); no numbers → (location, None, None)."""
    head, _, last = location.rpartition(":")
    if not head or not _digits(last):
        return location, None, None
    before, _, middle = head.rpartition(":")
    if before and _digits(middle):
        return before, int(middle), int(last)
    return head, int(last), None


def _v8(body: str) -> tuple[str, str, str] | None:
    """(function, location, kind) of a V8 line without its leading ``at ``."""
    kind = "normal"
    if body.startswith("async "):
        body, kind = body[6:], "async"
    if body.endswith(")") and " (" in body:
        function, _, location = body[:-1].partition(" (")
        if location.startswith("eval at "):
            # "eval at outer (url:1:2), <anonymous>:3:4": the code came from eval; where it was
            # called is the only real position.
            origin = location[location.find("(") + 1 : location.find(")")] if "(" in location else ""
            return function, origin, "eval"
        return function, location, kind
    return "", body, "anonymous" if kind == "normal" else kind


def _gecko_or_jsc(line: str) -> tuple[str, str, str] | None:
    if line in {"[native code]", "eval code", "global code"}:
        return line, "", "native"
    kind = "normal"
    if "@" in line:
        function, _, location = line.partition("@")
        if function.startswith("async*"):
            function, kind = function[6:], "async"
    else:
        function, location = "", line
    if " > eval" in location or " > Function" in location:
        # Firefox: "https://x/app.js line 3 > eval:1:2" → the eval's caller is app.js, line 3.
        origin, _, rest = location.partition(" line ")
        line_no = rest.partition(" ")[0]
        return function, f"{origin}:{line_no}" if _digits(line_no) else origin, "eval"
    if location in {"[native code]", ""}:
        return function, "", "native"
    if not function or function.endswith("/<"):
        kind = "anonymous" if kind == "normal" else kind
    return function, location, kind


@memo(maxsize=16384, max_chars=512)  # the same frames of the same errors, over and over
def parse_line(raw: str) -> tuple[str, str, int | None, int | None, str] | None:
    """(function, url, line, column, kind) of one stack line, or ``None`` if it is not a frame."""
    line = raw.strip()[:MAX_LINE]
    if not line:
        return None
    if line.startswith("at "):
        parsed = _v8(line[3:])
    elif "@" in line or line.startswith(("http:", "https:", "file:", "blob:", "[native code]")):
        parsed = _gecko_or_jsc(line)
    else:
        return None  # the message line, or something no engine writes
    if parsed is None:
        return None
    function, location, kind = parsed
    url, line_no, column = _position(location)
    if url in {"native", ANONYMOUS}:  # V8's built-ins: "(native)", "(<anonymous>)"
        url, kind = "", "native"
    if kind == "normal" and not function:
        kind = "anonymous"
    return function, url, line_no, column, kind


def _site(host: str) -> str:
    """The last two labels of a host name: close enough to a registrable domain for "is it ours"."""
    return ".".join(host.split(".")[-2:]) if host.count(".") >= 1 and not host.replace(".", "").isdigit() else host


@memo(maxsize=8192, max_chars=1024)  # the same few scripts and pages, over and over
def in_app(url: str, page_url: str) -> bool:
    """Code of the site itself: served over http(s) from the page's own site, and not a dependency."""
    try:
        script, page = urlsplit(url), urlsplit(page_url)
    except ValueError:
        return False
    if script.scheme not in {"http", "https"} or "/node_modules/" in script.path:
        return False
    return not page.hostname or _site(script.hostname or "") == _site(page.hostname)


def sent_frames(frames: Sequence[SentFrame], page_url: str = "") -> list[Frame]:
    """The frames an SDK sent as data (innermost first). Whether a frame is the application's code: for a page's
    script (an http(s) URL) Vigil's own rule, as for a parsed stack; for any other (a server's file) the SDK's
    ``in_app``, and not the application's when the SDK did not say."""
    return [
        Frame(
            f.function,
            f.url,
            f.line,
            f.column,
            in_app(f.url, page_url) if f.url.startswith(("http://", "https://")) else bool(f.in_app),
            "normal" if f.function else "anonymous",
            f.context,
            tuple(f.pre_context),
            tuple(f.post_context),
        )
        for f in frames[:MAX_FRAMES]
    ]


def parse_stack(stack: str, page_url: str = "") -> list[Frame]:
    """The frames of a stack string, innermost first (as every engine prints them)."""
    frames: list[Frame] = []
    for raw in stack.split("\n", MAX_FRAMES * 4)[: MAX_FRAMES * 4]:
        parsed = parse_line(raw)
        if parsed is None:
            continue
        function, url, line, column, kind = parsed
        ours = kind in {"normal", "anonymous", "async"} and in_app(url, page_url)
        frames.append(Frame(function, url, line, column, ours, kind))
        if len(frames) == MAX_FRAMES:
            break
    return frames
