"""A tunnel a site mounts on its own origin, so ad blockers that drop requests to a monitoring host do not drop its
Sentry envelopes: the browser SDK posts to ``/tunnel`` on the site (``Sentry.init({tunnel: "/tunnel"})``) and the
tunnel forwards each envelope to Vigil's collector.

    from vigil.tunnel import asgi_tunnel, wsgi_tunnel
    app.mount("/tunnel", asgi_tunnel("https://vigil.example:8470", projects={2}))   # Starlette, FastAPI
    app.wsgi_app = ... wsgi_tunnel("https://vigil.example:8470", projects={2})      # Flask, Django (a WSGI app)

It is not an open proxy: an envelope goes on only when the DSN in its first line names the
configured collector's host and one of ``projects``; anything else is 400 with the reason,
and the body is never read past ``MAX_ENVELOPE`` bytes (413). It forwards the body as it
came (compressed or not) with its ``Content-Type`` and ``Content-Encoding``, the browser's
``User-Agent``, and the browser's address in ``X-Forwarded-For`` (which the collector uses
only when the site is among its ``trusted_proxies``), and answers with the collector's
status and body. Only the standard library: a site needs nothing else. docs/sentry.md has
the nginx equivalent.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

#: The largest envelope forwarded (the collector's own default for a request body).
MAX_ENVELOPE = 20_000_000
TIMEOUT = 10.0


class TunnelError(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def target(body: bytes, collector: str, projects: frozenset[int]) -> str:
    """The collector URL to forward ``body`` to, from the DSN in its first line; raises ``TunnelError`` (400)."""
    header = body.split(b"\n", 1)[0][:16_384]
    try:
        dsn = json.loads(header).get("dsn", "")
        parts = urlsplit(dsn)
        project = int(parts.path.rstrip("/").rsplit("/", 1)[-1])
    except (ValueError, AttributeError, RecursionError):
        raise TunnelError(400, "not an envelope with a DSN in its first line") from None
    if parts.hostname != urlsplit(collector).hostname or project not in projects:
        raise TunnelError(400, "the envelope's DSN is not one this tunnel forwards")
    return f"{collector.rstrip('/')}/api/{project}/envelope/"


#: The collector's answer headers an SDK acts on (back-off), passed back to the browser.
PASSED_BACK = ("Content-Type", "Retry-After", "X-Sentry-Rate-Limits", "X-Sentry-Error")
Answer = tuple[int, bytes, list[tuple[str, str]]]


def _kept(headers: Any) -> list[tuple[str, str]]:
    kept = [(name, value) for name in PASSED_BACK if (value := headers.get(name))]
    return kept or [("Content-Type", "application/json")]


def forward(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST the envelope; (status, body, headers) of the answer, 502 when the collector cannot be reached."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked: http(s))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 (the configured collector)
            return answer.status, answer.read(65_536), _kept(answer.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(65_536), _kept(e.headers)
    except (urllib.error.URLError, OSError) as e:
        reason = json.dumps({"error": f"the collector cannot be reached: {e}"[:300]}).encode()
        return 502, reason, [("Content-Type", "application/json")]


def _headers(get: Callable[[str], str | None], client: str) -> dict[str, str]:
    kept = {name: value for name in ("Content-Type", "Content-Encoding", "User-Agent") if (value := get(name))}
    return {**kept, "X-Forwarded-For": client} if client else kept


def _error(e: TunnelError) -> Answer:
    return e.status, json.dumps({"error": str(e)}).encode(), [("Content-Type", "application/json")]


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _checked(collector: str) -> str:
    if urlsplit(collector).scheme not in {"http", "https"} or not urlsplit(collector).hostname:
        raise ValueError(f"the collector must be an http(s) URL, not {collector[:100]!r}")
    return collector


def asgi_tunnel(collector: str, projects: Iterable[int]) -> Callable[[MutableMapping[str, Any], Receive, Send], Any]:
    """An ASGI app that forwards POSTed envelopes to ``collector`` for ``projects`` (ids)."""
    collector, allowed = _checked(collector), frozenset(projects)

    async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            status, body, headers = _error(TunnelError(405, "POST an envelope"))
        else:
            status, body, headers = await _asgi(scope, receive, collector, allowed)
        raw = [(name.lower().encode(), value.encode("latin-1", "replace")) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return app


async def _asgi(scope: MutableMapping[str, Any], receive: Receive, collector: str, allowed: frozenset[int]) -> Answer:
    chunks, size = [], 0
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_ENVELOPE:
            return _error(TunnelError(413, f"the envelope is larger than {MAX_ENVELOPE} bytes"))
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    client = (scope.get("client") or ("", 0))[0]
    try:
        url = target(body, collector, allowed)
    except TunnelError as e:
        return _error(e)
    return await asyncio.to_thread(forward, url, body, _headers(lambda n: headers.get(n.lower()), client))


def wsgi_tunnel(collector: str, projects: Iterable[int]) -> Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]:
    """A WSGI app that forwards POSTed envelopes to ``collector`` for ``projects`` (ids)."""
    collector, allowed = _checked(collector), frozenset(projects)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise TunnelError(405, "POST an envelope")
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length < 0:
                raise ValueError
            if length > MAX_ENVELOPE:
                raise TunnelError(413, f"the envelope is larger than {MAX_ENVELOPE} bytes")
            body = environ["wsgi.input"].read(length)
            url = target(body, collector, allowed)

            def get(name: str) -> str | None:
                key = name.upper().replace("-", "_")
                return environ.get(key if key in {"CONTENT_TYPE"} else f"HTTP_{key}")

            status, answer, headers = forward(url, body, _headers(get, environ.get("REMOTE_ADDR", "")))
        except TunnelError as e:
            status, answer, headers = _error(e)
        except ValueError:
            status, answer, headers = _error(TunnelError(400, "Content-Length is not a number of bytes"))
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", headers)
        return [answer]

    return app
