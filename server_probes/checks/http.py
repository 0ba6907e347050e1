"""The HTTP(S) check: a request, hop by hop over redirects, then the assertions on the final response."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from urllib.parse import urlsplit

import pycurl

from contracts.probes import CheckResult
from server_probes.checks.curl import MAX_BODY_KEPT, Transfer, add_phases, as_struct, new_handle, perform
from server_probes.checks.result import cert_fields, latency_failure, make_result, started
from server_probes.config import HttpCheck
from server_probes.jsonpath import lookup


def run_http(check: HttpCheck) -> CheckResult:
    start = started()
    deadline = start[1] + check.timeout
    body = bytearray()
    handle = new_handle(check.timeout, check.ca_file)
    url, method, payload = check.url, check.method, check.body
    phases: dict[str, float] = {}
    total = 0.0
    redirects = 0
    expiries = []
    try:
        while True:
            body.clear()
            _prepare(handle, url, method, payload, check, body, deadline)
            hop = perform(handle, tls=urlsplit(url).scheme == "https")
            add_phases(phases, hop.phases)
            total += hop.total_ms
            if hop.cert_expires_at is not None:
                expiries.append(hop.cert_expires_at)
            if hop.error or not (check.follow_redirects and hop.redirect_url and 300 <= hop.http_status < 400):
                break
            if redirects == check.max_redirects:
                hop.error, hop.reason = "http.response.redirect_loop", f"more than {check.max_redirects} redirects"
                break
            redirects += 1
            url = hop.redirect_url
            if hop.http_status == 303 or (hop.http_status in {301, 302} and method == "POST"):
                method, payload = "GET", ""  # what browsers do (RFC 9110 §15.4)
    finally:
        handle.close()
    error, reason = hop.error, hop.reason
    if not error:
        error, reason = assess(check, hop, bytes(body), total, min(expiries, default=None))
    return make_result(
        check,
        check.url,
        start,
        error,
        reason,
        duration_ms=total,
        phases=as_struct(phases),
        http_status=hop.http_status or None,
        response_bytes=hop.size,
        redirects=redirects,
        resolved_ip=hop.resolved_ip,
        **cert_fields(min(expiries, default=None)),
    )


def _prepare(
    handle: pycurl.Curl, url: str, method: str, payload: str, check: HttpCheck, body: bytearray, deadline: float
) -> None:
    handle.setopt(pycurl.URL, url)
    # One budget for the whole check, redirects included.
    handle.setopt(pycurl.TIMEOUT_MS, max(1, int((deadline - time.monotonic()) * 1000)))
    handle.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in check.headers.items()])
    handle.unsetopt(pycurl.CUSTOMREQUEST)  # a hop after a 303 must not keep the previous hop's method
    if method in {"GET", "HEAD"} and not payload:
        handle.setopt(pycurl.HTTPGET, 1)
        handle.setopt(pycurl.NOBODY, 1 if method == "HEAD" else 0)
    else:
        handle.setopt(pycurl.POSTFIELDS, payload)
        if method != "POST":
            handle.setopt(pycurl.CUSTOMREQUEST, method)

    def keep(chunk: bytes) -> None:
        if len(body) < MAX_BODY_KEPT:
            body.extend(chunk[: MAX_BODY_KEPT - len(body)])

    handle.setopt(pycurl.WRITEFUNCTION, keep)


def assess(check: HttpCheck, hop: Transfer, body: bytes, total_ms: float, expiry: datetime | None) -> tuple[str, str]:
    """The first failed assertion on a response that arrived, as (class, reason); ("", "") when all hold."""
    status = hop.http_status
    expected = check.expected_status
    if (status not in expected) if expected else not 200 <= status < 400:
        return "http.error", f"status {status}, expected {', '.join(map(str, expected)) or '2xx or 3xx'}"
    if check.body_regex and not re.search(check.body_regex, body.decode("utf-8", "replace")):
        return "assert.body_regex", f"body does not match {check.body_regex!r}"
    if check.json_path:
        error = _json_assertion(check, body)
        if error:
            return "assert.json_path", error
    if check.min_cert_days is not None and expiry is not None:
        fields = cert_fields(expiry)
        if fields["cert_days_left"] < check.min_cert_days:
            return "assert.cert_days", f"certificate expires in {fields['cert_days_left']:.1f} days"
    return latency_failure(check, total_ms) or ("", "")


def _json_assertion(check: HttpCheck, body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return "body is not JSON"
    found, value = lookup(document, check.json_path)
    if not found:
        return f"{check.json_path} is not in the body"
    if check.json_equals is not None and value != check.json_equals:
        return f"{check.json_path} is {json.dumps(value)[:200]}, expected {json.dumps(check.json_equals)}"
    return ""
