"""From the browser's report formats to Vigil events.

- ``application/reports+json`` (https://www.w3.org/TR/reporting-1/): a JSON array of
  ``{type, age, url, user_agent, body}``. ``csp-violation`` becomes a ``csp`` event,
  ``network-error`` (NEL, https://www.w3.org/TR/network-error-logging/) a ``network``
  event (``api`` = ``nel``), and everything else (deprecation, intervention, crash, types
  not known yet) a ``report`` event that keeps the type and the body's message.
- ``application/csp-report``: the older ``{"csp-report": {...}}`` of ``report-uri``.

Event time is the receive time minus the report's ``age``. Strings are cut to Vigil's
bounds rather than refused: browsers do not know them.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from contracts import beacon as vigil
from contracts.beacon import cut

MAX_REPORTS = 100


class Report(msgspec.Struct):
    type: str = ""
    age: int | float = 0
    url: str = ""
    user_agent: str = ""
    body: dict[str, Any] = {}


reports_decoder = msgspec.json.Decoder(list[Report])
csp_report_decoder = msgspec.json.Decoder(dict[str, dict[str, Any]])


def _int(value: Any, upper: int = 2**31 - 1) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if 0 <= number <= upper else None


def _id() -> str:
    return secrets.token_hex(16)


def _failure(nel_type: str) -> str:
    if nel_type == "http.error":
        return "http_error"
    if nel_type == "abandoned":
        return "abort"
    if nel_type.endswith("timed_out"):
        return "timeout"
    return "network_error"


def csp_event(body: dict[str, Any], ts: int, page_url: str) -> vigil.CspEvent:
    """A CSP violation from the Reporting API's camelCase body or report-uri's dashed keys."""

    def get(*names: str) -> Any:
        for name in names:
            if name in body:
                return body[name]
        return None

    return vigil.CspEvent(
        event_id=_id(),
        ts=ts,
        page_url=cut(get("documentURL", "document-uri") or page_url, vigil.MAX_URL),
        blocked_uri=cut(get("blockedURL", "blocked-uri"), vigil.MAX_URL),
        effective_directive=cut(get("effectiveDirective", "effective-directive", "violated-directive"), vigil.MAX_NAME),
        violated_directive=cut(get("violatedDirective", "violated-directive"), vigil.MAX_NAME),
        original_policy=cut(get("originalPolicy", "original-policy"), 4096),
        disposition=cut(get("disposition") or "enforce", vigil.MAX_SHORT),
        source_file=cut(get("sourceFile", "source-file"), vigil.MAX_URL),
        line=_int(get("lineNumber", "line-number")),
        column=_int(get("columnNumber", "column-number")),
        sample=cut(get("sample", "script-sample"), 256),
        status_code=_int(get("statusCode", "status-code"), 999),
    )


def report_event(report: Report, received_at: int) -> vigil.Event | None:
    """One Reporting API report as a Vigil event; ``None`` for NEL success samples (not failures)."""
    ts = max(0, received_at - int(max(0, min(report.age, 86_400_000 * 7))))
    body = report.body
    if report.type == "csp-violation":
        return csp_event(body, ts, report.url)
    if report.type == "network-error":
        nel_type = cut(body.get("type"), vigil.MAX_SHORT)
        if nel_type == "ok":
            return None
        elapsed = body.get("elapsed_time")
        return vigil.NetworkEvent(
            event_id=_id(),
            ts=ts,
            page_url=cut(body.get("referrer") or "", vigil.MAX_URL),
            api="nel",
            method=cut(body.get("method") or "GET", vigil.MAX_SHORT),
            url=cut(report.url, vigil.MAX_URL),
            status=_int(body.get("status_code"), 999) or 0,
            duration=float(elapsed) if isinstance(elapsed, int | float) and 0 <= elapsed <= 86_400_000 else 0.0,
            failure=_failure(nel_type),
            nel_phase=cut(body.get("phase") or "unknown", vigil.MAX_SHORT),
            nel_type=nel_type or "unknown",
        )
    message = body.get("message") or body.get("reason")
    if message is None and body:
        message = msgspec.json.encode(body).decode()  # a type Vigil does not know: keep what it said
    return vigil.ReportEvent(
        event_id=_id(),
        ts=ts,
        page_url=cut(report.url, vigil.MAX_URL),
        report_type=cut(report.type or "unknown", vigil.MAX_SHORT),
        report_id=cut(body.get("id"), vigil.MAX_NAME),
        message=cut(message, vigil.MAX_MESSAGE),
        source_file=cut(body.get("sourceFile"), vigil.MAX_URL),
        line=_int(body.get("lineNumber")),
        column=_int(body.get("columnNumber")),
    )
