"""The collector's ASGI application: open Redis and the projects at start, close them at stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from starlette.applications import Starlette

from collector.enqueue import Enqueuer
from collector.projects import ProjectRegistry
from collector.routes import State, routes
from collector.settings import CollectorSettings
from vigil.config import ConfigError, data_dir_from_env, load

log = logging.getLogger("vigil.collector")

BEACON_FILE = Path(__file__).resolve().parent.parent / "beacon-js" / "dist" / "vigil.js"


def redis_client(url: str) -> aioredis.Redis:
    """A client that fails fast when Redis is away, so a request answers 503 instead of hanging."""
    return aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=1.0, health_check_interval=10)


async def _watch_projects(registry: ProjectRegistry, every: float) -> None:
    """Pick up projects created or changed while the collector runs."""
    while True:
        await asyncio.sleep(every)
        try:
            if registry.reload():
                log.info("projects reloaded: %d", len(registry.projects))
        except ConfigError as e:
            log.error("keeping the projects already loaded: %s", e)


def create_app(settings: CollectorSettings) -> Starlette:
    if not settings.redis_url:
        raise ConfigError("no Redis configured: set VIGIL_REDIS_URL (vigil up sets it for its own redis-server)")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, State]]:
        registry = ProjectRegistry(settings.data_dir)
        client = redis_client(settings.redis_url)
        beacon = BEACON_FILE.read_bytes() if BEACON_FILE.exists() else None
        if beacon is None:
            log.warning("%s is missing: GET /beacon.js answers 404 until `make setup` builds it", BEACON_FILE)
        watcher = asyncio.create_task(_watch_projects(registry, settings.project_reload_seconds))
        try:
            async with Enqueuer(client) as enqueuer:
                yield {"vigil": State(settings, registry, client, enqueuer, beacon)}
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await client.aclose()

    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """uvicorn factory: settings from ``VIGIL_*`` and the data directory's ``vigil.toml``."""
    return create_app(load(CollectorSettings, "collector", data_dir_from_env()))
