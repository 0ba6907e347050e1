"""Running the checks: each on its own fixed grid of times, all in a bounded pool of worker threads.

A check's runs are due at start + k * interval, whatever the previous run took, so the schedule
does not drift. A check never overlaps itself: a run still going when the next one is due (a
failing target takes its whole timeout, which may equal the interval) makes that next run wait
for it and start as soon as it ends, late (``late`` counts them), so a slow target never halves
the rate; only slots missed entirely are skipped (``skipped``). Runs wait for one of
``concurrency`` workers; each is bounded by its own timeout inside libcurl or dnspython, so a
slow target holds one worker, never the others.
``replace`` swaps the check list while running (the shared list changed): only what changed is rescheduled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
from collections.abc import Awaitable, Callable

from contracts.probes import CheckResult
from server_probes import checks
from server_probes.checks.result import make_result, started
from server_probes.config import Check

log = logging.getLogger("vigil.probe.schedule")

# Beyond a check's own timeout, how long the scheduler waits for a worker before it gives up on the run.
BACKSTOP_S = 5.0


async def sleep_until(deadline: float, stop: asyncio.Event, clock: Callable[[], float] = time.monotonic) -> bool:
    """Wait until ``deadline`` (on ``clock``) or the stop flag; True when it was the deadline."""
    delay = deadline - clock()
    if delay <= 0:
        return not stop.is_set()
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return True
    return False


async def every(
    interval: float,
    stop: asyncio.Event,
    tick: Callable[[], Awaitable[None]],
    *,
    now: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``tick`` (now, unless ``now`` is false) and every ``interval`` seconds on a fixed grid until stopped."""
    next_at = clock() + (0 if now else interval)
    while await sleep_until(next_at, stop, clock):
        await tick()
        next_at += interval
        if next_at < clock():  # the tick overran: skip the slots it missed instead of bunching up
            next_at += math.ceil((clock() - next_at) / interval) * interval


class Scheduler:
    """Runs ``checks`` on schedule and hands every result to ``on_result`` (in the event loop's thread)."""

    def __init__(
        self,
        check_list: tuple[Check, ...],
        concurrency: int,
        on_result: Callable[[CheckResult], None],
        runner: Callable[[Check], CheckResult] = checks.run,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks = check_list
        self.on_result = on_result
        self.runner = runner
        self.clock = clock
        self.skipped = 0
        self.late = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._pool = concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="vigil-probe")
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._loops: dict[str, tuple[Check, asyncio.Task[None]]] = {}
        self._stop: asyncio.Event | None = None  # set while ``run`` schedules
        self._once = False

    async def run_once(self, check: Check) -> CheckResult:
        """One run of ``check`` in a worker; a bug in a check is a result too, never an exception."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            start = started()
            try:
                future = loop.run_in_executor(self._pool, self.runner, check)
                return await asyncio.wait_for(future, check.timeout + BACKSTOP_S)
            except TimeoutError:
                return make_result(check, _target(check), start, "abandoned", "the check outlived its timeout")
            except Exception as e:  # a bug here must not stop the other checks
                log.exception("check %s failed inside the agent", check.name)
                result = make_result(check, _target(check), start, "unknown", f"agent error: {type(e).__name__}: {e}")
                result.status = "unknown"
                return result

    async def _run_and_report(self, check: Check) -> None:
        self.on_result(await self.run_once(check))

    async def _loop(self, check: Check, stop: asyncio.Event, once: bool) -> None:
        next_at = self.clock()
        while await sleep_until(next_at, stop, self.clock):
            running = self._in_flight.get(check.name)
            if running is not None and not running.done():
                # Run as soon as the last run ends (it is bounded by its timeout), not an interval later.
                await asyncio.wait({running}, timeout=check.timeout + BACKSTOP_S)
                if stop.is_set():
                    break
                self.late += 1
            self._in_flight[check.name] = asyncio.create_task(self._run_and_report(check))
            if once:
                return
            next_at += check.interval
            if next_at < self.clock():
                missed = math.ceil((self.clock() - next_at) / check.interval)
                self.skipped += missed
                next_at += missed * check.interval

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Schedule every check until the stop flag (or once each, for ``once``), then finish the runs in flight."""
        self._stop, self._once = stop, once
        self.replace(self.checks)
        if not once:
            await stop.wait()
        self._stop = None
        await asyncio.gather(*(task for _check, task in self._loops.values()))
        await asyncio.gather(*self._in_flight.values())

    def replace(self, check_list: tuple[Check, ...]) -> None:
        """Schedule ``check_list`` from now on, without a restart.

        A check that did not change keeps its place on its grid; a changed one starts a new grid now;
        a removed one is no longer scheduled. A run in flight always finishes and reports, and a
        changed check's new grid skips its slots while the old run is still going (no overlap).
        """
        self.checks = check_list
        if self._stop is None:  # not running (yet, or any more): ``run`` schedules self.checks
            return
        wanted = {check.name: check for check in check_list}
        for name, (check, task) in list(self._loops.items()):
            if wanted.get(name) != check:
                task.cancel()
                del self._loops[name]
        for name, check in wanted.items():
            if name not in self._loops:
                self._loops[name] = (check, asyncio.create_task(self._loop(check, self._stop, self._once)))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _target(check: Check) -> str:
    return str(getattr(check, "url", None) or getattr(check, "target", None) or getattr(check, "query", ""))
