"""A real dashboard process reading from the test's real analytics service, a user, and a page that logs in.

Every page of these tests fails its test if the browser reports a violation of the
dashboard's Content-Security-Policy.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.helpers import env_without_vigil

USER, PASSWORD = "ana", "correct horse battery"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    violations: list[str] = []
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    page = context.new_page()
    page.on("console", lambda m: ("CSP violation" in m.text or "Content Security Policy" in m.text)
            and violations.append(m.text))  # fmt: skip
    yield page
    context.close()
    assert not violations, violations


def add_user(data_dir: Path, name: str = USER, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    """``vigil user add`` as a person would run it (the password on stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "vigil", "user", "add", name, "--password-stdin", "--data-dir", str(data_dir)],
        input=password + "\n", capture_output=True, text=True, timeout=60, env=env_without_vigil(),
    )  # fmt: skip


def log_in(page: Page, url: str, name: str = USER, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.locator("#account-user").wait_for(timeout=15_000)


def grid_rows(page: Page, grid: str) -> list[list[str]]:
    """The visible rows of an ag-grid, cell texts in column order (without the selection boxes); a row being
    drawn again at that moment is left out."""
    rows = page.locator(f"#{grid} .ag-center-cols-container .ag-row")
    cells = ".ag-cell:not([col-id='ag-Grid-SelectionColumn'])"
    found = [rows.nth(n).locator(cells).all_inner_texts() for n in range(rows.count())]
    return [row for row in found if row]  # a row ag-grid is drawing again has no cells yet


@pytest.fixture
def user(data_dir: Path) -> str:
    done = add_user(data_dir)
    assert done.returncode == 0, done.stderr
    return USER
