"""Chaos: a counted load from several senders while a part fails; every event answered 2xx is stored once.

Real processes on loopback: redis-server (the embedded binary, append-only file on), the
collector and the analytics service (with a processor worker) as ``vigil serve``
subprocesses. Senders post page views with unique event ids and note which ones were
answered 202. In the middle of the load one fault is injected:

- kill -9 of the collector, of analytics, of one processor worker, of redis-server (each
  started again, as a supervisor would);
- Redis unreachable (stopped with SIGSTOP) for 60 s, then back;
- the collector's spool on a disk that fills up while Redis is away.

Then, once everything has drained: every acknowledged event is stored exactly once, and
nothing is stored that was not sent. Each test prints its figures (sent, acknowledged,
stored, duplicated); docs/development.md has them with the command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from contracts import runfiles
from contracts.projects import Project, ensure_demo_project
from contracts.read_api import ReadClient
from contracts.stream import CONSUMER_GROUP, EVENTS_STREAM
from tests.conftest import _answers, _service
from tests.helpers import Service, mounted_tmpfs, stop_process, wait_until
from vigil import redis_server

SENDERS = 3
EVENTS_PER_REQUEST = 10
#: Every sender's bound: it stops at this many requests, or when the scenario says so.
MAX_REQUESTS = 3000
PAUSE_S = 0.02  # between one sender's requests: about 150 requests a second from the three


@dataclasses.dataclass
class Counts:
    sent: set[str] = dataclasses.field(default_factory=set)
    acknowledged: set[str] = dataclasses.field(default_factory=set)
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class Load:
    """``SENDERS`` threads posting batches of page views until stopped (bounded in count and time)."""

    def __init__(self, collector_url: Callable[[], str], project: Project) -> None:
        self.collector_url, self.project = collector_url, project
        self.counts = Counts()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, args=(n,), daemon=True) for n in range(SENDERS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _send(self, sender: int) -> None:
        with httpx.Client(timeout=10) as http:
            for n in range(MAX_REQUESTS):
                if self.stop.is_set():
                    return
                now = int(time.time() * 1000)
                ids = [f"s{sender}-{n}-{k}-{uuid.uuid4().hex[:6]}" for k in range(EVENTS_PER_REQUEST)]
                body = {
                    "v": 1, "batch_id": f"b{sender}-{n}", "sent_at": now, "session_id": f"s{sender}",
                    "events": [{"type": "pageview", "event_id": i, "ts": now, "page_url": "https://shop.example/"}
                               for i in ids],
                }  # fmt: skip
                with self.counts.lock:
                    self.counts.sent.update(ids)
                try:
                    response = http.post(
                        f"{self.collector_url()}/api/{self.project.id}/events",
                        params={"key": self.project.public_key},
                        json=body,
                    )
                    status = str(response.status_code)
                except httpx.HTTPError as e:
                    status = type(e).__name__
                with self.counts.lock:
                    self.counts.statuses[status] = self.counts.statuses.get(status, 0) + 1
                    if status == "202":
                        self.counts.acknowledged.update(ids)
                time.sleep(PAUSE_S)

    def acknowledged(self) -> int:
        with self.counts.lock:
            return len(self.counts.acknowledged)

    def wait_for(self, acknowledged: int, timeout: float = 60) -> None:
        wait_until(lambda: self.acknowledged() >= acknowledged, timeout=timeout, what=f"{acknowledged} acknowledged")


class Stack:
    """redis-server, analytics and the collector of one data directory, each stopped and started by its pid."""

    def __init__(self, data_dir: Path, collector_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.project = ensure_demo_project(data_dir)
        self.sock = redis_server.socket_path(data_dir)
        self.redis_url = redis_server.url(self.sock)
        self.redis_command = redis_server.command(data_dir, sock=self.sock)
        self.redis: subprocess.Popen[bytes] | None = None
        self.collector: Service | None = None
        self.analytics: Service | None = None
        self.collector_env = collector_env or {}
        self.collector_port = 0

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(self.redis_command, stdout=subprocess.DEVNULL)
        wait_until(lambda: _answers(self.redis_url), timeout=20, what="redis-server")

    def start_analytics(self) -> None:
        env = {
            "VIGIL_REDIS_URL": self.redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100", "VIGIL_ANALYTICS_PROCESSORS": "1",
            "VIGIL_ANALYTICS_CONSUMER": "analytics-chaos",  # the same name after a restart: it finishes its own
            "VIGIL_ANALYTICS_PROCESSOR_TIMEOUT_SECONDS": "10",
            # The test reads every stored id back through vigil sql's API.
            "VIGIL_ANALYTICS_SQL_MAX_ROWS": "1000000", "VIGIL_ANALYTICS_SQL_MAX_BYTES": "200000000",
        }  # fmt: skip
        self.analytics = _service("analytics", self.data_dir, env, "/healthz")

    def start_collector(self) -> None:
        env = {
            "VIGIL_REDIS_URL": self.redis_url, "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0",
            "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0", "VIGIL_COLLECTOR_SPIKE_FACTOR": "0",
            "VIGIL_COLLECTOR_SPOOL_AFTER_MS": "500", **self.collector_env,
        }  # fmt: skip
        # The same port after a restart, as behind a load balancer: senders keep their URL.
        self.collector = _service("collector", self.data_dir, env, "/healthz", port=self.collector_port or None)
        self.collector_port = int(self.collector.url.rsplit(":", 1)[1])

    def url(self) -> str:
        return f"http://127.0.0.1:{self.collector_port}"

    @staticmethod
    def kill(process: subprocess.Popen[bytes] | None) -> None:
        """SIGKILL by pid: no shutdown code runs, as when the OOM killer strikes."""
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def kill_service(self, service: Service | None) -> None:
        assert service is not None
        self.kill(service.process)
        service.stop()  # the process is gone; this closes its log

    def stop(self) -> None:
        for service in (self.collector, self.analytics):
            if service is not None:
                service.stop()
        if self.redis is not None:
            with contextlib.suppress(ProcessLookupError):
                self.redis.send_signal(signal.SIGCONT)
            stop_process(self.redis)

    def drained(self, client: redis.Redis) -> bool:
        """Nothing waits: the collector's spool replayed, the stream empty, nothing pending."""
        pending = int(client.xpending(EVENTS_STREAM, CONSUMER_GROUP)["pending"]) if client.exists(EVENTS_STREAM) else 0
        spooled = httpx.get(f"{self.url()}/metrics", timeout=5).text
        return client.xlen(EVENTS_STREAM) == 0 and pending == 0 and "vigil_collector_spooled_entries 0.0" in spooled

    def stored(self) -> tuple[int, set[str]]:
        info = runfiles.read_live(self.data_dir, "analytics")
        assert info is not None
        with ReadClient(info["url"], token=info["token"]) as read:
            (total,) = read.sql("SELECT count(*) FROM page_views").rows[0]
            ids = read.sql("SELECT DISTINCT event_id FROM page_views").rows
        return int(total), {str(row[0]) for row in ids}


@pytest.fixture
def stack(data_dir: Path) -> Iterator[Stack]:
    built = Stack(data_dir)
    try:
        built.start_redis()
        built.start_analytics()
        built.start_collector()
        yield built
    finally:
        built.stop()
        if built.sock.parent.name.startswith("vigil-"):
            subprocess.run(["rm", "-rf", str(built.sock.parent)], check=False)


def settle_and_check(stack: Stack, load: Load, what: str) -> None:
    """Wait until everything acknowledged could be stored, then: each once, and nothing that was not sent."""
    with redis.Redis.from_url(stack.redis_url) as client:
        wait_until(
            lambda: stack.drained(client), timeout=120, what="the spool, stream and pending to empty", interval=0.5
        )
    acknowledged = load.counts.acknowledged
    total, ids = stack.stored()
    figures = (
        f"{what}: sent {len(load.counts.sent)}, acknowledged {len(acknowledged)}, stored {len(ids)}, "
        f"duplicated {total - len(ids)}, answers {dict(sorted(load.counts.statuses.items()))}"
    )
    print(figures)
    assert acknowledged <= ids, figures  # nothing acknowledged is lost
    assert ids <= load.counts.sent, figures  # nothing is stored that was not sent
    assert total == len(ids), figures  # each once
    assert len(acknowledged) > 0


def survive(stack: Stack, what: str, fault: Callable[[Load], None], *, before: int = 1000, after: int = 1000) -> Load:
    """Run the load, inject ``fault`` once ``before`` batches are acknowledged, go on for ``after`` more, then check."""
    with Load(stack.url, stack.project) as load:
        load.wait_for(before)
        fault(load)
        load.wait_for(load.acknowledged() + after)
    settle_and_check(stack, load, what)
    return load


def test_kill_9_of_the_collector(stack: Stack) -> None:
    def fault(_: Load) -> None:
        stack.kill_service(stack.collector)
        stack.start_collector()

    survive(stack, "kill -9 collector", fault)


def test_kill_9_of_analytics(stack: Stack) -> None:
    def fault(_: Load) -> None:
        stack.kill_service(stack.analytics)
        time.sleep(1)  # the load goes on into Redis meanwhile
        stack.start_analytics()

    survive(stack, "kill -9 analytics", fault)


def test_kill_9_of_a_processor_worker(stack: Stack) -> None:
    assert stack.analytics is not None
    analytics = psutil.Process(stack.analytics.pid)

    def fault(_: Load) -> None:
        (worker,) = [c for c in analytics.children() if "spawn_main" in " ".join(c.cmdline())]
        worker.kill()

    survive(stack, "kill -9 processor worker", fault)


def test_kill_9_of_redis_server(stack: Stack) -> None:
    def fault(_: Load) -> None:
        stack.kill(stack.redis)
        time.sleep(2)  # the collector spools meanwhile
        stack.start_redis()  # the same append-only file

    survive(stack, "kill -9 redis-server", fault)


def test_redis_unreachable_for_60_seconds(stack: Stack) -> None:
    assert stack.redis is not None
    server = stack.redis

    def fault(_: Load) -> None:
        server.send_signal(signal.SIGSTOP)
        time.sleep(60)
        server.send_signal(signal.SIGCONT)

    load = survive(stack, "Redis unreachable for 60 s", fault, after=500)
    assert load.counts.statuses.get("202", 0) > 0


def test_the_spools_disk_full_while_redis_is_away(data_dir: Path) -> None:
    with mounted_tmpfs(data_dir / "spool", 3 * 1024 * 1024) as disk:
        (disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024))
        stack = Stack(data_dir)
        try:
            stack.start_redis()
            stack.start_analytics()
            stack.start_collector()
            assert stack.redis is not None
            server = stack.redis

            def fault(load: Load) -> None:
                server.send_signal(signal.SIGSTOP)
                wait_until(lambda: load.counts.statuses.get("503", 0) >= 5, timeout=60, what="503s from a full disk")
                server.send_signal(signal.SIGCONT)
                (disk / "filler").unlink()

            survive(stack, "spool disk full", fault, before=500, after=500)
        finally:
            stack.stop()
