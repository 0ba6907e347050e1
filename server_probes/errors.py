"""Failures named in the vocabulary of Network Error Logging, as the beacon's network events and
the ``nel_type`` column use them (https://w3c.github.io/network-error-logging/#predefined-network-error-types).

libcurl says what failed by an error code, the OS errno and, for certificates, OpenSSL's verify
result; this module turns the three into one class. Failed assertions on a response that did arrive
are ``assert.*`` (not network errors: the network worked, the answer was wrong).
"""

from __future__ import annotations

import errno

import pycurl

# OpenSSL's X509_V_ERR_* codes (include/openssl/x509_vfy.h.in) → NEL's certificate classes.
_VERIFY_RESULT = {
    9: "tls.cert.date_invalid",  # CERT_NOT_YET_VALID
    10: "tls.cert.date_invalid",  # CERT_HAS_EXPIRED
    2: "tls.cert.authority_invalid",  # UNABLE_TO_GET_ISSUER_CERT
    18: "tls.cert.authority_invalid",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "tls.cert.authority_invalid",  # SELF_SIGNED_CERT_IN_CHAIN
    20: "tls.cert.authority_invalid",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "tls.cert.authority_invalid",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    23: "tls.cert.revoked",  # CERT_REVOKED
    62: "tls.cert.name_invalid",  # HOSTNAME_MISMATCH
    64: "tls.cert.name_invalid",  # IP_ADDRESS_MISMATCH
}

_NO_COMMON_GROUND = ("protocol version", "unsupported protocol", "no protocols available", "cipher",
                     "handshake failure")  # fmt: skip

# libcurl codes pycurl has no name for (curl/curl.h).
_WEIRD_SERVER_REPLY = 8
_HTTP2_STREAM = 92


def classify_curl(code: int, message: str, os_errno: int, verify_result: int, phase: str) -> str:
    """One NEL class for a failed libcurl transfer.

    ``phase`` is the phase that had not finished when it failed (``dns``, ``connect``, ``tls``,
    ``processing`` or ``transfer``), which is what tells a DNS timeout from a slow server.
    """
    if code == pycurl.E_COULDNT_RESOLVE_HOST:
        return "dns.name_not_resolved"
    if code == pycurl.E_OPERATION_TIMEDOUT:
        return "dns.unreachable" if phase == "dns" else "tcp.timed_out"
    if code == pycurl.E_COULDNT_CONNECT:
        return {
            errno.ECONNREFUSED: "tcp.refused",
            errno.ENETUNREACH: "tcp.address_unreachable",
            errno.EHOSTUNREACH: "tcp.address_unreachable",
            errno.ETIMEDOUT: "tcp.timed_out",
        }.get(os_errno, "tcp.failed")
    if code == pycurl.E_PEER_FAILED_VERIFICATION:
        if verify_result in _VERIFY_RESULT:
            return _VERIFY_RESULT[verify_result]
        # libcurl checks the host name itself, after OpenSSL's chain verification passed: "no alternative
        # certificate subject name matches target host name" (OpenSSL builds), "subject name … does not
        # match target host name" (older ones).
        lowered = message.lower()
        named = "subject name" in lowered or "does not match" in lowered or "hostname" in lowered
        return "tls.cert.name_invalid" if named else "tls.cert.invalid"
    if code == pycurl.E_SSL_CONNECT_ERROR:
        # OpenSSL's words for a negotiation that found nothing in common; "wrong version number" is
        # not one of them: it is what a server that does not speak TLS at all makes it say.
        lowered = message.lower()
        if any(words in lowered for words in _NO_COMMON_GROUND):
            return "tls.version_or_cipher_mismatch"
        return "tls.protocol.error"
    if code == pycurl.E_SSL_CERTPROBLEM:
        return "tls.bad_client_auth_cert"
    if code in {pycurl.E_SSL_CACERT_BADFILE, pycurl.E_SSL_ENGINE_INITFAILED}:
        return "tls.failed"
    if code == pycurl.E_GOT_NOTHING:
        return "tcp.closed"
    if code in {pycurl.E_RECV_ERROR, pycurl.E_SEND_ERROR}:
        return "tcp.reset" if os_errno == errno.ECONNRESET else "tcp.failed"
    if code in {_WEIRD_SERVER_REPLY, pycurl.E_PARTIAL_FILE, pycurl.E_BAD_CONTENT_ENCODING}:
        return "http.response.invalid"
    if code == pycurl.E_UNSUPPORTED_PROTOCOL and "http/0.9" in message.lower():
        return "http.response.invalid"  # an answer without an HTTP status line, as Chromium names it
    if code in {pycurl.E_HTTP2, _HTTP2_STREAM, pycurl.E_UNSUPPORTED_PROTOCOL}:
        return "http.protocol.error"
    if code == pycurl.E_TOO_MANY_REDIRECTS:
        return "http.response.redirect_loop"
    return "unknown"
