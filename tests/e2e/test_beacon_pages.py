"""Page views, SPA route changes and Core Web Vitals in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.beacon import HIDE, SHOW, tag
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

    views = received.wait("pageview", 2)
    assert sorted(v.navigation for v in views) == ["navigate", "reload"]


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


def test_web_vitals_arrive_with_rating_metric_id_and_attribution(page, site, collector, demo_project, received):
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
        assert v.rating in {"good", "needs-improvement", "poor"}
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
