"""Incidents and their verdicts, from events and probe records sent in the protocol and stored by the real consumer.

Each scenario has a day of ordinary traffic behind it (a page view every 30 s, an error
every two hours, a failed request every three), then five minutes where something breaks.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import duckdb
import msgspec
import redis

from analytics import incidents
from analytics.queries import run_query
from contracts.beacon import Batch, ErrorEvent, NetworkEvent, PageViewEvent, ResourceEvent, VitalEvent
from contracts.incidents import Feedback
from contracts.probes import AgentInfo, CheckResult, HostMetrics, Memory, ProbeBatch, Swap
from contracts.projects import Project
from contracts.services import Service
from contracts.stream import EVENTS_STREAM, PROBES_STREAM, ProbeEntry, StreamEntry, encode_entry
from tests.analytics.test_fingerprint import CHROME_1
from tests.analytics.test_issues import CHROME_UA, consume

NOW = datetime(2025, 11, 26, 12, 0)
SAFARI_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Safari/605.1.15"
)
SITE = "https://shop.example"
API = "https://api.shop.example"
CHECKOUT = Service("checkout-api", domains=("api.shop.example",), checks=("checkout-api",), hosts=("api-7",))
SHOP = Project(1, "demo", "k" * 32, "t", origins=(SITE,), services=(CHECKOUT,))
PROJECTS = {1: SHOP}
REGIONS = ("eu", "us", "ap")
_ids = itertools.count()


def ms(when: datetime) -> int:
    return int(when.replace(tzinfo=UTC).timestamp() * 1000)


def send(redis_client: redis.Redis, events: list, *, release: str = "shop@1.4.2", ua: str = CHROME_UA,
         country: str = "", source: str = "beacon") -> None:  # fmt: skip
    for start in range(0, len(events), 100):
        chunk = events[start : start + 100]
        sent = max(e.ts for e in chunk)
        batch = Batch(v=1, batch_id=f"b{next(_ids)}", sent_at=sent, events=chunk, release=release,
                      environment="production", session_id=f"s{next(_ids)}")  # fmt: skip
        entry = StreamEntry(project_id=1, project="demo", received_at=sent, user_agent=ua, batch=batch,
                            country=country, source=source)  # fmt: skip
        redis_client.xadd(EVENTS_STREAM, {"e": encode_entry(entry)})


def page_views(start: datetime, end: datetime, every: timedelta) -> list[PageViewEvent]:
    count = int((end - start) / every)
    return [PageViewEvent(event_id=f"p{next(_ids)}", ts=ms(start + n * every), page_url=f"{SITE}/product/{n % 7}")
            for n in range(count)]  # fmt: skip


def error(when: datetime, error_type: str = "TypeError", message: str = "x is undefined") -> ErrorEvent:
    return ErrorEvent(event_id=f"e{next(_ids)}", ts=ms(when), page_url=f"{SITE}/cart", error_type=error_type,
                      message=message, stack=CHROME_1, mechanism="onerror")  # fmt: skip


def failed(when: datetime, url: str, failure: str = "http_error", status: int = 502, api: str = "fetch",
           nel_type: str = "unknown") -> NetworkEvent:  # fmt: skip
    return NetworkEvent(event_id=f"n{next(_ids)}", ts=ms(when), page_url=f"{SITE}/cart", api=api, method="GET",
                        url=url, status=status, duration=30.0, failure=failure, nel_type=nel_type)  # fmt: skip


def spread(start: datetime, count: int, within: timedelta = timedelta(minutes=4)) -> list[datetime]:
    return [start + within * n / count for n in range(count)]


def ordinary_day(redis_client: redis.Redis) -> None:
    """A day before the window: page views from several countries, a rare error and a rare failed request."""
    start, end = NOW - timedelta(hours=24, minutes=10), NOW
    for n, country in enumerate(("US", "DE", "BR", "AR", "FR", "JP")):
        send(redis_client, page_views(start + timedelta(seconds=5 * n), end, timedelta(seconds=180)), country=country)
    send(redis_client, [error(start + timedelta(hours=h)) for h in range(0, 24, 2)])
    send(redis_client, [failed(start + timedelta(hours=h), f"{API}/cart") for h in range(0, 24, 3)])


def probe(redis_client: redis.Redis, region: str, check: str, target: str, times: list[datetime], status: str,
          duration: float = 80.0) -> None:  # fmt: skip
    records = [CheckResult(id=f"r{next(_ids)}", ts=ms(t), check=check, check_type="http", target=target,
                           status=status, duration_ms=duration, error="" if status == "up" else "http.error")
               for t in times]  # fmt: skip
    send_probes(redis_client, region, records)


def send_probes(redis_client: redis.Redis, region: str, records: list, host: str = "") -> None:
    """Records as an agent in ``region`` sends them (named ``probe-<region>`` unless ``host`` is given)."""
    sent = max(r.ts for r in records)
    host = host or f"probe-{region}"
    batch = ProbeBatch(
        batch_id=f"pb{next(_ids)}",
        sent_at=sent,
        records=records,
        agent=AgentInfo(region=region, host=host, agent_id=f"a-{host}", version="1"),
    )
    entry = msgspec.json.encode(ProbeEntry(1, "demo", sent, msgspec.Raw(msgspec.json.encode(batch))))
    redis_client.xadd(PROBES_STREAM, {"e": entry})


def healthy_checks(redis_client: redis.Redis, check: str, target: str) -> None:
    """A check up in every region all day, a result every 10 minutes."""
    times = [NOW - timedelta(hours=24) + timedelta(minutes=10 * n) for n in range(24 * 6)]
    for region in REGIONS:
        probe(redis_client, region, check, target, times, "up")


def host_metrics(redis_client: redis.Redis, host: str, when: datetime, memory: float) -> None:
    metrics = HostMetrics(
        id=f"m{next(_ids)}", ts=ms(when), interval_s=15, cpu_percent={"user": 20.0, "idle": 80.0}, load=[1, 1, 1],
        memory=Memory(total=8_000, available=int(8_000 * (100 - memory) / 100), used=int(80 * memory),
                      percent=memory),
        swap=Swap(total=0, used=0, percent=0.0, swapped_in_per_s=0.0, swapped_out_per_s=0.0),
        disks=[], disk_io=[], net=[], open_fds=100, max_fds=100_000, processes=90, uptime_s=100.0,
    )  # fmt: skip
    send_probes(redis_client, "eu", [metrics], host=host)


def only_incident(con: duckdb.DuckDBPyConnection) -> dict:
    """The one incident of the test, whole (as the incident page asks for it, after the list)."""
    listed = run_query(con, "incidents", {"since": "2025-11-25T00:00:00Z", "until": "2025-11-27T00:00:00Z"})
    assert len(listed.rows) == 1, listed.rows
    incident_id = listed.rows[0][listed.columns.index("incident_id")]
    result = run_query(con, "incident", {"incident_id": str(incident_id)})
    return dict(zip(result.columns, result.rows[0], strict=True))


def test_a_backend_down_at_quorum_with_a_host_out_of_memory_is_blamed_on_the_backend(redis_client, con):
    ordinary_day(redis_client)
    healthy_checks(redis_client, "checkout-api", f"{API}/health")
    window = NOW - timedelta(minutes=5)
    send(redis_client, [failed(t, f"{API}/cart", "network_error", 0) for t in spread(window, 40)])
    for region in ("eu", "us"):  # down from 11:56 in two of three regions
        probe(redis_client, region, "checkout-api", f"{API}/health", spread(window + timedelta(minutes=1), 3), "down")
    probe(redis_client, "ap", "checkout-api", f"{API}/health", spread(window, 3), "up")
    host_metrics(redis_client, "api-7", window + timedelta(minutes=2), memory=98.0)
    consume(redis_client, con)

    (opened,) = incidents.evaluate(con, PROJECTS, NOW)

    incident = only_incident(con)
    assert (incident["status"], incident["verdict"]) == ("open", "backend")
    assert incident["summary"].startswith("checkout-api down in 2 of 3 regions since 11:5")
    assert "host api-7 memory 98%" in incident["summary"]
    assert incident["confidence"] >= 0.9
    assert (opened["action"], opened["verdict"]) == ("opened", "backend")
    evidence = json.loads(incident["evidence"])
    assert evidence["services"] == ["checkout-api"]
    assert [(h["host"], h["own"], h["service"]) for h in evidence["failing_hosts"]] == [
        ("api.shop.example", True, "checkout-api")
    ]


def test_connection_failures_from_two_countries_with_healthy_probes_are_the_network(redis_client, con):
    ordinary_day(redis_client)
    healthy_checks(redis_client, "shop-home", f"{SITE}/")
    window = NOW - timedelta(minutes=5)
    for country, nel_type in (("BR", "dns.name_not_resolved"), ("AR", "tls.cert.invalid")):
        reports = [failed(t, f"{SITE}/product/1", "network_error", 0, "nel", nel_type) for t in spread(window, 20)]
        send(redis_client, reports, country=country, source="reporting_api")
    for country in ("US", "DE", "FR", "JP", "BR", "AR"):
        send(redis_client, page_views(window, NOW, timedelta(seconds=30)), country=country)
    consume(redis_client, con)

    incidents.evaluate(con, {1: Project(1, "demo", "k", "t", origins=(SITE,))}, NOW)

    incident = only_incident(con)
    assert incident["verdict"] == "network"
    assert incident["summary"] == "DNS and TLS failures from users in AR and BR only; probes healthy in every region"
    evidence = json.loads(incident["evidence"])
    assert [c["check"] for c in evidence["checks"] if c["inferred"]] == ["shop-home"]  # its URL has the host


def test_failures_on_a_vendors_host_are_the_third_party(redis_client, con):
    ordinary_day(redis_client)
    healthy_checks(redis_client, "checkout-api", f"{API}/health")
    window = NOW - timedelta(minutes=5)
    resources = [ResourceEvent(event_id=f"x{next(_ids)}", ts=ms(t), page_url=f"{SITE}/", element="script",
                               url="https://cdn.vendor.example/widget.js") for t in spread(window, 30)]  # fmt: skip
    send(redis_client, resources)
    consume(redis_client, con)

    incidents.evaluate(con, PROJECTS, NOW)

    incident = only_incident(con)
    assert incident["verdict"] == "third_party"
    assert incident["summary"] == "failures concentrated on cdn.vendor.example, not yours; your checks healthy"


def test_a_type_error_spike_in_one_release_and_browser_with_a_healthy_backend_is_the_client(redis_client, con):
    ordinary_day(redis_client)
    healthy_checks(redis_client, "checkout-api", f"{API}/health")
    window = NOW - timedelta(minutes=5)
    for release, ua in (("shop@1.4.2", CHROME_UA), ("shop@1.5.0", CHROME_UA), ("shop@1.5.0", SAFARI_UA)):
        send(redis_client, page_views(window, NOW, timedelta(seconds=10)), release=release, ua=ua)
    send(redis_client, [error(t) for t in spread(window, 40)], release="shop@1.5.0", ua=SAFARI_UA)
    consume(redis_client, con)

    incidents.evaluate(con, PROJECTS, NOW)

    incident = only_incident(con)
    assert incident["verdict"] == "client"
    assert incident["summary"] == "TypeError spike in release shop@1.5.0, Safari 17 only; backend healthy"


def test_a_backend_outage_hours_before_a_client_spike_is_not_blamed(redis_client, con):
    ordinary_day(redis_client)
    healthy_checks(redis_client, "checkout-api", f"{API}/health")
    earlier = NOW - timedelta(hours=3)
    for region in REGIONS:  # down for ten minutes three hours ago, then up again
        probe(redis_client, region, "checkout-api", f"{API}/health", spread(earlier, 3, timedelta(minutes=3)), "down")
        probe(redis_client, region, "checkout-api", f"{API}/health", spread(earlier + timedelta(minutes=10), 2), "up")
    send(redis_client, [error(t) for t in spread(NOW - timedelta(minutes=5), 40)])
    consume(redis_client, con)

    incidents.evaluate(con, PROJECTS, NOW)

    incident = only_incident(con)
    assert incident["verdict"] == "client"
    assert incident["summary"].endswith("; backend healthy")


def test_a_few_errors_at_low_traffic_open_nothing(redis_client, con):
    send(redis_client, page_views(NOW - timedelta(hours=5), NOW, timedelta(minutes=3)))
    send(redis_client, [error(t) for t in spread(NOW - timedelta(minutes=5), 4)])  # none before, four now
    consume(redis_client, con)

    assert incidents.evaluate(con, PROJECTS, NOW) == []
    assert run_query(con, "incidents", {"since": "2025-11-25T00:00:00Z"}).rows == []


def test_an_incident_closes_after_five_quiet_minutes_and_keeps_its_history_and_feedback(redis_client, con):
    ordinary_day(redis_client)
    send(redis_client, [error(t) for t in spread(NOW - timedelta(minutes=5), 40)])
    consume(redis_client, con)
    incidents.evaluate(con, PROJECTS, NOW)
    incident_id = only_incident(con)["incident_id"]

    # The window is the five whole minutes before the one begun ten seconds ago: the last errors (11:58) leave it
    # at 12:05, and five quiet minutes later the incident closes.
    for minute in range(1, 11):
        incidents.evaluate(con, PROJECTS, NOW + timedelta(minutes=minute))
    incidents.feedback(con, Feedback(incident_id, False, "ana", "it was the CDN"), NOW + timedelta(minutes=11))

    incident = only_incident(con)
    assert (incident["status"], incident["closed_at"]) == ("closed", NOW + timedelta(minutes=9))
    assert (incident["feedback"], incident["feedback_by"], incident["feedback_verdict"]) == ("wrong", "ana", "client")
    activity = run_query(con, "incident_activity", {"incident_id": str(incident_id)})
    assert [(r[activity.columns.index("action")], r[activity.columns.index("actor")]) for r in activity.rows] == [
        ("feedback", "ana"), ("closed", "vigil"), ("opened", "vigil"),
    ]  # fmt: skip


def test_the_timeline_series_of_an_incident(redis_client, con):
    window = NOW - timedelta(minutes=5)
    send(redis_client, [failed(t, f"{API}/cart", "network_error", 0) for t in spread(window, 10)])
    send(redis_client, [failed(window, "https://cdn.vendor.example/x.js", "abort", 0)])  # the user left: not counted
    probe(redis_client, "eu", "checkout-api", f"{API}/health", [window, window + timedelta(seconds=20)], "down", 900.0)
    host_metrics(redis_client, "api-7", window, memory=98.0)
    consume(redis_client, con)
    span = {"since": "2025-11-26T11:55:00Z", "until": "2025-11-26T12:00:00Z", "bucket_seconds": "300"}

    assert run_query(con, "failures_per_minute", span).rows == [[window, "api.shop.example", "request", 10]]
    assert run_query(con, "check_results_per_minute", span).rows == [[window, "checkout-api", "eu", 0, 2, 900.0]]
    assert run_query(con, "host_metrics_per_minute", span).rows == [[window, "api-7", 20.0, 98.0, None, 0.1]]


def test_a_project_without_ten_minutes_of_past_is_not_judged(redis_client, con):
    send(
        redis_client, page_views(NOW - timedelta(minutes=12), NOW, timedelta(seconds=20))
    )  # 7 minutes before the window
    send(redis_client, [error(t) for t in spread(NOW - timedelta(minutes=5), 40)])
    consume(redis_client, con)

    assert incidents.evaluate(con, PROJECTS, NOW) == []
    assert [a["action"] for a in incidents.evaluate(con, PROJECTS, NOW, min_history=5)] == ["opened"]


def test_a_slow_vital_against_a_past_of_one_page_load_opens_nothing(redis_client, con):
    """A site that began sending a moment before the window: one fast LCP before it is not a baseline."""
    send(redis_client, page_views(NOW - timedelta(minutes=20), NOW, timedelta(seconds=20)))
    before = [VitalEvent(event_id=f"v{next(_ids)}", ts=ms(NOW - timedelta(minutes=7)), page_url=f"{SITE}/",
                         name="LCP", value=40.0, metric_id=f"m{next(_ids)}")]  # fmt: skip
    slow = [VitalEvent(event_id=f"v{next(_ids)}", ts=ms(t), page_url=f"{SITE}/", name="LCP", value=3900.0,
                       metric_id=f"m{next(_ids)}") for t in spread(NOW - timedelta(minutes=5), 60)]  # fmt: skip
    send(redis_client, before + slow)
    consume(redis_client, con)

    assert incidents.evaluate(con, PROJECTS, NOW, min_history=5) == []
