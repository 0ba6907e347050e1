"""One stored row per event: the table each event kind goes to and its own columns.

A row is the shared keys (``analytics.tables.SHARED``) followed by the values returned
here, in the order of the table's own columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from contracts.beacon import (
    CspEvent,
    ErrorEvent,
    Event,
    NetworkEvent,
    PageViewEvent,
    ReportEvent,
    ResourceEvent,
    SlowRequestEvent,
    VitalEvent,
)
from contracts.vitals import rating

_json = msgspec.json.Encoder()


def as_json(value: Any) -> str | None:
    """JSON text for a non-empty list or map; NULL for an empty one."""
    return _json.encode(value).decode() if value else None


_details = msgspec.json.Decoder(dict[str, Any])


def details(text: str) -> tuple[str | None, str | None, str | None]:
    """The extra data, contexts and request of an error's details (JSON text), each as JSON or NULL; details that
    are not a JSON object (any sender may send the field) are left out, not allowed to fail the batch."""
    try:
        found = _details.decode(text) if text else {}
    except (msgspec.DecodeError, RecursionError):
        return None, None, None
    return as_json(found.get("extra")), as_json(found.get("contexts")), as_json(found.get("request"))


def error(e: ErrorEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (
        e.error_type, e.message, e.stack, e.file, e.line, e.column, e.mechanism, e.level, e.cross_origin,
        as_json(e.causes), as_json(e.breadcrumbs), as_json(e.fingerprint), as_json(tags), user_agent,
        *details(e.details),
    )  # fmt: skip


def network(e: NetworkEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (e.api, e.method, e.url, e.status, e.duration, e.failure, e.nel_phase, e.nel_type)


def resource(e: ResourceEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (e.url, e.element, e.source, e.status, e.duration)


def slow_request(e: SlowRequestEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    api = "xhr" if e.api == "xmlhttprequest" else e.api or None
    return (api, e.url, e.status, e.duration, e.dns, e.connect, e.tls, e.ttfb)


def vital(e: VitalEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (
        e.name, e.value, e.rating or rating(e.name, e.value), e.metric_id, e.delta, e.navigation_type,
        as_json(e.attribution), metric_key(e.name, e.metric_id),
    )  # fmt: skip


def metric_key(name: str, metric_id: str | None) -> int | None:
    """A web vital's name and metric id as a number: the first 8 bytes of their MD5, little-endian.

    The rollups find the earlier reports of a metric by this number, which DuckDB scans far
    faster than text. It is DuckDB's ``md5_number_upper(name || chr(31) || metric_id)``, so
    SQL can compute it for rows stored before the column existed. The name is in it so that
    a client reusing one id for two metrics does not make one replace the other.
    """
    if not metric_id:
        return None
    text = f"{name}\x1f{metric_id}"
    return int.from_bytes(hashlib.md5(text.encode(), usedforsecurity=False).digest()[:8], "little")


def page_view(e: PageViewEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (e.navigation, e.referrer, e.dns, e.connect, e.tls, e.ttfb, e.dom_interactive, e.load, user_agent)


def csp(e: CspEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (
        source, "csp", e.blocked_uri, e.effective_directive, e.violated_directive, e.original_policy,
        e.disposition, None, None, e.source_file, e.line, e.column, e.sample, e.status_code,
    )  # fmt: skip


def report(e: ReportEvent, tags: dict[str, str], user_agent: str, source: str) -> tuple[Any, ...]:
    return (
        source, e.report_type, None, None, None, None, None, e.report_id, e.message,
        e.source_file, e.line, e.column, None, None,
    )  # fmt: skip


def analysis(frames: Sequence[Any], grouping: Any, sdk: str) -> tuple[Any, ...]:
    """The error columns of the analysis: frames (JSON), title, culprit, both hashes, the rule, the sender's SDK,
    and the issue to come."""
    return (
        as_json(frames),  # msgspec encodes the frame dataclasses field by field
        grouping.title, grouping.culprit, grouping.app_hash, grouping.full_hash, grouping.rule, sdk or None, None,
    )  # fmt: skip


RowBuilder = Callable[[Any, dict[str, str], str, str], tuple[Any, ...]]

#: Event kind → (table, row builder).
BY_KIND: dict[type[Event], tuple[str, RowBuilder]] = {
    ErrorEvent: ("errors", error),
    NetworkEvent: ("network_failures", network),
    ResourceEvent: ("resource_failures", resource),
    SlowRequestEvent: ("slow_requests", slow_request),
    VitalEvent: ("web_vitals", vital),
    PageViewEvent: ("page_views", page_view),
    CspEvent: ("reports", csp),
    ReportEvent: ("reports", report),
}
