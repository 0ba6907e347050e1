"""Delivery to the collector: batches, the spool while it is away, Retry-After, and every record exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import httpx
import msgspec
import pytest

from contracts.probes import AgentInfo, Heartbeat, ProbeBatch, Record
from server_probes import push
from server_probes.agent import Agent
from server_probes.config import load_config
from server_probes.push import Sender, parse_retry_after
from server_probes.spool import Spool
from tests.helpers import env_without_vigil, free_port, wait_until
from tests.server_probes.receiver import TOKEN, Receiver
from tests.server_probes.running import Running


def agent_config(path: Path, collector: str, http_port: int) -> str:
    return f"""
[agent]
region = "eu-west"
collector = "{collector}"
project_id = 7
secret_token = "${{TOKEN}}"
spool_dir = "spool"
push_interval = 0.1
heartbeat_interval = 0.2
host_metrics_interval = 0.2
self_check = "http://127.0.0.1:{http_port}/ok"
self_check_interval = 0.5

[[checks]]
name = "ok"
type = "http"
url = "http://127.0.0.1:{http_port}/ok"
interval = 0.1
timeout = 0.1

[[checks]]
name = "closed"
type = "tcp"
target = "127.0.0.1:{free_port()}"
interval = 0.1
timeout = 0.1
"""


def relaxed(text: str) -> str:
    """For a single round (``once``): timeouts a loaded machine meets, as the statuses are asserted."""
    return text.replace("interval = 0.1\ntimeout = 0.1", "interval = 10\ntimeout = 10").replace(
        "self_check_interval = 0.5", "self_check_interval = 10"
    )


def kinds(receiver: Receiver) -> Counter[str]:
    with receiver._lock:
        return Counter(type(r).__name__ for b in receiver.batches for r in b.records)


def test_collector_away_and_back_every_record_arrives_once(receiver, http_port, write_config, monkeypatch):
    monkeypatch.setattr(push, "BACKOFF_CAP_S", 0.3)
    config = load_config(write_config(agent_config(Path(), receiver.url, http_port)), environ={"TOKEN": TOKEN})
    running = Running(Agent(config))
    every_kind = {"CheckResult", "Heartbeat", "HostMetrics"}
    try:
        # Wait for each kind of record rather than for an amount of time: a loaded machine is slow, not wrong.
        wait_until(lambda: running.alive() and set(kinds(receiver)) >= every_kind, timeout=30, what="every kind")
        receiver.stop()
        spool = running.agent.spool
        wait_until(lambda: len(spool) >= 3, timeout=30, what="batches to pile up in the spool")
        receiver.start()
        wait_until(lambda: len(spool) <= 1, timeout=30, what="the spool to drain")
    finally:
        running.stop()
    left = Spool(spool.directory, 1_000_000)  # the agent closed its own at stop
    assert len(left) == 0
    left.close()
    produced = running.agent.produced_ids
    received = Counter(receiver.record_ids())
    lost, unexpected = set(produced) - set(received), set(received) - set(produced)
    # None lost; the collector keeps each id once (a batch whose answer was lost may arrive twice).
    assert (len(lost), len(unexpected)) == (0, 0), f"statuses {Counter(receiver.statuses)}"
    assert len(set(produced)) == len(produced)
    assert set(kinds(receiver)) == every_kind
    # Names only: with 0.1 s timeouts a loaded machine can make "ok" time out (or the self-check fail,
    # making "closed" unknown); the statuses are the subject of the tests below and of test_checks.py.
    results = [r for b in receiver.batches for r in b.records if type(r).__name__ == "CheckResult"]
    assert {r.check for r in results} == {"ok", "closed"}
    assert {b.agent.region for b in receiver.batches} == {"eu-west"}


def test_failed_self_check_turns_down_into_unknown(receiver, http_port, write_config):
    text = agent_config(Path(), receiver.url, http_port).replace(
        f'self_check = "http://127.0.0.1:{http_port}/ok"', f'self_check = "http://127.0.0.1:{free_port()}/"'
    )
    agent = Agent(load_config(write_config(relaxed(text)), environ={"TOKEN": TOKEN}))
    asyncio.run(agent.run(once=True))
    results = {r.check: r for b in receiver.batches for r in b.records if type(r).__name__ == "CheckResult"}
    assert (results["closed"].status, results["closed"].error) == ("unknown", "tcp.refused")
    assert results["ok"].status == "up"
    (heartbeat,) = [r for b in receiver.batches for r in b.records if type(r).__name__ == "Heartbeat"]
    assert heartbeat.self_check_ok is False


def put(spool: Spool, n: int = 1) -> None:
    records: list[Record] = [
        Heartbeat(id=uuid.uuid4().hex, ts=1, started_at=1, interval_s=1, checks=0, spooled_batches=0, dropped_records=0)
        for _ in range(n)
    ]
    spool.put(msgspec.json.encode(ProbeBatch(uuid.uuid4().hex, 1, AgentInfo("r", "h", "a", "v"), records)), n)


async def _send(receiver: Receiver, spool: Spool) -> tuple[Sender, list[float | None]]:
    async with httpx.AsyncClient() as client:
        sender = Sender(receiver.url, 7, TOKEN, spool, client, jitter=lambda: 1.0)
        return sender, [await sender.send_oldest() for _ in range(3)]


def test_retry_after_and_backoff(receiver, tmp_path):
    spool = Spool(tmp_path, 1_000_000)
    put(spool)
    answers = iter([(503, {"Retry-After": "7"}), (429, {}), (202, {})])
    receiver.answer = lambda: next(answers)
    sender, delays = asyncio.run(_send(receiver, spool))
    assert delays == [7.0, 2.0, 0.0]  # Retry-After honoured; then 2nd failure: 1 s * 2
    assert (len(spool), sender.sent_records, len(receiver.batches)) == (0, 1, 1)


def test_a_batch_the_collector_refuses_for_good_is_dropped_and_counted(receiver, tmp_path):
    spool = Spool(tmp_path, 1_000_000)
    put(spool, 3)
    receiver.answer = lambda: (400, {})
    sender, delays = asyncio.run(_send(receiver, spool))
    assert delays == [0.0, None, None]
    assert (len(spool), sender.refused_records) == (0, 3)


def test_spool_drops_the_oldest_when_full_and_counts(tmp_path):
    spool = Spool(tmp_path, 10_000)
    for _ in range(40):
        put(spool, 2)
    kept = len(spool)
    assert 0 < kept < 40
    assert spool.dropped_records == 2 * (40 - kept)
    assert spool.queue.bytes() <= 10_000
    newest = spool.queue.oldest(100)[-1].seq
    spool.close()
    again = Spool(tmp_path, 10_000)  # a restarted agent finds them, and appends after them
    assert len(again) == kept
    put(again)
    assert again.queue.oldest(100)[-1].seq > newest
    again.close()


def test_batches_an_older_agent_left_as_files_are_sent_first(tmp_path):
    older = msgspec.json.encode(
        ProbeBatch("old", 1, AgentInfo("r", "h", "a", "v"), [
            Heartbeat(id="h1", ts=1, started_at=1, interval_s=1, checks=0, spooled_batches=0, dropped_records=0)
        ])
    )  # fmt: skip
    (tmp_path / "000000000001-1.json").write_bytes(older)
    (tmp_path / "000000000002-1.tmp").write_bytes(b"half a batch")
    spool = Spool(tmp_path, 1_000_000)
    put(spool)
    first = spool.oldest()
    assert first is not None
    assert (first.data, first.items, len(spool)) == (older, 1, 2)
    assert [p.name for p in tmp_path.iterdir() if p.suffix in {".json", ".tmp"}] == []
    spool.close()


def test_parse_retry_after():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") == 0.0


def test_vigil_probe_once_delivers_and_exits(receiver, http_port, write_config):
    text = agent_config(Path(), receiver.url, http_port).replace('region = "eu-west"\n', "")
    path = write_config(relaxed(text))
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "probe", "--config", str(path), "--region", "us-east", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env_without_vigil(), "TOKEN": TOKEN},
    )
    assert done.returncode == 0, done.stderr
    results = sorted(
        (r.check, r.status) for b in receiver.batches for r in b.records if type(r).__name__ == "CheckResult"
    )
    assert results == [("closed", "down"), ("ok", "up")]
    assert {b.agent.region for b in receiver.batches} == {"us-east"}
