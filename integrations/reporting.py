"""An ASGI middleware for your own app: the response headers that make browsers report to Vigil.

    from integrations.reporting import ReportingHeaders
    app = ReportingHeaders(app, endpoint="https://vigil.example/api/2/reports?key=PUBLIC_KEY")

It adds ``Reporting-Endpoints`` (the Reporting API), ``Report-To`` (its older form, which
Network Error Logging still uses) and ``NEL`` (report failed requests; browsers honour it
on HTTPS pages only), and points a ``Content-Security-Policy`` the app sets at Vigil with
``report-to`` and ``report-uri`` when it does not name a report target already. The
headers are documented in docs/reporting.md for sites that set them another way.
"""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP_HEADERS = ("content-security-policy", "content-security-policy-report-only")


def reporting_headers(
    endpoint: str, *, group: str = "vigil", max_age: int = 86_400, nel: bool = True, failure_fraction: float = 1.0
) -> dict[str, str]:
    """The headers for ``endpoint`` (the URL ``vigil project create`` prints, ending in ``/reports?key=…``)."""
    headers = {
        "Reporting-Endpoints": f'{group}="{endpoint}"',
        "Report-To": json.dumps({"group": group, "max_age": max_age, "endpoints": [{"url": endpoint}]}),
    }
    if nel:
        headers["NEL"] = json.dumps({"report_to": group, "max_age": max_age, "failure_fraction": failure_fraction})
    return headers


class ReportingHeaders:
    def __init__(
        self,
        app: ASGIApp,
        endpoint: str,
        *,
        group: str = "vigil",
        max_age: int = 86_400,
        nel: bool = True,
        failure_fraction: float = 1.0,
        csp: bool = True,
    ) -> None:
        self.app, self.endpoint, self.group, self.csp = app, endpoint, group, csp
        self.headers = reporting_headers(
            endpoint, group=group, max_age=max_age, nel=nel, failure_fraction=failure_fraction
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
                if self.csp:
                    for name in CSP_HEADERS:
                        policy = headers.get(name)
                        if policy and "report-to" not in policy and "report-uri" not in policy:
                            headers[name] = f"{policy.rstrip('; ')}; report-to {self.group}; report-uri {self.endpoint}"
            await send(message)

        await self.app(scope, receive, send_with_headers)
