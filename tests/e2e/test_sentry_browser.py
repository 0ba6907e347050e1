"""The official @sentry/browser SDK (from npm) in headless Chromium reports to the collector, and it is stored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from contracts import runfiles
from contracts.read_api import ReadClient
from tests.browser import Reply
from tests.helpers import wait_until

pytestmark = pytest.mark.browser

BEACON_JS = Path(__file__).resolve().parent.parent.parent / "beacon-js"


@pytest.fixture(scope="session")
def sentry_bundle() -> str:
    """@sentry/browser bundled for a page (window.Sentry), with the esbuild the beacon is built with."""
    out = subprocess.run(
        [str(BEACON_JS / "node_modules" / ".bin" / "esbuild"), "--bundle", "--format=iife", "--global-name=Sentry",
         "--sourcefile=sentry-entry.js", "--log-level=error"],
        input='export * from "@sentry/browser";', capture_output=True, text=True, cwd=BEACON_JS, timeout=60, check=True,
    )  # fmt: skip
    return out.stdout


def test_the_sentry_browser_sdk_reports_an_error_that_is_stored_and_shown_whole(
    page, site, collector, analytics, dashboard, demo_project, data_dir, sentry_bundle
):
    dsn = collector.url.replace("http://", f"http://{demo_project.public_key}@") + f"/{demo_project.id}"
    site.pages["/sentry.js"] = Reply(sentry_bundle, content_type="application/javascript")
    site.pages["/app"] = f"""<!doctype html><html><head><script src="/sentry.js"></script><script>
      Sentry.init({{dsn: "{dsn}", release: "shop-web@3.0.0", environment: "staging", defaultIntegrations: false,
                   integrations: [Sentry.globalHandlersIntegration(), Sentry.breadcrumbsIntegration(),
                                  Sentry.linkedErrorsIntegration(), Sentry.httpContextIntegration()]}});
    </script></head><body><button id="pay">Pay</button><script>
      document.getElementById("pay").addEventListener("click", function pay() {{
        throw new TypeError("price is undefined", {{cause: new Error("cart empty")}});
      }});
    </script></body></html>"""
    page.goto(f"{site.url}/app")
    page.click("#pay")

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    statement = (
        "SELECT error_type, message, release, environment, page_url, browser, causes, stack, issue_id, sdk FROM errors"
    )
    with ReadClient(info["url"], token=info["token"]) as client:
        rows = wait_until(lambda: client.sql(statement).rows, timeout=15, what="the SDK's event stored")
    ((error_type, message, release, environment, page_url, browser, causes, stack, issue_id, sdk),) = rows
    assert (error_type, message, release, environment) == (
        "TypeError",
        "price is undefined",
        "shop-web@3.0.0",
        "staging",
    )
    assert page_url == f"{site.url}/app"
    assert browser == "HeadlessChrome"
    assert "cart empty" in causes
    assert "at HTMLButtonElement.pay (" in stack
    assert sdk.startswith("sentry.javascript.browser/")

    # The issue page shows the SDK's event as it shows the beacon's: chain, stack, clicks, and who sent it.
    page.goto(f"{dashboard.url}/issues/{issue_id}")
    view = page.locator("#issue-event-view")
    view.locator("h3").get_by_text("price is undefined").wait_for(timeout=15_000)
    assert "cart empty" in view.inner_text()
    assert "pay" in view.locator("details.frame summary").first.inner_text()
    assert "button#pay" in " ".join(view.locator(".timeline .crumb").all_inner_texts())
    assert sdk in view.locator("table.keys").first.inner_text()
    # What the SDK sent besides: its request headers (the page's User-Agent) and contexts (the trace).
    assert "User-Agent" in view.locator("h4:has-text('Request') + table").inner_text()
    assert "trace" in " ".join(view.locator("details.sdk-context summary").all_inner_texts())


def test_the_browser_sdk_reports_through_a_tunnel_on_the_sites_own_origin(
    page, collector, analytics, data_dir, demo_project, sentry_bundle
):
    """An ad blocker drops requests to a monitoring host: the SDK posts to /tunnel on the site, which forwards."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Mount, Route

    from tests.browser import served
    from tests.helpers import free_port
    from vigil.tunnel import asgi_tunnel

    dsn = collector.url.replace("http://", f"http://{demo_project.public_key}@") + f"/{demo_project.id}"
    html = f"""<!doctype html><html><head><script src="/sentry.js"></script><script>
      Sentry.init({{dsn: "{dsn}", tunnel: "/tunnel", release: "shop-web@3.1.0", defaultIntegrations: false,
                   integrations: [Sentry.globalHandlersIntegration()]}});
    </script></head><body><button id="pay">Pay</button><script>
      document.getElementById("pay").addEventListener("click", () => {{ throw new RangeError("quantity"); }});
    </script></body></html>"""
    app = Starlette(routes=[
        Route("/app", lambda _: HTMLResponse(html)),
        Route("/sentry.js", lambda _: Response(sentry_bundle, media_type="application/javascript")),
        Mount("/tunnel", asgi_tunnel(collector.url, projects={demo_project.id})),
    ])  # fmt: skip
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    with served(app, free_port()) as site:
        page.goto(f"{site}/app")
        page.click("#pay")
        info = runfiles.read_live(data_dir, "analytics")
        assert info is not None
        with ReadClient(info["url"], token=info["token"]) as client:
            rows = wait_until(lambda: client.sql("SELECT error_type, message, release FROM errors").rows, timeout=15,
                              what="the event that came through the tunnel")  # fmt: skip
    assert rows == [["RangeError", "quantity", "shop-web@3.1.0"]]
    assert hosts == {site.split("/")[2]}  # the page never spoke to the collector itself
