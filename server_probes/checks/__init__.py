"""One function per kind of check; ``run`` picks it. Each returns a result and never raises for the target."""

from __future__ import annotations

from contracts.probes import CheckResult
from server_probes.checks.dns import run_dns
from server_probes.checks.http import run_http
from server_probes.checks.tcp import run_tcp
from server_probes.checks.tls import run_tls
from server_probes.config import Check, DnsCheck, HttpCheck, TcpCheck


def run(check: Check) -> CheckResult:
    """Run ``check`` once, blocking (the scheduler calls it in a worker thread)."""
    if isinstance(check, HttpCheck):
        return run_http(check)
    if isinstance(check, TcpCheck):
        return run_tcp(check)
    if isinstance(check, DnsCheck):
        return run_dns(check)
    return run_tls(check)


__all__ = ["run"]
