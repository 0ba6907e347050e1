"""The collector's own metrics, in the Prometheus text format at ``GET /metrics``.

With several worker processes (``workers`` > 1) the server points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start, and any
worker answers for all of them.
"""

from __future__ import annotations

import collections
import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("vigil_collector_requests", "Requests by route and status.", ["route", "status"])
OUTCOMES = Counter(
    "vigil_collector_events",
    "Events (or requests, unit=request) by outcome: accepted, or refused and why.",
    ["project", "outcome", "reason", "unit"],
)
BYTES = Counter("vigil_collector_received_bytes", "Request body bytes received, as sent.", ["route"])
SPOOLED = Gauge(
    "vigil_collector_spooled_entries", "Entries in the local spool not yet in Redis.", multiprocess_mode="livesum"
)
BACKLOG = Gauge(
    "vigil_collector_stream_backlog", "Entries waiting in the stream for analytics.", multiprocess_mode="max"
)
REDIS_SECONDS = Histogram(
    "vigil_collector_redis_seconds",
    "Time of one pipelined write to Redis.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


_children: dict[tuple[Counter, tuple[str, ...]], Any] = {}
_pending: collections.Counter[tuple[Counter, tuple[str, ...]]] = collections.Counter()


def add(metric: Counter, labels: tuple[str, ...], amount: int = 1) -> None:
    """Count ``amount`` on ``metric`` with ``labels``; the counter itself has it after the next ``fold``.

    A Prometheus increment takes a lock and costs several times a dict update; requests
    only do the dict update (all on the event loop's thread).
    """
    _pending[(metric, labels)] += amount


def fold() -> None:
    """Add what ``add`` gathered to the Prometheus counters: every second, and before each scrape."""
    pending = dict(_pending)
    _pending.clear()
    for key, amount in pending.items():
        found = _children.get(key)
        if found is None:
            found = _children[key] = key[0].labels(*key[1])
        found.inc(amount)


async def metrics(request: Request) -> Response:
    """``GET /metrics``."""
    state = request.state.vigil
    fold()
    SPOOLED.set(state.enqueuer.spooled)
    BACKLOG.set(state.backlog.length)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
