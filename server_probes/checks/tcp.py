"""The TCP check: can a connection to host:port be opened, and how long resolving and connecting took."""

from __future__ import annotations

from server_probes.checks.curl import as_struct, connect
from server_probes.checks.result import make_result, started
from server_probes.config import TcpCheck, split_target
from server_probes.schema import CheckResult


def run_tcp(check: TcpCheck) -> CheckResult:
    start = started()
    host, port = split_target(check.target)
    transfer = connect(host, port, check.timeout, tls=False)
    error, reason = transfer.error, transfer.reason
    if not error and check.max_latency_ms is not None and transfer.total_ms > check.max_latency_ms:
        error, reason = "assert.latency", f"took {transfer.total_ms:.0f} ms, more than {check.max_latency_ms:g} ms"
    return make_result(
        check,
        check.target,
        start,
        error,
        reason,
        duration_ms=transfer.total_ms,
        phases=as_struct(transfer.phases),
        resolved_ip=transfer.resolved_ip,
    )
