"""What analytics reads of a Sentry event, as typed structs.

Only the fields Vigil stores are declared; everything else in an event (modules,
threads, spans…) is skipped by the decoder without being built. The user is read by the
collector, which keys its id and anonymizes its address (``collector/sentry/schema.py``). Sentry's
schema does not bound its strings, so conversion (``convert.py``) cuts them to Vigil's
bounds rather than refusing an SDK's event. Where SDKs differ in shape (``tags`` as an
object or as pairs, ``breadcrumbs`` wrapped in ``values`` or not, ``message`` as a
string or a log entry), the unions accept both.
"""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.sentry import Timestamp


class Frame(msgspec.Struct):
    filename: str | None = None
    abs_path: str | None = None
    function: str | None = None
    module: str | None = None
    lineno: int | None = None
    colno: int | None = None
    in_app: bool | None = None
    context_line: str | None = None
    pre_context: list[Any] | None = None
    post_context: list[Any] | None = None


class Stacktrace(msgspec.Struct):
    frames: list[Frame] = []


class Mechanism(msgspec.Struct):
    type: str = "generic"
    handled: bool | None = None
    synthetic: bool | None = None  # the SDK made the exception up to carry a stack (captureMessage)


class Exception_(msgspec.Struct):
    type: str | None = None
    value: str | None = None
    module: str | None = None
    stacktrace: Stacktrace | None = None
    mechanism: Mechanism | None = None


class Exceptions(msgspec.Struct):
    values: list[Exception_] = []


class Breadcrumb(msgspec.Struct):
    timestamp: Timestamp = None
    type: str | None = None
    category: str | None = None
    message: str | None = None
    level: str | None = None
    data: dict[str, Any] | None = None


class Breadcrumbs(msgspec.Struct):
    values: list[Breadcrumb] = []


class LogEntry(msgspec.Struct):
    message: str | None = None  # the template, when there are params
    formatted: str | None = None
    params: list[Any] | dict[str, Any] | None = None


class RequestInfo(msgspec.Struct):
    url: str | None = None
    method: str | None = None
    headers: dict[str, Any] | list[list[Any]] | None = None


class DebugImage(msgspec.Struct):
    type: str | None = None
    code_file: str | None = None
    debug_id: str | None = None


class DebugMeta(msgspec.Struct):
    images: list[DebugImage] = []


class Sdk(msgspec.Struct):
    name: str = ""
    version: str = ""


class Event(msgspec.Struct):
    """A Sentry error or message event (https://develop.sentry.dev/sdk/event-payloads/)."""

    event_id: str | None = None
    timestamp: Timestamp = None
    platform: str | None = None
    level: str | None = None
    logger: str | None = None
    release: str | None = None
    environment: str | None = None
    message: str | LogEntry | None = None
    logentry: LogEntry | None = None
    exception: Exceptions | list[Exception_] | None = None
    breadcrumbs: Breadcrumbs | list[Breadcrumb] | None = None
    tags: dict[str, Any] | list[list[Any]] | None = None
    request: RequestInfo | None = None
    fingerprint: list[Any] | None = None
    sdk: Sdk | None = None
    debug_meta: DebugMeta | None = None  # the bundles' debug ids (sourcemap images), for symbolication
    extra: dict[str, Any] | None = None
    contexts: dict[str, Any] | None = None
    transaction: str | None = None
    type: str | None = None  # "transaction" for performance events, which Vigil does not store


event_decoder = msgspec.json.Decoder(Event)
