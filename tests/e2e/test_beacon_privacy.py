"""Consent, redaction and masking in a real browser: what must never leave the page does not."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.e2e.beacon import page as html_page
from tests.e2e.beacon import tag

pytestmark = pytest.mark.browser


def open_page(pw_page, site, collector, project, script: str = "", path: str = "/app", **attrs: object) -> None:
    site.pages[path] = html_page(tag(f"{collector.url}/beacon.js", project, **attrs), "", script)
    pw_page.goto(f"{site.url}{path}")


def storage(pw_page) -> dict[str, str]:
    return json.loads(pw_page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})"))


def test_nothing_is_stored_or_sent_before_consent(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, "setTimeout(() => { throw new Error('waits for consent'); }, 0);",
              require_consent="true")  # fmt: skip
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")
    page.wait_for_timeout(500)
    assert received.events() == []
    assert storage(page) == {}

    page.evaluate("vigil('consent', true)")
    page.evaluate("vigil.flush()")
    (event,) = received.wait("error")
    assert event.message == "waits for consent"


def test_refused_consent_discards_everything(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, "setTimeout(() => { throw new Error('never sent'); }, 0);",
              require_consent="true")  # fmt: skip
    page.wait_for_timeout(300)
    page.evaluate("vigil('consent', false)")
    page.evaluate("vigil.captureError(new Error('after refusal'))")
    page.evaluate("vigil.flush()")
    page.wait_for_timeout(800)
    assert received.events() == []
    assert storage(page) == {}


def test_query_values_and_fragments_are_redacted_except_kept_params(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, path="/search", keep_params="page")
    page.goto(f"{site.url}/search?q=alice&page=2&token=s3cr3t#reset=abc")
    page.evaluate("vigil.captureError(new Error('search failed'))")
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error")
    assert event.page_url == f"{site.url}/search?q=[redacted]&page=2&token=[redacted]"


def test_emails_and_long_digit_runs_are_masked(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.evaluate(
        "vigil.captureError(new Error('card 4111111111111111 of alice@example.com declined at app.js:12:345'))"
    )
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error")
    assert event.message == "card [number] of [email] declined at app.js:12:345"


def test_no_cookie_is_set_and_the_user_id_is_only_a_hash(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.evaluate("vigil('setUser', 'alice@example.com'); vigil('setTag', 'plan', 'pro')")
    page.wait_for_timeout(200)  # the hash is computed asynchronously
    page.evaluate("vigil.captureError(new Error('x'))")
    page.evaluate("vigil.flush()")

    received.wait("error")
    (entry,) = [e for e in received.entries() if any(type(ev).__name__ == "ErrorEvent" for ev in e.batch.events)]
    expected = hashlib.sha256(f"{demo_project.public_key}:alice@example.com".encode()).hexdigest()
    assert entry.batch.user_id == expected
    assert entry.batch.tags == {"plan": "pro"}
    assert page.context.cookies() == []
    assert page.evaluate("document.cookie") == ""
