"""Headless Chromium (Debian's package, never a downloaded browser) and pages served by the test."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.helpers import free_port, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium phones home at start and this machine's closed network refuses it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@dataclasses.dataclass
class Reply:
    """A response the test site gives: any status, type, headers, and an optional delay."""

    body: str = ""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0


@contextlib.contextmanager
def served(app: ASGIApp, port: int, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """``app`` under a real uvicorn in a thread on 127.0.0.1 (HTTPS with ``tls``: cert, key); yields its URL."""
    certificate = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **certificate))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what=f"the test site on port {port}")
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Site:
    """Pages served on 127.0.0.1 by a real uvicorn in a thread: ``site.pages["/x"] = "<html>…"`` or a ``Reply``.

    Every request is recorded in ``site.requests`` as (method, path).
    """

    def __init__(self) -> None:
        self.pages: dict[str, str | Reply] = {}
        self.requests: list[tuple[str, str]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

        async def show(request):  # type: ignore[no-untyped-def]
            self.requests.append((request.method, request.url.path))
            reply = self.pages.get(request.url.path, Reply("not found", 404, "text/plain"))
            if isinstance(reply, str):
                reply = Reply(reply)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            return Response(reply.body, reply.status, headers=reply.headers, media_type=reply.content_type)

        self._serving = served(
            Starlette(routes=[Route("/{path:path}", show, methods=["GET", "POST", "PUT", "DELETE"])]), self.port
        )

    def __enter__(self) -> Site:
        self._serving.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(None, None, None)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def other_site() -> Iterator[Site]:
    """A second origin, for cross-origin scripts and requests."""
    with Site() as s:
        yield s
