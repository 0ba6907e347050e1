"""The middleware a site adds to its own app so browsers send their reports to Vigil."""

from __future__ import annotations

import asyncio
import json

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from integrations.reporting import ReportingHeaders


def test_the_middleware_adds_reporting_headers_and_points_csp_at_vigil():
    async def page(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("hi", headers={"Content-Security-Policy": "img-src 'self'"})

    async def plain(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("plain", headers={"Content-Security-Policy": "img-src 'self'; report-uri /mine"})

    endpoint = "https://vigil.example/api/2/reports?key=k"
    app = ReportingHeaders(Starlette(routes=[Route("/", page), Route("/own", plain)]), endpoint=endpoint)
    transport = httpx.ASGITransport(app=app)

    async def fetch(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    response, own = asyncio.run(fetch("/")), asyncio.run(fetch("/own"))
    assert response.headers["reporting-endpoints"] == f'vigil="{endpoint}"'
    assert json.loads(response.headers["report-to"]) == {
        "group": "vigil",
        "max_age": 86400,
        "endpoints": [{"url": endpoint}],
    }
    assert json.loads(response.headers["nel"]) == {"report_to": "vigil", "max_age": 86400, "failure_fraction": 1.0}
    assert response.headers["content-security-policy"] == f"img-src 'self'; report-to vigil; report-uri {endpoint}"
    assert own.headers["content-security-policy"] == "img-src 'self'; report-uri /mine"  # the app's own target stays
