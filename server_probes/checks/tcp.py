"""The TCP check: can a connection to host:port be opened, and how long resolving and connecting took."""

from __future__ import annotations

from contracts.probes import CheckResult
from server_probes.checks.curl import as_struct, connect
from server_probes.checks.result import latency_failure, make_result, started
from server_probes.config import TcpCheck, split_target


def run_tcp(check: TcpCheck) -> CheckResult:
    start = started()
    host, port = split_target(check.target)
    transfer = connect(host, port, check.timeout, tls=False)
    error, reason = transfer.error, transfer.reason
    if not error and (slow := latency_failure(check, transfer.total_ms)):
        error, reason = slow
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
