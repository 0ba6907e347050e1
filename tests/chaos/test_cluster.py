"""Past one machine: two collectors and two analytics writers on a real Redis Cluster and one DuckLake.

Real processes on loopback: a Redis Cluster of six redis-server processes (three primaries,
a replica each), PostgreSQL holding the DuckLake's catalog, two collectors and two analytics
writers as ``vigil serve`` subprocesses, the streams in four shards. Two projects' loads go to
both collectors in turn. In the middle, the primary that holds one project's streams is killed
with SIGKILL; its replica takes over, and the old primary comes back as a replica. Then:
every event answered 2xx is stored exactly once, whichever writer stored it, and nothing is
stored that was not sent (docs/scaling.md has the figures and the command).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis.cluster import ClusterNode

from contracts import runfiles
from contracts.projects import Project, create_project, ensure_demo_project
from contracts.read_api import ReadClient
from contracts.settings import CONFIG_FILE
from contracts.stream import CONSUMER_GROUP, EVENTS_STREAM, Streams
from tests.chaos.test_chaos import Load
from tests.cluster import Cluster, Node, running_cluster
from tests.conftest import _service
from tests.helpers import Service, wait_until
from tests.postgres import Postgres

SHARDS = 4
#: Acknowledged events before the primary is killed, and after it.
BEFORE, AFTER = 1000, 1000


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path / "redis") as running:
        yield running


class Topology:
    """Two collectors and two analytics writers, on the cluster and one DuckLake."""

    def __init__(self, data_dir: Path, cluster: Cluster, catalog: str, lake: Path) -> None:
        self.data_dir, self.cluster = data_dir, cluster
        self.projects = [ensure_demo_project(data_dir), create_project(data_dir, "shop", filters={"localhost": False})]
        self.streams = Streams.of(SHARDS, cluster.url)
        shared = {"VIGIL_REDIS_URL": cluster.url, "VIGIL_STREAM_SHARDS": str(SHARDS)}
        self.writers: list[Service] = []
        self.collectors: list[Service] = []
        for n in range(2):
            # Each writer a data directory of its own (its run file, its spill folder), with the same projects.
            own = data_dir.parent / f"writer{n}"
            own.mkdir()
            shutil.copy(data_dir / CONFIG_FILE, own / CONFIG_FILE)
            env = {
                **shared, "VIGIL_ANALYTICS_STORE": "ducklake", "VIGIL_ANALYTICS_DUCKLAKE_CATALOG": catalog,
                "VIGIL_ANALYTICS_DUCKLAKE_DATA_PATH": str(lake), "VIGIL_ANALYTICS_CONSUMER": f"writer{n}",
                "VIGIL_ANALYTICS_JOBS": "true" if n == 0 else "false", "VIGIL_ANALYTICS_PROCESSORS": "0",
                "VIGIL_ANALYTICS_BLOCK_MS": "100", "VIGIL_ANALYTICS_SQL_MAX_ROWS": "1000000",
                "VIGIL_ANALYTICS_SQL_MAX_BYTES": "200000000", "VIGIL_ANALYTICS_DUCKDB_THREADS": "1",
            }  # fmt: skip
            self.writers.append(_service("analytics", own, env, "/healthz"))
        for n in range(2):
            own = data_dir.parent / f"collector{n}"  # its own spool and log
            own.mkdir()
            shutil.copy(data_dir / CONFIG_FILE, own / CONFIG_FILE)
            env = {
                **shared, "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0",
                "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0", "VIGIL_COLLECTOR_SPIKE_FACTOR": "0",
                "VIGIL_COLLECTOR_SPOOL_AFTER_MS": "500",
            }  # fmt: skip
            self.collectors.append(_service("collector", own, env, "/healthz"))
        self._turn = 0

    def collector_url(self) -> str:
        """The collectors in turn, as behind a load balancer."""
        self._turn += 1
        return self.collectors[self._turn % 2].url

    def stop(self) -> None:
        for service in [*self.collectors, *self.writers]:
            service.stop()

    def primary_of(self, project: Project) -> Node:
        """The node that holds the project's streams now."""
        seeds = [ClusterNode("127.0.0.1", node.port) for node in self.cluster.primaries()]
        with redis.RedisCluster(startup_nodes=seeds) as client:
            node = client.get_node_from_key(self.streams.for_project(EVENTS_STREAM, project.id))
            assert node is not None
            return next(n for n in self.cluster.nodes if n.port == node.port)

    def drained(self) -> bool:
        """Nothing waits: every shard's stream empty with nothing pending, both collectors' spools replayed."""
        seeds = [ClusterNode("127.0.0.1", node.port) for node in self.cluster.primaries()]
        try:
            with redis.RedisCluster(startup_nodes=seeds, socket_timeout=2) as client:
                for shard in range(SHARDS):
                    stream = self.streams.name(EVENTS_STREAM, shard)
                    if client.exists(stream) and (
                        client.xlen(stream) or int(client.xpending(stream, CONSUMER_GROUP)["pending"])
                    ):
                        return False
        except (redis.RedisError, OSError):
            return False
        return all(
            "vigil_collector_spooled_entries 0.0" in httpx.get(f"{c.url}/metrics", timeout=5).text
            for c in self.collectors
        )

    def stored(self) -> tuple[int, set[str]]:
        """What the lake holds, read through one writer's read API (the other's sees the same)."""
        with ReadClient(self.writers[1].url, token=_token(self.writers[1])) as read:
            (total,) = read.sql("SELECT count(*) FROM page_views").rows[0]
            ids = read.sql("SELECT DISTINCT event_id FROM page_views").rows
        return int(total), {str(row[0]) for row in ids}


def _token(service: Service) -> str:
    folder = Path(service.env["VIGIL_DATA_DIR"])
    info = runfiles.read_live(folder, "analytics")
    assert info is not None
    return str(info["token"])


def test_two_collectors_and_two_writers_store_each_event_once_through_a_primary_killed(
    data_dir: Path, cluster: Cluster, postgres: Postgres, tmp_path: Path
) -> None:
    catalog = postgres.create_database("cluster_lake")
    topology = Topology(data_dir, cluster, catalog, tmp_path / "lake")
    try:
        loads = [Load(topology.collector_url, project) for project in topology.projects]
        for load in loads:
            load.__enter__()
        try:
            for load in loads:
                load.wait_for(BEFORE, timeout=120)
            victim = topology.primary_of(topology.projects[0])
            victim.kill()
            # The replica is promoted (the cluster sees three primaries again), then the old primary rejoins as a
            # replica, and writes are confirmed by a replica again.
            wait_until(cluster.healthy, timeout=60, what="a replica to take over", interval=0.2)
            for load in loads:
                load.wait_for(load.acknowledged() + AFTER // 2, timeout=180)
            victim.start()
            wait_until(cluster.healthy, timeout=60, what="the old primary to rejoin", interval=0.2)
            for load in loads:
                load.wait_for(load.acknowledged() + AFTER // 2, timeout=180)
        finally:
            for load in loads:
                load.__exit__(None, None, None)
        wait_until(topology.drained, timeout=180, what="the spools, streams and pending to empty", interval=0.5)
        sent = set().union(*(load.counts.sent for load in loads))
        acknowledged = set().union(*(load.counts.acknowledged for load in loads))
        total, ids = topology.stored()
        statuses: dict[str, int] = {}
        for load in loads:
            for status, n in load.counts.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
        replayed = sum(
            int(n)
            for collector in topology.collectors
            for n in re.findall(r"replayed (\d+) spooled entries", collector.log.read_text(errors="replace"))
        )
        figures = (
            f"cluster, primary killed: sent {len(sent)}, acknowledged {len(acknowledged)}, stored {len(ids)}, "
            f"duplicated {total - len(ids)}, answers {dict(sorted(statuses.items()))}, "
            f"entries spooled while the cluster failed over and replayed {replayed}"
        )
        print(figures)
        assert acknowledged <= ids, figures  # nothing acknowledged is lost
        assert ids <= sent, figures  # nothing is stored that was not sent
        assert total == len(ids), figures  # each once, whichever writer stored it
        # Both writers stored batches, taking turns on the lake.
        health = [httpx.get(f"{writer.url}/healthz", timeout=5).json() for writer in topology.writers]
        print("writers:", [(h["committed_entries"], h["conflicts"]) for h in health])
        assert all(h["committed_entries"] > 0 for h in health), health
    finally:
        topology.stop()
