"""Errors in a real browser: what the page throws is what the collector receives."""

from __future__ import annotations

import pytest

from tests.browser import Reply
from tests.e2e.beacon import page as html_page
from tests.e2e.beacon import tag

pytestmark = pytest.mark.browser


def open_page(pw_page, site, collector, project, script: str, body: str = "", **attrs: object) -> None:
    site.pages["/app"] = html_page(tag(f"{collector.url}/beacon.js", project, **attrs), body, script)
    pw_page.goto(f"{site.url}/app")


def test_a_thrown_error_arrives_with_stack_position_release_and_cause_chain(
    page, site, collector, demo_project, received
):
    open_page(
        page, site, collector, demo_project, release="shop@3.1.0", environment="staging",
        script="""
        function checkout() {
          const root = new RangeError("card declined");
          throw new TypeError("boom 42", { cause: new Error("payment failed", { cause: root }) });
        }
        setTimeout(checkout, 10);
        """,
    )  # fmt: skip
    page.wait_for_timeout(200)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error")
    (entry,) = received.entries()
    assert (event.error_type, event.message, event.mechanism, event.level) == (
        "TypeError",
        "boom 42",
        "onerror",
        "error",
    )
    assert event.stack.startswith("TypeError: boom 42\n    at checkout (")
    assert event.file == f"{site.url}/app"
    assert event.line
    assert event.column
    assert [(c.error_type, c.message) for c in event.causes] == [
        ("Error", "payment failed"),
        ("RangeError", "card declined"),
    ]
    assert event.page_url == f"{site.url}/app"
    assert (entry.batch.release, entry.batch.environment) == ("shop@3.1.0", "staging")
    assert entry.batch.sdk.startswith("vigil.js/")
    assert len(entry.batch.session_id) >= 16
    assert entry.user_agent.startswith("Mozilla/5.0")


def test_an_unhandled_rejection_arrives(page, site, collector, demo_project, received):
    open_page(
        page,
        site,
        collector,
        demo_project,
        script='Promise.reject(new SyntaxError("bad json")); Promise.reject("just a string");',
    )
    page.wait_for_timeout(200)
    page.evaluate("vigil.flush()")

    events = received.wait("error", 2)
    assert sorted((e.error_type, e.message, e.mechanism) for e in events) == [
        ("SyntaxError", "bad json", "onunhandledrejection"),
        ("UnhandledRejection", "just a string", "onunhandledrejection"),
    ]


def test_a_cross_origin_script_error_is_flagged(page, site, other_site, collector, demo_project, received):
    other_site.pages["/lib.js"] = Reply(
        "setTimeout(function () { null.boom(); }, 10);", content_type="application/javascript"
    )
    open_page(page, site, collector, demo_project, script="", body=f'<script src="{other_site.url}/lib.js"></script>')
    page.wait_for_timeout(300)
    page.evaluate("vigil.flush()")

    (event,) = received.wait("error")
    assert (event.message, event.cross_origin) == ("Script error.", True)


def test_captured_errors_and_messages_carry_breadcrumbs(page, site, collector, demo_project, received, other_site):
    open_page(
        page, site, collector, demo_project,
        body='<button id="buy" class="primary big">Buy now for alice@example.com</button><input id="card">',
        script=f"""
        document.getElementById("buy").addEventListener("click", function () {{
          console.warn("low stock");
          fetch("{other_site.url}/missing").catch(function () {{}});
        }});
        """,
    )  # fmt: skip
    page.fill("#card", "4111 1111 1111 1111")
    page.click("#buy")
    page.wait_for_timeout(500)
    page.evaluate("vigil.captureError(new Error('handled it'))")
    page.evaluate("vigil('captureMessage', 'checkout slow', 'warning')")
    page.evaluate("vigil.flush()")

    events = received.wait("error", 2)
    manual = next(e for e in events if e.mechanism == "manual")
    message = next(e for e in events if e.mechanism == "message")
    assert (manual.error_type, manual.message) == ("Error", "handled it")
    assert (message.error_type, message.message, message.level) == ("Message", "checkout slow", "warning")
    crumbs = [(b.category, b.message) for b in manual.breadcrumbs]
    assert ("click", "button#buy.primary.big") in crumbs
    assert any(c == "console" and "low stock" in m for c, m in crumbs)
    assert any(c == "fetch" and "/missing" in m for c, m in crumbs)
    everything = repr(manual.breadcrumbs)
    assert "alice" not in everything
    assert "4111" not in everything


def test_identical_errors_are_sent_once_and_floods_are_capped(page, site, collector, demo_project, received):
    open_page(
        page, site, collector, demo_project,
        script="""
        for (let i = 0; i < 5; i++) setTimeout(function () { throw new Error("same every time"); }, 0);
        for (let i = 0; i < 60; i++) setTimeout(function () { throw new Error("distinct " + i); }, 0);
        """,
    )  # fmt: skip
    page.wait_for_timeout(500)
    page.evaluate("vigil.flush()")
    page.wait_for_timeout(500)
    page.evaluate("vigil.flush()")

    events = received.wait("error", 30)
    assert len([e for e in events if e.message == "same every time"]) == 1
    received.quiet(1.0)
    assert len(received.events("error")) == 30  # at most 30 errors a minute
    dropped: dict[str, int] = {}
    for entry in received.entries():
        for reason, count in entry.batch.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + count
    # 4 repeats of the same error; of the 60 distinct ones, 29 fit under the cap with the first.
    assert dropped == {"duplicate": 4, "rate_limit": 31}


def test_the_beacon_never_throws_into_the_page(page, site, collector, demo_project, received):
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    open_page(
        page, site, collector, demo_project,
        script="""
        var evil = { get message() { throw new Error("getter"); }, get stack() { throw new Error("getter"); } };
        Promise.reject(evil);
        vigil.captureError(evil);
        vigil.captureError(undefined);
        vigil('setTag', 'a'.repeat(1000), 'b'.repeat(100000));
        vigil('nonsense', 1, 2, 3);
        window.__after = true;
        """,
    )  # fmt: skip
    page.wait_for_timeout(200)
    assert page.evaluate("window.__after") is True
    page.evaluate("vigil.flush()")
    page.wait_for_timeout(500)
    assert page_errors == ["Object"]  # the page's own unhandled rejection, reported as the browser does
    for entry in received.entries():  # whatever was sent, the collector accepted it
        assert all(len(k) <= 32 and len(v) <= 200 for k, v in entry.batch.tags.items())


def test_tags_named_like_object_properties_count_like_any_other(page, site, collector, demo_project, received):
    open_page(page, site, collector, demo_project, script="")
    page.evaluate(
        """for (let i = 0; i < 30; i++) vigil('setTag', 't' + i, 'v');
           for (const k of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'])
             vigil('setTag', k, 'x');
           vigil.captureError(new Error('many tags')); vigil.flush();"""
    )

    (event,) = received.wait("error")  # the collector accepted the batch
    (entry,) = [e for e in received.entries() if event in e.batch.events]
    assert len(entry.batch.tags) == 32
    assert entry.batch.tags["constructor"] == "x"


def test_init_from_the_page_without_data_attributes(page, site, collector, demo_project, received):
    site.pages["/app"] = html_page(
        f'<script src="{collector.url}/beacon.js"></script>',
        "",
        "vigil.captureError(new Error('before init'));"
        f"vigil('init', {{project: '{demo_project.id}', key: '{demo_project.public_key}', release: 'r1'}});"
        "vigil.captureError(new Error('after init')); vigil.flush();",
    )
    page.goto(f"{site.url}/app")

    (event,) = received.wait("error")
    assert event.message == "after init"
    (entry,) = [e for e in received.entries() if event in e.batch.events]
    assert entry.batch.release == "r1"
