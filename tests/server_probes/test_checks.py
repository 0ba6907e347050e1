"""Every kind of check against real targets on loopback: status, error class, phases that add up."""

from __future__ import annotations

import socket

import dns.resolver
import pytest

from contracts.probes import CheckResult
from server_probes.checks import run
from server_probes.checks.dns import RETRY_PAUSE_S, run_dns
from server_probes.config import DnsCheck, HttpCheck, TcpCheck, TlsCheck
from tests.helpers import free_port
from tests.server_probes.targets import raw_server

PHASES = ("dns", "connect", "tls", "processing", "transfer")


def phases_add_up(result: CheckResult) -> None:
    assert result.phases is not None
    total = sum(getattr(result.phases, p) for p in PHASES)
    assert total == pytest.approx(result.duration_ms, abs=0.05)


def test_healthy_http(http_port):
    result = run(HttpCheck(name="ok", url=f"http://127.0.0.1:{http_port}/ok", json_path="$.status", json_equals="ok"))
    assert (result.status, result.error, result.http_status) == ("up", "", 200)
    assert result.resolved_ip == "127.0.0.1"
    assert result.response_bytes == len(b'{"status": "ok", "items": [1, 2]}')
    assert result.redirects == 0
    assert result.phases is not None
    assert result.phases.tls == 0
    phases_add_up(result)


def test_server_error_is_http_error(http_port):
    result = run(HttpCheck(name="err", url=f"http://127.0.0.1:{http_port}/error"))
    assert (result.status, result.error, result.http_status) == ("down", "http.error", 500)
    phases_add_up(result)


def test_expected_status_accepts_an_error_status(http_port):
    result = run(HttpCheck(name="err", url=f"http://127.0.0.1:{http_port}/error", expected_status=[500]))
    assert result.status == "up"


def test_slow_first_byte_is_processing_time(http_port):
    result = run(HttpCheck(name="slow", url=f"http://127.0.0.1:{http_port}/slow"))
    assert result.status == "up"
    assert result.phases is not None
    assert result.phases.processing >= 300
    phases_add_up(result)


def test_slow_response_over_max_latency(http_port):
    result = run(HttpCheck(name="slow", url=f"http://127.0.0.1:{http_port}/slow", max_latency_ms=100))
    assert (result.status, result.error) == ("down", "assert.latency")


def test_timeout_is_a_result(http_port):
    result = run(HttpCheck(name="slow", url=f"http://127.0.0.1:{http_port}/slow", timeout=0.1))
    assert (result.status, result.error) == ("down", "tcp.timed_out")
    assert result.phases is not None
    assert result.phases.processing > 0
    phases_add_up(result)


def test_redirects_are_followed_and_counted(http_port):
    result = run(
        HttpCheck(name="r", url=f"http://127.0.0.1:{http_port}/redirect", json_path="$.items[1]", json_equals=2)
    )
    assert (result.status, result.http_status, result.redirects) == ("up", 200, 1)
    phases_add_up(result)
    unfollowed = run(HttpCheck(name="r", url=f"http://127.0.0.1:{http_port}/redirect", follow_redirects=False))
    assert (unfollowed.status, unfollowed.http_status, unfollowed.redirects) == ("up", 302, 0)


def test_redirect_loop(http_port):
    result = run(HttpCheck(name="loop", url=f"http://127.0.0.1:{http_port}/loop", max_redirects=3))
    assert (result.status, result.error, result.redirects) == ("down", "http.response.redirect_loop", 3)


def test_body_and_json_assertions(http_port):
    url = f"http://127.0.0.1:{http_port}/ok"
    assert run(HttpCheck(name="b", url=url, body_regex='"status": "ok"')).status == "up"
    assert run(HttpCheck(name="b", url=url, body_regex="nope")).error == "assert.body_regex"
    assert run(HttpCheck(name="j", url=url, json_path="$.status", json_equals="down")).error == "assert.json_path"
    assert run(HttpCheck(name="j", url=url, json_path="$.missing")).error == "assert.json_path"


def test_post_with_headers_and_body(http_port):
    check = HttpCheck(
        name="p",
        url=f"http://127.0.0.1:{http_port}/post",
        method="POST",
        headers={"X-Token": "s3cret"},
        body="hello",
        json_path="$.auth",
        json_equals="s3cret",
    )
    assert run(check).status == "up"


def test_closed_port_is_refused():
    port = free_port()
    http = run(HttpCheck(name="closed", url=f"http://127.0.0.1:{port}/"))
    assert (http.status, http.error, http.http_status) == ("down", "tcp.refused", None)
    phases_add_up(http)
    tcp = run(TcpCheck(name="closed", target=f"127.0.0.1:{port}"))
    assert (tcp.status, tcp.error) == ("down", "tcp.refused")


def test_open_port_connects(http_port):
    result = run(TcpCheck(name="open", target=f"127.0.0.1:{http_port}"))
    assert (result.status, result.resolved_ip) == ("up", "127.0.0.1")
    phases_add_up(result)


def test_unresolvable_name():
    result = run(HttpCheck(name="nx", url="http://no-such-host.invalid/"))
    assert (result.status, result.error) == ("down", "dns.name_not_resolved")
    assert result.phases is not None
    assert result.phases.connect == 0
    assert run(TcpCheck(name="nx", target="no-such-host.invalid:80")).error == "dns.name_not_resolved"


def test_https_with_a_trusted_certificate(tls_ports, certs):
    result = run(HttpCheck(name="tls", url=f"https://127.0.0.1:{tls_ports['valid']}/ok", ca_file=str(certs.ca)))
    assert (result.status, result.http_status) == ("up", 200)
    assert result.phases is not None
    assert result.phases.tls > 0
    assert result.cert_days_left == pytest.approx(30, abs=1)
    phases_add_up(result)
    short = run(
        HttpCheck(name="tls", url=f"https://127.0.0.1:{tls_ports['valid']}/ok", ca_file=str(certs.ca), min_cert_days=60)
    )
    assert short.error == "assert.cert_days"


def test_self_signed_certificate(tls_ports):
    result = run(HttpCheck(name="self", url=f"https://127.0.0.1:{tls_ports['self_signed']}/ok"))
    assert (result.status, result.error) == ("down", "tls.cert.authority_invalid")
    assert result.cert_days_left == pytest.approx(30, abs=1)
    phases_add_up(result)
    tls = run(TlsCheck(name="self", target=f"127.0.0.1:{tls_ports['self_signed']}"))
    assert (tls.status, tls.error) == ("down", "tls.cert.authority_invalid")


def test_expired_certificate(tls_ports, certs):
    result = run(HttpCheck(name="exp", url=f"https://127.0.0.1:{tls_ports['expired']}/ok", ca_file=str(certs.ca)))
    assert (result.status, result.error) == ("down", "tls.cert.date_invalid")
    assert result.cert_days_left is not None
    assert result.cert_days_left < 0
    tls = run(TlsCheck(name="exp", target=f"127.0.0.1:{tls_ports['expired']}", ca_file=str(certs.ca)))
    assert (tls.status, tls.error) == ("down", "tls.cert.date_invalid")
    assert tls.cert_days_left is not None
    assert tls.cert_days_left < 0


def test_tls_check(tls_ports, certs):
    target = f"127.0.0.1:{tls_ports['valid']}"
    result = run(TlsCheck(name="tls", target=target, ca_file=str(certs.ca)))
    assert (result.status, result.error) == ("up", "")
    assert result.phases is not None
    assert result.phases.tls > 0
    phases_add_up(result)
    assert run(TlsCheck(name="tls", target=target, ca_file=str(certs.ca), min_cert_days=45)).error == "assert.cert_days"


def test_dns_check(dns_port):
    ns = f"127.0.0.1:{dns_port}"
    ok = run(DnsCheck(name="d", query="shop.test", nameserver=ns, expected_answers=["192.0.2.8", "192.0.2.7"]))
    assert (ok.status, ok.dns_answers) == ("up", ["192.0.2.7", "192.0.2.8"])
    phases_add_up(ok)
    wrong = run(DnsCheck(name="d", query="shop.test", nameserver=ns, expected_answers=["192.0.2.1"]))
    assert (wrong.status, wrong.error) == ("down", "assert.dns_answers")
    missing = run(DnsCheck(name="d", query="nothing.test", nameserver=ns))
    assert (missing.status, missing.error) == ("down", "dns.name_not_resolved")


def test_dns_server_that_does_not_answer():
    result = run(DnsCheck(name="d", query="shop.test", nameserver=f"127.0.0.1:{free_port()}", timeout=0.3))
    assert result.status == "down"
    assert result.error in {"dns.unreachable", "dns.failed"}  # ICMP port unreachable may end it early


def test_a_dns_check_leaves_room_in_its_timeout_for_dnspythons_retry_pause():
    """The pause before a retry is outside dnspython's lifetime: 3.2 s for a 3 s timeout, once."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.cache = ["127.0.0.1"], silent.getsockname()[1], None
        result = run_dns(DnsCheck(name="d", query="shop.test", timeout=1.0), resolver)
    assert (result.status, result.error) == ("down", "dns.unreachable")
    # One try may take the whole lifetime, and the lifetime plus the pause fit in the timeout.
    assert resolver.timeout + RETRY_PAUSE_S <= 1.0


@pytest.mark.parametrize(
    ("answer", "error"),
    [("close", "tcp.closed"), ("reset", "tcp.reset"), ("garbage", "http.response.invalid")],
)
def test_a_server_that_misbehaves_after_the_request_is_named_by_how(answer, error):
    with raw_server(answer) as port:
        result = run(HttpCheck(name="raw", url=f"http://127.0.0.1:{port}/", timeout=5))
    assert (result.status, result.error) == ("down", error)


def test_a_certificate_for_another_name_is_name_invalid(tls_ports, certs):
    """libcurl says "no alternative certificate subject name matches target host name"."""
    url = f"https://127.0.0.1:{tls_ports['other_name']}/ok"
    result = run(HttpCheck(name="name", url=url, ca_file=str(certs.ca)))
    assert (result.status, result.error) == ("down", "tls.cert.name_invalid")
    tls = run(TlsCheck(name="name", target=f"127.0.0.1:{tls_ports['other_name']}", ca_file=str(certs.ca)))
    assert (tls.status, tls.error) == ("down", "tls.cert.name_invalid")


def test_tls_to_a_server_that_speaks_plain_http_is_a_protocol_error(http_port):
    result = run(HttpCheck(name="plain", url=f"https://127.0.0.1:{http_port}/ok", timeout=5))
    assert (result.status, result.error) == ("down", "tls.protocol.error")
