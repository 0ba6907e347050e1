"""The demo's traffic and site, against a real collector."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import subprocess
import sys
import threading
import time

import pytest

from contracts.beacon import ErrorEvent, PageViewEvent
from contracts.read_api import ReadClient
from contracts.stream import EVENTS_STREAM, decode_entry, payloads
from tests.helpers import env_without_vigil, free_port, stop_process, wait_until
from vigil.demo.site import page as demo_page
from vigil.demo.site import received_mail, received_webhooks
from vigil.demo.traffic import BROWSERS, batch, generate


def test_generated_traffic_is_accepted_by_the_collector(http, collector, demo_project, redis_client):
    stop = threading.Event()
    statuses: list[int] = []

    def send(body, headers):  # type: ignore[no-untyped-def]
        response = http.post(
            f"{collector.url}/api/{demo_project.id}/events",
            params={"key": demo_project.public_key},
            json=body,
            headers=headers,
        )
        statuses.append(response.status_code)
        if len(statuses) == 40:
            stop.set()
        return response.status_code

    accepted = generate(send, stop, interval=0, seed=7, rollout_ms=0)

    assert (accepted, set(statuses)) == (40, {202})
    entries = [decode_entry(p) for _, fields in redis_client.xrange(EVENTS_STREAM) for p in payloads(fields)]
    assert len(entries) == 40
    # Seeded: six browsers, both releases, page views on all four pages, and some visits with errors.
    assert len({e.user_agent for e in entries}) == 6
    assert len({e.batch.release for e in entries}) == 2
    assert len({ev.page_url for e in entries for ev in e.batch.events if isinstance(ev, PageViewEvent)}) == 4
    errors = [ev for e in entries for ev in e.batch.events if isinstance(ev, ErrorEvent)]
    assert 0 < sum(1 for e in entries if any(isinstance(ev, ErrorEvent) for ev in e.batch.events)) < len(entries)
    assert len({ev.error_type for ev in errors}) >= 3


def test_stacks_follow_each_browser_family():
    import random

    rng = random.Random(1)
    seen = {}
    for _ in range(200):
        body, headers = batch(rng, 1_764_072_000_000)
        user_agent = headers["User-Agent"]
        family = next(b.family for b in BROWSERS if b.user_agent == user_agent)
        errors = [e for e in body["events"] if e["type"] == "error"]  # type: ignore[attr-defined]
        if errors:
            seen[family] = errors[0]["stack"]
    assert "\n    at " in seen["chrome"]
    assert "@http://" in seen["firefox"]
    assert "    at " not in seen["firefox"]
    assert "@http://" in seen["safari"]


def test_the_demo_site_embeds_the_beacon():
    html = demo_page("/cart", "Your cart", "http://127.0.0.1:8470", 1, "abc")
    assert '<script async src="http://127.0.0.1:8470/beacon.js" data-project="1" data-key="abc"' in html
    assert '<script src="/app.js"></script>' in html


@pytest.mark.browser
@pytest.mark.timeout(360)  # a minute of the demo's past, then two breaks of a minute or so each
def test_vigil_demo_fills_the_dashboard_and_a_break_is_blamed_on_what_broke(data_dir, tmp_path, page):
    """The demo fills the dashboard within a minute. Then its third party fails: an incident blamed on it; then
    its API fails too: the verdict turns to the backend, and the demo's mailbox and webhook receiver are told once
    each. Correlation and alerts run every two seconds, over one-minute windows, to keep the test short."""
    p = {name: free_port() for name in ("collector", "analytics", "dashboard", "demo")}
    argv = [sys.executable, "-m", "vigil", "demo", "--data-dir", str(data_dir)]
    for name, port in p.items():
        argv += [f"--{name}-port", str(port)]
    env = {
        **env_without_vigil(),
        "VIGIL_ANALYTICS_CORRELATION_SECONDS": "2",
        "VIGIL_ANALYTICS_CORRELATION_WINDOW_MINUTES": "1",
        "VIGIL_ANALYTICS_CORRELATION_MIN_HISTORY_MINUTES": "1",
        "VIGIL_ANALYTICS_ALERTS_SECONDS": "2",
    }
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    stack = contextlib.ExitStack()
    try:
        started = time.monotonic()
        wait_until(
            lambda: "Ctrl-C stops everything" in log.read_text() or process.poll() is not None,
            timeout=60,
            what="vigil demo",
        )
        assert process.poll() is None, log.read_text()
        page.goto(f"http://127.0.0.1:{p['demo']}/cart")
        assert page.locator("#add").count() == 1  # the demo shop is served, beacon and all
        # The demo made a user and printed how to log in with it.
        (login,) = [line for line in log.read_text().splitlines() if "log in" in line]
        user, password = login.split()[2], login.split()[4]
        assert user == "demo"
        dashboard = f"http://127.0.0.1:{p['dashboard']}"
        page.goto(f"{dashboard}/?range=15m")
        page.get_by_label("User").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        rows = page.locator("#overview-messages .ag-row")
        rows.first.wait_for(timeout=max(1.0, 60 - (time.monotonic() - started)) * 1000)
        assert int(page.locator("#overview-kpis .value").first.inner_text().replace(",", "")) > 0

        read = stack.enter_context(ReadClient(f"http://127.0.0.1:{p['analytics']}"))

        def incidents() -> list[dict[str, object]]:
            return [dict(zip(r.columns, row, strict=True)) for r in [read.query("incidents")] for row in r.rows]

        # A minute of the demo's traffic before the window is its past; nothing is out of line meanwhile.
        time.sleep(max(0.0, 75 - (time.monotonic() - started)))
        assert incidents() == []
        demo = argv[:4]
        broke = subprocess.run([*demo, "break", "vendor", "--seconds", "45", "--data-dir", str(data_dir)],
                               capture_output=True, text=True, timeout=30, env=env)  # fmt: skip
        assert broke.returncode == 0, broke.stderr
        # The verdict is given again every minute as the evidence grows: an incident the demo's own errors opened
        # by chance a moment before turns to the third party once its failures are counted.
        (incident,) = wait_until(lambda: [i for i in incidents() if i["verdict"] == "third_party"], timeout=100,
                                 what="an incident blamed on the third party", interval=1)  # fmt: skip
        assert str(incident["summary"]).startswith(f"failures concentrated on 127.0.0.1:{p['demo'] + 1}, not yours")

        subprocess.run([*demo, "break", "backend", "--seconds", "60", "--data-dir", str(data_dir)], timeout=30,
                       env=env, check=True, capture_output=True)  # fmt: skip
        # Its 503s first (the weak backend verdict), then its check down in both regions (the strong one).
        blamed = wait_until(lambda: [i for i in incidents() if str(i["summary"]).startswith("demo-api down")],
                            timeout=120, what="the verdict to turn to the backend", interval=1)  # fmt: skip
        assert blamed[0]["verdict"] == "backend"
        assert str(blamed[0]["summary"]).startswith("demo-api down in 2 of 2 regions since")
        history = read.query("incident_activity", incident_id=blamed[0]["incident_id"])
        assert [row[history.columns.index("action")] for row in history.rows][-2:] == ["verdict", "opened"]

        # The turn of the verdict to the backend reached the demo's mailbox and its webhook receiver, once each.
        def told() -> tuple[list[str], list[object]] | None:
            turned = f"Incident #{blamed[0]['incident_id']}: verdict now backend"
            subjects = [email.message_from_bytes(m.read_bytes(), policy=email.policy.default)["Subject"]
                        for m in received_mail(data_dir)]  # fmt: skip
            mails = [s for s in subjects if turned in s]
            hooks = [a for h in received_webhooks(data_dir) for a in h["alerts"] if turned in a["title"]]
            return (mails, hooks) if mails and hooks else None

        mails, hooks = wait_until(told, timeout=90, what="the e-mail and the webhook", interval=1)
        assert mails[0].startswith("[demo] Incident #")
        assert (len(mails), len(hooks)) == (1, 1)

        # The day's report tells the story: the incident, blamed on the backend.
        today = time.strftime("%Y-%m-%d", time.gmtime())
        asked = [*argv[:3], "report", "daily", "--project", "demo", "--date", today, "--format", "json"]
        made = subprocess.run(
            [*asked, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60, env=env
        )
        assert made.returncode == 0, made.stderr
        told_in_report = json.loads(made.stdout)["incidents"]
        assert ("backend", "demo-api") in [(i["verdict"], i["summary"][:8]) for i in told_in_report]

        page.goto(f"{dashboard}/incidents/{blamed[0]['incident_id']}")
        page.locator("#incident-header").get_by_text("Your backend").wait_for(timeout=15_000)
        page.locator("#incident-checks").get_by_text("demo-api").wait_for(timeout=15_000)
        # Still once each, a while later: nothing was sent again.
        mails, hooks = told() or ([], [])
        assert (len(mails), len(hooks)) == (1, 1)
    finally:
        stack.close()
        stop_process(process, timeout=40)


def test_each_demo_failure_is_one_issue_whatever_the_browser_or_release(redis_client, con, monkeypatch):
    """The demo's bugs, thrown in three engines' wordings and stack formats over two releases, are six issues."""
    import random

    from vigil.demo import traffic

    # As if served from a public address: the inbound filters drop a localhost page's events by default.
    monkeypatch.setattr(traffic, "SITE", "https://shop.example")
    from contracts.beacon import decode_batch
    from contracts.stream import StreamEntry, encode_entry
    from tests.analytics.test_issues import T0, consume
    from vigil.demo.traffic import FAILURES

    rng = random.Random(3)
    entries = []
    for n in range(400):
        body, headers = batch(rng, T0 + n * 1000)
        user_agent = headers["User-Agent"]
        decoded = decode_batch(json.dumps(body).encode()).batch
        entries.append(encode_entry(StreamEntry(project_id=1, project="demo", received_at=T0 + n * 1000,
                                                user_agent=user_agent, batch=decoded)))  # fmt: skip
    consume(redis_client, con, *entries)
    rows = con.execute(
        "SELECT i.title, count(DISTINCT e.browser), count(DISTINCT e.release) FROM issues i "
        "JOIN errors e USING (issue_id) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert len(rows) == len(FAILURES)
    assert all(browsers >= 3 and releases == 2 for _, browsers, releases in rows), rows
    # Each titled in one wording, whichever browser reported first.
    assert [title for title, _, _ in rows] == [
        "ChunkLoadError: Loading chunk 742 failed.",
        "Error: Payment service answered 502",
        "ReferenceError: undefinedSearchIndex is not defined",
        "SyntaxError: JSON.parse: not valid JSON",
        "TypeError: Cannot read properties of undefined (reading 'price')",
        "TypeError: Failed to fetch",
    ]
