"""The loader snippet and the browser's own reports, in a real browser."""

from __future__ import annotations

import html

import pytest

from collector.scripts import DIST
from tests.browser import Reply
from tests.e2e.beacon import page as html_page
from tests.e2e.beacon import tag

pytestmark = pytest.mark.browser


def test_the_inline_loader_catches_errors_before_the_beacon_arrives(page, site, collector, demo_project, received):
    loader = (DIST / "loader.js").read_text()
    snippet = (
        f'<script data-project="{demo_project.id}" data-key="{demo_project.public_key}" '
        f'data-src="{html.escape(collector.url)}/beacon.js">{loader}</script>'
    )
    early = "vigil('setTag', 'early', 'yes'); throw new TypeError('before the beacon');"
    site.pages["/app"] = f"<!doctype html><html><head>{snippet}<script>{early}</script></head><body></body></html>"
    page.goto(f"{site.url}/app")
    page.wait_for_function("window.vigil && window.vigil.version", timeout=5000)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error")
    assert (event.error_type, event.message, event.mechanism) == ("TypeError", "before the beacon", "onerror")
    (entry,) = [e for e in received.entries() if event in e.batch.events]
    assert entry.batch.tags == {"early": "yes"}


def test_the_csp_safe_loader_works_under_a_strict_policy(page, site, collector, demo_project, received):
    policy = f"script-src 'self' {collector.url}; connect-src 'self' {collector.url}"
    loader_tag = (
        f'<script src="{collector.url}/loader.js" data-project="{demo_project.id}" '
        f'data-key="{demo_project.public_key}"></script>'
    )
    app_js = "setTimeout(function () { throw new Error('strict page'); }, 0);"
    site.pages["/app.js"] = Reply(app_js, content_type="application/javascript")
    site.pages["/app"] = Reply(
        f"<!doctype html><html><head>{loader_tag}<script src='/app.js'></script></head><body></body></html>",
        headers={"Content-Security-Policy": policy},
    )
    page.goto(f"{site.url}/app")
    page.wait_for_function("window.vigil && window.vigil.version", timeout=5000)
    page.wait_for_timeout(200)
    page.goto("about:blank")  # leaving the page flushes

    (event,) = received.wait("error")
    assert event.message == "strict page"


def test_csp_violations_seen_by_the_page_are_reported(page, site, collector, demo_project, received):
    site.pages["/app"] = Reply(
        html_page(tag(f"{collector.url}/beacon.js", demo_project), '<img src="https://blocked.example/x.png">'),
        headers={"Content-Security-Policy": f"img-src 'self'; script-src 'self' 'unsafe-inline' {collector.url}"},
    )
    page.goto(f"{site.url}/app")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("csp")
    assert (event.blocked_uri, event.effective_directive, event.disposition) == (
        "https://blocked.example/x.png", "img-src", "enforce",
    )  # fmt: skip


def test_deprecation_reports_are_reported(page, site, collector, demo_project, received):
    unload = "addEventListener('unload', function () {});"
    site.pages["/app"] = html_page(tag(f"{collector.url}/beacon.js", demo_project), "", unload)
    page.goto(f"{site.url}/app")
    page.wait_for_timeout(500)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("report")
    assert (event.report_type, event.report_id) == ("deprecation", "UnloadHandler")


def test_the_loader_keeps_at_most_100_calls_and_errors_when_the_beacon_never_comes(page, site):
    loader = (DIST / "loader.js").read_text()
    snippet = f'<script data-project="1" data-key="K" data-src="http://127.0.0.1:9/beacon.js">{loader}</script>'
    site.pages["/app"] = f"<!doctype html><html><head>{snippet}</head><body></body></html>"
    page.goto(f"{site.url}/app")
    page.wait_for_timeout(300)  # the beacon's load has failed
    page.evaluate(
        """for (let i = 0; i < 500; i++) {
             dispatchEvent(new ErrorEvent('error', {error: new Error('loop ' + i), message: 'loop'}));
             vigil.captureError(new Error('call ' + i));
           }"""
    )
    assert page.evaluate("[vigil.e.length, vigil.q.length]") == [100, 100]
    assert page.evaluate("vigil.q[0][0]") == "captureError"
