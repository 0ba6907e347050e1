"""The schedule: concurrent, bounded, no drift, no overlap, a slow check never delays the others."""

from __future__ import annotations

import asyncio
import threading
import time

from contracts.probes import CheckResult
from server_probes.checks.result import make_result, started
from server_probes.config import Check, TcpCheck
from server_probes.schedule import Scheduler, every


def test_a_slow_check_does_not_delay_the_others():
    release = threading.Event()
    results: list[CheckResult] = []

    def runner(check: Check) -> CheckResult:
        start = started()
        if check.name == "slow":
            release.wait(5)
        return make_result(check, "t", start, "", "")

    async def main() -> Scheduler:
        stop = asyncio.Event()
        slow = TcpCheck(name="slow", target="a:1", interval=0.05, timeout=0.05)
        fast = TcpCheck(name="fast", target="b:1", interval=0.05, timeout=0.05)

        def on_result(result: CheckResult) -> None:
            results.append(result)
            if sum(r.check == "fast" for r in results) == 5:
                release.set()
                stop.set()

        scheduler = Scheduler((slow, fast), 2, on_result, runner=runner)
        task = asyncio.create_task(scheduler.run(stop))
        await asyncio.wait_for(task, 10)
        scheduler.close()
        return scheduler

    asyncio.run(main())
    assert [r.check for r in results].count("fast") == 5
    assert [r.check for r in results].count("slow") == 1  # it never overlapped itself


def test_a_run_slower_than_its_interval_is_followed_at_once_not_skipped():
    """A failing target takes its whole timeout, which may be the interval: the next run follows it, late."""
    running = threading.Semaphore(1)  # more than one run of the check at a time would block here
    overlaps: list[str] = []
    results: list[CheckResult] = []

    def runner(check: Check) -> CheckResult:
        start = started()
        if not running.acquire(blocking=False):
            overlaps.append(check.name)
        time.sleep(0.06)  # longer than the 0.05 s interval, as a target that never answers
        running.release()
        return make_result(check, "t", start, "tcp.timed_out", "")

    async def main() -> Scheduler:
        stop = asyncio.Event()

        def on_result(result: CheckResult) -> None:
            results.append(result)
            if len(results) == 5:
                stop.set()

        check = TcpCheck(name="c", target="a:1", interval=0.05, timeout=0.05)
        scheduler = Scheduler((check,), 2, on_result, runner=runner)
        await asyncio.wait_for(scheduler.run(stop), 10)
        scheduler.close()
        return scheduler

    scheduler = asyncio.run(main())
    assert overlaps == []
    # Every run after the first found the one before it still going: each followed it, none was dropped for it.
    assert scheduler.late >= 4


def test_ticks_stay_on_the_grid_without_drift():
    ticks: list[float] = []

    async def main() -> None:
        stop = asyncio.Event()
        origin = time.monotonic()

        async def tick() -> None:
            ticks.append(time.monotonic() - origin)
            await asyncio.sleep(0.03)  # work inside the tick must not push the next one later
            if len(ticks) == 5:
                stop.set()

        await asyncio.wait_for(every(0.1, stop, tick), 10)

    asyncio.run(main())
    # Each tick is due at k * 0.1 s: lateness does not accumulate over the ticks.
    lateness = [t - 0.1 * k for k, t in enumerate(ticks)]
    assert lateness[-1] - lateness[0] < 0.1


def test_a_check_that_raises_is_an_unknown_result():
    def runner(check: Check) -> CheckResult:
        raise RuntimeError("bug")

    async def main() -> CheckResult:
        scheduler = Scheduler((), 1, lambda r: None, runner=runner)
        try:
            return await scheduler.run_once(TcpCheck(name="x", target="a:1"))
        finally:
            scheduler.close()

    result = asyncio.run(main())
    assert (result.status, result.error) == ("unknown", "unknown")


def test_new_checks_take_effect_in_place_and_unchanged_ones_keep_their_grid():
    results: list[CheckResult] = []
    a = TcpCheck(name="a", target="a:1", interval=3600, timeout=1)
    b = TcpCheck(name="b", target="b:1", interval=3600, timeout=1)
    a_changed = TcpCheck(name="a", target="a:2", interval=3600, timeout=1)

    def runner(check: Check) -> CheckResult:
        return make_result(check, check.target if isinstance(check, TcpCheck) else "", started(), "", "")

    async def results_reach(n: int) -> None:
        for _ in range(1000):  # bounded: 10 s
            if len(results) >= n:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{len(results)} results, expected {n}")

    async def main() -> None:
        stop = asyncio.Event()
        scheduler = Scheduler((a,), 2, results.append, runner=runner)
        task = asyncio.create_task(scheduler.run(stop))
        await results_reach(1)
        scheduler.replace((a, b))  # a keeps its grid (next run in an hour); b runs now
        await results_reach(2)
        scheduler.replace((a_changed,))  # a changed: a new grid, from now; b is gone
        await results_reach(3)
        stop.set()
        await asyncio.wait_for(task, 10)
        scheduler.close()

    asyncio.run(main())
    assert [(r.check, r.target) for r in results] == [("a", "a:1"), ("b", "b:1"), ("a", "a:2")]
