"""Real receivers of notifications on loopback: an SMTP server (aiosmtpd, STARTTLS and login required) and an
HTTP server taking webhooks, both recording what they were sent."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.helpers import free_port

SMTP_USER, SMTP_PASSWORD = "vigil", "s3cret"


@dataclasses.dataclass
class Mailbox:
    """What the SMTP server accepted: each message parsed, with who it went to."""

    messages: list[EmailMessage] = dataclasses.field(default_factory=list)
    recipients: list[list[str]] = dataclasses.field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def _login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


def smtp_server(cert: Path, key: Path) -> tuple[Controller, Mailbox, int]:
    """An SMTP server on 127.0.0.1 that refuses mail before STARTTLS and a login; started, with its mailbox."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_login,
        auth_required=True,
    )
    controller.start()
    return controller, mailbox, port


@dataclasses.dataclass
class Webhooks:
    """An HTTP server on 127.0.0.1 recording every POST it accepts; ``answers[path]`` are the statuses of the next
    requests to that path (200 once they run out), ``always`` the status of every request when set."""

    port: int = 0
    received: list[tuple[str, dict[str, str], Any]] = dataclasses.field(default_factory=list)
    answers: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    always: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str | None = None) -> list[Any]:
        return [body for p, _, body in self.received if path is None or p == path]


def webhooks() -> Iterator[Webhooks]:
    hooks = Webhooks()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                queued = hooks.answers.get(self.path, [])
                status = hooks.always or (queued.pop(0) if queued else 200)
                if status == 200:
                    hooks.received.append((self.path, dict(self.headers), json.loads(body)))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hooks.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
