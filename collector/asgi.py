"""Plain ASGI for the ingest hot path: a request is its scope, its headers read once, its body read within a limit.

The ingest endpoints take every page view of every monitored site, so they skip the
framework's request and response objects and middleware stack: the dispatcher in
``collector/app.py`` sends them here, everything else goes through Starlette.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.types import Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]

_encode = msgspec.json.encode
JSON = (b"content-type", b"application/json")
#: Statuses that must not carry a body (RFC 9110 §15.3.5, §15.4.5).
NO_BODY = frozenset({204, 304})


class BodyTooLarge(Exception):
    """The body is over the limit: 413."""


class ClientGone(Exception):
    """The client disconnected mid-body: there is nobody to answer."""


class Request:
    """The little an ingest handler needs from an ASGI HTTP request."""

    __slots__ = ("_query", "headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        # Lower-cased by the server (ASGI spec); a repeated header keeps its last value.
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self._query: dict[str, str] | None = None

    def header(self, name: bytes, default: str = "") -> str:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else default

    def query(self, name: str) -> str:
        """A query parameter's value (percent-decoded), or ``""``."""
        if self._query is None:
            raw: bytes = self.scope["query_string"]
            if b"%" not in raw and b"+" not in raw:
                # The common case (a key of hex digits) without the general parser.
                self._query = {}
                for pair in raw.decode("latin-1").split("&"):
                    key, _, value = pair.partition("=")
                    self._query[key] = value  # the last one wins, as with parse_qsl
            else:
                self._query = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
        return self._query.get(name, "")

    @property
    def client_host(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    async def body(self, limit: int) -> bytes:
        """The whole body, or ``BodyTooLarge`` as soon as more than ``limit`` bytes are declared or read."""
        declared = self.headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(f"body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone("the client closed the connection before sending its body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"body is larger than {limit} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


EMPTY = (b"content-length", b"0")


async def respond(send: Send, status: int, body: Any, headers: Headers | None = None) -> None:
    """A JSON answer: ``body`` encoded, with ``headers`` (raw, lower-case names) added.

    An empty ``body`` (``{}``, ``None``) is sent as no body at all: the server then writes
    the answer in one piece instead of two (a system call and a packet less per request).
    """
    if status in NO_BODY or body is None or body == {}:
        head = [*(headers or [])] if status in NO_BODY else [EMPTY, *(headers or [])]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": b""})
        return
    payload = _encode(body)
    raw = [JSON, (b"content-length", str(len(payload)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def refuse(send: Send, status: int, reason: str, headers: Headers | None = None) -> None:
    """An error answer, ``{"error": reason}`` with the reason on one line and bounded."""
    await respond(send, status, {"error": " ".join(reason.split())[:300]}, headers)
