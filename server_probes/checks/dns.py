"""The DNS check: a query of one record type, answered, and equal to ``expected_answers`` when given."""

from __future__ import annotations

import dns.exception
import dns.rdatatype
import dns.resolver

from contracts.probes import CheckResult, Phases
from server_probes.checks.result import latency_failure, make_result, started
from server_probes.config import DnsCheck, split_nameserver

#: dnspython pauses this long before it retries a nameserver, and the pause is not counted in the
#: lifetime it is given (dns/resolver.py): the query's lifetime leaves room for it, so a check that
#: gets no answer ends within its timeout.
RETRY_PAUSE_S = 0.1


def run_dns(check: DnsCheck, resolver: dns.resolver.Resolver | None = None) -> CheckResult:
    start = started()
    if resolver is None:
        resolver = dns.resolver.Resolver(configure=not check.nameserver)
        if check.nameserver:
            address, port = split_nameserver(check.nameserver)
            resolver.nameservers = [address]
            resolver.port = port
        resolver.cache = None
    answers: list[str] = []
    error = reason = ""
    lifetime = max(check.timeout - RETRY_PAUSE_S, check.timeout / 2)
    resolver.timeout = lifetime  # one try may take all of it: no retry that would run past the timeout
    try:
        answer = resolver.resolve(
            check.query, dns.rdatatype.from_text(check.record_type), lifetime=lifetime, raise_on_no_answer=False
        )
        answers = sorted(normalize(rdata.to_text()) for rdata in answer)
        if not answers:
            error, reason = "dns.name_not_resolved", f"no {check.record_type} record for {check.query}"
    except dns.resolver.NXDOMAIN:
        error, reason = "dns.name_not_resolved", f"{check.query} does not exist (NXDOMAIN)"
    except dns.resolver.LifetimeTimeout:
        error, reason = "dns.unreachable", f"no answer within {check.timeout:g} s"
    except (dns.resolver.NoNameservers, dns.exception.DNSException) as e:
        error, reason = "dns.failed", str(e)
    if not error and check.expected_answers:
        expected = sorted(normalize(a) for a in check.expected_answers)
        if answers != expected:
            error, reason = "assert.dns_answers", f"answers {answers}, expected {expected}"
    result = make_result(check, check.query, start, error, reason, dns_answers=answers[:256])
    if not error and (slow := latency_failure(check, result.duration_ms)):
        result.status = "down"
        result.error, result.reason = slow
    result.phases = Phases(dns=result.duration_ms)
    return result


def normalize(answer: str) -> str:
    """Compare names without the root dot and case, TXT without its quotes."""
    return answer.strip().strip('"').rstrip(".").lower()
