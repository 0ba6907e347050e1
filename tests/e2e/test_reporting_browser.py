"""Chromium's own CSP reports reach the collector through the page's reporting headers.

Two ways, as browsers send them:

- ``report-uri``: Chromium posts ``application/csp-report`` at once, over plain HTTP too.
- The Reporting API (``Reporting-Endpoints`` and ``report-to``): Chromium delivers only
  from an HTTPS page to an HTTPS endpoint; 127.0.0.1 does not count as secure here. The
  test serves both the page and the collector (the same app ``vigil serve collector``
  runs, under uvicorn with a self-signed certificate, as behind a TLS proxy) over HTTPS,
  and its own Chromium ignores the certificate. The first report of a page is sent
  within a second; later ones wait for Chromium's next delivery (about a minute).
"""

from __future__ import annotations

import sys

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from integrations.reporting import ReportingHeaders
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served
from tests.helpers import Service, env_without_vigil, free_port, self_signed_certificate

pytestmark = pytest.mark.browser

BLOCKED = "https://blocked.example/pixel.png"


def shop(policy: str) -> Starlette:
    """A page with an image its Content-Security-Policy blocks, and no beacon: the browser reports by itself."""

    async def page(request):  # type: ignore[no-untyped-def]
        html = f'<!doctype html><html><body><img src="{BLOCKED}"></body></html>'
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    return Starlette(routes=[Route("/", page)])


def test_a_csp_report_uri_report_arrives(page, collector, demo_project, received):
    endpoint = f"{collector.url}/api/{demo_project.id}/reports?key={demo_project.public_key}"
    with served(
        ReportingHeaders(shop(f"img-src 'self'; report-uri {endpoint}"), endpoint=endpoint), free_port()
    ) as site:
        url = f"{site}/"
        page.goto(url)
        (event,) = received.wait("csp", timeout=30)
    assert (event.blocked_uri, event.effective_directive, event.disposition) == (BLOCKED, "img-src", "enforce")
    assert event.page_url == url
    ((entry,),) = [[e for e in received.entries() if e.source == "reporting_api"]]
    assert entry.user_agent.startswith("Mozilla/5.0")


def test_a_reporting_api_report_arrives_over_https(browser, tmp_path, data_dir, demo_project, redis_url, received):
    tls = self_signed_certificate(tmp_path)
    port = free_port()
    collector = Service(
        "collector over https",
        [sys.executable, "-m", "uvicorn", "--factory", "collector.app:app_from_env", "--host", "127.0.0.1",
         "--port", str(port), "--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1]), "--log-level", "warning"],
        env={**env_without_vigil(), "VIGIL_DATA_DIR": str(data_dir), "VIGIL_REDIS_URL": redis_url},
        url=f"https://127.0.0.1:{port}",
        log=data_dir / "collector-https.log",
        ca_file=tls[0],
    )  # fmt: skip
    collector.start("/healthz")
    try:
        own = browser.browser_type.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"], headless=True
        )
        try:
            endpoint = f"{collector.url}/api/{demo_project.id}/reports?key={demo_project.public_key}"
            # report-to only: the report can come no other way than through the Reporting API.
            app = ReportingHeaders(shop("img-src 'self'; report-to vigil"), endpoint=endpoint, nel=False)
            with served(app, free_port(), tls) as site:
                url = f"{site}/"
                own.new_page().goto(url)
                (event,) = received.wait("csp", timeout=30)
        finally:
            own.close()
    finally:
        collector.stop()
    assert (event.blocked_uri, event.effective_directive, event.disposition) == (BLOCKED, "img-src", "enforce")
    assert event.page_url == url
    assert event.original_policy == "img-src 'self'; report-to vigil"
    ((entry,),) = [[e for e in received.entries() if e.source == "reporting_api"]]
    assert entry.user_agent.startswith("Mozilla/5.0")
    assert event.ts <= entry.received_at  # received, minus the report's age
