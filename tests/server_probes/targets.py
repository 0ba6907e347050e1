"""Real targets on 127.0.0.1 for the checks: HTTP and TLS servers, certificates made with openssl, a DNS server."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import json
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/ok":
            self._send(
                200, json.dumps({"status": "ok", "items": [1, 2]}).encode(), {"Content-Type": "application/json"}
            )
        elif self.path == "/error":
            self._send(500, b"boom")
        elif self.path == "/slow":
            time.sleep(0.3)  # before the first byte: the processing phase
            self._send(200, b"slow but fine")
        elif self.path == "/redirect":
            self._send(302, b"", {"Location": "/ok"})
        elif self.path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        else:
            self._send(404, b"not here")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self._send(
            200, json.dumps({"method": "POST", "body": body.decode(), "auth": self.headers.get("X-Token")}).encode()
        )


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def http_server(context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = Server(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclasses.dataclass
class Certs:
    ca: Path
    valid: tuple[Path, Path]  # signed by ca, for 127.0.0.1, 30 days
    expired: tuple[Path, Path]  # signed by ca, expired yesterday
    self_signed: tuple[Path, Path]
    other_name: tuple[Path, Path]  # signed by ca, valid, for shop.example only (not 127.0.0.1)


@contextlib.contextmanager
def raw_server(answer: str) -> Iterator[int]:
    """A TCP server that reads a request, then misbehaves: ``close`` without a word, ``reset`` (RST), ``garbage``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    if answer == "reset":
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    elif answer == "garbage":
                        conn.sendall(b"this is not HTTP\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_certs(directory: Path) -> Certs:
    """A CA and three server certificates for 127.0.0.1, made with the openssl CLI."""
    d = directory
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
             "-days", "30", "-subj", "/CN=Vigil Test CA")  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, days in (("valid", "30"), ("expired", "-1")):
        key, csr, pem = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.pem"
        _openssl(
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(csr),
            "-subj",
            "/CN=127.0.0.1",
        )
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                 "-CAcreateserial", "-days", days, "-extfile", str(d / "ext.cnf"), "-out", str(pem))  # fmt: skip
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "self.key"),
             "-out", str(d / "self.pem"), "-days", "30", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1")  # fmt: skip
    (d / "other.cnf").write_text("subjectAltName=DNS:shop.example\n")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "other.key"),
             "-out", str(d / "other.csr"), "-subj", "/CN=shop.example")  # fmt: skip
    _openssl("x509", "-req", "-in", str(d / "other.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-days", "30", "-extfile", str(d / "other.cnf"),
             "-out", str(d / "other.pem"))  # fmt: skip
    return Certs(
        d / "ca.pem",
        (d / "valid.pem", d / "valid.key"),
        (d / "expired.pem", d / "expired.key"),
        (d / "self.pem", d / "self.key"),
        (d / "other.pem", d / "other.key"),
    )


def tls_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return context


@contextlib.contextmanager
def dns_server(records: dict[str, list[str]]) -> Iterator[int]:
    """A UDP DNS server answering A queries for ``records`` (name → addresses) and NXDOMAIN otherwise."""

    class DnsHandler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            if name in records:
                response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "A", records[name]))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), self.client_address)

    server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), DnsHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
