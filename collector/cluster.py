"""Queueing into a Redis Cluster (``redis_url = "redis+cluster://host:port,…"``, docs/scaling.md).

The cluster client (redis-py's) knows which primary holds each stream; every round trip of
the enqueuer's goes to each primary it touches as one pipeline on one connection: its XADDs,
then ``WAIT`` for ``redis_replicas`` replicas. Redis replicates asynchronously, so without
the WAIT an entry acknowledged by a primary that dies the next moment would be gone with it;
with it, a request is answered 2xx only once a replica, which the cluster promotes in the
primary's place, holds the entry too. A round trip whose WAIT falls short, or that meets a
primary that has gone (a connection error, MOVED while the cluster fails over), fails like
any Redis failure: its entries go to the spool and are replayed, and analytics keeps one copy
of an event it then receives twice (by its id).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import RedisClusterException, RedisError
from redis.typing import EncodableT, FieldT

#: What a Redis, or a Redis Cluster between two shapes, may raise when it cannot take a command now.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)
#: How long a round trip waits for the replicas before it counts as failed (its entries are spooled).
REPLICA_WAIT_MS = 1000


class NotReplicated(RedisError):
    """A primary took entries but too few replicas confirmed them in time."""


def cluster_client(nodes: list[tuple[str, int]], **options: object) -> aioredis.RedisCluster:
    return aioredis.RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes], **options)  # type: ignore[arg-type]


class ReplicatedWriter:
    """XADDs to a Redis Cluster, each primary's in one pipeline that ends with WAIT."""

    def __init__(self, cluster: aioredis.RedisCluster, replicas: int, **options: object) -> None:
        self.cluster, self.replicas, self.options = cluster, replicas, options
        self._nodes: dict[str, aioredis.Redis] = {}

    def _client(self, host: str, port: int) -> aioredis.Redis:
        name = f"{host}:{port}"
        client = self._nodes.get(name)
        if client is None:
            client = self._nodes[name] = aioredis.Redis(host=host, port=port, **self.options)  # type: ignore[arg-type]
        return client

    async def xadd(self, entries: Sequence[tuple[str, dict[FieldT, EncodableT]]]) -> list[bytes]:
        """Append each ``(stream, fields)``; their stream ids once the replicas hold them (raises RedisError)."""
        try:
            return await self._xadd(entries)
        except RedisClusterException as e:  # no node for a slot while the cluster fails over, no node reachable
            await self._refresh()
            raise RedisError(f"the cluster cannot take the entries now: {e}") from e
        except (RedisError, OSError):
            # A primary gone or moved: learn the cluster's shape again before the next round trip.
            await self._refresh()
            raise

    async def _xadd(self, entries: Sequence[tuple[str, dict[FieldT, EncodableT]]]) -> list[bytes]:
        await self.cluster.initialize()  # at once when the cluster is known
        by_node: dict[tuple[str, int], list[int]] = {}
        for n, (stream, _) in enumerate(entries):
            node = self.cluster.get_node_from_key(stream)
            if node is None:
                raise RedisError(f"no cluster node holds {stream}")
            by_node.setdefault((str(node.host), int(node.port)), []).append(n)
        ids: list[bytes] = [b""] * len(entries)

        async def one(host: str, port: int, positions: list[int]) -> None:
            pipe = self._client(host, port).pipeline(transaction=False)
            for n in positions:
                pipe.xadd(entries[n][0], entries[n][1])
            if self.replicas:
                pipe.execute_command("WAIT", self.replicas, REPLICA_WAIT_MS)
            answers = await pipe.execute()
            if self.replicas and int(answers[-1]) < self.replicas:
                raise NotReplicated(f"{host}:{port}: {answers[-1]} of {self.replicas} replicas took the entries")
            for n, entry_id in zip(positions, answers, strict=False):
                ids[n] = entry_id

        await asyncio.gather(*(one(host, port, positions) for (host, port), positions in by_node.items()))
        return ids

    async def _refresh(self) -> None:
        with contextlib.suppress(*REDIS_ERRORS):  # the next round trip tries again
            await self.cluster.nodes_manager.initialize()

    async def aclose(self) -> None:
        for client in self._nodes.values():
            await client.aclose()
        self._nodes.clear()
