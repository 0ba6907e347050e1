"""One issue's page in real Chromium: from the issue to its event, the original source line and the last clicks.

A bundle built by esbuild throws through Node (the shop of tests/analytics/test_symbolicate.py);
its map is uploaded to the real collector, and the stack arrives as a browser would send it.
"""

from __future__ import annotations

import time

import pytest

from contracts.read_api import ReadClient
from tests.analytics.test_symbolicate import PAGE, RELEASE, shop  # noqa: F401 (the module-scoped bundle)
from tests.collector.test_routes import batch, post
from tests.helpers import wait_until

pytestmark = pytest.mark.browser


def upload_map(http, collector, project, map_bytes: bytes) -> None:  # type: ignore[no-untyped-def]
    response = http.post(
        f"{collector.url}/api/{project.id}/sourcemaps",
        params={"release": RELEASE, "url": "~/static/app.js"},
        content=map_bytes,
        headers={"Authorization": f"Bearer {project.secret_token}"},
    )
    assert response.status_code == 201, response.text


def send(http, collector, project, analytics, stack: str, event_id: str, message: str, **fields):  # type: ignore[no-untyped-def]
    now = int(time.time() * 1000)
    event = {
        "type": "error", "event_id": event_id, "ts": now, "page_url": PAGE, "error_type": "RangeError",
        "message": message, "stack": stack,
        "breadcrumbs": [
            {"ts": now - 2500, "category": "navigation", "message": "/cart"},
            {"ts": now - 800, "category": "click", "message": "button#pay"},
            {"ts": now - 300, "category": "fetch", "message": "POST /api/tax 200", "level": "info"},
        ],
        **fields,
    }  # fmt: skip
    body = batch(events=[event], sent_at=now, release=RELEASE, tags={"plan": "pro"}, user_id="u-1", session_id="s1",
                 sdk="vigil.js/1.0.0")  # fmt: skip
    assert post(http, collector, project, body).status_code == 202


def issue_of(data_dir, event_id: str) -> int:  # type: ignore[no-untyped-def]
    from contracts import runfiles

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        rows = wait_until(
            lambda: client.sql(f"SELECT issue_id FROM errors WHERE event_id = '{event_id}'").rows,
            timeout=20,
            what=f"event {event_id} stored",
        )
    return int(rows[0][0])


@pytest.fixture
def read_sql(analytics, data_dir):  # type: ignore[no-untyped-def]
    from contracts import runfiles

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    return info


def test_from_the_issue_to_the_original_source_line_and_the_last_clicks(
    page,
    http,
    collector,
    analytics,
    dashboard,
    demo_project,
    shop,  # noqa: F811
    read_sql,
):
    _, map_bytes, stack = shop
    upload_map(http, collector, demo_project, map_bytes)
    with ReadClient(read_sql["url"], token=read_sql["token"]) as client:
        wait_until(lambda: client.sql("SELECT count(*) FROM source_maps").rows[0][0] == 1, timeout=20, what="the map")
        send(http, collector, demo_project, analytics, stack, "first", "negative tax rate: -1")
        issue_id = wait_until(
            lambda: (r := client.sql("SELECT issue_id FROM errors WHERE event_id = 'first'").rows) and r[0][0],
            timeout=20, what="the first event",
        )  # fmt: skip
        send(http, collector, demo_project, analytics, stack, "second", "negative tax rate: -2")
        wait_until(lambda: client.sql("SELECT count(*) FROM errors").rows[0][0] == 2, timeout=20, what="two events")

    page.goto(f"{dashboard.url}/issues/{issue_id}")
    header = page.locator("#issue-header")
    header.get_by_text("RangeError: negative tax rate").wait_for(timeout=15_000)
    assert "Grouped by the frames of its stack trace" in header.inner_text()
    assert header.locator(".kpi .value").first.inner_text() == "2"

    # The latest event, its stack trace symbolicated: the frame of the site's own code is open on its source.
    view = page.locator("#issue-event-view")
    view.locator("h3").get_by_text("negative tax rate: -2").wait_for(timeout=15_000)
    own = view.locator("details.frame[open]").first
    assert "src/tax.js" in own.locator("summary").inner_text()
    source = own.locator("pre.source")
    assert source.locator(".source-line").count() >= 3
    assert "throw new RangeError" in source.locator(".source-line.own").inner_text()
    # Breadcrumbs as a timeline ending at the error, and the context.
    crumbs = view.locator(".timeline .crumb").all_inner_texts()
    assert [c.split()[0] for c in crumbs] == ["-2.5", "-0.8", "-0.3", "0.0"]
    assert "button#pay" in crumbs[1]
    assert "tag plan" in view.locator("table.keys").inner_text()
    assert "vigil.js/1.0.0" in view.locator("table.keys").inner_text()

    # The minified frames, on demand.
    page.locator("#issue-minified").get_by_text("Minified frames").click()
    view.locator("details.frame summary").get_by_text("static/app.js?v=3").first.wait_for(timeout=15_000)

    # Older: the first event, at its own address.
    page.locator("#issue-event-nav").get_by_text("Older →").click()
    page.wait_for_url(f"**/issues/{issue_id}?event=first*", timeout=15_000)
    page.locator("#issue-event-view h3").get_by_text("negative tax rate: -1").wait_for(timeout=15_000)
    assert page.locator("#issue-event-nav .button.disabled").inner_text() == "Older →"  # the oldest

    # The breakdowns, and the list of its events with links.
    assert "100%" in page.locator("#issue-breakdowns").inner_text()
    page.locator("#issue-events").get_by_text("second").click()
    page.wait_for_url(f"**/issues/{issue_id}?event=second*", timeout=15_000)


def test_event_text_on_the_issue_page_is_text(page, http, collector, analytics, dashboard, demo_project, data_dir):
    hostile = "<img src=x id=pwned onerror=\"document.title='pwned'\">"
    stack = f"Error: {hostile}\n    at handler (https://shop.example/app.js:1:2)"
    send(http, collector, demo_project, analytics, stack, "evil", hostile, breadcrumbs=[
        {"ts": int(time.time() * 1000), "category": "console", "message": hostile}])  # fmt: skip
    issue_id = issue_of(data_dir, "evil")
    page.goto(f"{dashboard.url}/issues/{issue_id}")
    page.locator("#issue-event-view").get_by_text(hostile).first.wait_for(timeout=15_000)
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned"


def test_an_unknown_issue_says_so(page, dashboard, analytics):
    page.goto(f"{dashboard.url}/issues/999")
    page.locator("#issue-notice").get_by_text("There is no issue 999.").wait_for(timeout=15_000)
