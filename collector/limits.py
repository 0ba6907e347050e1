"""Rate limits and spike protection, per collector process.

- Per client IP, in requests: a token bucket checked before the body is read, so a flood
  from one address costs almost nothing to refuse.
- Per project, in events: a token bucket checked once the batch is decoded.
- Spike protection, per project: events per minute are compared with the project's own
  recent baseline (an exponentially weighted average over about an hour). A project
  sending far above it (``spike_factor`` times, and above ``spike_floor`` a minute) has
  its batches sampled down to that level instead of swamping the others; what is dropped
  is counted as an outcome.

The limits are per process; settings give them for the whole collector and each process
takes its share (``workers``), so no Redis round trip is spent per request.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]
#: Buckets kept per kind; the least recently used are forgotten (a forgotten bucket is full again).
MAX_BUCKETS = 100_000


@dataclasses.dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # most tokens held
    tokens: float
    stamp: float

    def take(self, n: float, now: float) -> float:
        """Take ``n`` tokens; returns 0 when allowed, else the seconds until they would be there."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        if n > self.burst:
            return math.inf
        return (n - self.tokens) / self.rate


class Buckets:
    """Token buckets by key, bounded in number."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: OrderedDict[object, TokenBucket] = OrderedDict()

    def take(self, key: object, n: float = 1.0) -> float:
        """0 when allowed; else seconds to wait (``math.inf`` if ``n`` can never fit)."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take(n, now)


@dataclasses.dataclass
class _Rate:
    minute: int = -1
    count: float = 0.0
    baseline: float = 0.0  # events a minute, exponentially weighted
    minutes_seen: int = 0


class SpikeGuard:
    """Samples a project down when it sends far above its own recent baseline."""

    # Weight of each finished minute in the baseline: about an hour of memory.
    ALPHA = 1 / 60
    # Minutes of history before the baseline is trusted.
    WARMUP_MINUTES = 5

    def __init__(
        self, factor: float, floor: float, clock: Clock = time.time, rng: Callable[[], float] = random.random
    ) -> None:
        self.factor, self.floor, self.clock, self.rng = factor, floor, clock, rng
        self._rates: dict[int, _Rate] = {}

    def admit(self, project_id: int, events: int) -> bool:
        """Whether to keep a batch of ``events`` from ``project_id``; counts it either way."""
        if self.factor <= 0:
            return True
        minute = int(self.clock() // 60)
        rate = self._rates.setdefault(project_id, _Rate(minute=minute))
        if minute != rate.minute:
            # Fold the finished minute (and any silent ones since) into the baseline.
            for _ in range(min(minute - rate.minute, 120)):
                rate.baseline += self.ALPHA * (rate.count - rate.baseline)
                rate.count = 0.0
                rate.minutes_seen += 1
            rate.minute = minute
        rate.count += events
        if rate.minutes_seen < self.WARMUP_MINUTES:
            return True
        allowed = max(self.floor, self.factor * rate.baseline)
        if rate.count <= allowed:
            return True
        return self.rng() < allowed / rate.count
