"""The beacon's wire format, version 1 (``docs/protocol.md``), as typed, bounded structs.

Every string, array and map an attacker can reach has a bound here; the collector decodes
a request body straight into ``Batch`` and anything that does not fit is a 400. The same
structs are re-encoded into the stream entry (fields at their default left out), so the
stream holds what was validated and nothing else: no unknown field, no padding.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Literal

import msgspec

PROTOCOL_VERSION = 1

# Bounds, in characters (or items). The beacon truncates to these before sending.
MAX_EVENTS = 100
MAX_ID = 64
MAX_URL = 2048
MAX_NAME = 200
MAX_MESSAGE = 8192
MAX_STACK = 16384
MAX_SHORT = 64
MAX_BREADCRUMBS = 30
MAX_CAUSES = 5
MAX_TAGS = 32
MAX_ATTRIBUTION = 16
#: Structured frames an error may carry (``ErrorEvent.frames``), and a source line's bound in them.
MAX_FRAMES = 100
MAX_CONTEXT = 512
MAX_CONTEXT_LINES = 5
MAX_DEBUG_IDS = 64
#: The JSON of an error's details (``ErrorEvent.details``): extra data, contexts and the request, as an SDK sent them.
MAX_DETAILS = 32_768


def cut(value: object, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters (``None`` is empty): how converters from other
    protocols (Sentry, the Reporting API) fit a field to these bounds instead of refusing the event."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text[:limit]


# Milliseconds since the Unix epoch; up to year 9999, so a timestamp is always representable.
EpochMs = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID)]
Url = Annotated[str, msgspec.Meta(max_length=MAX_URL)]
Short = Annotated[str, msgspec.Meta(max_length=MAX_SHORT)]
Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
Message = Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE)]
Stack = Annotated[str, msgspec.Meta(max_length=MAX_STACK)]
Position = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
Status = Annotated[int, msgspec.Meta(ge=0, le=999)]
# A duration or a metric value; a day in milliseconds is far beyond anything real.
Millis = Annotated[float, msgspec.Meta(ge=0, le=86_400_000)]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class Breadcrumb(msgspec.Struct, gc=False):  # stored as JSON whole: every field kept
    """Something that happened on the page before an error: a click, a navigation, a console line, a failed request."""

    ts: EpochMs
    category: Short  # "click", "navigation", "console", "fetch" or "xhr"
    message: Annotated[str, msgspec.Meta(max_length=512)]
    level: Short = "info"  # "info", "warning" or "error"


class Cause(msgspec.Struct, gc=False):  # stored as JSON whole: every field kept
    """One link of an error's ``cause`` chain."""

    error_type: Name
    message: Message
    stack: Stack = ""


ContextLine = Annotated[str, msgspec.Meta(max_length=MAX_CONTEXT)]


class SentFrame(msgspec.Struct, gc=False, omit_defaults=True):  # stored as JSON whole: every field kept
    """A stack frame as an SDK knows it (a Sentry SDK's frame), where a stack string would lose something: whether
    the SDK counts it as the application's code, and the source lines around it."""

    function: Name = ""
    url: Url = ""  # the file: its URL or absolute path, else the module
    line: Position | None = None
    column: Position | None = None
    in_app: bool | None = None  # the SDK's say; None leaves it to Vigil's rule (the page's own site)
    context: ContextLine = ""  # the frame's source line
    pre_context: Annotated[list[ContextLine], msgspec.Meta(max_length=MAX_CONTEXT_LINES)] = []
    post_context: Annotated[list[ContextLine], msgspec.Meta(max_length=MAX_CONTEXT_LINES)] = []


class ErrorEvent(msgspec.Struct, tag="error", tag_field="type", gc=False, omit_defaults=True):
    """An uncaught error, an unhandled rejection, or an error or message the page reported itself."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    error_type: Name
    message: Message
    stack: Stack = ""
    file: Url = ""
    line: Position | None = None
    column: Position | None = None
    # How it was caught: "onerror", "onunhandledrejection", "manual" (captureError) or "message" (captureMessage).
    mechanism: Short = "onerror"
    level: Short = "error"  # "error", "warning" or "info"
    # "Script error." from a cross-origin script served without CORS: the browser hides the details.
    cross_origin: bool = False
    causes: Annotated[list[Cause], msgspec.Meta(max_length=MAX_CAUSES)] = []
    breadcrumbs: Annotated[list[Breadcrumb], msgspec.Meta(max_length=MAX_BREADCRUMBS)] = []
    # A fingerprint chosen by the page; events with the same one are grouped together.
    fingerprint: Annotated[list[Name], msgspec.Meta(max_length=8)] = []
    # The frames, innermost first, when the sender has them as data (Sentry SDKs): used instead of parsing ``stack``.
    frames: Annotated[list[SentFrame], msgspec.Meta(max_length=MAX_FRAMES)] = []
    # A message's template when the sender knows it ("Payment %s failed"): messages are grouped by it.
    template: Message = ""
    # What a Sentry SDK adds, as bounded JSON text: {"extra": {…}, "contexts": {…}, "request": {"method", "headers"}}.
    details: Annotated[str, msgspec.Meta(max_length=MAX_DETAILS)] = ""
    # The debug id of each script of the stack (file URL → id, as Sentry SDKs send debug_meta): maps are found by it.
    debug_ids: Annotated[
        dict[Url, Annotated[str, msgspec.Meta(max_length=MAX_ID)]], msgspec.Meta(max_length=MAX_DEBUG_IDS)
    ] = {}


class ResourceEvent(msgspec.Struct, tag="resource", tag_field="type", gc=False, omit_defaults=True):
    """A sub-resource (image, script, stylesheet, media…) that failed to load."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    url: Url
    element: Short  # "img", "script", "link", "video", "audio", "source", or a Resource Timing initiator type
    source: Short = "error_event"  # "error_event" (the element's error event) or "resource_timing"
    status: Status | None = None  # HTTP status when the browser exposes it (Resource Timing responseStatus)
    duration: Millis | None = None


class NetworkEvent(msgspec.Struct, tag="network", tag_field="type", gc=False, omit_defaults=True):
    """A failed ``fetch`` or ``XMLHttpRequest``: network error, timeout, abort, 4xx or 5xx."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    api: Short  # "fetch" or "xhr"
    method: Short
    url: Url
    status: Status  # 0 when no response arrived
    duration: Millis
    failure: Short  # "network_error", "timeout", "abort" or "http_error"
    # The Network Error Logging vocabulary where it fits (docs/protocol.md).
    nel_phase: Short = "unknown"
    nel_type: Short = "unknown"


class SlowRequestEvent(msgspec.Struct, tag="slow_request", tag_field="type", gc=False, omit_defaults=True):
    """A ``fetch`` or ``XMLHttpRequest`` of the page that took a second or more, with its phases where the server
    lets the page see them (Resource Timing; a cross-origin answer without ``Timing-Allow-Origin`` hides them)."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    url: Url
    duration: Millis
    api: Short = ""  # the Resource Timing initiator: "fetch" or "xmlhttprequest"
    status: Status | None = None  # the answer's status where the browser exposes it
    # From the request's start: DNS lookup, connect (TLS included), the TLS handshake, the first byte.
    dns: Millis | None = None
    connect: Millis | None = None
    tls: Millis | None = None
    ttfb: Millis | None = None


class VitalEvent(msgspec.Struct, tag="vital", tag_field="type", gc=False, omit_defaults=True):
    """A Core Web Vital from the web-vitals library. Updates of one metric share ``metric_id``; the last one counts."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    name: Literal["LCP", "INP", "CLS", "FCP", "TTFB"]
    value: Millis  # milliseconds, except CLS (unitless)
    metric_id: Id
    # The beacon leaves the rating to the server (contracts.vitals.rating: the same published thresholds).
    rating: Literal["good", "needs-improvement", "poor", ""] = ""
    delta: Annotated[float, msgspec.Meta(ge=-86_400_000, le=86_400_000)] = 0.0
    navigation_type: Short = ""
    attribution: Annotated[
        dict[Key, Annotated[str, msgspec.Meta(max_length=512)] | float], msgspec.Meta(max_length=MAX_ATTRIBUTION)
    ] = {}


class PageViewEvent(msgspec.Struct, tag="pageview", tag_field="type", gc=False, omit_defaults=True):
    """A page load (with its navigation timing) or a single-page-app route change."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    navigation: Short = "navigate"  # "navigate", "reload", "back_forward", "prerender" or "route_change"
    referrer: Url = ""
    # Navigation timing phases in milliseconds; absent for route changes.
    dns: Millis | None = None
    connect: Millis | None = None
    tls: Millis | None = None
    ttfb: Millis | None = None
    dom_interactive: Millis | None = None
    load: Millis | None = None


class CspEvent(msgspec.Struct, tag="csp", tag_field="type", gc=False, omit_defaults=True):
    """A Content Security Policy violation seen by the page (``securitypolicyviolation``)."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    blocked_uri: Url
    effective_directive: Name
    violated_directive: Name = ""
    original_policy: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    disposition: Short = "enforce"  # "enforce" or "report"
    source_file: Url = ""
    line: Position | None = None
    column: Position | None = None
    sample: Annotated[str, msgspec.Meta(max_length=256)] = ""
    status_code: Status | None = None


class ReportEvent(msgspec.Struct, tag="report", tag_field="type", gc=False, omit_defaults=True):
    """A report from the browser's ``ReportingObserver``: a deprecation or an intervention."""

    event_id: Id
    ts: EpochMs
    page_url: Url
    report_type: Short  # "deprecation", "intervention", …
    report_id: Name = ""  # the body's id, e.g. "UnloadHandler"
    message: Message = ""
    source_file: Url = ""
    line: Position | None = None
    column: Position | None = None


Event = (
    ErrorEvent | ResourceEvent | NetworkEvent | SlowRequestEvent | VitalEvent | PageViewEvent | CspEvent | ReportEvent
)


class Batch(msgspec.Struct, gc=False, omit_defaults=True):
    """One request from the beacon: shared context plus up to ``MAX_EVENTS`` events."""

    v: Literal[1]
    batch_id: Id
    sent_at: EpochMs
    events: Annotated[list[Event], msgspec.Meta(max_length=MAX_EVENTS)]
    release: Name = ""
    environment: Short = ""
    session_id: Annotated[str, msgspec.Meta(max_length=MAX_ID)] = ""
    # A hash of the page's user id (setUser); never the id itself.
    user_id: Annotated[str, msgspec.Meta(max_length=MAX_ID)] = ""
    tags: Annotated[dict[Key, Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=MAX_TAGS)] = {}
    # What the sender dropped since its last batch, by reason (e.g. "queue_full", "rate_limit").
    dropped: Annotated[dict[Key, Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]], msgspec.Meta(max_length=16)] = {}
    sdk: Short = ""


class _WireBatch(Batch):
    """A batch as it arrives: its events still raw, so an event type this collector does not know can be skipped."""

    events: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]  # type: ignore[assignment]


class _EventType(msgspec.Struct):
    type: Short


class _StrictBatch(Batch):
    events: Annotated[list[Event], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]


_batch = msgspec.json.Decoder(_StrictBatch)
KNOWN_TYPES = frozenset(t.__struct_config__.tag for t in typing.get_args(Event))
_wire = msgspec.json.Decoder(_WireBatch)
_event_type = msgspec.json.Decoder(_EventType)
_event: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)


class InvalidBatch(ValueError):
    """The body is not a valid batch; ``str()`` is the one-line reason for the 400."""


# A lone UTF-16 surrogate (half of an emoji cut in two) is legal in a JavaScript string,
# and JSON.stringify writes it as an escape that is not valid Unicode; msgspec refuses it.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _decode_wire(body: bytes) -> _WireBatch:
    """Decode; if that fails on a lone surrogate escape, replace each with U+FFFD and decode again."""
    try:
        return _wire.decode(body)
    except msgspec.DecodeError:
        if _LONE_SURROGATE.search(body) is None:
            raise
    return _wire.decode(_LONE_SURROGATE.sub(rb"\\ufffd", body))


class Decoded(msgspec.Struct, frozen=True):
    batch: Batch
    skipped: int  # events of a type this collector does not know (a newer sender); not stored


def decode_batch(body: bytes) -> Decoded:
    """Decode and validate a request body, or raise ``InvalidBatch`` with a one-line reason.

    Events of an unknown ``type`` are skipped and counted, so a newer beacon that adds an
    event type keeps working against this collector (docs/protocol.md, Versions).
    """
    try:
        return Decoded(_batch.decode(body), 0)  # the common case, in one pass
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        pass  # an unknown event type, a lone surrogate, or a real error: the careful path tells which
    try:
        wire = _decode_wire(body)
    except msgspec.ValidationError as e:
        raise InvalidBatch(f"invalid batch: {e}") from None
    except msgspec.DecodeError as e:
        raise InvalidBatch(f"malformed JSON: {e}") from None
    except RecursionError:
        raise InvalidBatch("malformed JSON: nested too deeply") from None
    events: list[Event] = []
    for n, raw in enumerate(wire.events):
        try:
            if _event_type.decode(raw).type in KNOWN_TYPES:
                events.append(_event.decode(raw))
        except msgspec.ValidationError as e:
            where = f"$.events[{n}]"
            reason = str(e).replace("at `$", f"at `{where}", 1) if "at `$" in str(e) else f"{e} - at `{where}`"
            raise InvalidBatch(f"invalid batch: {reason}") from None
        except (msgspec.DecodeError, RecursionError) as e:
            raise InvalidBatch(f"malformed JSON in $.events[{n}]: {e}") from None
    batch = Batch(**{f: getattr(wire, f) for f in Batch.__struct_fields__ if f != "events"}, events=events)
    return Decoded(batch, len(wire.events) - len(events))
