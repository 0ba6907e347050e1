"""Triage in real Chromium: log in, resolve an issue in the next release, see it come back, log out."""

from __future__ import annotations

import time

import pytest

from tests.collector.test_routes import batch, post
from tests.dashboard.conftest import log_in
from tests.dashboard.test_issue import issue_of

pytestmark = pytest.mark.browser


def send(http, collector, project, event_id: str, release: str) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time() * 1000)
    event = {"type": "error", "event_id": event_id, "ts": now, "page_url": "https://shop.example/cart",
             "error_type": "TypeError", "message": "price is undefined",
             "stack": "TypeError: price is undefined\n    at total (https://shop.example/app.js:1:2)"}  # fmt: skip
    body = batch(batch_id=f"b-{event_id}", events=[event], sent_at=now, release=release, user_id="u-1")
    assert post(http, collector, project, body).status_code == 202


def test_resolved_in_the_next_release_then_back_as_a_regression_without_leaving_the_dashboard(
    page, http, collector, analytics, dashboard, demo_project, user, data_dir
):
    send(http, collector, demo_project, "old", "shop@1.0")
    issue_id = issue_of(data_dir, "old")

    page.goto(f"{dashboard.url}/issues/{issue_id}")
    page.wait_for_url("**/login?next=/issues/*", timeout=15_000)  # asked to log in, then sent back
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/issues/{issue_id}", timeout=15_000)
    header = page.locator("#issue-header")
    header.get_by_text("TypeError: price is undefined").wait_for(timeout=15_000)

    result = page.locator("#issue-action-result")
    page.locator("#issue-resolve-in").click()  # no release given: refused, and said why
    result.get_by_text("Not done: resolve_in_release needs a release").wait_for(timeout=15_000)

    page.locator("#issue-resolve-next").click()
    result.get_by_text(f"Issue #{issue_id}: resolved next release.").wait_for(timeout=15_000)
    header.locator(".badge").get_by_text("resolved next release").wait_for(timeout=15_000)
    activity = page.locator("#issue-activity")
    activity.get_by_text("resolved in the release after shop@1.0").wait_for(timeout=15_000)
    assert user in activity.inner_text()

    send(http, collector, demo_project, "new", "shop@1.1")
    header.locator(".badge").get_by_text("regressed").wait_for(timeout=20_000)  # the page refreshes itself
    activity.get_by_text("an event from shop@1.1").wait_for(timeout=15_000)
    assert "vigil" in activity.inner_text()

    page.locator("#logout").click()
    page.wait_for_url("**/login", timeout=15_000)
    page.goto(f"{dashboard.url}/issues/{issue_id}")
    page.wait_for_url(f"**/login?next=/issues/{issue_id}", timeout=15_000)


def test_without_a_login_an_action_says_how_to_get_one(
    page, http, collector, analytics, dashboard, demo_project, data_dir
):
    send(http, collector, demo_project, "e1", "shop@1.0")
    issue_id = issue_of(data_dir, "e1")
    page.goto(f"{dashboard.url}/issues/{issue_id}")
    page.locator("#issue-header").get_by_text("TypeError: price is undefined").wait_for(timeout=15_000)
    page.locator("#issue-resolve").click()
    page.locator("#issue-action-result").get_by_text("Log in to act").wait_for(timeout=15_000)
    assert "unresolved" in page.locator("#issue-header .badge").first.inner_text()


def test_the_login_page_logs_in_and_the_header_says_who(page, analytics, dashboard, user):
    log_in(page, dashboard.url)
    assert page.locator("#account-user").inner_text() == user
