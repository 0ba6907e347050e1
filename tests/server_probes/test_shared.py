"""The shared check list: fetched from the collector, validated, cached, refreshed and rescheduled in place."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from contracts.probes import CheckResult, ProbeBatch
from contracts.projects import Project
from contracts.settings import ConfigError
from server_probes import push, shared
from server_probes.agent import Agent
from server_probes.config import AgentConfig, ProbeConfig, load_config
from server_probes.shared import FetchFailed, SharedChecks
from server_probes.spool import Spool
from tests.helpers import Service, env_without_vigil, free_port, wait_until
from tests.server_probes.receiver import TOKEN, Receiver
from tests.server_probes.running import Running

ENV = {"TOKEN": TOKEN}


def agent_file(collector: str, project_id: int = 7) -> str:
    return f"""
[agent]
region = "eu-west"
collector = "{collector}"
project_id = {project_id}
secret_token = "${{TOKEN}}"
spool_dir = "spool"
push_interval = 0.1
heartbeat_interval = 60
host_metrics_interval = 0
checks_from_collector = true
checks_refresh_interval = 0.1
"""


def http_check(name: str, port: int | str, interval: float = 0.1) -> str:
    return f'[[checks]]\nname = "{name}"\ntype = "http"\nurl = "http://127.0.0.1:{port}/ok"\n' + (
        f"interval = {interval}\ntimeout = {interval}\n"
    )


def tcp_check(name: str, interval: float = 0.1) -> str:
    return f'[[checks]]\nname = "{name}"\ntype = "tcp"\ntarget = "127.0.0.1:{free_port()}"\n' + (
        f"interval = {interval}\ntimeout = {interval}\n"
    )


def names(agent: Agent) -> list[str]:
    return [c.name for c in agent.checks]


def fetch(receiver: Receiver, tmp_path: Path, token: str = TOKEN) -> tuple[object, ...]:
    config = load_config_text(agent_file(receiver.url), tmp_path)

    async def main() -> tuple[object, ...]:
        async with httpx.AsyncClient() as client:
            agent = msgspec.structs.replace(config.agent, secret_token=token)
            return await SharedChecks(agent, tmp_path, client, ENV).fetch()

    return asyncio.run(main())


def load_config_text(text: str, directory: Path, environ: dict[str, str] = ENV) -> ProbeConfig:
    path = directory / "agent.toml"
    path.write_text(text)
    return load_config(path, environ=environ)


def spooled_check_names(spool_dir: Path) -> list[str]:
    outbox = Spool(spool_dir, 1_000_000)
    batches = [msgspec.json.decode(r.data, type=ProbeBatch) for r in outbox.queue.oldest(1000)]
    outbox.close()
    return [r.check for b in batches for r in b.records if isinstance(r, CheckResult)]


def test_the_checks_come_from_the_collector_with_this_agents_environment(receiver, http_port, tmp_path):
    text = http_check("ok", "${TARGET_PORT}", interval=10)
    receiver.serve(text)
    config = load_config_text(agent_file(receiver.url), tmp_path)
    agent = Agent(config, environ={**ENV, "TARGET_PORT": str(http_port)})
    asyncio.run(agent.run(once=True))
    assert names(agent) == ["ok"]
    (result,) = [r for b in receiver.batches for r in b.records if isinstance(r, CheckResult)]
    assert (result.check, result.status, result.target) == ("ok", "up", f"http://127.0.0.1:{http_port}/ok")
    cache = tmp_path / "spool" / "shared-checks.toml"
    assert cache.read_text() == f"# vigil probe: the shared checks from {receiver.url}/api/7/probes/config\n{text}"
    assert cache.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in cache.parent.glob("*.tmp")] == []


def test_a_changed_list_is_rescheduled_and_an_invalid_one_keeps_the_old(receiver, http_port, tmp_path, caplog):
    caplog.set_level(logging.INFO, "vigil.probe")
    receiver.serve(http_check("a", http_port))
    running = Running(Agent(load_config_text(agent_file(receiver.url), tmp_path), environ=ENV))
    try:
        wait_until(lambda: running.alive() and "a" in receiver.check_names(), timeout=30, what="a's first result")

        both = http_check("a", http_port) + tcp_check("b")
        receiver.serve(both)
        wait_until(lambda: running.alive() and "b" in receiver.check_names(), timeout=30, what="b, added")
        assert names(running.agent) == ["a", "b"]

        invalid = both.replace("interval = 0.1\ntimeout = 0.1\n", 'interval = "often"\ntimeout = 0.1\n', 2)
        receiver.serve(invalid)
        # Refreshes run one after the other: a second GET means the first invalid answer was handled.
        wait_until(lambda: running.alive() and receiver.times_served(invalid) >= 2, timeout=30, what="invalid")
        results_so_far = len(receiver.check_names())
        wait_until(lambda: len(receiver.check_names()) > results_so_far + 4, timeout=30, what="results go on")
        assert names(running.agent) == ["a", "b"]
        cached = (tmp_path / "spool" / "shared-checks.toml").read_text()
    finally:
        running.stop()
    assert cached.endswith(both)  # the invalid list is not the last good one
    refused = [r.getMessage() for r in caplog.records if "keeping the 2 current checks" in r.getMessage()]
    assert refused
    assert all(
        f"{receiver.url}/api/7/probes/config: check 'a': interval: Expected `float`, got `str`" in line
        and "\n" not in line
        for line in refused
    )
    changes = [r.getMessage() for r in caplog.records if "the shared checks changed" in r.getMessage()]
    assert changes == ["the shared checks changed: added ['b'], removed [], changed []"]


def test_collector_away_at_start_runs_the_cached_copy(receiver, http_port, tmp_path, caplog):
    receiver.serve(http_check("ok", http_port, interval=10))
    config = load_config_text(agent_file(receiver.url), tmp_path)
    asyncio.run(Agent(config, environ=ENV).run(once=True))  # fetches and caches
    receiver.stop()

    agent = Agent(config, environ=ENV)
    asyncio.run(agent.run(once=True))
    assert names(agent) == ["ok"]
    assert spooled_check_names(tmp_path / "spool") == ["ok"]  # it ran; the collector was away to take it
    (line,) = [r.getMessage() for r in caplog.records if "running the cached copy" in r.getMessage()]
    assert line.startswith(f"cannot fetch the shared checks ({receiver.url}/api/7/probes/config: ConnectError")
    assert line.endswith(str(tmp_path / "spool" / "shared-checks.toml"))


def test_a_cached_copy_from_another_project_is_not_used(receiver, http_port, tmp_path):
    receiver.serve(http_check("ok", http_port, interval=10))
    asyncio.run(Agent(load_config_text(agent_file(receiver.url), tmp_path), environ=ENV).run(once=True))
    same = load_config_text(agent_file(receiver.url), tmp_path)
    other = load_config_text(agent_file(receiver.url, project_id=8), tmp_path)

    async def main() -> list[object]:
        async with httpx.AsyncClient() as client:
            return [SharedChecks(c.agent, tmp_path / "spool", client, ENV).load_cache() for c in (same, other)]

    cached_here, cached_for_8 = asyncio.run(main())
    assert cached_here is not None
    assert cached_for_8 is None


def test_without_a_cached_copy_it_retries_until_the_collector_answers(
    receiver, http_port, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(push, "BACKOFF_CAP_S", 0.3)  # the sender failed too, meanwhile
    receiver.stop()
    running = Running(Agent(load_config_text(agent_file(receiver.url), tmp_path), environ=ENV))
    try:

        def failures() -> list[str]:
            return [r.getMessage() for r in list(caplog.records) if "cannot fetch the shared checks" in r.getMessage()]

        wait_until(lambda: running.alive() and len(failures()) >= 3, timeout=30, what="three failed fetches")
        assert names(running.agent) == []
        receiver.serve(http_check("ok", http_port))
        receiver.start()
        wait_until(lambda: running.alive() and "ok" in receiver.check_names(), timeout=30, what="the first result")
    finally:
        running.stop()
    assert names(running.agent) == ["ok"]
    assert all("\n" not in line and "next try within" in line for line in failures())


def test_the_first_list_invalid_is_exit_2_naming_the_url(receiver, tmp_path):
    receiver.serve('[[checks]]\nname = "shop"\ntype = "http"\nurl = "https://x/"\ntimeout = -1\n')
    path = tmp_path / "agent.toml"
    path.write_text(agent_file(receiver.url))
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "probe", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env_without_vigil(), **ENV},
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"vigil: error: {receiver.url}/api/7/probes/config: check 'shop': timeout:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[agent]\nregion = "x"\n', "[agent]: not allowed in the shared check list"),
        ("[[checks]\n", "not valid TOML"),
        ('[[checks]]\nname = "a"\ntype = "tcp"\n', "check 'a': target: missing"),
        ('interval = 5\n', "unknown table or key 'interval'"),
        ("# " + "x" * shared.MAX_BYTES, f"larger than {shared.MAX_BYTES} bytes"),
    ],
)  # fmt: skip
def test_an_invalid_list_is_one_line_naming_the_url(receiver, tmp_path, text, message):
    receiver.serve(text)
    with pytest.raises(ConfigError) as info:
        fetch(receiver, tmp_path)
    line = str(info.value)
    assert line.startswith(f"{receiver.url}/api/7/probes/config: ")
    assert message in line
    assert "\n" not in line


def test_a_body_without_a_length_is_cut_at_the_bound(tmp_path):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(shared.MAX_BYTES // 10_000 + 2):
            yield b"#" * 10_000

    handler_calls: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        handler_calls.append(request.headers["authorization"])
        return httpx.Response(200, content=chunks())  # chunked: no Content-Length

    config = load_config_text(agent_file("http://collector.test"), tmp_path)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await SharedChecks(config.agent, tmp_path, client, ENV).fetch()

    with pytest.raises(ConfigError, match=f"larger than {shared.MAX_BYTES} bytes"):
        asyncio.run(main())
    assert handler_calls == [f"Bearer {TOKEN}"]


def test_no_list_yet_and_a_wrong_token_are_failed_fetches_with_the_collectors_reason(receiver, tmp_path):
    with pytest.raises(FetchFailed, match=r"/api/7/probes/config: HTTP 404: no shared probe config for project shop$"):
        fetch(receiver, tmp_path)
    receiver.serve(tcp_check("a"))
    with pytest.raises(FetchFailed, match=r"HTTP 403: wrong secret token$"):
        fetch(receiver, tmp_path, token="vgs_wrong")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def test_a_fetch_that_gets_no_answer_times_out(silent_port, tmp_path, monkeypatch):
    monkeypatch.setattr(shared, "FETCH_TIMEOUT_S", 0.2)
    receiver = Receiver(silent_port, TOKEN)  # only for its URL: nothing serves there
    with pytest.raises(FetchFailed, match=r"/api/7/probes/config: (ReadTimeout|no answer within 0\.2 s)"):
        fetch(receiver, tmp_path)


def test_with_the_real_collector(collector: Service, demo_project: Project, data_dir: Path, http_port, tmp_path):
    env = {"TOKEN": demo_project.secret_token}
    config = load_config_text(agent_file(collector.url, demo_project.id), tmp_path, env)
    with pytest.raises(FetchFailed, match=f"HTTP 404: no shared probe config for project {demo_project.name}"):
        asyncio.run(_fetch_with(config.agent, tmp_path, env))

    (data_dir / "probes").mkdir()
    (data_dir / "probes" / f"{demo_project.name}.toml").write_text(http_check("shop", http_port, interval=10))
    agent = Agent(config, environ=env)
    asyncio.run(agent.run(once=True))
    assert names(agent) == ["shop"]
    assert agent.sender is not None
    assert agent.sender.sent_records == len(agent.produced_ids) > 0

    wrong = msgspec.structs.replace(config.agent, secret_token="vgs_wrong")
    with pytest.raises(FetchFailed, match="HTTP 403"):
        asyncio.run(_fetch_with(wrong, tmp_path, env))


async def _fetch_with(agent: AgentConfig, directory: Path, env: dict[str, str]) -> tuple[object, ...]:
    async with httpx.AsyncClient() as client:
        return await SharedChecks(agent, directory, client, env).fetch()
