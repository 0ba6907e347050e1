"""One libcurl transfer, measured: the phase timings libcurl records, the certificate, the failure class.

libcurl stamps each step of a transfer (name lookup, TCP connect, TLS handshake, first response byte,
end) on its own clock (https://curl.se/libcurl/c/curl_easy_getinfo.html#TIMES); the phases here are
the differences between those stamps, never estimates. A failed transfer has stamps only for the
steps it finished: the time after the last one belongs to the phase it was in.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import certifi
import pycurl

from contracts.probes import Phases
from server_probes.errors import classify_curl

PHASES = ("dns", "connect", "tls", "processing", "transfer")
USER_AGENT = "vigil-probe/1"
MAX_BODY_KEPT = 1_000_000  # bytes kept for body_regex / json_path; the size counts all of it


@dataclasses.dataclass
class Transfer:
    """What one libcurl transfer (one hop of an HTTP check, or a connect) measured."""

    phases: dict[str, float]  # milliseconds, in PHASES order; they add up to total_ms
    total_ms: float
    error: str = ""  # NEL class, "" when the transfer completed
    reason: str = ""
    http_status: int = 0
    size: int = 0
    resolved_ip: str = ""
    redirect_url: str = ""
    cert_expires_at: datetime | None = None


def new_handle(timeout_s: float, ca_file: str = "") -> pycurl.Curl:
    """A handle for one check run: no signals (it runs in a worker thread), verified TLS, bounded time."""
    handle = pycurl.Curl()
    handle.setopt(pycurl.NOSIGNAL, 1)
    handle.setopt(pycurl.TIMEOUT_MS, max(1, int(timeout_s * 1000)))
    handle.setopt(pycurl.CAINFO, ca_file or certifi.where())
    handle.setopt(pycurl.SSL_VERIFYPEER, 1)
    handle.setopt(pycurl.SSL_VERIFYHOST, 2)
    handle.setopt(pycurl.OPT_CERTINFO, 1)
    handle.setopt(pycurl.USERAGENT, USER_AGENT)
    handle.setopt(pycurl.FOLLOWLOCATION, 0)  # redirects are followed hop by hop, so each hop's phases are real
    handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    return handle


def perform(handle: pycurl.Curl, *, tls: bool, connect_only: bool = False) -> Transfer:
    """Run the transfer set up on ``handle`` and measure it; a failure is a result, not an exception."""
    code, message = 0, ""
    try:
        handle.perform()
    except pycurl.error as e:
        args: tuple[object, ...] = tuple(e.args)
        code, message = int(str(args[0])), str(args[-1])
    stamps = [
        float(handle.getinfo(pycurl.NAMELOOKUP_TIME_T)) / 1000,
        float(handle.getinfo(pycurl.CONNECT_TIME_T)) / 1000,
        float(handle.getinfo(pycurl.APPCONNECT_TIME_T)) / 1000,
        float(handle.getinfo(pycurl.STARTTRANSFER_TIME_T)) / 1000,
    ]
    total = float(handle.getinfo(pycurl.TOTAL_TIME_T)) / 1000
    phases, unfinished = split_phases(stamps, total, tls=tls, connect_only=connect_only)
    transfer = Transfer(
        phases=phases,
        total_ms=total,
        http_status=int(handle.getinfo(pycurl.RESPONSE_CODE)),
        size=int(handle.getinfo(pycurl.SIZE_DOWNLOAD_T)),
        resolved_ip=str(handle.getinfo(pycurl.PRIMARY_IP) or ""),
        redirect_url=str(handle.getinfo(pycurl.REDIRECT_URL) or ""),
        cert_expires_at=leaf_expiry(handle) if tls else None,
    )
    if code:
        transfer.error = classify_curl(
            code,
            message,
            int(handle.getinfo(pycurl.OS_ERRNO)),
            int(handle.getinfo(pycurl.SSL_VERIFYRESULT)) if tls else 0,
            unfinished,
        )
        transfer.reason = f"{message} (curl error {code})"
    return transfer


def split_phases(stamps: list[float], total: float, *, tls: bool, connect_only: bool) -> tuple[dict[str, float], str]:
    """libcurl's cumulative stamps (dns, connect, tls, first byte; 0 = not reached) → phases adding up to ``total``.

    Returns the phases and the first phase that did not finish ("" when all did).
    """
    dns, connect, appconnect, first_byte = stamps
    # The end of each phase, from the start of the transfer; None where the transfer never got there.
    ends: list[float | None] = [
        dns if dns > 0 else None,
        connect if connect > 0 else None,
        (appconnect if appconnect > 0 else None) if tls else connect if connect > 0 else None,
        # A connect-only transfer (TCP and TLS checks) requests nothing: it ends when the connection is ready.
        total if connect_only else first_byte if first_byte > 0 else None,
        total,
    ]
    phases: dict[str, float] = {}
    previous = 0.0
    unfinished = ""
    for name, end in zip(PHASES, ends, strict=True):
        if unfinished:
            phases[name] = 0.0
            continue
        if end is None:
            unfinished = name
            end = total
        end = min(max(end, previous), total)
        phases[name] = end - previous
        previous = end
    return phases, unfinished


def add_phases(into: dict[str, float], more: dict[str, float]) -> None:
    for name in PHASES:
        into[name] = into.get(name, 0.0) + more.get(name, 0.0)


def as_struct(phases: dict[str, float]) -> Phases:
    return Phases(**{name: round(phases.get(name, 0.0), 3) for name in PHASES})


def leaf_expiry(handle: pycurl.Curl) -> datetime | None:
    """The server certificate's notAfter, from libcurl's certificate info (present even when it failed to verify)."""
    try:
        chain = handle.getinfo(pycurl.INFO_CERTINFO)
    except pycurl.error:
        return None
    if not chain:
        return None
    for key, value in chain[0]:
        if key == "Expire date":
            try:
                return datetime.strptime(str(value), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
            except ValueError:
                return None
    return None


def connect(host: str, port: int, timeout_s: float, *, tls: bool, ca_file: str = "") -> Transfer:
    """Open a connection (TCP, and TLS when asked) to ``host:port`` and stop there: the TCP and TLS checks."""
    handle = new_handle(timeout_s, ca_file)
    try:
        host = f"[{host}]" if ":" in host else host
        handle.setopt(pycurl.URL, f"{'https' if tls else 'http'}://{host}:{port}/")
        handle.setopt(pycurl.CONNECT_ONLY, 1)
        return perform(handle, tls=tls, connect_only=True)
    finally:
        handle.close()
