"""A small HTTP receiver on loopback standing in for the collector's probe endpoints."""

from __future__ import annotations

import http.server
import socketserver
import threading
from collections.abc import Callable

from contracts.probes import CheckResult, ProbeBatch, decode_batch

TOKEN = "vgs_test_token"


class Receiver:
    """Accepts ``POST /api/7/probes``; ``answer`` can be swapped to refuse or throttle.

    ``GET /api/7/probes/config`` answers ``shared_checks`` (TOML), or 404 while it is None.
    """

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.batches: list[ProbeBatch] = []
        self.statuses: list[int] = []
        self.answer: Callable[[], tuple[int, dict[str, str]]] = lambda: (202, {})
        self.shared_checks: bytes | None = None
        self.served: list[bytes | None] = []  # what each GET of the config answered, in order
        self._server: socketserver.TCPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record_ids(self) -> list[str]:
        with self._lock:
            return [r.id for b in self.batches for r in b.records]

    def serve(self, text: str | bytes) -> None:
        """Answer ``text`` to every later GET of the config."""
        with self._lock:
            self.shared_checks = text.encode() if isinstance(text, str) else text

    def times_served(self, text: str) -> int:
        with self._lock:
            return self.served.count(text.encode())

    def check_names(self) -> list[str]:
        """The ``check`` of every check result received, in order."""
        with self._lock:
            return [r.check for b in self.batches for r in b.records if isinstance(r, CheckResult)]

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                authorized = self.headers["Authorization"] == f"Bearer {receiver.token}"
                with receiver._lock:
                    body = receiver.shared_checks
                    receiver.served.append(body)
                if self.path != "/api/7/probes/config" or not authorized:
                    status, body = 403, b'{"error": "wrong secret token"}'
                elif body is None:
                    status, body = 404, b'{"error": "no shared probe config for project shop"}'
                else:
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers = receiver.answer()
                if self.path != "/api/7/probes" or self.headers["Authorization"] != f"Bearer {receiver.token}":
                    status = 403
                if status == 202:
                    batch = decode_batch(body)  # the collector's validation
                    with receiver._lock:
                        receiver.batches.append(batch)
                receiver.statuses.append(status)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._server = None
