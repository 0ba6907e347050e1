"""Token buckets and spike protection, driven by an injected clock."""

from __future__ import annotations

import math

from collector.limits import Buckets, SpikeGuard


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate():
    clock = Clock()
    buckets = Buckets(rate=10, burst=20, clock=clock)
    assert [buckets.take("ip") for _ in range(20)] == [0.0] * 20
    assert buckets.take("ip") == 0.1  # one token comes back every 0.1 s
    clock.now = 0.5
    assert [buckets.take("ip") for _ in range(5)] == [0.0] * 5
    assert buckets.take("ip") > 0
    assert buckets.take("other") == 0.0  # keys do not share


def test_a_request_larger_than_the_burst_can_never_pass():
    assert Buckets(rate=10, burst=20, clock=Clock()).take("p", 21) == math.inf


def test_a_zero_rate_means_no_limit():
    buckets = Buckets(rate=0, burst=1, clock=Clock())
    assert all(buckets.take("x", 1000) == 0 for _ in range(100))


def test_spike_protection_waits_for_a_baseline_then_samples_down_to_it():
    clock = Clock(0.0)
    draws = iter([0.05, 0.5] * 10)
    guard = SpikeGuard(factor=10, floor=100, clock=clock, rng=lambda: next(draws))
    for minute in range(10):  # ten quiet minutes: 50 events a minute
        clock.now = minute * 60
        assert guard.admit(1, 50)
    clock.now = 10 * 60
    assert guard.admit(1, 90)  # below the floor: always kept
    # Far above: the minute's count (90 + 1000) is over max(100, 10 x baseline), so batches
    # are kept with probability allowed / count.
    assert guard.admit(1, 1000) is True  # draw 0.05 < allowed/count
    assert guard.admit(1, 1000) is False  # draw 0.5 is not
    assert guard.admit(2, 10_000) is True  # another project, still warming up


def test_spike_protection_can_be_off():
    assert SpikeGuard(factor=0, floor=0, clock=Clock()).admit(1, 10**9)
