"""The TLS check: the handshake to host:port verifies, and the certificate has ``min_cert_days`` left.

The certificate's expiry is reported even when verification fails (libcurl hands over the chain it
was shown), so an expired or self-signed certificate still shows how many days it has (or had) left.
"""

from __future__ import annotations

from contracts.probes import CheckResult
from server_probes.checks.curl import as_struct, connect
from server_probes.checks.result import cert_fields, latency_failure, make_result, started
from server_probes.config import TlsCheck, split_target


def run_tls(check: TlsCheck) -> CheckResult:
    start = started()
    host, port = split_target(check.target)
    transfer = connect(host, port, check.timeout, tls=True, ca_file=check.ca_file)
    cert = cert_fields(transfer.cert_expires_at)
    error, reason = transfer.error, transfer.reason
    if not error and not cert:
        error, reason = "tls.cert.invalid", "the server presented no certificate"
    if not error and cert["cert_days_left"] < check.min_cert_days:
        error = "assert.cert_days"
        reason = f"certificate expires in {cert['cert_days_left']:.1f} days, less than {check.min_cert_days:g}"
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
        **cert,
    )
