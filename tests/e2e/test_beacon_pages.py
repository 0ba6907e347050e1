"""Page views, SPA route changes and Core Web Vitals in a real browser."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, Reply
from tests.e2e.beacon import HIDE, SHOW, kind, tag
from tests.e2e.beacon import page as html_page

pytestmark = pytest.mark.browser


def open_page(pw_page, site, collector, project, body: str = "", script: str = "", path: str = "/app") -> None:
    site.pages[path] = html_page(tag(f"{collector.url}/beacon.js", project), body, script)
    pw_page.goto(f"{site.url}{path}")


def test_a_page_load_is_a_page_view_with_timing_phases(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (view,) = received.wait("pageview")
    assert (view.navigation, view.page_url) == ("navigate", f"{site.url}/app")
    for phase in ("dns", "connect", "ttfb", "dom_interactive", "load"):
        assert getattr(view, phase) is not None, phase
    assert 0 < view.ttfb <= view.dom_interactive <= view.load


def test_a_reload_is_a_page_view_of_its_own(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.wait_for_timeout(300)
    page.reload()
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    received.wait("pageview", 2)
    # A page left with a batch just handed to sendBeacon keeps it in its outbox: the next load
    # sends it again, with the same event ids, for the server to drop. So count by event id.
    views = {v.event_id: v for v in received.quiet(0.5) if kind(v) == "pageview"}
    assert sorted(v.navigation for v in views.values()) == ["navigate", "reload"]


def test_spa_route_changes_are_page_views(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.wait_for_timeout(300)
    page.evaluate("history.pushState({}, '', '/app/cart'); history.pushState({}, '', '/app/checkout?step=2')")
    page.go_back()
    page.wait_for_timeout(200)
    page.evaluate("vigil.flush()")

    routes = [v for v in received.wait("pageview", 4) if v.navigation == "route_change"]
    assert [(v.page_url.removeprefix(site.url), v.referrer.removeprefix(site.url)) for v in routes] == [
        ("/app/cart", "/app"),
        ("/app/checkout?step=[redacted]", "/app/cart"),
        ("/app/cart", "/app/checkout?step=[redacted]"),
    ]


def test_web_vitals_arrive_with_metric_id_and_attribution(page, site, collector, demo_project, received):
    open_page(
        page, site, collector, demo_project,
        body=(
            '<div id="late"></div><h1 id="hero" style="font-size: 64px">Welcome to the shop</h1>'
            '<button id="go">Go</button><p>Everything moves down when the late banner arrives.</p>'
        ),
        script="""
        // Headless Chromium draws frames only on demand, and without frames there are no idle
        // periods; web-vitals handles interactions in requestIdleCallback, so keep frames coming.
        (function frame() { requestAnimationFrame(frame); })();
        document.getElementById("go").addEventListener("click", function () {
          const end = performance.now() + 120; while (performance.now() < end) {}
        });
        setTimeout(function () {
          document.getElementById("late").innerHTML = '<div style="height: 300px; background: #ccc">ad</div>';
        }, 300);
        """,
    )  # fmt: skip
    page.wait_for_timeout(600)
    page.click("#go")
    page.wait_for_timeout(500)
    page.evaluate(HIDE)

    vitals = {v.name: v for v in received.wait("vital", 5, timeout=15)}
    assert set(vitals) == {"LCP", "INP", "CLS", "FCP", "TTFB"}
    for v in vitals.values():
        assert (v.rating, v.delta) == ("", 0.0)  # left to the server, which rates the value itself
        assert v.metric_id.startswith("v")
    assert vitals["LCP"].attribution["target"] == "h1#hero"
    assert vitals["INP"].value >= 100
    assert vitals["INP"].attribution["event"] in {"pointerdown", "pointerup", "click", "mousedown", "mouseup"}
    assert vitals["INP"].attribution["target"] == "button#go"
    assert vitals["CLS"].value > 0
    assert "ttfb" in vitals["FCP"].attribution


def test_cls_updates_keep_their_metric_id(page, site, collector, demo_project, received):
    open_page(
        page,
        site,
        collector,
        demo_project,
        body='<p>top</p><div id="slot"></div><p>text that moves</p>',
        script="setTimeout(() => { slot.style.height = '200px'; }, 200);",
    )
    page.wait_for_timeout(500)
    page.evaluate(HIDE)
    first = received.wait("vital", where=lambda v: v.name == "CLS")
    page.evaluate(SHOW)
    page.evaluate("slot.style.height = '400px'")
    page.wait_for_timeout(300)
    page.evaluate(HIDE)
    updates = received.wait("vital", 2, where=lambda v: v.name == "CLS")

    assert len(first) == 1
    assert len({v.metric_id for v in updates}) == 1
    assert updates[-1].value > updates[0].value


def test_inp_attribution_counts_the_click_handler_as_processing(page, site, collector, demo_project, received):
    open_page(
        page, site, collector, demo_project,
        body='<button id="go">Go</button>',
        script="""
        (function frame() { requestAnimationFrame(frame); })();
        document.getElementById("go").addEventListener("click", function () {
          const end = performance.now() + 150; while (performance.now() < end) {}
        });
        """,
    )  # fmt: skip
    page.wait_for_timeout(500)
    page.click("#go")
    page.wait_for_timeout(500)
    page.evaluate(HIDE)

    (inp,) = received.wait("vital", where=lambda v: v.name == "INP", timeout=15)
    a = inp.attribution
    assert a["event"] == "click"
    assert a["processing"] >= 140  # the handler's 150 ms, not the next paint's
    assert a["input_delay"] + a["processing"] + a["presentation"] == pytest.approx(inp.value, abs=2)


def test_a_page_left_before_its_load_event_still_has_its_page_view(page, site, collector, demo_project, received):
    site.pages["/img/slow.png"] = Reply("", content_type="image/png", delay=3.0)
    site.pages["/app"] = html_page(tag(f"{collector.url}/beacon.js", demo_project), '<img src="/img/slow.png">')
    page.goto(f"{site.url}/app", wait_until="domcontentloaded")
    page.wait_for_function("window.vigil && window.vigil.version")
    assert page.evaluate("document.readyState") != "complete"
    page.goto("about:blank")

    (view,) = received.wait("pageview")
    assert view.navigation == "navigate"
    assert view.page_url == f"{site.url}/app"


def test_replace_state_within_a_page_is_no_new_page_view_unless_the_redacted_url_changes(
    page, site, collector, demo_project, received
):
    open_page(page, site, collector, demo_project, path="/search")
    page.evaluate("for (const q of ['s', 'sh', 'sho', 'shoe']) history.replaceState(null, '', '/search?q=' + q)")
    page.evaluate("history.replaceState(null, '', '/search?q=shoes#results')")
    page.evaluate("history.pushState(null, '', '/item/7')")
    page.wait_for_timeout(200)
    page.evaluate("vigil.flush()")

    routes = [v for v in received.wait("pageview", 3) if v.navigation == "route_change"]
    assert [(v.referrer.removeprefix(site.url), v.page_url.removeprefix(site.url)) for v in routes] == [
        ("/search", "/search?q=[redacted]"),
        ("/search?q=[redacted]", "/item/7"),
    ]


def test_a_restore_from_the_back_forward_cache_is_a_page_view(browser, site, collector, demo_project, received):
    # The shared browser runs without the back/forward cache (Playwright's default); this
    # test starts a browser of its own with it, and closes it.
    with_cache = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    try:
        pw_page = with_cache.new_page()
        open_page(pw_page, site, collector, demo_project)
        pw_page.wait_for_timeout(300)
        site.pages["/other"] = "<!doctype html><title>other</title>"
        pw_page.goto(f"{site.url}/other")
        pw_page.evaluate("history.back()")  # no load event on a restore: not page.go_back()
        pw_page.wait_for_timeout(800)
        assert pw_page.evaluate("location.pathname") == "/app"
        assert (
            pw_page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"
        )  # restored, not reloaded
        pw_page.evaluate("vigil.flush()")

        views = received.wait("pageview", 2, where=lambda v: v.page_url == f"{site.url}/app")
        assert sorted({v.event_id: v.navigation for v in views}.values()) == ["back_forward", "navigate"]
    finally:
        with_cache.close()
