"""``vigil up`` as a user runs it: every part starts, a dead child comes back, SIGTERM leaves nothing."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from contracts.projects import load_projects
from tests.collector.test_routes import batch
from tests.helpers import env_without_vigil, free_port, stop_process, wait_until
from vigil import redis_server
from vigil.up import demo_alerts


def ports() -> dict[str, int]:
    return {name: free_port() for name in ("collector", "analytics", "dashboard")}


def start_up(data_dir: Path, p: dict[str, int], log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "vigil", "up", "--data-dir", str(data_dir)]
    for name, port in p.items():
        argv += [f"--{name}-port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env_without_vigil())


@pytest.fixture
def up(data_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, int], Path]]:
    p = ports()
    log = tmp_path / "up.log"
    process = start_up(data_dir, p, log)
    try:
        wait_until(lambda: "Vigil is up" in log.read_text() or process.poll() is not None, timeout=60, what="vigil up")
        assert process.poll() is None, log.read_text()
        yield process, p, log
    finally:
        stop_process(process, timeout=30)


def test_up_runs_every_part_and_sigterm_stops_them_all(up, data_dir, http):
    process, p, log = up
    assert http.get(f"http://127.0.0.1:{p['collector']}/readyz").json() == {"status": "ok"}
    assert http.get(f"http://127.0.0.1:{p['analytics']}/healthz").json()["status"] == "ok"
    assert http.get(f"http://127.0.0.1:{p['dashboard']}/healthz").json() == {"status": "ok"}
    assert http.get(f"http://127.0.0.1:{p['dashboard']}/").status_code == 200
    assert f"collector   http://127.0.0.1:{p['collector']}" in log.read_text()
    assert (data_dir / "redis" / "appendonly.aof").exists()
    with redis.Redis.from_url(redis_server.url(redis_server.socket_path(data_dir))) as client:
        # Above the collectors' byte bound (256 MB by default): Redis never has to refuse a write.
        assert client.config_get("maxmemory") == {"maxmemory": str(512_000_000)}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}

    (demo,) = load_projects(data_dir).values()
    response = http.post(
        f"http://127.0.0.1:{p['collector']}/api/{demo.id}/events", params={"key": demo.public_key}, json=batch()
    )
    assert response.status_code == 202

    def stored() -> bool:
        argv = [sys.executable, "-m", "vigil", "sql", "SELECT message FROM errors", "--format", "csv"]
        done = subprocess.run(
            [*argv, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=30, env=env_without_vigil()
        )
        return done.stdout == "message\nboom\n"

    wait_until(stored, timeout=15, what="the event to be stored", interval=0.3)

    children = psutil.Process(process.pid).children(recursive=True)
    roles = sorted(role(c.cmdline()) for c in children)
    assert roles == [
        "analytics", "collector", "dashboard", "local", "processor", "processor", "redis-server", "resource-tracker"
    ]  # fmt: skip
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []


def test_a_child_that_dies_is_restarted(up, http):
    process, p, log = up
    collector_url = f"http://127.0.0.1:{p['collector']}/healthz"
    (first,) = [c for c in psutil.Process(process.pid).children() if "collector" in c.cmdline()]
    first.kill()
    first.wait(10)

    def restarted() -> bool:
        others = [
            c for c in psutil.Process(process.pid).children() if "collector" in c.cmdline() and c.pid != first.pid
        ]
        try:
            return bool(others) and httpx.get(collector_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(restarted, timeout=20, what="the collector to come back", interval=0.2)
    assert "collector exited with status -9; restarting" in log.read_text()


def test_a_taken_port_is_a_one_line_error(data_dir, tmp_path):
    p = ports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", p["dashboard"]))
        taken.listen()
        process = start_up(data_dir, p, tmp_path / "up.log")
        code = process.wait(30)
    output = (tmp_path / "up.log").read_text()
    assert code == 2
    port = p["dashboard"]
    assert (
        output
        == f"vigil: error: port {port} for the dashboard is already in use; choose another with --dashboard-port\n"
    )


def test_up_with_an_external_redis_starts_no_redis_server(data_dir, tmp_path, redis_url, http):
    p = ports()
    argv = [sys.executable, "-m", "vigil", "up", "--data-dir", str(data_dir), "--redis-url", redis_url]
    for name, port in p.items():
        argv += [f"--{name}-port", str(port)]
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env_without_vigil())
    try:
        wait_until(lambda: "Vigil is up" in log.read_text() or process.poll() is not None, timeout=60, what="vigil up")
        children = psutil.Process(process.pid).children()
        assert not any("redis-server" in " ".join(c.cmdline()) for c in children)
        assert f"redis       {redis_url}\n" in log.read_text()
        assert http.get(f"http://127.0.0.1:{p['collector']}/readyz").status_code == 200
    finally:
        stop_process(process, timeout=30)


def test_a_second_up_on_the_same_data_directory_is_refused(up, data_dir, tmp_path):
    process, _, _ = up
    second = start_up(data_dir, ports(), tmp_path / "second.log")
    assert second.wait(30) == 2
    holder = f"{data_dir} is in use by another vigil up (pid {process.pid})"
    assert (tmp_path / "second.log").read_text() == f"vigil: error: {holder}; stop it or use another --data-dir\n"
    assert process.poll() is None


def role(cmdline: list[str]) -> str:
    """What a process started by ``vigil up`` is: a part, the probe agent, or a helper of one."""
    command = " ".join(cmdline)
    if "multiprocessing.spawn" in command:
        return "processor"  # the analytics service's processor workers
    if "multiprocessing.resource_tracker" in command:
        return "resource-tracker"  # started by Python's multiprocessing for the workers
    return cmdline[-1] if "serve" in cmdline or "probe" in cmdline else "redis-server"


def test_the_demo_keeps_an_smtp_server_already_configured(monkeypatch):
    for name in ("VIGIL_ANALYTICS_SMTP_HOST", "VIGIL_ANALYTICS_SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert demo_alerts(8474)["VIGIL_ANALYTICS_SMTP_HOST"] == "127.0.0.1"  # the demo's own mailbox
    kept = demo_alerts(8474, smtp_configured=True)
    assert not any(name.startswith("VIGIL_ANALYTICS_SMTP_") for name in kept)
    assert kept["VIGIL_ANALYTICS_ALERT_GROUP_WAIT_SECONDS"] == "5"


def test_the_supervisor_loads_neither_the_database_engine_nor_a_password_hash():
    """``vigil up`` only starts and watches the parts: importing it must not load DuckDB, pyarrow or symbolic (tens of
    MB each, in a process that never uses them), nor hash a password at import (64 MiB for a moment)."""
    probe = (
        "import sys, vigil.cli, vigil.cli_common, vigil.up, dashboard.users\n"
        "vigil.cli_common.friendly(lambda: None)()\n"  # what wraps every command, `vigil up` and `vigil probe` too
        "print(sorted({'duckdb', 'pyarrow', 'symbolic', 'dash', 'pkg_resources'} & set(sys.modules)))\n"
        "print(dashboard.users._dummy.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True,
                          env=env_without_vigil())  # fmt: skip
    assert done.stdout.splitlines() == ["[]", "0"]
