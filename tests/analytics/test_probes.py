"""Probe results through the real consumer: rows, per-region and quorum states, agents lost, queries."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import duckdb
import msgspec
import redis

from analytics.consume import Consumer
from analytics.queries import run_query
from analytics.store import open_database
from contracts.probes import (
    AgentInfo,
    CheckResult,
    Heartbeat,
    HostMetrics,
    Memory,
    NetIo,
    Phases,
    ProbeBatch,
    Swap,
)
from contracts.stream import PROBES_STREAM, ProbeEntry

T0 = 1_764_072_000_000  # 2025-11-25 12:00:00 UTC
START = datetime(2025, 11, 25, 12, 0)
RANGE = {"since": "2025-11-25T00:00:00Z", "until": "2025-11-26T00:00:00Z"}
_ids = itertools.count()


def result(region_ts: int, status: str, check: str = "shop", error: str = "") -> CheckResult:
    return CheckResult(
        id=f"r{next(_ids)}", ts=region_ts, check=check, check_type="http", target="https://shop.example/",
        status=status, duration_ms=120.0, error=error, http_status=200 if status == "up" else 500,
        phases=Phases(dns=1.0, connect=2.0, tls=3.0, processing=100.0, transfer=14.0),
    )  # fmt: skip


def send(client: redis.Redis, region: str, records: list, sent_at: int = T0, received_at: int = T0) -> bytes:
    batch = ProbeBatch(
        batch_id=f"b{next(_ids)}", sent_at=sent_at,
        agent=AgentInfo(region=region, host=f"probe-{region}", agent_id=f"a-{region}", version="1"),
        records=records,
    )  # fmt: skip
    entry = msgspec.json.encode(ProbeEntry(1, "demo", received_at, msgspec.Raw(msgspec.json.encode(batch))))
    client.xadd(PROBES_STREAM, {"e": entry})
    return entry


def consume(client: redis.Redis, con: duckdb.DuckDBPyConnection) -> Consumer:
    consumer = Consumer(client, con, name="c1", block_ms=50)
    consumer.run(burst=True)
    return consumer


def states(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {region: state for _, _, region, state, _, _ in run_query(con, "checks", {}).rows}


def test_results_become_rows_with_their_phases_and_the_agents_clock_corrected(redis_client, con):
    # The agent's clock is 2 h behind (a time zone): its results' times are moved by the skew its sent_at shows.
    send(redis_client, "eu", [result(T0 - 7_200_000, "up")], sent_at=T0 - 7_200_000, received_at=T0)
    consume(redis_client, con)

    row = con.execute(
        'SELECT ts, region, host, "check", status, dns_ms, connect_ms, tls_ms, processing_ms, transfer_ms, '
        "http_status FROM probe_results"
    ).fetchone()
    assert row == (START, "eu", "probe-eu", "shop", "up", 1.0, 2.0, 3.0, 100.0, 14.0, 200)


def test_three_failures_make_a_region_down_and_two_successes_up_again(redis_client, con):
    sequence = ["up", "down", "down", "unknown", "down", "down", "up", "up"]
    for n, status in enumerate(sequence):
        send(redis_client, "eu", [result(T0 + n * 60_000, status, error="http.error" if status == "down" else "")])
        consume(redis_client, con)

    history = run_query(con, "check_history", RANGE)
    changes = [(row[3], row[5], row[6], row[9]) for row in history.rows if row[3] == "eu"]
    assert changes == [
        ("eu", "up", "unknown", ""),
        ("eu", "down", "up", "http.error"),  # the unknown result counted neither way
        ("eu", "up", "down", ""),
    ]
    assert [row[0] for row in history.rows if row[3] == "eu"] == [
        START,
        START + timedelta(minutes=4),
        START + timedelta(minutes=7),
    ]
    assert states(con) == {"eu": "up", "*": "up"}


def test_a_retried_batch_does_not_count_twice(redis_client, con):
    for n in range(2):
        entry = send(redis_client, "eu", [result(T0 + n, "down")])
        redis_client.xadd(PROBES_STREAM, {"e": entry})  # the agent's retry of the same batch
    consume(redis_client, con)

    assert states(con) == {"eu": "unknown", "*": "unknown"}  # two failures, not four
    assert con.execute("SELECT count(*) FROM probe_results").fetchone() == (2,)


def test_a_quorum_of_regions_makes_the_check_down_and_fewer_degraded(redis_client, con):
    for n in range(3):
        send(redis_client, "eu", [result(T0 + n * 1000, "down")])
        send(redis_client, "us", [result(T0 + n * 1000, "up")])
    consume(redis_client, con)
    assert states(con) == {"eu": "down", "us": "up", "*": "degraded"}

    for n in range(3, 6):
        send(redis_client, "us", [result(T0 + n * 1000, "down")])
    consume(redis_client, con)
    assert states(con) == {"eu": "down", "us": "down", "*": "down"}
    last = [row for row in run_query(con, "check_history", RANGE).rows if row[3] == "*"][-1]
    assert (last[3], last[5], last[6], last[7], last[8]) == ("*", "down", "degraded", 2, 2)


def test_the_states_survive_a_restart_of_the_consumer(redis_client, con, tmp_path):
    for n in range(2):
        send(redis_client, "eu", [result(T0 + n, "down")])
    consume(redis_client, con)
    con.close()
    reopened = open_database(tmp_path / "vigil.duckdb")
    try:
        send(redis_client, "eu", [result(T0 + 10, "down")])
        consume(redis_client, reopened)  # a new consumer reads the counts back: this is the third failure
        assert states(reopened)["eu"] == "down"
    finally:
        reopened.close()


def test_an_agent_without_heartbeats_is_lost_not_its_targets_down(redis_client, con):
    beat = Heartbeat(id="h1", ts=T0, started_at=T0 - 1000, interval_s=10, checks=1, spooled_batches=0,
                     dropped_records=0, self_check_ok=True)  # fmt: skip
    send(redis_client, "eu", [beat, result(T0, "up")])
    consumer = consume(redis_client, con)

    assert consumer.probes.lost_agents(con, START + timedelta(seconds=25)) == 0
    assert consumer.probes.lost_agents(con, START + timedelta(seconds=31)) == 1
    assert run_query(con, "agents", {}).rows[0][:4] == ["demo", "eu", "probe-eu", "lost"]
    again = Heartbeat(id="h2", ts=T0 + 60_000, started_at=T0 - 1000, interval_s=10, checks=1,
                      spooled_batches=2, dropped_records=0)  # fmt: skip
    send(redis_client, "eu", [again])
    consumer.run(burst=True)

    agent_changes = [(r[5], r[6]) for r in run_query(con, "check_history", RANGE).rows if r[2] == ""]
    assert agent_changes == [("ok", None), ("lost", "ok"), ("ok", "lost")]
    assert states(con) == {"eu": "up", "*": "up"}


def test_host_metrics_rows(redis_client, con):
    metrics = HostMetrics(
        id="m1", ts=T0, interval_s=10, cpu_percent={"user": 12.5, "system": 2.5, "idle": 85.0}, load=[0.5, 0.4, 0.3],
        memory=Memory(total=8_000, available=6_000, used=2_000, percent=25.0),
        swap=Swap(total=0, used=0, percent=0.0, swapped_in_per_s=0.0, swapped_out_per_s=0.0),
        disks=[], disk_io=[],
        net=[NetIo("eth0", 100.0, 200.0, 1, 2, 0, 0, 0, 0), NetIo("lo", 50.0, 50.0, 1, 1, 0, 0, 0, 0)],
        open_fds=1000, max_fds=100_000, processes=120, uptime_s=3600.0,
    )  # fmt: skip
    send(redis_client, "eu", [metrics])
    consume(redis_client, con)

    row = con.execute(
        "SELECT cpu_busy_percent, load1, memory_percent, net_bytes_sent_per_s, net_bytes_recv_per_s, open_fds, "
        "processes, cpu->>'user' FROM host_metrics"
    ).fetchone()
    assert row == (15.0, 0.5, 25.0, 150.0, 250.0, 1000, 120, "12.5")


def test_reachability_per_region_and_uptime_across_regions(redis_client, con):
    # Minute 0: eu up, us down. Minute 1: both down. Minute 2: eu down, us up.
    for minute, (eu, us) in enumerate([("up", "down"), ("down", "down"), ("down", "up")]):
        send(redis_client, "eu", [result(T0 + minute * 60_000, eu)])
        send(redis_client, "us", [result(T0 + minute * 60_000, us)])
    consume(redis_client, con)

    reach = run_query(con, "check_reachability", RANGE).rows
    assert [(r[2], r[4], r[5], r[6]) for r in reach] == [("eu", 3, 1, 0.333333), ("us", 3, 1, 0.333333)]
    uptime = run_query(con, "check_uptime", RANGE).rows
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in uptime] == [("demo", "shop", 3, 2, 0.666667)]


def test_a_delivery_that_waited_on_a_hung_collector_is_not_moved_and_its_retry_is_not_stored_twice(redis_client, con):
    """The agent gave up on a push the collector took 10 minutes later, then retried (sent_at per attempt)."""
    records = [result(T0, "up"), result(T0 + 1000, "up")]
    batch = ProbeBatch(batch_id="late", sent_at=T0, agent=AgentInfo("eu", "probe-eu", "a-eu", "1"), records=records)
    late = msgspec.json.encode(ProbeEntry(1, "demo", T0 + 600_000, msgspec.Raw(msgspec.json.encode(batch))))
    retry = msgspec.structs.replace(batch, sent_at=T0 + 599_000)
    again = msgspec.json.encode(ProbeEntry(1, "demo", T0 + 600_100, msgspec.Raw(msgspec.json.encode(retry))))
    redis_client.xadd(PROBES_STREAM, {"e": again})  # the retry lands first, in one drain
    consume(redis_client, con)
    redis_client.xadd(PROBES_STREAM, {"e": late})  # the hung request in a later one
    consume(redis_client, con)
    rows = con.execute("SELECT id, ts FROM probe_results ORDER BY ts").fetchall()
    assert rows == [(records[0].id, START), (records[1].id, START + timedelta(seconds=1))]


def test_a_heartbeat_delivered_late_keeps_the_agents_history_in_order(redis_client, con):
    def beat(n: int, ts: int) -> Heartbeat:
        return Heartbeat(id=f"hb{n}", ts=ts, started_at=T0 - 1000, interval_s=10, checks=1, spooled_batches=0,
                         dropped_records=0, self_check_ok=True)  # fmt: skip

    send(redis_client, "eu", [beat(1, T0)])
    consumer = consume(redis_client, con)
    assert consumer.probes.lost_agents(con, START + timedelta(seconds=40)) == 1
    send(redis_client, "eu", [beat(2, T0 + 20_000)])  # sent before the agent was found lost, arriving after
    consumer.run(burst=True)

    history = [r for r in run_query(con, "check_history", RANGE).rows if r[2] == ""]
    assert [(r[5], r[6]) for r in history] == [("ok", None), ("lost", "ok"), ("ok", "lost")]
    times = [r[0] for r in history]
    assert times == sorted(times)
    assert history[-1][9] == "heartbeat again (delivered late)"


def test_a_result_delivered_late_does_not_move_the_state_back(redis_client, con):
    for n in range(3):
        send(redis_client, "eu", [result(T0 + (n + 5) * 60_000, "down", error="http.error")])
    consume(redis_client, con)
    send(redis_client, "eu", [result(T0, "up"), result(T0 + 60_000, "up")])  # older, from a spool that waited
    consume(redis_client, con)
    history = [(r[0], r[5]) for r in run_query(con, "check_history", RANGE).rows if r[3] == "eu"]
    assert [state for _, state in history] == ["down"]
    assert states(con)["eu"] == "down"


def test_phases_per_bucket_and_region(redis_client, con):
    send(redis_client, "eu", [result(T0, "up"), result(T0 + 10_000, "down")])
    send(redis_client, "us", [result(T0, "up"), result(T0, "up", check="blog")])
    consume(redis_client, con)

    found = run_query(con, "check_phases", {**RANGE, "check": "shop", "bucket_seconds": "300"})
    assert found.columns == ["minute", "region", "dns", "connect", "tls", "processing", "transfer", "duration", "up",
                             "down"]  # fmt: skip
    assert found.rows == [
        [START, "eu", 1.0, 2.0, 3.0, 100.0, 14.0, 120.0, 1, 1],
        [START, "us", 1.0, 2.0, 3.0, 100.0, 14.0, 120.0, 1, 0],
    ]
