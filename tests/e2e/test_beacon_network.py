"""Failed requests and resources in a real browser: closed ports, 500s, 404s, timeouts, aborts."""

from __future__ import annotations

import pytest

from tests.browser import Reply
from tests.e2e.beacon import page as html_page
from tests.e2e.beacon import tag
from tests.helpers import free_port

pytestmark = pytest.mark.browser


def open_page(pw_page, site, collector, project, script: str = "", body: str = "", head: str = "") -> None:
    site.pages["/app"] = html_page(tag(f"{collector.url}/beacon.js", project) + head, body, script)
    pw_page.goto(f"{site.url}/app")


def test_fetch_to_a_closed_port_is_a_network_error(page, site, collector, demo_project, received):
    closed = free_port()
    open_page(page, site, collector, demo_project)
    page.evaluate(f"fetch('http://127.0.0.1:{closed}/api/cart?user=alice').catch(function () {{}})")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("network")
    assert (event.api, event.method, event.status, event.failure) == ("fetch", "GET", 0, "network_error")
    assert (event.nel_phase, event.nel_type) == ("unknown", "unknown")
    assert event.url == f"http://127.0.0.1:{closed}/api/cart?user=[redacted]"
    assert event.duration >= 0


def test_fetch_of_a_500_is_an_http_error_and_the_page_still_gets_its_response(
    page, site, collector, demo_project, received
):
    site.pages["/api/pay"] = Reply('{"error": "down"}', 500, "application/json")
    open_page(page, site, collector, demo_project)
    result = page.evaluate("fetch('/api/pay', {method: 'POST', body: '{}'}).then(r => r.status + ' ' + r.statusText)")
    page.evaluate("vigil.flush()")

    assert result == "500 Internal Server Error"
    (event,) = received.wait("network")
    assert (event.api, event.method, event.status, event.failure) == ("fetch", "POST", 500, "http_error")
    assert (event.nel_phase, event.nel_type, event.url) == ("application", "http.error", f"{site.url}/api/pay")


def test_xhr_404_timeout_and_aborted_fetch(page, site, collector, demo_project, received):
    site.pages["/slow"] = Reply("late", delay=2.0)
    open_page(page, site, collector, demo_project)
    page.evaluate(
        """() => new Promise(resolve => {
          const a = new XMLHttpRequest(); a.open('GET', '/nope'); a.send();
          const b = new XMLHttpRequest(); b.open('GET', '/slow'); b.timeout = 200; b.send();
          const c = new AbortController();
          fetch('/slow', {signal: c.signal}).catch(() => {});
          setTimeout(() => c.abort(), 50);
          setTimeout(resolve, 600);
        })"""
    )
    page.evaluate("vigil.flush()")

    events = received.wait("network", 3)
    assert sorted((e.api, e.url.removeprefix(site.url), e.status, e.failure, e.nel_type) for e in events) == [
        ("fetch", "/slow", 0, "abort", "abandoned"),
        ("xhr", "/nope", 404, "http_error", "http.error"),
        ("xhr", "/slow", 0, "timeout", "unknown"),
    ]


def test_successful_requests_and_the_collector_are_never_reported(page, site, collector, demo_project, received):
    site.pages["/api/ok"] = Reply("{}", 200, "application/json")
    open_page(page, site, collector, demo_project)
    page.evaluate("fetch('/api/ok')")
    page.evaluate(
        f"fetch('{collector.url}/api/{demo_project.id}/events?key=nope', {{method: 'POST', body: 'x'}})"
        ".catch(() => {})"
    )
    page.evaluate("vigil.captureError(new Error('marker'))")
    page.evaluate("vigil.flush()")

    received.wait("error")
    assert received.events("network") == []


def test_the_beacon_requests_are_invisible_to_the_pages_own_fetch_wrapper(
    page, site, collector, demo_project, received
):
    open_page(
        page, site, collector, demo_project,
        script=(
            "window.seen = []; const original = window.fetch;"
            "window.fetch = function (u) { seen.push(String(u)); return original.apply(this, arguments); };"
        ),
    )  # fmt: skip
    page.evaluate("vigil.captureError(new Error('x'))")
    page.evaluate("vigil.flush()")
    received.wait("error")
    assert page.evaluate("window.seen") == []


def test_a_missing_image_is_a_resource_failure_with_its_status(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, body='<img src="/img/missing.png">')
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("resource")
    assert (event.url, event.element, event.source) == (f"{site.url}/img/missing.png", "img", "error_event")
    assert event.status == 404


def test_a_failed_css_background_is_found_in_resource_timing(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, head="<style>body { background: url(/img/bg.png); }</style>")
    page.wait_for_timeout(1800)  # the Resource Timing source waits ~1 s for an element error first
    page.evaluate("vigil.flush()")

    (event,) = received.wait("resource")
    assert (event.url, event.element, event.source, event.status) == (
        f"{site.url}/img/bg.png",
        "css",
        "resource_timing",
        404,
    )


def test_fetch_of_a_request_timeouts_and_aborts_with_a_reason(page, site, collector, demo_project, received):
    site.pages["/api/fail"] = Reply("no", 500)
    site.pages["/slow"] = Reply("late", delay=2.0)
    open_page(page, site, collector, demo_project)
    page.evaluate(
        """async () => {
          await fetch(new Request('/api/fail?id=7', {method: 'PUT', body: 'x'}));
          await fetch('/slow', {signal: AbortSignal.timeout(100)}).catch(() => {});
          const c = new AbortController();
          setTimeout(() => c.abort(new Error('the user navigated')), 50);
          await fetch(new Request('/slow', {signal: c.signal})).catch(() => {});
        }"""
    )
    page.evaluate("vigil.flush()")

    events = received.wait("network", 3)
    assert sorted((e.method, e.url.removeprefix(site.url), e.status, e.failure, e.nel_type) for e in events) == [
        ("GET", "/slow", 0, "abort", "abandoned"),
        ("GET", "/slow", 0, "timeout", "abandoned"),
        ("PUT", "/api/fail?id=[redacted]", 500, "http_error", "http.error"),
    ]


def test_the_wrappers_change_nothing_the_page_sees(page, site, collector, demo_project, received):
    site.pages["/ok"] = Reply("{}", content_type="application/json")
    # The page's own fetch, installed before the beacon: the beacon wraps it; what the page
    # gets settles exactly as that fetch's promise does.
    own_fetch = (
        "<script>window.sentinel = null; const native = window.fetch;"
        "window.fetch = function () { return (window.sentinel = native.apply(this, arguments)); };"
        "window.unhandled = 0; addEventListener('unhandledrejection', () => { window.unhandled++; });</script>"
    )
    site.pages["/app"] = html_page(own_fetch + tag(f"{collector.url}/beacon.js", demo_project))
    page.goto(f"{site.url}/app")
    assert page.evaluate("(async () => (await window.fetch('/ok')) === (await window.sentinel))()")
    assert page.evaluate("history.pushState({a: 1}, '', '/app/x') === undefined && history.state.a === 1")
    assert page.evaluate(
        "(() => { const x = new XMLHttpRequest(); return x.open('GET', '/ok') === undefined && x.readyState === 1; })()"
    )
    # A fetch the page leaves unhandled: still the page's unhandled rejection, and a failed request.
    page.evaluate("void fetch('http://127.0.0.1:9/nope')")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")
    (event,) = received.wait("network")
    (error,) = received.wait("error")
    assert event.failure == "network_error"
    assert (error.error_type, error.mechanism) == ("TypeError", "onunhandledrejection")
    assert page.evaluate("window.unhandled") == 1


def test_xhr_network_error_and_abort(page, site, collector, demo_project, received):
    closed = free_port()
    site.pages["/slow"] = Reply("late", delay=2.0)
    open_page(page, site, collector, demo_project)
    page.evaluate(
        f"""() => new Promise(resolve => {{
          const a = new XMLHttpRequest(); a.open('POST', 'http://127.0.0.1:{closed}/x'); a.send('x');
          const b = new XMLHttpRequest(); b.open('GET', '/slow'); b.send();
          setTimeout(() => b.abort(), 50);
          setTimeout(resolve, 500);
        }})"""
    )
    page.evaluate("vigil.flush()")

    events = received.wait("network", 2)
    assert sorted((e.api, e.method, e.status, e.failure, e.nel_phase, e.nel_type) for e in events) == [
        ("xhr", "GET", 0, "abort", "application", "abandoned"),
        ("xhr", "POST", 0, "network_error", "unknown", "unknown"),
    ]


def test_failed_scripts_stylesheets_and_media_are_resource_failures(page, site, collector, demo_project, received):
    open_page(
        page, site, collector, demo_project,
        body='<script src="/js/missing.js"></script><link rel="stylesheet" href="/css/missing.css">'
        '<video src="/media/missing.mp4"></video>',
    )  # fmt: skip
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    events = received.wait("resource", 3)
    assert sorted((e.url.removeprefix(site.url), e.element, e.source) for e in events) == [
        ("/css/missing.css", "link", "error_event"),
        ("/js/missing.js", "script", "error_event"),
        ("/media/missing.mp4", "video", "error_event"),
    ]
    assert {e.status for e in events if e.element != "video"} == {404}


def test_a_collector_at_the_site_root_hides_only_its_own_requests(page, site, collector, demo_project, received, http):
    # The beacon served by the site itself (a reverse proxy in front of the collector): the
    # site's own failed requests and images are still the site's.
    site.pages["/beacon.js"] = Reply(http.get(f"{collector.url}/beacon.js").text, content_type="application/javascript")
    site.pages["/api/cart"] = Reply("down", 503)
    site.pages["/app"] = html_page(tag("/beacon.js", demo_project, endpoint=collector.url), '<img src="/img/gone.png">')
    page.goto(f"{site.url}/app")
    page.evaluate("fetch('/api/cart').catch(() => {})")
    events_url = f"{collector.url}/api/{demo_project.id}/events?key=x"
    page.evaluate(f"fetch('{events_url}', {{method: 'POST', body: '{{}}'}}).catch(() => {{}})")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (request,) = received.wait("network")
    assert (request.url, request.status) == (f"{site.url}/api/cart", 503)
    (image,) = received.wait("resource")
    assert image.url == f"{site.url}/img/gone.png"
    received.quiet(0.5)
    assert len(received.events("network")) == 1  # not the request to the collector's events URL


def test_slow_requests_carry_their_phases_unless_another_origin_hides_them(
    page, site, other_site, collector, demo_project, received
):
    site.pages["/api/cart"] = Reply("{}", content_type="application/json", delay=1.2)
    site.pages["/api/fast"] = Reply("{}", content_type="application/json")
    # Another origin that allows the page to read the answer (CORS) but not its timing (no Timing-Allow-Origin).
    other_site.pages["/track"] = Reply("ok", headers={"Access-Control-Allow-Origin": "*"}, delay=1.2)
    open_page(page, site, collector, demo_project)
    page.evaluate(
        f"""() => Promise.all([
          fetch('/api/cart?user=alice').then(r => r.text()),
          fetch('/api/fast').then(r => r.text()),
          new Promise(resolve => {{
            const x = new XMLHttpRequest(); x.open('GET', '{other_site.url}/track'); x.onloadend = resolve; x.send();
          }}),
        ])"""
    )
    page.wait_for_timeout(300)  # Resource Timing entries reach their observers after the response ends
    page.evaluate("vigil.flush()")

    events = {e.url: e for e in received.wait("slow_request", 2)}
    own = events[f"{site.url}/api/cart?user=[redacted]"]
    assert (own.api, own.status) == ("fetch", 200)
    assert own.duration >= 1000
    # Phases counted from the request's start: the first byte came after the server's 1.2 s, the whole after that.
    assert own.ttfb is not None
    assert 1000 <= own.ttfb <= own.duration
    assert own.dns is not None
    assert own.connect is not None
    assert own.dns + own.connect <= own.ttfb
    hidden = events[f"{other_site.url}/track"]
    assert (hidden.api, hidden.duration >= 1000) == ("xmlhttprequest", True)
    assert (hidden.dns, hidden.connect, hidden.tls, hidden.ttfb) == (None, None, None, None)
    assert received.events("network") == []  # slow is not failed
