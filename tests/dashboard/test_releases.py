"""The releases page in real Chromium: two releases side by side, from beacon sessions through the collector."""

from __future__ import annotations

import time

import pytest

from tests.collector.test_routes import batch, post
from tests.dashboard.conftest import grid_rows
from tests.helpers import wait_until

pytestmark = pytest.mark.browser


def session(http, collector, project, n: int, release: str, crash: bool) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time() * 1000)
    events: list[dict[str, object]] = [
        {"type": "pageview", "event_id": f"p{n}", "ts": now, "page_url": "https://shop.example/"}
    ]
    if crash:
        events.append({"type": "error", "event_id": f"e{n}", "ts": now + 1, "page_url": "https://shop.example/",
                       "error_type": "TypeError", "message": "boom", "mechanism": "onerror"})  # fmt: skip
    body = batch(batch_id=f"b{n}", events=events, sent_at=now, release=release, session_id=f"s{n}", user_id=f"u{n}")
    assert post(http, collector, project, body).status_code == 202


def test_each_release_beside_the_one_before_it(page, http, collector, analytics, dashboard, demo_project):
    for n in range(4):
        session(http, collector, demo_project, n, "shop@1.9.0", crash=n < 2)  # 50 % unhandled-free
    for n in range(4, 8):
        session(http, collector, demo_project, n, "shop@1.10.0", crash=n == 4)  # 75 %: newer by version, not name

    page.goto(f"{dashboard.url}/releases")
    table = page.locator("#releases-table")
    table.get_by_text("shop@1.10.0").wait_for(timeout=20_000)
    wait_until(lambda: len(grid_rows(page, "releases-table")) == 2, timeout=20, what="two releases")
    newest, older = grid_rows(page, "releases-table")
    assert newest[:4] == ["shop@1.10.0", "demo", newest[2], "shop@1.9.0"]
    # Adoption, sessions, unhandled-free sessions (an error that reached the page's handlers), crash-free sessions.
    assert newest[4:8] == ["50.00% (was 50.00%)", "4 (was 4)", "75.00% (was 50.00%, better)", "100.00% (was 100.00%)"]
    assert older[3:7] == ["—", "50.00%", "4", "50.00%"]
    assert page.locator("#releases-crash-free .bars path").count() == 2

    table.get_by_role("link", name="shop@1.10.0").click()
    page.wait_for_url("**/issues?project=demo&release=shop%401.10.0&range=7d", timeout=15_000)
    page.locator("#issues-table").get_by_text("TypeError: boom").wait_for(timeout=15_000)
