"""The daily report from events and probe records stored by the real consumer: its figures against the day before
and the week before, when each project's report is owed in its time zone, and its mail through a real SMTP server."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from analytics import notify, report
from contracts.beacon import Batch, ErrorEvent, PageViewEvent, VitalEvent
from contracts.projects import Project
from contracts.reports import ReportSettings
from contracts.stream import EVENTS_STREAM, StreamEntry, encode_entry
from tests.analytics.test_alerts import delivery
from tests.analytics.test_incidents import SITE, error, ms, page_views, probe, send
from tests.analytics.test_issues import CHROME_UA, consume, triage
from tests.analytics.test_releases_health import sdk_sessions, visit

DAY = date(2025, 11, 25)
START = datetime(2025, 11, 25)
SHOP = Project(1, "demo", "k" * 32, "t", origins=(SITE,), report=ReportSettings(8, "UTC", ("team@shop.example",)))


def a_day_of_traffic(redis_client, con) -> None:
    send(redis_client, page_views(START, START + timedelta(days=1), timedelta(minutes=10)))  # 144 page views
    send(redis_client, page_views(START - timedelta(days=1), START, timedelta(minutes=20)))  # 72 the day before
    send(redis_client, [error(START - timedelta(hours=20)), error(START - timedelta(hours=19))])
    send(redis_client, [error(START + timedelta(hours=h)) for h in (1, 2, 3)])
    send(redis_client, [ErrorEvent(event_id=f"range{m}", ts=ms(START + timedelta(hours=5, minutes=m)),
                                   page_url=f"{SITE}/cart", error_type="RangeError", message="Invalid array length",
                                   mechanism="onerror") for m in range(5)])  # fmt: skip
    for status, hour in (("up", 1), ("up", 2), ("up", 3), ("down", 4)):
        probe(redis_client, "eu", "home", f"{SITE}/", [START + timedelta(hours=hour)], status)
    consume(redis_client, con)


def test_the_days_figures_against_the_day_before_and_its_issues(redis_client, con):
    a_day_of_traffic(redis_client, con)
    type_error = con.execute("SELECT issue_id FROM issues WHERE error_type = 'TypeError'").fetchall()[0][0]
    triage(con, type_error, "resolve")
    send(redis_client, [error(START + timedelta(hours=9))], release="shop@1.5.0")  # back in a newer release
    consume(redis_client, con)

    made = report.build(con, SHOP, DAY, START + timedelta(days=1, hours=8))

    assert made["headline"]["errors"] == 9
    assert made["headline"]["page_views"] == 144
    assert made["headline"]["errors_per_1000_page_views"] == 62.5
    assert (made["previous_day"]["errors"], made["previous_day"]["page_views"]) == (2, 72)
    assert made["same_day_last_week"]["errors"] == 0
    assert len(made["errors_by_hour"]) == 24
    assert made["errors_by_hour"][5] == 5
    assert made["new_issues_total"] == 1
    assert [(i["error_type"], i["events"]) for i in made["new_issues"]] == [("RangeError", 5)]
    assert [i["events"] for i in made["top_issues_by_users"]] == [5, 4]
    assert [(r["issue_id"], r["release"]) for r in made["regressions"]] == [(type_error, "shop@1.5.0")]
    assert [(u["check"], u["region"], u["runs"], u["uptime"]) for u in made["uptime"]] == [("home", "eu", 4, 75.0)]
    page = report.render_html(made, "https://vigil.shop.example")
    assert f'<a href="https://vigil.shop.example/issues/{type_error}">' in page
    assert "<script" not in page
    assert "Errors per 1,000 page views</td><td>62.5</td>" in page


def test_each_projects_report_is_owed_at_its_hour_in_its_time_zone(con):
    sao_paulo = dataclasses.replace(SHOP, report=ReportSettings(8, "America/Sao_Paulo"))
    # 10:30 UTC is 07:30 in São Paulo: the report of the 25th waits for 08:00 there.
    assert [d for _, d in report.due(con, {1: sao_paulo}, datetime(2025, 11, 26, 10, 30))] == [
        date(2025, 11, 23), date(2025, 11, 24),
    ]  # fmt: skip
    assert [d for _, d in report.due(con, {1: sao_paulo}, datetime(2025, 11, 26, 11, 0))] == [
        date(2025, 11, 24), date(2025, 11, 25),
    ]  # fmt: skip
    assert report.window(DAY, sao_paulo.report.zone) == (datetime(2025, 11, 25, 3), datetime(2025, 11, 26, 3))


def test_a_made_report_is_stored_once_and_mailed(redis_client, con, smtp):
    mailbox, server = smtp
    a_day_of_traffic(redis_client, con)
    at = datetime(2025, 11, 26, 8, 1)

    assert report.make_due(con, {1: SHOP}, at) == [("demo", date(2025, 11, 24)), ("demo", DAY)]
    assert report.make_due(con, {1: SHOP}, at + timedelta(minutes=1)) == []
    assert notify.deliver_reports(con, at, delivery(server)) == {"sent": 2, "retried": 0, "failed": 0}
    assert notify.deliver_reports(con, at + timedelta(hours=1), delivery(server))["sent"] == 0

    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects == ["[demo] Daily error report for 2025-11-24", "[demo] Daily error report for 2025-11-25"]
    stored = con.execute("SELECT report_html, mail_status FROM daily_reports WHERE day = ?", [DAY]).fetchall()[0]
    assert stored[1] == "sent"
    assert mailbox.messages[1].get_body(("html",)).get_content().replace("\r\n", "\n") == stored[0]  # SMTP lines


def test_a_day_in_a_half_hour_time_zone_counts_its_errors_by_its_own_hours(redis_client, con):
    a_day_of_traffic(redis_client, con)
    kolkata = dataclasses.replace(SHOP, report=ReportSettings(8, "Asia/Kolkata"))  # UTC+05:30
    made = report.build(con, kolkata, DAY)
    assert made["from"] == "2025-11-24T18:30:00Z"
    assert sum(made["errors_by_hour"]) == made["headline"]["errors"] > 0


def test_the_days_sessions_are_counted_as_release_health_defines_them(redis_client, con):
    # The beacon: one session with an unhandled error, one without, one of a page that names no release.
    consume(redis_client, con, visit(1, "shop@1.0", "u1", "onerror"), visit(2, "shop@1.0", "u2"), visit(3, "", "u3"))
    sdk_sessions(redis_client, con, [("api@2", "a", "d1", "crashed", 1), ("api@2", "b", "d2", "exited", 1)])

    made = report.build(con, SHOP, DAY, START + timedelta(days=1, hours=8))

    figures = [made["headline"][k] for k in ("sessions", "crash_free_sessions", "unhandled_free_sessions")]
    assert figures == [5, 80.0, 60.0]
    page = report.render_html(made)
    assert "Unhandled-free sessions</td><td>60.0%</td>" in page
    assert "Crash-free sessions</td><td>80.0%</td>" in page


def test_a_vital_reported_again_as_it_grows_counts_once_with_its_last_value(redis_client, con):
    noon = ms(START + timedelta(hours=12))
    events: list[object] = [PageViewEvent(event_id=f"p{n}", ts=noon + n, page_url=f"{SITE}/cart") for n in range(3)]
    # Three page views' CLS; the first one's grew twice (0.05, then 0.3, then 0.9): only 0.9 counts.
    for n, (metric, value) in enumerate([("a", 0.05), ("a", 0.3), ("a", 0.9), ("b", 0.01), ("c", 0.02)]):
        events.append(VitalEvent(event_id=f"v{n}", ts=noon + 10 + n, page_url=f"{SITE}/cart", name="CLS", value=value,
                                 metric_id=metric))  # fmt: skip
    batch = Batch(v=1, batch_id="cls", sent_at=noon + 20, events=events)  # type: ignore[arg-type]
    entry = StreamEntry(project_id=1, project="demo", received_at=noon, user_agent=CHROME_UA, batch=batch)
    redis_client.xadd(EVENTS_STREAM, {"e": encode_entry(entry)})
    consume(redis_client, con)

    made = report.build(con, SHOP, DAY, START + timedelta(days=1, hours=8))

    [cls] = [v for v in made["vitals"] if v["name"] == "CLS"]
    assert (cls["samples"], cls["p75"]) == (3, 0.46)  # 0.01, 0.02 and 0.9: the 75th percentile interpolated
