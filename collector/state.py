"""What the collector's lifespan opens and every request reads."""

from __future__ import annotations

import dataclasses

import redis.asyncio as aioredis

from collector.backlog import Backlog
from collector.enqueue import Enqueuer
from collector.projects import ProjectRegistry
from collector.scripts import Script
from collector.settings import CollectorSettings


@dataclasses.dataclass
class State:
    settings: CollectorSettings
    registry: ProjectRegistry
    redis: aioredis.Redis
    enqueuer: Enqueuer
    scripts: dict[str, Script]
    backlog: Backlog
