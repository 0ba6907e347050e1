"""Alerts from events and probe records stored by the real consumer, delivered to a real SMTP server (aiosmtpd,
STARTTLS and login) and a real HTTP receiver on loopback; times are given, so every step is exact."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from analytics import alerts, notify, silences
from analytics.notify import Delivery, Smtp
from analytics.queries import run_query
from contracts.alerts import Channel, Rule, Silence, parse_alerting
from contracts.beacon import Batch, ErrorEvent, PageViewEvent, VitalEvent
from contracts.probes import Heartbeat
from contracts.projects import Project
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry
from tests.analytics.test_incidents import NOW, SITE, error, host_metrics, ms, probe, send, send_probes
from tests.analytics.test_issues import CHROME_UA, consume, triage

API = "https://api.shop.example/health"
MAIL = Channel("ops-mail", email=("ops@shop.example",))
WAIT, INTERVAL = timedelta(seconds=30), timedelta(minutes=5)


def project(*rules: Rule, channels: tuple[Channel, ...]) -> dict[int, Project]:
    return {1: Project(1, "demo", "k" * 32, "t", origins=(SITE,), alerts=rules, channels=channels)}


def delivery(smtp: Smtp | None = None, **changes: object) -> Delivery:
    made = Delivery(WAIT, INTERVAL, timedelta(seconds=10), timedelta(hours=1), "http://vigil.shop.example",
                    smtp or Smtp())  # fmt: skip
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def down(redis_client, when: datetime, regions: tuple[str, ...] = ("eu", "us")) -> None:
    for region in regions:
        probe(redis_client, region, "checkout-api", API, [when + timedelta(seconds=10 * n) for n in range(3)], "down")


def up(redis_client, when: datetime, regions: tuple[str, ...] = ("eu", "us", "ap")) -> None:
    for region in regions:
        probe(redis_client, region, "checkout-api", API, [when, when + timedelta(seconds=10)], "up")


def messages(con) -> list[dict]:
    result = run_query(con, "alert_messages", {"since": "2025-11-25T00:00:00Z", "until": "2025-11-28T00:00:00Z"})
    return [dict(zip(result.columns, row, strict=True)) for row in reversed(result.rows)]


def by_channel(con) -> dict[str, int]:
    return {m["channel"]: m["message_id"] for m in messages(con)}


def history(con) -> list[dict]:
    result = run_query(con, "alerts", {"since": "2025-11-25T00:00:00Z", "until": "2025-11-28T00:00:00Z"})
    return [dict(zip(result.columns, row, strict=True)) for row in reversed(result.rows)]


def test_a_check_down_at_quorum_is_mailed_and_posted_once_and_its_recovery_too(redis_client, con, hooks, smtp):
    mailbox, server = smtp
    hook = Channel("ops-hook", webhook=hooks.url())
    projects = project(Rule("checkout down", "check_down", ("ops-mail", "ops-hook")), channels=(MAIL, hook))
    up(redis_client, NOW - timedelta(minutes=10))
    down(redis_client, NOW - timedelta(minutes=3))
    consume(redis_client, con)

    (fired,) = alerts.evaluate(con, projects, NOW)
    assert fired["title"].startswith("checkout-api down: down in 2 of 3 regions (eu, us) since 11:5")
    assert alerts.evaluate(con, projects, NOW + timedelta(seconds=15)) == []  # still down: nothing new
    assert notify.deliver(con, NOW + timedelta(seconds=20), projects, delivery(server))["sent"] == 0  # waits
    assert notify.deliver(con, NOW + WAIT, projects, delivery(server))["sent"] == 2
    assert notify.deliver(con, NOW + WAIT * 2, projects, delivery(server))["sent"] == 0  # never twice

    ((_path, headers, body),) = hooks.received
    assert headers["Idempotency-Key"] == body["id"] == f"vigil-message-{by_channel(con)['ops-hook']}"
    assert (body["project"], body["rule"], body["kind"], body["alerts_total"]) == (
        "demo",
        "checkout down",
        "check_down",
        1,
    )
    (alert,) = body["alerts"]
    assert (alert["action"], alert["subject"], alert["url"]) == (
        "fired",
        "checkout-api",
        "http://vigil.shop.example/checks?check=checkout-api",
    )
    assert alert["detail"]["regions_down"] == ["eu", "us"]
    (mail,) = mailbox.messages
    assert mailbox.recipients == [["ops@shop.example"]]
    assert mail["Subject"].startswith("[demo] checkout-api down: down in 2 of 3 regions")
    assert mail["From"] == "vigil@shop.example"
    assert mail["Message-ID"].startswith("<vigil-message-")
    assert "http://vigil.shop.example/checks?check=checkout-api" in mail.get_body(("plain",)).get_content()

    up(redis_client, NOW + timedelta(minutes=1))
    consume(redis_client, con)
    (resolved,) = alerts.evaluate(con, projects, NOW + timedelta(minutes=2))
    assert (resolved["action"], resolved["title"][:31]) == ("resolved", "Resolved: checkout-api down: do")
    # The rule told these channels less than five minutes ago: the recovery waits for the interval, then goes.
    assert notify.deliver(con, NOW + timedelta(minutes=3), projects, delivery(server))["sent"] == 0
    assert notify.deliver(con, NOW + WAIT + INTERVAL, projects, delivery(server))["sent"] == 2
    assert [b["alerts"][0]["action"] for b in hooks.bodies()] == ["fired", "resolved"]
    assert mailbox.messages[1]["Subject"].startswith("[demo] Resolved: checkout-api down")
    assert [(m["status"], m["attempts"], m["alerts"]) for m in messages(con)] == [("sent", 1, 1)] * 4


def storm(redis_client, count: int, start: datetime) -> None:
    errors = [ErrorEvent(event_id=f"storm{n}", ts=ms(start + timedelta(seconds=n % 240)), page_url=f"{SITE}/cart",
                         error_type=f"StormError{n}", message=f"failure number {n}") for n in range(count)]  # fmt: skip
    errors[7] = ErrorEvent(event_id="storm7", ts=ms(start), page_url=f"{SITE}/cart", error_type="<!channel>",
                           message="<script>alert(1)</script> @all [x](http://evil.example)")  # fmt: skip
    send(redis_client, errors)


def test_a_storm_of_500_new_issues_is_one_message_with_nothing_from_the_events_unescaped(redis_client, con, hooks):
    channels = (Channel("slack", webhook=hooks.url("/slack"), format="slack"),
                Channel("mm", webhook=hooks.url("/mm"), format="mattermost"))  # fmt: skip
    projects = project(Rule("new issues", "new_issue", ("slack", "mm")), channels=channels)
    consume(redis_client, con)  # the consumer's tables
    assert alerts.evaluate(con, projects, NOW - timedelta(minutes=10)) == []  # the rule watches from here on
    storm(redis_client, 500, NOW - timedelta(minutes=5))
    consume(redis_client, con, new_issues_per_minute=1000)

    assert len(alerts.evaluate(con, projects, NOW)) == 500
    assert alerts.evaluate(con, projects, NOW + timedelta(seconds=15)) == []
    assert notify.deliver(con, NOW + WAIT, projects, delivery())["sent"] == 2

    (slack,) = hooks.bodies("/slack")
    assert slack["text"] == "[demo] new issues: 500 new issues"
    text = slack["blocks"][0]["text"]["text"]
    assert text.count("\n• <http://vigil.shop.example/issues/") == 20
    assert text.endswith("… and 480 more: <http://vigil.shop.example/alerts?project=demo|all alerts>")
    assert "&lt;!channel&gt;" in text
    assert "<script>" not in text
    assert "<!channel>" not in text
    (mattermost,) = hooks.bodies("/mm")
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in mattermost["text"]
    assert "@\u200ball" in mattermost["text"]
    assert "\\[x\\]\\(http://evil\\.example\\)" in mattermost["text"]
    assert sorted((m["channel"], m["alerts"], m["status"]) for m in messages(con)) == [
        ("mm", 500, "sent"),
        ("slack", 500, "sent"),
    ]


def test_a_silence_keeps_a_rule_quiet_until_its_end_and_its_alerts_are_kept(redis_client, con, hooks):
    projects = project(Rule("checkout down", "check_down", ("hook",)), channels=(Channel("hook", webhook=hooks.url()),))
    silence = silences.create_silence(
        con, projects[1], Silence("demo", 30, "ana", "checkout down", "checkout", "deploy"), NOW
    )
    up(redis_client, NOW - timedelta(minutes=10))
    down(redis_client, NOW - timedelta(minutes=3))
    consume(redis_client, con)

    (fired,) = alerts.evaluate(con, projects, NOW)
    assert fired["silence_id"] == silence["silence_id"]
    up(redis_client, NOW + timedelta(minutes=1))
    consume(redis_client, con)
    (resolved,) = alerts.evaluate(con, projects, NOW + timedelta(minutes=2))
    assert resolved["action"] == "resolved"
    assert notify.deliver(con, NOW + timedelta(hours=1), projects, delivery()) == {"sent": 0, "retried": 0, "failed": 0}
    assert hooks.received == []  # quiet, and its recovery too: nobody was told it broke
    assert [(a["action"], a["silence_id"], a["deliveries"]) for a in history(con)] == [
        ("fired", 1, None), ("resolved", 1, None)
    ]  # fmt: skip

    # Past its end the rule speaks again.
    down(redis_client, NOW + timedelta(minutes=40))
    consume(redis_client, con)
    (again,) = alerts.evaluate(con, projects, NOW + timedelta(minutes=45))
    assert again["silence_id"] is None
    assert notify.deliver(con, NOW + timedelta(minutes=46), projects, delivery())["sent"] == 1


def test_a_failed_delivery_is_retried_with_backoff_and_given_up_visibly(redis_client, con, hooks):
    flaky, gone = Channel("flaky", webhook=hooks.url("/flaky")), Channel("gone", webhook=hooks.url("/gone"))
    projects = project(Rule("checkout down", "check_down", ("flaky",)), Rule("down too", "check_down", ("gone",)),
                       channels=(flaky, gone))  # fmt: skip
    up(redis_client, NOW - timedelta(minutes=10))
    down(redis_client, NOW - timedelta(minutes=3))
    consume(redis_client, con)
    assert len(alerts.evaluate(con, projects, NOW)) == 2
    hooks.answers = {"/flaky": [503, 500], "/gone": [404]}  # gone is a URL that is no more: given up at once

    t = NOW + WAIT
    assert notify.deliver(con, t, projects, delivery()) == {"sent": 0, "retried": 1, "failed": 1}
    assert notify.deliver(con, t + timedelta(seconds=9), projects, delivery())["retried"] == 0  # not due before 10 s
    assert notify.deliver(con, t + timedelta(seconds=10), projects, delivery())["retried"] == 1  # then 20 s
    assert notify.deliver(con, t + timedelta(seconds=29), projects, delivery())["sent"] == 0
    assert notify.deliver(con, t + timedelta(seconds=30), projects, delivery())["sent"] == 1
    assert len(hooks.bodies("/flaky")) == 1
    assert hooks.bodies("/gone") == []
    status = {m["channel"]: (m["status"], m["attempts"], m["last_error"]) for m in messages(con)}
    assert status["flaky"] == ("sent", 3, None)
    assert status["gone"][:2] == ("failed", 1)
    assert status["gone"][2].startswith("webhook answered 404")

    # A receiver down for longer than the give-up time: the message is failed, and says why.
    up(redis_client, NOW + timedelta(minutes=1))
    consume(redis_client, con)
    alerts.evaluate(con, projects, NOW + timedelta(minutes=2))
    hooks.always = 503
    short = delivery(give_up=timedelta(minutes=1))
    outcomes = [notify.deliver(con, NOW + timedelta(minutes=6, seconds=s), projects, short) for s in range(0, 120, 5)]
    assert sum(o["failed"] for o in outcomes) == 2
    assert hooks.received[1:] == []
    assert {m["status"] for m in messages(con)[2:]} == {"failed"}
    assert all(m["last_error"].startswith("webhook answered 503") for m in messages(con)[2:])


def test_email_without_an_smtp_server_is_retried_and_says_what_to_set(redis_client, con):
    projects = project(Rule("checkout down", "check_down", ("ops-mail",)), channels=(MAIL,))
    up(redis_client, NOW - timedelta(minutes=10))
    down(redis_client, NOW - timedelta(minutes=3))
    consume(redis_client, con)
    alerts.evaluate(con, projects, NOW)

    assert notify.deliver(con, NOW + WAIT, projects, delivery())["retried"] == 1
    (message,) = messages(con)
    assert message["last_error"] == "no SMTP server: set [analytics] smtp_host (VIGIL_ANALYTICS_SMTP_HOST)"


def test_rules_and_channels_are_checked_with_one_line_errors():
    ok_rules, ok_channels = parse_alerting(
        [{"name": "cpu", "when": "host_metric", "metric": "cpu", "above": 90, "channels": ["mail"]}],
        [{"name": "mail", "email": ["ops@shop.example"]}],
    )
    assert ok_rules[0].minutes == 5
    assert ok_channels[0].email == ("ops@shop.example",)
    bad = [
        ([{"name": "x", "when": "check_down", "channels": ["nope"]}], [], "no channel named 'nope'"),
        ([{"name": "x", "when": "sometimes"}], [], "when must be one of new_issue"),
        ([{"name": "x", "when": "new_issue", "users": 3}], [], "'users' is not a setting of new_issue"),
        ([{"name": "x", "when": "users_affected"}], [], "users_affected needs users"),
        ([{"name": "x", "when": "host_metric", "metric": "cpu", "above": "90"}], [], "above must be a number"),
        ([{"name": "x", "when": "slo_burn", "objective": 100}], [], "objective must be from 50 to 99.999"),
        ([], [{"name": "m", "email": ["ops@shop.example\r\nBcc: x@evil.example"]}], "is not an e-mail address"),
        ([], [{"name": "h", "webhook": "ftp://x.example/"}], "must be an http:// or https:// URL"),
        ([], [{"name": "h", "webhook": "https://x.example/", "format": "teams"}], "format must be one of vigil"),
        ([], [{"name": "h"}], "give either email"),
    ]
    for rules, channels, message in bad:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
            parse_alerting(rules, channels)


def session(redis_client, events: list, user: str = "", release: str = "shop@1.4.2") -> None:
    """One visit: its events in one batch of a session of its own."""
    sent = max(e.ts for e in events)
    batch = Batch(v=1, batch_id=f"s{sent}{user}{events[0].event_id}", sent_at=sent, events=events, release=release,
                  session_id=f"sess-{events[0].event_id}", user_id=user)  # fmt: skip
    entry = StreamEntry(project_id=1, project="demo", received_at=sent, user_agent=CHROME_UA, batch=batch)
    redis_client.xadd(EVENTS_STREAM, {"e": encode_entry(entry)})


def test_each_condition_and_event_rule_fires_on_its_own_data_and_nothing_else(redis_client, con):
    rules, channels = parse_alerting(
        [{"name": "spike", "when": "issue_spike"},
         {"name": "users", "when": "users_affected", "users": 5, "minutes": 30},
         {"name": "down", "when": "check_down"},
         {"name": "degraded", "when": "check_degraded"},
         {"name": "lost", "when": "agent_lost"},
         {"name": "memory", "when": "host_metric", "metric": "memory", "above": 95, "minutes": 10},
         {"name": "slo", "when": "slo_burn", "objective": 99.5},
         {"name": "regressions", "when": "regression"},
         {"name": "new", "when": "new_issue"}],
        [],
    )  # fmt: skip
    projects = project(*rules, channels=channels)
    consume(redis_client, con)
    alerts.evaluate(con, projects, NOW - timedelta(hours=2))  # the event rules watch from here on
    # An issue's usual: one event an hour for a day; then 30 in the last five minutes, from 8 users.
    send(redis_client, [error(NOW - timedelta(hours=h)) for h in range(1, 24)])
    for n in range(30):
        session(redis_client, [error(NOW - timedelta(minutes=4, seconds=-5 * n))], user=f"u{n % 8}")
    # Sessions: 30 fine ones in the last hour, then 10 that crash in the last four minutes.
    for n in range(30):
        session(redis_client, [PageViewEvent(event_id=f"ok{n}", ts=ms(NOW - timedelta(minutes=50 - n)),
                                             page_url=f"{SITE}/")])  # fmt: skip
    for n in range(10):
        at = NOW - timedelta(minutes=4, seconds=-10 * n)
        session(redis_client, [PageViewEvent(event_id=f"bad{n}", ts=ms(at), page_url=f"{SITE}/"),
                               ErrorEvent(event_id=f"crash{n}", ts=ms(at), page_url=f"{SITE}/", error_type="Boom",
                                          message="crashed", mechanism="onerror")])  # fmt: skip
    # checkout-api down in one region of three (degraded, not down); memory high on api-7 for 12 minutes,
    # on api-8 for 3 only; an agent silent for ten minutes.
    up(redis_client, NOW - timedelta(minutes=20))
    down(redis_client, NOW - timedelta(minutes=3), regions=("eu",))
    for minute in range(12, -1, -1):
        host_metrics(redis_client, "api-7", NOW - timedelta(minutes=minute), memory=97.0)
        host_metrics(redis_client, "api-8", NOW - timedelta(minutes=minute), memory=97.0 if minute < 3 else 50.0)
    heartbeat = Heartbeat(id="hb1", ts=ms(NOW - timedelta(minutes=10)), started_at=ms(NOW - timedelta(hours=1)),
                          interval_s=15.0, checks=1, spooled_batches=0, dropped_records=0)  # fmt: skip
    send_probes(redis_client, "ap", [heartbeat], host="probe-tokyo")
    consumer = consume(redis_client, con)
    consumer.probes.lost_agents(con, NOW)
    boom = con.execute("SELECT issue_id FROM issues WHERE error_type = 'Boom'").fetchall()[0][0]
    triage(con, boom, "resolve")
    session(redis_client, [ErrorEvent(event_id="again", ts=ms(NOW), page_url=f"{SITE}/", error_type="Boom",
                                      message="crashed", mechanism="onerror")], release="shop@1.5.0")  # fmt: skip
    consume(redis_client, con)

    fired = {(a["rule"], a["subject"]) for a in alerts.evaluate(con, projects, NOW)}

    type_error = con.execute("SELECT issue_id FROM issues WHERE error_type = 'TypeError'").fetchall()[0][0]
    assert ("spike", f"issue:{type_error}") in fired
    assert ("users", f"issue:{type_error}") in fired
    assert ("degraded", "checkout-api") in fired
    assert not any(rule == "down" for rule, _ in fired)
    assert ("lost", "ap/probe-tokyo") in fired
    assert [s for r, s in fired if r == "memory"] == ["api-7"]
    assert ("slo", "error_free_sessions") in fired
    assert [s.split(":regressed")[0] for r, s in fired if r == "regressions"] == [f"issue:{boom}"]
    assert {s for r, s in fired if r == "new"} == {f"issue:{type_error}", f"issue:{boom}"}  # both stored since
    assert ("spike", f"issue:{boom}") not in fired  # new: no past to spike against


def test_a_ticket_slo_on_good_vitals_burns_and_recovers(redis_client, con):
    (rule,), _ = parse_alerting([{"name": "vitals", "when": "slo_burn", "signal": "good_vitals", "objective": 90,
                                  "severity": "ticket"}], [])  # fmt: skip
    projects = project(rule, channels=())

    def vitals(start: datetime, count: int, rating: str, tag: str) -> None:
        send(redis_client, [VitalEvent(event_id=f"{tag}{n}", ts=ms(start + timedelta(minutes=n)), page_url=f"{SITE}/",
                                       name="LCP", value=1800.0 if rating == "good" else 5200.0, rating=rating,
                                       metric_id=f"m{tag}{n}") for n in range(count)])  # fmt: skip

    # A day where two in three LCPs are poor: the 10 % budget burns 6.7x over 24 h and over the last 2 h.
    vitals(NOW - timedelta(hours=23), 20, "good", "g")
    vitals(NOW - timedelta(hours=1, minutes=50), 40, "poor", "p")
    consume(redis_client, con)
    (fired,) = alerts.evaluate(con, projects, NOW)
    assert fired["subject"] == "good_vitals"
    assert fired["title"].startswith("good Web Vitals below 90%: the error budget burns 6.7x too fast over 1440 min")
    # Then only good ones: three hours on, the 2 h window is fine but the slower pair (3 days and 6 h, 1x) still
    # burns, so it keeps firing; once the 6 h window holds no poor value either, it resolves.
    vitals(NOW + timedelta(minutes=10), 60, "good", "later")
    consume(redis_client, con)
    assert alerts.evaluate(con, projects, NOW + timedelta(hours=3)) == []
    (resolved,) = alerts.evaluate(con, projects, NOW + timedelta(hours=6, minutes=30))
    assert resolved["action"] == "resolved"


def test_what_fired_under_a_silence_is_told_once_the_silence_is_over(redis_client, con, hooks):
    projects = project(Rule("checkout down", "check_down", ("hook",)), channels=(Channel("hook", webhook=hooks.url()),))
    silences.create_silence(con, projects[1], Silence("demo", 30, "ana"), NOW)
    up(redis_client, NOW - timedelta(minutes=10))
    down(redis_client, NOW - timedelta(minutes=3))
    consume(redis_client, con)
    assert alerts.evaluate(con, projects, NOW)[0]["silence_id"] == 1
    assert alerts.evaluate(con, projects, NOW + timedelta(minutes=20)) == []  # still silenced

    (told,) = alerts.evaluate(con, projects, NOW + timedelta(minutes=31))  # over, and still down
    assert (told["action"], told["silence_id"]) == ("fired", None)
    assert alerts.evaluate(con, projects, NOW + timedelta(minutes=32)) == []
    assert notify.deliver(con, NOW + timedelta(minutes=32), projects, delivery())["sent"] == 1
    up(redis_client, NOW + timedelta(minutes=33))
    consume(redis_client, con)
    (resolved,) = alerts.evaluate(con, projects, NOW + timedelta(minutes=34))
    assert resolved["action"] == "resolved"
    assert notify.deliver(con, NOW + timedelta(minutes=40), projects, delivery())["sent"] == 1  # its recovery too


def test_an_issue_stored_hours_after_its_events_is_still_new(redis_client, con):
    projects = project(Rule("new issues", "new_issue"), channels=())
    consume(redis_client, con)
    alerts.evaluate(con, projects, NOW - timedelta(minutes=5))
    # A backlog drained: events from three hours ago open an issue only now.
    send(redis_client, [error(NOW - timedelta(hours=3), "SyntaxError", "Unexpected token")])
    consume(redis_client, con)

    (fired,) = alerts.evaluate(con, projects, NOW)
    assert fired["title"].startswith("New issue: ")
    assert alerts.evaluate(con, projects, NOW + timedelta(minutes=1)) == []
