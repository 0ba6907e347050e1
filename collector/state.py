"""What the collector's lifespan opens and every request reads."""

from __future__ import annotations

import dataclasses

import redis.asyncio as aioredis

from collector.backlog import Backlog
from collector.enqueue import Enqueuer
from collector.limits import Buckets, SpikeGuard
from collector.outcomes import Outcomes
from collector.scripts import Script
from collector.settings import CollectorSettings
from contracts.projects import ProjectRegistry


@dataclasses.dataclass
class Limits:
    """This process's share of the collector's rate limits (``collector/limits.py``)."""

    per_address: Buckets
    per_project: Buckets
    spikes: SpikeGuard

    @classmethod
    def from_settings(cls, s: CollectorSettings) -> Limits:
        share = max(1, s.workers)
        return cls(
            per_address=Buckets(s.address_requests_per_second / share, s.address_burst / share),
            per_project=Buckets(s.project_events_per_second / share, s.project_burst / share),
            spikes=SpikeGuard(s.spike_factor, s.spike_floor_per_minute / share),
        )


@dataclasses.dataclass
class State:
    settings: CollectorSettings
    registry: ProjectRegistry
    redis: aioredis.Redis | aioredis.RedisCluster
    enqueuer: Enqueuer
    scripts: dict[str, Script]
    backlog: Backlog
    outcomes: Outcomes
    limits: Limits
