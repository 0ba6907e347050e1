"""Chromium's own CSP report reaches the collector through the page's reporting headers.

Headless Chromium here does not deliver Reporting API (``report-to``) reports at all, with
or without ``--short-reporting-delay``; the page therefore names its target with
``report-uri``, which Chromium sends at once as ``application/csp-report``. The
Reporting API's JSON is covered with bodies in the browsers' format in
tests/collector/test_reporting.py.
"""

from __future__ import annotations

import threading

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from collector.reporting.headers import ReportingHeaders
from tests.helpers import free_port, wait_until

pytestmark = pytest.mark.browser


def test_a_real_csp_violation_report_arrives(page, collector, demo_project, received):
    endpoint = f"{collector.url}/api/{demo_project.id}/reports?key={demo_project.public_key}"

    async def shop(request):  # type: ignore[no-untyped-def]
        html = '<!doctype html><html><body><img src="https://blocked.example/pixel.png"></body></html>'
        return HTMLResponse(html, headers={"Content-Security-Policy": f"img-src 'self'; report-uri {endpoint}"})

    app = ReportingHeaders(Starlette(routes=[Route("/", shop)]), endpoint=endpoint)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what="the shop")
        page.goto(f"http://127.0.0.1:{port}/")  # no beacon on this page: the browser reports by itself
        (event,) = received.wait("csp", timeout=30)
    finally:
        server.should_exit = True
        thread.join(10)
    assert (event.blocked_uri, event.effective_directive, event.disposition) == (
        "https://blocked.example/pixel.png", "img-src", "enforce",
    )  # fmt: skip
    assert event.page_url == f"http://127.0.0.1:{port}/"
    ((entry,),) = [[e for e in received.entries() if e.source == "reporting_api"]]
    assert entry.user_agent.startswith("Mozilla/5.0")
