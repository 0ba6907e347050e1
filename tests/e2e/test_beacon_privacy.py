"""Consent, redaction and masking in a real browser: what must never leave the page does not."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.e2e.beacon import HIDE, tag
from tests.e2e.beacon import page as html_page

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
    # The page's hash (salted with the public key, which the page shows), keyed by the collector with the
    # project's secret token: a stored value cannot be matched against hashes of guessed ids.
    from_page = hashlib.sha256(f"{demo_project.public_key}:alice@example.com".encode()).hexdigest()
    expected = hmac.new(demo_project.secret_token.encode(), from_page.encode(), hashlib.sha256).hexdigest()
    assert entry.batch.user_id == expected
    assert entry.batch.tags == {"plan": "pro"}
    assert page.context.cookies() == []
    assert page.evaluate("document.cookie") == ""


def test_set_user_null_forgets_the_user_even_while_the_hash_is_computed(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.evaluate("vigil('setUser', 'alice'); vigil('setUser', null)")  # the hash of alice arrives after the null
    page.wait_for_timeout(200)
    page.evaluate("vigil.captureError(new Error('after logout')); vigil.flush()")

    received.wait("error")
    (entry,) = [
        e for e in received.entries() if any(getattr(ev, "message", "") == "after logout" for ev in e.batch.events)
    ]
    assert not entry.batch.user_id


def test_consent_is_given_only_by_true(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, require_consent="true")
    for refusal in ("'false'", "'no'", "0", "1", "'yes'", "{}"):
        page.evaluate(
            f"vigil('consent', {refusal}); vigil.captureError(new Error('refused ' + {refusal})); vigil.flush()"
        )
    page.wait_for_timeout(800)
    assert received.events() == []
    assert storage(page) == {}

    page.evaluate("vigil('consent', 'true'); vigil.captureError(new Error('granted')); vigil.flush()")
    (event,) = received.wait("error")
    assert event.message == "granted"


def test_a_misspelt_require_consent_keeps_the_gate_shut(page, site, collector, demo_project, received):
    open_page(
        page, site, collector, demo_project, "vigil.captureError(new Error('no consent asked'))", require_consent="yes"
    )
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")
    page.wait_for_timeout(500)
    assert received.events() == []
    assert storage(page) == {}


def test_withdrawn_consent_empties_the_queue_and_storage(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, require_consent="")
    page.evaluate("vigil('consent', true); vigil.captureError(new Error('before')); vigil.flush()")
    received.wait("error")
    assert any(k.startswith("vigil.outbox.") for k in storage(page))

    # Queued, not yet sent, then consent withdrawn: discarded, and what was stored is deleted.
    page.evaluate("vigil.captureError(new Error('queued when withdrawn')); vigil('consent', false)")
    assert storage(page) == {}
    page.evaluate("vigil.captureError(new Error('after withdrawal'))")
    page.wait_for_timeout(5600)  # the queue's timer (5 s) has passed
    page.evaluate("vigil.flush()")
    page.evaluate(HIDE)
    page.wait_for_timeout(300)
    assert storage(page) == {}
    assert [e.message for e in received.events("error")] == ["before"]


def test_numbers_and_credentials_are_masked_in_rejections_and_urls(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project)
    page.evaluate("setTimeout(() => Promise.reject({card: 4111111111111111, phone: 'tel:5551234567'}))")
    page.evaluate("fetch('http://admin:hunter2@127.0.0.1:9/status?x=1').catch(() => {})")
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (error,) = received.wait("error")
    assert error.message == '{"card":[number],"phone":"tel:[number]"}'
    (request,) = received.wait("network")
    assert request.url == "http://127.0.0.1:9/status?x=[redacted]"
