"""The whole path in a real browser: a page throws, the beacon reports, ``vigil sql`` finds it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.helpers import env_without_vigil

pytestmark = pytest.mark.browser


def beacon_page(collector_url: str, project_id: int, key: str, body: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>test page</title>
<script src="{collector_url}/beacon.js" data-project="{project_id}" data-key="{key}"
        data-release="shop@2.0.0" data-environment="test"></script></head>
<body><p>hello</p><script>{body}</script></body></html>"""


def vigil_sql(data_dir, statement: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "sql", statement, "--format", "json", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=30, env=env_without_vigil(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_thrown_type_error_is_found_by_vigil_sql_within_5_seconds(
    page, site, collector, analytics, demo_project, data_dir
):
    site.pages["/shop/cart"] = beacon_page(
        collector.url, demo_project.id, demo_project.public_key,
        'setTimeout(function () { throw new TypeError("boom 42"); }, 50);',
    )  # fmt: skip
    page.goto(f"{site.url}/shop/cart?item=7")
    page.wait_for_timeout(300)
    thrown_at = time.monotonic()
    page.goto("about:blank")  # leaving the page hides it: the beacon flushes

    statement = "SELECT error_type, message, page_url, browser, release, environment, stack FROM errors"
    rows: list[dict[str, object]] = []
    while time.monotonic() - thrown_at < 5 and not rows:
        rows = vigil_sql(data_dir, statement)
    assert rows, "the error was not stored within 5 s"

    (row,) = rows
    assert (row["error_type"], row["message"]) == ("TypeError", "boom 42")
    assert row["page_url"] == f"{site.url}/shop/cart?item=[redacted]"  # query values are redacted by default
    assert row["browser"] == "HeadlessChrome"
    assert (row["release"], row["environment"]) == ("shop@2.0.0", "test")
    assert str(row["stack"]).startswith("TypeError: boom 42\n    at ")


def test_an_unhandled_rejection_is_reported(page, site, collector, analytics, demo_project, data_dir):
    site.pages["/"] = beacon_page(
        collector.url, demo_project.id, demo_project.public_key,
        'Promise.reject(new RangeError("too far"));',
    )  # fmt: skip
    page.goto(f"{site.url}/")
    page.wait_for_timeout(300)
    page.evaluate("window.vigil.flush()")

    deadline = time.monotonic() + 10
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline and not rows:
        rows = vigil_sql(data_dir, "SELECT error_type, message, mechanism FROM errors")
    assert rows == [{"error_type": "RangeError", "message": "too far", "mechanism": "onunhandledrejection"}]
