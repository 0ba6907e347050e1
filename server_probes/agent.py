"""The probe agent: checks, host metrics and heartbeats, batched into the spool and sent to the collector.

One event loop runs a few small loops side by side, each on a fixed grid:

- the scheduler (``schedule.py``) runs the checks in worker threads;
- the self-check runs a known-good target; while it fails, a failed check is ``unknown``, not
  ``down``: the agent's own network is the likelier cause;
- host metrics and heartbeats are sampled;
- every ``push_interval`` the buffered records become one batch in the spool (``spool.py``);
- the sender (``push.py``) delivers the spool to the collector;
- with ``checks_from_collector``, the shared check list (``shared.py``) is fetched at start and again
  every ``checks_refresh_interval``; a changed, valid list is rescheduled in place, an invalid one is
  logged and the current checks keep running.

SIGTERM or SIGINT sets the exit flag. Shutdown is ordered: stop scheduling, let the runs in flight
finish (each is bounded by its timeout), spool what is buffered, try to deliver it for a few seconds,
close. What is not delivered stays in the spool for the next start. ``once`` (burst mode) runs every
check a single time, then shuts down the same way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import msgspec

from contracts.probes import AgentInfo, CheckResult, Heartbeat, ProbeBatch, Record
from contracts.settings import ConfigError
from contracts.spool import SpoolError
from server_probes.config import Check, HttpCheck, ProbeConfig
from server_probes.host import HostSampler
from server_probes.metrics import ProbeMetrics
from server_probes.push import Sender
from server_probes.schedule import Scheduler, every
from server_probes.shared import FetchFailed, SharedChecks
from server_probes.spool import Spool

log = logging.getLogger("vigil.probe")

VERSION = "vigil-probe/1"
SELF_CHECK = "vigil-self-check"
SHUTDOWN_DRAIN_S = 5.0
#: Batches of records kept in memory while the spool's disk fails.
BUFFER_MAX_BATCHES = 20


class Agent:
    def __init__(
        self,
        config: ProbeConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: dict[str, str] | None = None,  # for ${NAME} in shared checks; None: os.environ
    ) -> None:
        self.config = config
        self.checks: tuple[Check, ...] = config.checks  # the shared list replaces them once fetched
        self.environ = environ
        agent = config.agent
        self.info = AgentInfo(
            region=agent.region, host=agent.host or socket.gethostname(), agent_id=uuid.uuid4().hex, version=VERSION
        )
        spool_dir = Path(agent.spool_dir)
        if not spool_dir.is_absolute():
            spool_dir = config.path.parent / spool_dir
        self.spool = Spool(spool_dir, agent.spool_max_bytes)
        self.metrics = ProbeMetrics(agent.region)
        self.transport = transport
        self.stop = asyncio.Event()
        self.started_at = int(time.time() * 1000)
        self.self_check_ok: bool | None = None
        self.produced_ids: list[str] = []  # every record id handed to the spool (tests compare with what arrived)
        self.sender: Sender | None = None
        self.metrics_port: int | None = None
        self._buffer: list[Record] = []
        self._host = HostSampler()
        self._self_check = (
            HttpCheck(name=SELF_CHECK, url=agent.self_check, timeout=min(10.0, agent.self_check_interval))
            if agent.self_check
            else None
        )

    # -- records -------------------------------------------------------------------------------------------

    def on_result(self, result: CheckResult) -> None:
        if result.status == "down" and self.self_check_ok is False:
            result.status = "unknown"
            result.reason = f"self-check failing; {result.reason}"[:2048]
        self.metrics.observe(result)
        self._add(result)

    def _add(self, record: Record) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.config.agent.batch_max:
            self.flush()

    def flush(self) -> None:
        """Turn the buffered records into one batch in the spool and wake the sender."""
        while self._buffer:
            records, self._buffer = (
                self._buffer[: self.config.agent.batch_max],
                self._buffer[self.config.agent.batch_max :],
            )
            batch = ProbeBatch(uuid.uuid4().hex, int(time.time() * 1000), self.info, records)
            try:
                self.spool.put(msgspec.json.encode(batch), len(records))
            except SpoolError as e:
                # The disk failed: keep the records buffered (the oldest go first past a bound) and try again later.
                self._buffer = [*records, *self._buffer][-BUFFER_MAX_BATCHES * self.config.agent.batch_max :]
                log.error("records stay in memory, the spool failed: %s", e)
                break
            self.produced_ids.extend(r.id for r in records)
        self.metrics.spooled.set(len(self.spool))
        self.metrics.dropped.set(self.spool.dropped_records)
        if self.sender is not None:
            self.metrics.sent.set(self.sender.sent_records)
            self.sender.wake.set()

    def heartbeat(self) -> None:
        self._add(
            Heartbeat(
                id=uuid.uuid4().hex,
                ts=int(time.time() * 1000),
                started_at=self.started_at,
                interval_s=self.config.agent.heartbeat_interval,
                checks=len(self.checks),
                spooled_batches=len(self.spool),
                dropped_records=self.spool.dropped_records,
                self_check_ok=self.self_check_ok,
            )
        )

    async def run_self_check(self, scheduler: Scheduler) -> None:
        if self._self_check is None:
            return
        result = await scheduler.run_once(self._self_check)
        if result.status != "up" and self.self_check_ok is not False:
            log.warning("self-check failed (%s %s): failed checks count as unknown", result.error, result.reason)
        self.self_check_ok = result.status == "up"
        self.metrics.self_check.set(1 if self.self_check_ok else 0)

    async def sample_host(self) -> None:
        metrics = await asyncio.to_thread(self._host.sample)
        if metrics is not None:
            self._add(metrics)

    # -- the loop ------------------------------------------------------------------------------------------

    async def refresh_checks(self, shared: SharedChecks, scheduler: Scheduler) -> None:
        """Fetch the shared list again; reschedule when it changed and is valid, else keep the current checks."""
        try:
            checks = await shared.fetch()
        except (FetchFailed, ConfigError) as e:
            log.warning("keeping the %d current checks: %s", len(self.checks), e)
            return
        if checks == self.checks:
            return
        old = {c.name: c for c in self.checks}
        new = {c.name: c for c in checks}
        added, removed = sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())
        changed = sorted(name for name in new.keys() & old.keys() if new[name] != old[name])
        log.info("the shared checks changed: added %s, removed %s, changed %s", added, removed, changed)
        self.checks = checks
        scheduler.replace(checks)

    # -- the loop ------------------------------------------------------------------------------------------

    async def run(self, *, once: bool = False) -> None:
        agent = self.config.agent
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop.set)
        async with httpx.AsyncClient(timeout=10, transport=self.transport) as client:
            shared = None
            first: tuple[Check, ...] | None = self.checks
            if agent.checks_from_collector:
                shared = SharedChecks(agent, self.spool.directory, client, self.environ)
                first = await shared.first()  # an invalid list raises ConfigError: vigil probe exits with 2
            if agent.metrics_port:
                self.metrics_port = self.metrics.serve(agent.metrics_host, agent.metrics_port)
            scheduler = Scheduler((), agent.concurrency, self.on_result)
            if agent.collector:
                self.sender = Sender(agent.collector, agent.project_id, agent.secret_token, self.spool, client)
            background = []
            try:
                await self.run_self_check(scheduler)  # first, so the first failures are judged with it

                async def flush() -> None:
                    self.flush()

                async def beat() -> None:
                    self.heartbeat()

                loops = [
                    every(agent.push_interval, self.stop, flush),
                    every(agent.heartbeat_interval, self.stop, beat),
                    every(agent.self_check_interval, self.stop, lambda: self.run_self_check(scheduler), now=False),
                ]
                if agent.host_metrics_interval:
                    loops.append(every(agent.host_metrics_interval, self.stop, self.sample_host))
                if self.sender is not None:
                    loops.append(self.sender.run(self.stop))
                background = [asyncio.create_task(c) for c in loops]
                if shared is not None:
                    # Heartbeats and delivery go on while the agent waits for its first check list.
                    self.checks = first if first is not None else await shared.retry(self.stop)
                    if not once:
                        refresh = every(
                            agent.checks_refresh_interval,
                            self.stop,
                            lambda: self.refresh_checks(shared, scheduler),
                            now=False,
                        )
                        background.append(asyncio.create_task(refresh))
                scheduler.replace(self.checks)
                log.info("probing %d checks from region %s", len(self.checks), agent.region)
                await scheduler.run(self.stop, once=once)  # returns after the stop flag, runs in flight finished
            finally:
                self.stop.set()
                await asyncio.gather(*background, return_exceptions=True)
                scheduler.close()
                self.flush()
                if self.sender is not None:
                    await self.sender.drain(time.monotonic() + SHUTDOWN_DRAIN_S)
                    self.metrics.sent.set(self.sender.sent_records)
                self.metrics.close()
        log.info("stopped; %d batches left in the spool", len(self.spool))
        self.spool.close()


def run_agent(config: ProbeConfig, *, once: bool = False) -> None:
    """``vigil probe``: run until SIGTERM/SIGINT (or one round with ``once``)."""
    asyncio.run(Agent(config).run(once=once))
