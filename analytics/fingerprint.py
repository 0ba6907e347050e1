"""What makes two error events the same issue.

Like Sentry for JavaScript, and unlike line-based grouping, the hash is built from the
frames that matter, by what they are rather than where they were:

- each frame as (module, function, context line): the module is the file's base name
  with cache-busting hashes removed (``app.9c1e3f.js`` → ``app.js``), or the original
  source file once symbolicated; the function name is normalized so engines agree
  (``Cart.sum`` / ``sum``, ``checkout/<`` → ``checkout``); the context line (the original
  source line, when a source map embeds it) has its whitespace collapsed. Line and column
  numbers never enter, so a rebuild that shifts code does not split an issue.
- anonymous, eval and native frames, and URL origins, do not enter either; nor do frames
  a minifier named (two letters or fewer) that no source map gave a real name: the next
  build names them otherwise, and a release would split the issue.
- the app hash uses only frames of the site's own code; the full hash every frame. An
  event joins an issue if either hash matches, so changing what counts as "app" code
  never splits an issue.
- with no usable frame, the error type and its message in one wording whatever the engine
  (``analytics/wordings.py``), normalized (numbers, hex, UUIDs, e-mails, URLs and IP
  addresses replaced). The title is that wording too, not whichever browser came first.
- a fingerprint the page chose wins; ``{{ default }}`` in it stands for the computed hash.
- noisy families group by family: chunk-load failures, cross-origin "Script error.", and
  ResizeObserver loop warnings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from typing import Protocol

from analytics.wordings import canonical
from contracts.memo import memo

DEFAULT = "{{ default }}"

# Order matters: URLs and e-mails before the numbers inside them.
_NORMALIZERS = [
    (re.compile(r"[a-z][a-z0-9+.-]{1,15}://[^\s'\"<>]{1,2000}", re.IGNORECASE), "<url>"),
    (re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
    (re.compile(r"\b(?:0x[0-9a-f]{1,64}|[0-9a-f]{12,64})\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]
# A bundler's content hash before the extension: hex with a digit (webpack), or eight
# upper-case letters and digits (esbuild). Words stay: "page-checkout.js" is not a hash.
_BUNDLE_HASH = re.compile(r"[.-](?:(?=[0-9a-f]*\d)[0-9a-f]{4,32}|(?=[0-9A-Z]*\d)[0-9A-Z]{8})(?=\.[a-z]{1,6}$)")
_CHUNK = re.compile(r"^(?:ChunkLoadError|Loading (?:CSS )?chunk \S{1,80} failed)", re.IGNORECASE)


class FrameLike(Protocol):
    @property
    def function(self) -> str: ...
    @property
    def in_app(self) -> bool: ...
    @property
    def kind(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class Grouping:
    app_hash: str
    full_hash: str
    title: str
    culprit: str
    rule: str = "message"  # what made the hashes: "frames", "message", "family" or "fingerprint"


def normalize_message(message: str) -> str:
    text = message[:2000]
    for pattern, replacement in _NORMALIZERS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def module_of(url: str, source: str = "") -> str:
    """The original source file when known, else the minified file's base name without its content hash."""
    if source:
        path = source.split("?")[0]
        if path.startswith("webpack://"):  # webpack://<namespace>/./src/cart.ts
            path = path[len("webpack://") :].partition("/")[2]
        while path.startswith(("./", "../")):
            path = path.partition("/")[2]
        return path
    path = url.split("?")[0].split("#")[0]
    name = path.rsplit("/", 1)[-1]
    return _BUNDLE_HASH.sub("", name)


def function_of(name: str) -> str:
    """One name for the same function whatever the engine printed; "" for an anonymous one.

    V8 prints ``Cart.sum`` and ``HTMLButtonElement.<anonymous>``, Firefox ``sum`` and
    ``checkout/<`` (an anonymous function inside ``checkout``), Safari ``sum``.
    """
    name = name.strip()
    for prefix in ("async ", "new "):
        name = name.removeprefix(prefix)
    name = name.split(" [as ")[0]
    if not name or "<" in name:
        return ""
    return name.rsplit(".", 1)[-1]


#: A function name this short that no source map replaced is a minifier's.
MINIFIED_NAME = 2


def _frame_key(frame: FrameLike, url: str, source: str, context: str) -> str | None:
    if not source and len(function_of(frame.function)) <= MINIFIED_NAME:
        return None
    return _key(frame.kind, frame.function, url, source, context)


@memo(maxsize=16384, max_chars=1024)  # the same frames of the same errors, over and over
def _key(kind: str, function_name: str, url: str, source: str, context: str) -> str | None:
    if kind in {"eval", "native"}:
        return None
    function = function_of(function_name)
    if not function:
        return None
    return f"{module_of(url, source)}|{function}|{' '.join(context.split())[:200]}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def grouping(
    error_type: str,
    message: str,
    frames: Sequence[tuple[FrameLike, str, str, str]],
    *,
    cross_origin: bool = False,
    client_fingerprint: Sequence[str] = (),
    message_only: bool = False,
    template: str = "",
) -> Grouping:
    """The app and full hashes of an error, its title and its culprit.

    ``frames`` are innermost first, each with the URL, original source file and context
    line it resolved to ("" where unknown). A message (``message_only``: captureMessage, a
    log entry) is titled by its text and grouped by its ``template`` when the sender gave
    one ("Payment %s failed"), else by its text normalized; its frames, where it has them,
    only name its culprit.
    """
    if message_only:
        title = message[:200] or error_type[:200]
    else:
        error_type, message = canonical(error_type, message)
        title = f"{error_type}: {message}"[:200] if message else error_type[:200]
    keyed = [(f, _frame_key(f, url, source, context), url, source) for f, url, source, context in frames]
    app = [key for f, key, _, _ in keyed if key and f.in_app]
    every = [key for _, key, _, _ in keyed if key]
    culprit = next((f"{function_of(f.function)} ({module_of(u, s)})" for f, key, u, s in keyed if key and f.in_app), "")
    if cross_origin or message == "Script error.":
        family = "script-error"
    elif _CHUNK.match(error_type) or _CHUNK.match(message):
        family = "chunk-load"
    elif message.startswith("ResizeObserver loop"):
        family = "resize-observer-loop"
    else:
        family = ""
    if message_only:
        app_hash = full_hash = _digest("message", error_type, normalize_message(template or message))
        rule = "message"
    elif family:
        app_hash = full_hash = _digest("family", family)
        rule = "family"
    else:
        # The message is normalized only when no frame can be used: most errors have frames.
        full_hash = _digest("frames", *every) if every else _digest("message", error_type, normalize_message(message))
        app_hash = _digest("frames", *app) if app else full_hash
        rule = "frames" if every else "message"
    if client_fingerprint:
        parts = [app_hash if p == DEFAULT else p for p in client_fingerprint]
        app_hash = full_hash = _digest("client", *parts)
        rule = "fingerprint"
    return Grouping(app_hash, full_hash, title, culprit, rule)
