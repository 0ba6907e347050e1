"""From a Sentry event, as its SDK sent it, to a Vigil error event.

The collector queues each event's payload as it came (``SentryEventEntry``); the events
pipeline's workers turn it into a Vigil error event (``contracts/beacon.py``) in a
one-event batch (``stream_entry``), so it is parsed, grouped and stored like the beacon's.
Every string is cut to Vigil's bounds here: Sentry's schema has none, and an SDK's event
should be stored, not refused, for a long message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import msgspec

from analytics.sentry import schema as sentry
from contracts import beacon as vigil
from contracts.beacon import cut
from contracts.sentry import pairs, secret_header, to_ms
from contracts.stream import SentryEventEntry, StreamEntry


def _exceptions(event: sentry.Event) -> list[sentry.Exception_]:
    found = event.exception
    values = found.values if isinstance(found, sentry.Exceptions) else found or []
    return values[-(vigil.MAX_CAUSES + 1) :]


def _message(event: sentry.Event) -> str:
    if isinstance(event.message, str):
        return event.message
    for entry in (event.logentry, event.message):
        if isinstance(entry, sentry.LogEntry):
            return entry.formatted or formatted(entry.message or "", entry.params)
    return ""


# printf-style placeholders as Sentry's SDKs write templates (Python's logging, the JavaScript SDK's parameterize).
_PLACEHOLDER = re.compile(r"%(?:\((\w{1,64})\))?([sdifr%])")
MAX_PARAM = 1024


def formatted(template: str, params: list[object] | dict[str, object] | None) -> str:
    """A log entry's text: ``template`` with its ``%s`` (``%d``, ``%(name)s``, …) filled from ``params``, as Sentry
    shows it when the SDK sent no ``formatted``; a placeholder without its param is left as it is."""
    if not params:
        return template
    template = template[: vigil.MAX_MESSAGE]
    # Each param turned into text once, however many placeholders name it.
    texts: dict[object, str] = {}

    def text(key: object, value: object) -> str:
        found = texts.get(key)
        if found is None:
            found = texts[key] = (value if isinstance(value, str) else msgspec.json.encode(value).decode())[:MAX_PARAM]
        return found

    parts: list[str] = []
    size, start, position = 0, 0, 0
    for match in _PLACEHOLDER.finditer(template):
        name, kind = match.groups()
        if kind == "%":
            value = "%"
        elif name is not None:
            value = text(name, params[name]) if isinstance(params, dict) and name in params else match[0]
        elif isinstance(params, list) and position < len(params):
            value, position = text(position, params[position]), position + 1
        else:
            value = match[0]
        parts += (template[start : match.start()], value)
        size, start = size + match.start() - start + len(value), match.end()
        if size >= vigil.MAX_MESSAGE:  # the rest would be cut anyway
            break
    else:
        parts.append(template[start:])
    return cut("".join(parts), vigil.MAX_MESSAGE)


def _template(event: sentry.Event) -> str:
    """The message's template ("Payment %s failed") when the SDK sent one with its params, else ""."""
    for entry in (event.logentry, event.message):
        if isinstance(entry, sentry.LogEntry) and entry.params and entry.message:
            return cut(entry.message, vigil.MAX_MESSAGE)
    return ""


def _debug_ids(event: sentry.Event) -> dict[str, str]:
    """Each script's debug id, from the event's source-map images (``debug_meta.images``)."""
    images = event.debug_meta.images if event.debug_meta else []
    found: dict[str, str] = {}
    for image in images[: vigil.MAX_DEBUG_IDS]:
        if image.type == "sourcemap" and image.code_file and image.debug_id and len(image.code_file) <= vigil.MAX_URL:
            found[image.code_file] = image.debug_id.lower()[: vigil.MAX_ID]
    return found


#: Bounds of the details kept (``ErrorEvent.details``): nesting, items per object or list, characters per string,
#: and bytes of each part's JSON.
DETAIL_DEPTH, DETAIL_ITEMS, DETAIL_TEXT = 5, 50, 1024
PART_BYTES = {"extra": 16_384, "contexts": 8192, "request": 6144}
_encode = msgspec.json.Encoder().encode


def _bounded(value: object, depth: int = 0) -> object:
    """``value`` as JSON-ready data within the bounds: deeper levels, further items and longer strings are cut."""
    if isinstance(value, str):  # the most common, first
        return value[:DETAIL_TEXT]
    if isinstance(value, dict):  # from JSON: its keys are strings
        if depth >= DETAIL_DEPTH:
            return "{…}"
        return {k[:64]: _bounded(v, depth + 1) for k, v in list(value.items())[:DETAIL_ITEMS]}
    if isinstance(value, list | tuple):
        return "[…]" if depth >= DETAIL_DEPTH else [_bounded(v, depth + 1) for v in value[:DETAIL_ITEMS]]
    if value is None or (isinstance(value, bool | int) and abs(value) < 2**53):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return cut(value, DETAIL_TEXT)


#: A whole number this long may be a card number sent as a number: it is scrubbed as text.
LONG_NUMBER = 10**11


def _scrubbed(value: object, text: Callable[[str], str]) -> object:
    """Every string value of bounded data (not the keys) put through ``text``, the project's scrubber; a long whole
    number too, which becomes the scrubber's text when it finds something in it."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, text) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= LONG_NUMBER:
        digits = str(value)
        found = text(digits)
        return value if found == digits else found
    return value


def _part(value: dict[str, object], limit: int) -> dict[str, object]:
    """As many of the keys as fit in ``limit`` bytes of JSON, in order; a count of those left out under ``…``."""
    if len(_encode(value)) <= limit:  # as nearly always: all of it
        return value
    kept: dict[str, object] = {}
    size = 2
    for key, item in value.items():
        size += len(_encode(key)) + len(_encode(item)) + 2
        if size > limit:
            kept["…"] = f"{len(value) - len(kept)} more left out (over {limit} bytes)"
            break
        kept[key] = item
    return kept


def _details(event: sentry.Event, text: Callable[[str], str]) -> str:
    """The extra data, contexts (browser, os, device, runtime, trace, …) and the request (method, headers without
    cookies or credentials) as bounded JSON text, each string value kept put through ``text`` (the project's
    scrubber: scrubbed as it is made, not decoded again to be scrubbed); "" when the event has none."""
    details: dict[str, object] = {}
    # Bounded first, then only what is kept scrubbed: an event of a megabyte of short strings costs no more.
    for name, value in (("extra", event.extra), ("contexts", event.contexts)):
        if value:
            details[name] = _scrubbed(_part(_bounded(value), PART_BYTES[name]), text)  # type: ignore[arg-type]
    if event.request is not None:
        kept = {
            cut(k, 64): cut(v, DETAIL_TEXT)
            for k, v in pairs(event.request.headers)
            if isinstance(k, str) and not secret_header(k)  # the collector took them out; an older one did not
        }
        headers_kept = _scrubbed(_part(dict(list(kept.items())[:DETAIL_ITEMS]), PART_BYTES["request"]), text)
        request = {"method": text(cut(event.request.method, 16)), "headers": headers_kept}
        details["request"] = {k: v for k, v in request.items() if v}
    encoded = _encode(details).decode() if any(details.values()) else ""
    while len(encoded) > vigil.MAX_DETAILS and details:  # the parts' bounds keep it under; never past the protocol's
        details.pop(next(iter(details)))
        encoded = _encode(details).decode() if details else ""
    return encoded


def _position(value: int | None) -> int | None:
    return value if value is not None and 0 <= value < 2**31 else None


def _lines(lines: list[object] | None, keep: slice) -> list[str]:
    if not lines:  # a browser SDK's frames have none
        return []
    return [cut(line, vigil.MAX_CONTEXT) for line in lines[keep]]


def _frames(error: sentry.Exception_) -> list[vigil.SentFrame]:
    """The exception's frames as data, innermost first (Sentry lists them outermost first)."""
    frames = error.stacktrace.frames if error.stacktrace else []
    # The schema's strings are str or None: cut by slicing (``cut`` is for values of any type).
    return [
        vigil.SentFrame(
            (f.function or "")[: vigil.MAX_NAME],
            (f.abs_path or f.filename or f.module or "")[: vigil.MAX_URL],
            _position(f.lineno),
            _position(f.colno),
            f.in_app,
            (f.context_line or "")[: vigil.MAX_CONTEXT],
            _lines(f.pre_context, slice(-vigil.MAX_CONTEXT_LINES, None)),
            _lines(f.post_context, slice(vigil.MAX_CONTEXT_LINES)),
        )
        for f in reversed(frames[-vigil.MAX_FRAMES :])
    ]


def _at(line: int | None, column: int | None) -> str:
    """``:line:column`` as a stack line writes a position; what of it is known."""
    if line is None:
        return "" if column is None else f":{column}"
    return f":{line}" if column is None else f":{line}:{column}"


def _stack(error: sentry.Exception_) -> tuple[str, sentry.Frame | None]:
    """A V8-style stack string, most recent call first, and the frame that raised."""
    frames = error.stacktrace.frames if error.stacktrace else []
    lines = [f"{error.type or 'Error'}: {error.value or ''}"]
    lines += [
        f"    at {f.function or '<anonymous>'} ({f.abs_path or f.filename or f.module or '?'}{_at(f.lineno, f.colno)})"
        for f in reversed(frames[-50:])
    ]
    return "\n".join(lines)[: vigil.MAX_STACK], frames[-1] if frames else None


def _breadcrumbs(event: sentry.Event) -> list[vigil.Breadcrumb]:
    found = event.breadcrumbs
    values = found.values if isinstance(found, sentry.Breadcrumbs) else found or []
    crumbs = []
    for crumb in values[-vigil.MAX_BREADCRUMBS :]:
        message = crumb.message
        if not message and crumb.data:
            message = " ".join(cut(crumb.data.get(k), 300) for k in ("method", "url", "status_code") if k in crumb.data)
        crumbs.append(
            vigil.Breadcrumb(
                to_ms(crumb.timestamp, 0),
                (crumb.category or crumb.type or "default")[: vigil.MAX_SHORT],
                (message or "")[:512],
                (crumb.level or "info")[: vigil.MAX_SHORT],
            )
        )
    return crumbs


def _tags(event: sentry.Event) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in pairs(event.tags):
        name = cut(key, 32)
        if name and len(tags) < vigil.MAX_TAGS:
            tags[name] = cut(value, 200)
    return tags


def _user_agent(event: sentry.Event) -> str:
    for name, value in pairs(event.request.headers if event.request else None):
        if isinstance(name, str) and name.lower() == "user-agent":
            return cut(value, 512)
    return ""


def to_batch(
    event: sentry.Event, event_id: str, user_id: str, received_at: int, sent_at: int | None,
    text: Callable[[str], str],
) -> tuple[vigil.Batch, str]:  # fmt: skip
    """A Vigil batch holding the event as one error event, and the User-Agent of the page it came from, if any.

    ``event_id`` and ``user_id`` (keyed) are the collector's reading of the event. ``sent_at`` is the
    envelope header's (the SDK's clock when it sent), so the event's time is corrected by it as Relay
    does; without it, the arrival time. ``text`` scrubs the details (``_details``).
    """
    event_id = cut(event_id, vigil.MAX_ID)
    errors = _exceptions(event)
    top = errors[-1] if errors else None
    stack, frame = _stack(top) if top else ("", None)
    frames = _frames(top) if top else []
    if top and top.mechanism and top.mechanism.synthetic:
        # captureMessage with a stack (SDKs 8+): a message, whose exception the SDK made up to carry the stack.
        # The made-up exception is the last one: every real one before it stays a cause.
        error_type, message, mechanism = "Message", _message(event) or top.value or "", "message"
    elif top:
        error_type, message = top.type or "Error", top.value or _message(event)
        mechanism = top.mechanism.type if top.mechanism else "generic"
    else:
        error_type, message, mechanism = "Message", _message(event), "message"
    causes = [
        vigil.Cause(
            error_type=cut(e.type or "Error", vigil.MAX_NAME),
            message=cut(e.value, vigil.MAX_MESSAGE),
            stack=_stack(e)[0],
        )
        for e in reversed(errors[:-1])
    ]
    error = vigil.ErrorEvent(
        event_id=event_id,
        ts=to_ms(event.timestamp, received_at),
        page_url=cut(event.request.url if event.request else "", vigil.MAX_URL),
        error_type=cut(error_type, vigil.MAX_NAME),
        message=cut(message, vigil.MAX_MESSAGE),
        stack=stack,
        file=cut((frame.abs_path or frame.filename) if frame else "", vigil.MAX_URL),
        line=_position(frame.lineno) if frame else None,
        column=_position(frame.colno) if frame else None,
        mechanism=cut(mechanism, vigil.MAX_SHORT),
        level=cut(event.level or "error", vigil.MAX_SHORT),
        causes=causes,
        breadcrumbs=_breadcrumbs(event),
        fingerprint=[cut(f, vigil.MAX_NAME) for f in (event.fingerprint or [])[:8]],
        frames=frames,
        template=_template(event) if mechanism == "message" else "",
        debug_ids=_debug_ids(event),
        details=_details(event, text),
    )
    sdk = f"{event.sdk.name}/{event.sdk.version}" if event.sdk and event.sdk.name else "sentry"
    batch = vigil.Batch(
        v=1,
        batch_id=event_id,
        sent_at=received_at if sent_at is None else sent_at,
        events=[error],
        release=cut(event.release, vigil.MAX_NAME),
        environment=cut(event.environment, vigil.MAX_SHORT),
        user_id=user_id,
        tags=_tags(event),
        sdk=cut(sdk, vigil.MAX_SHORT),
    )
    return batch, _user_agent(event)


def stream_entry(record: SentryEventEntry, text: Callable[[str], str]) -> StreamEntry:
    """The event as the beacon's batches are queued, its details scrubbed by ``text`` (the project's scrubber);
    ``msgspec.DecodeError`` (or ``RecursionError``) when its payload is not a Sentry event (a field of the wrong
    type: the collector checked only its top level)."""
    event = sentry.event_decoder.decode(record.event)
    batch, page_user_agent = to_batch(event, record.event_id, record.user_id, record.received_at, record.sent_at, text)
    return StreamEntry(
        project_id=record.project_id,
        project=record.project,
        received_at=record.received_at,
        user_agent=page_user_agent or record.user_agent,
        batch=batch,
        client_ip=record.client_ip,
        country=record.country,
    )
