"""The analytics process: the consumer thread plus the read API, sharing one DuckDB file.

Start order: open the database, start the consumer, serve the read API, write the run
file. Stop order (SIGTERM or Ctrl-C, handled by uvicorn): stop serving, let the consumer
finish and acknowledge the batch in hand, close the database, remove the run file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import duckdb
import redis
import uvicorn
from redis.cluster import ClusterNode
from redis.exceptions import RedisClusterException
from starlette.applications import Starlette

from analytics import alerts, incidents, lake, report, retention, rollups, triage, user_sql
from analytics.api import create_api
from analytics.consume import Consumer, Job
from analytics.enrich.symbolicate import SourceMapCache
from analytics.events import EventPipeline, Rows
from analytics.idle import IdleMemory
from analytics.issue_index import cache_entries
from analytics.notify import Delivery, Notifier, Smtp
from analytics.pipeline import processors
from analytics.project_settings import ProjectSettingsRegistry
from analytics.settings import AnalyticsSettings
from analytics.sourcemaps import replaced_maps, source_map_loader
from analytics.store import cursor, open_database
from analytics.workers import ProcessorPool, WorkerSetup
from contracts import runfiles
from contracts.projects import Project, ProjectRegistry, load_projects
from contracts.settings import ConfigError
from contracts.stream import LAYOUT_KEY, Streams, check_layout, cluster_nodes

log = logging.getLogger("vigil.analytics")

STOP_TIMEOUT_SECONDS = 30.0
ONE_MINUTE = timedelta(minutes=1)
#: How often the consumer looks whether the service has been idle long enough to give memory back.
IDLE_CHECK_SECONDS = 5.0
#: How often the DuckLake's small files are merged and its old snapshots expired (analytics/lake.py).
LAKE_MAINTENANCE_SECONDS = 600.0


def _consume(consumer: Consumer, crashed: threading.Event) -> None:
    try:
        consumer.run()
    except Exception:
        # An unexpected failure: stop the whole process (exit status 1) so its supervisor restarts it fresh.
        log.exception("consumer crashed")
        crashed.set()
        os.kill(os.getpid(), signal.SIGTERM)


def redis_client(url: str) -> redis.Redis | redis.RedisCluster:
    """The client of one Redis, or of a Redis Cluster for a ``redis+cluster://`` URL (its seed nodes)."""
    options: dict[str, Any] = {"socket_timeout": 10.0, "socket_connect_timeout": 2.0}
    nodes = cluster_nodes(url)
    if nodes is None:
        return redis.Redis.from_url(url, **options)
    seeds = [ClusterNode(host, port) for host, port in nodes]  # type: ignore[no-untyped-call]
    return redis.RedisCluster(startup_nodes=seeds, **options)


def delivery(settings: AnalyticsSettings) -> Delivery:
    """How the notifier groups, retries and sends, from the settings."""
    return Delivery(
        group_wait=timedelta(seconds=settings.alert_group_wait_seconds),
        group_interval=timedelta(seconds=settings.alert_group_interval_seconds),
        retry=timedelta(seconds=settings.alert_retry_seconds),
        give_up=timedelta(hours=settings.alert_give_up_hours),
        dashboard_url=settings.dashboard_url,
        smtp=Smtp(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_sender,
            ca_file=settings.smtp_ca_file,
            timeout=settings.smtp_timeout_seconds,
        ),
    )


def serve(settings: AnalyticsSettings) -> None:
    """Run until SIGTERM/SIGINT."""
    if not settings.redis_url:
        raise ConfigError("no Redis configured: set VIGIL_REDIS_URL (vigil up sets it for its own redis-server)")
    try:
        con = open_database(settings.location, settings.resources)
    except duckdb.Error as e:  # a catalog that does not answer, a file another process holds, …
        raise ConfigError(f"cannot open the store {settings.location}: {str(e).splitlines()[0][:300]}") from None
    user_sql.lock_down(con, settings.location)
    client = redis_client(settings.redis_url)
    streams = Streams.of(settings.stream_shards, settings.redis_url)
    with contextlib.suppress(redis.RedisError, RedisClusterException, OSError):  # Redis away: the consumer waits
        client.set(LAYOUT_KEY, streams.layout, nx=True)
        check_layout(streams, client.get(LAYOUT_KEY))
    project_settings = ProjectSettingsRegistry(settings.data_dir)
    load_map = source_map_loader(con)
    maps = SourceMapCache(load_map, max_bytes=settings.source_map_cache_bytes)
    events = EventPipeline(project_settings.get, maps)
    pool = None
    if settings.processors:
        setup = WorkerSetup(settings.data_dir, settings.source_map_cache_bytes, settings.idle_release_seconds)
        pool = ProcessorPool(
            settings.processors,
            setup,
            load_map=load_map,
            inline=lambda: consumer.processors,
            timeout=settings.processor_timeout_seconds,
        )

    def forget_maps(rows: Rows) -> None:
        keys = replaced_maps(rows)
        for key in keys:
            maps.invalidate(*key)
        if pool is not None:
            pool.forget(keys)

    projects = ProjectRegistry(settings.data_dir)
    idle = IdleMemory(settings.idle_release_seconds, settings.duckdb_memory_bytes or None) if (
        settings.idle_release_seconds
    ) else None  # fmt: skip
    idle_check = min(IDLE_CHECK_SECONDS, settings.idle_release_seconds)

    def correlate(con: duckdb.DuckDBPyConnection, now: datetime) -> object:
        try:
            projects.reload()  # the services as declared now; a broken file keeps the last good ones
        except ConfigError as e:
            log.error("correlation: %s (the services read before stay in force)", e)
        window = timedelta(minutes=settings.correlation_window_minutes)
        return incidents.evaluate(con, projects.projects, now, settings.correlation_min_history_minutes, window)

    def alert(con: duckdb.DuckDBPyConnection, now: datetime) -> object:
        with contextlib.suppress(ConfigError):  # reported by the correlation job; the rules read before stay
            projects.reload()
        return alerts.evaluate(con, projects.projects, now)

    # The jobs and the notifier run on one writer only ([analytics] jobs): on several, each would alert and report.
    one_writer_jobs = [
        # A minute is folded once the next one has begun (events arrive a little late).
        Job("compact rollups", settings.compact_seconds, lambda con, now: rollups.compact(con, now - ONE_MINUTE)),
        Job("agents lost", 5.0, lambda con, now: consumer.lost_agents(con, now)),
        Job("ignored issues due", 30.0, triage.wake_ignored),
        Job("correlation", settings.correlation_seconds, correlate),
        Job("alerts", settings.alerts_seconds, alert),
        Job(
            "daily reports",
            60.0,
            lambda con, now: report.make_due(con, projects.projects, now, settings.dashboard_url),
        ),
        Job(
            "retention",
            settings.retention_check_seconds,
            lambda con, now: retention.enforce(con, settings.retention_policy, now),
        ),
    ]
    if settings.store == "ducklake":
        one_writer_jobs.append(Job("lake maintenance", LAKE_MAINTENANCE_SECONDS, lambda con, now: lake.maintain(con)))
    consumer = Consumer(
        client,
        con,
        name=settings.consumer_name,
        batch_entries=settings.batch_entries,
        block_ms=settings.block_ms,
        claim_idle_ms=settings.claim_idle_ms,
        processors=processors(events),
        after_commit=[forget_maps, lambda rows: project_settings.reload()],
        jobs=[
            *(one_writer_jobs if settings.jobs else []),
            *([] if idle is None else [Job("give memory back", idle_check, idle.job(lambda: consumer.committed_rows))]),
        ],
        pool=pool,
        new_issues_per_minute=settings.new_issues_per_minute,
        issue_cache_entries=cache_entries(settings.issue_cache_bytes),
        streams=streams,
    )
    token = secrets.token_urlsafe(32)
    crashed = threading.Event()
    # The notifier reads vigil.toml on its own (its channels as they are now), from its own thread.
    channels = ProjectRegistry(settings.data_dir)

    def current_projects() -> dict[int, Project]:
        with contextlib.suppress(ConfigError):
            channels.reload()
        return channels.projects

    notifier = Notifier(cursor(con), current_projects, delivery(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        thread = threading.Thread(target=_consume, args=(consumer, crashed), name="vigil-consumer", daemon=True)
        thread.start()
        if settings.jobs:
            notifier.start()
        host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104
        url = f"http://{host}:{settings.port}"
        runfiles.write(settings.data_dir, "analytics", {"url": url, "token": token})
        log.info("analytics: read API on %s, store %s", url, settings.location)
        try:
            yield
        finally:
            consumer.stopping.set()
            notifier.stop(STOP_TIMEOUT_SECONDS)
            thread.join(STOP_TIMEOUT_SECONDS)
            runfiles.remove(settings.data_dir, "analytics")

    app = create_api(
        con,
        consumer,
        token,
        lifespan=lifespan,
        sql_limits=user_sql.Limits.of(settings),
        projects=lambda: load_projects(settings.data_dir),
        dashboard_url=settings.dashboard_url,
        idle=idle,
    )
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
    try:
        server.run()
    finally:
        if pool is not None:
            pool.close()
        client.close()
        con.close()
    if crashed.is_set():
        sys.exit(1)
