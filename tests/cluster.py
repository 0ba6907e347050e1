"""A real Redis Cluster for the tests: redis-server processes (the binary the project ships) on loopback ports,
joined by its redis-cli, three primaries with a replica each; every process stopped by its pid."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.helpers import free_port, stop_process, wait_until
from vigil import redis_server

#: A node not heard from this long is failed over (its replica promoted); Redis's default is 15 s.
NODE_TIMEOUT_MS = 1000


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _port_pair() -> int:
    """A free port whose cluster bus port (10000 above it) is free too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 < 65536 and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


@dataclasses.dataclass
class Node:
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            str(redis_server.binary()), "--port", str(self.port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-config-file", str(self.folder / "nodes.conf"),
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--cluster-replica-validity-factor", "0",
            "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self.answers, timeout=20, what=f"redis-server on {self.port}")

    def answers(self) -> bool:
        try:
            with redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=1) as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def cluster_info(self) -> dict[str, object]:
        with redis.Redis(port=self.port, socket_timeout=2) as client:
            found: dict[str, object] = client.execute_command("CLUSTER INFO")  # parsed by redis-py
            return found

    def kill(self) -> None:
        """SIGKILL by pid: no shutdown code runs, as when a machine dies."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclasses.dataclass
class Cluster:
    nodes: list[Node]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(node.address for node in self.nodes)

    def primaries(self) -> list[Node]:
        """The nodes that are primaries now, as the live nodes see it."""
        live = next(node for node in self.nodes if node.process is not None and node.process.poll() is None)
        with redis.Redis(port=live.port, socket_timeout=2) as client:
            nodes: dict[str, dict[str, object]] = client.execute_command("CLUSTER NODES")  # parsed by redis-py
        ports = {
            int(address.rsplit(":", 1)[1])
            for address, node in nodes.items()
            if "master" in str(node["flags"]) and "fail" not in str(node["flags"])
        }
        return [node for node in self.nodes if node.port in ports]

    def healthy(self) -> bool:
        """Every live node sees the cluster up, with as many primaries as it was made with."""
        try:
            return (
                all(
                    node.cluster_info().get("cluster_state") == "ok"
                    for node in self.nodes
                    if node.process is not None and node.process.poll() is None
                )
                and len(self.primaries()) == len(self.nodes) // 2
            )
        except (redis.RedisError, OSError):
            return False


@contextlib.contextmanager
def running_cluster(folder: Path, primaries: int = 3) -> Iterator[Cluster]:
    """``primaries`` primaries with a replica each, for as long as the block runs."""
    nodes = []
    for n in range(primaries * 2):
        (folder / f"node{n}").mkdir(parents=True)
        nodes.append(Node(_port_pair(), folder / f"node{n}"))
    cluster = Cluster(nodes)
    try:
        for node in nodes:
            node.start()
        cli = redis_server.binary().with_name("redis-cli")
        subprocess.run(
            [str(cli), "--cluster", "create", *(node.address for node in nodes), "--cluster-replicas", "1",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        wait_until(cluster.healthy, timeout=60, what="the cluster to be up", interval=0.2)
        yield cluster
    finally:
        for node in nodes:
            node.stop()
