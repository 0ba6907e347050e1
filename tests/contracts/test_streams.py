"""Where records go: one Redis's streams, or one stream per kind and shard with the shard as a hash tag."""

from __future__ import annotations

import pytest

from contracts.settings import ConfigError
from contracts.stream import DEAD_LETTER_STREAM, EVENTS_STREAM, KINDS, ONE_REDIS, Streams, check_layout, cluster_nodes


def test_one_redis_keeps_the_names_it_always_had():
    assert Streams.of(1, "unix:///run/vigil/redis.sock") == ONE_REDIS
    assert ONE_REDIS.for_project(EVENTS_STREAM, 42) == "vigil:events"
    assert ONE_REDIS.shard(0) == list(KINDS)
    assert ONE_REDIS.kind("vigil:events") == "vigil:events"


def test_a_project_always_goes_to_one_shard_whose_streams_share_a_hash_tag():
    streams = Streams.of(4, "redis://10.0.0.5:6379")
    assert streams.for_project(EVENTS_STREAM, 7) == "vigil:{3}:events"
    assert streams.for_project(EVENTS_STREAM, 11) == "vigil:{3}:events"
    assert streams.for_project(DEAD_LETTER_STREAM, 7) == "vigil:{3}:dead"
    assert all(name.startswith("vigil:{2}:") for name in streams.shard(2))
    assert streams.kind("vigil:{2}:sentry") == "vigil:sentry"
    assert streams.shard_of("vigil:{2}:sentry") == 2


def test_a_cluster_tags_even_one_shard_so_its_streams_are_read_together():
    streams = Streams.of(1, "redis+cluster://127.0.0.1:7000")
    assert streams.for_project(EVENTS_STREAM, 5) == "vigil:{0}:events"


def test_a_cluster_url_names_its_seed_nodes():
    assert cluster_nodes("redis+cluster://10.0.0.5:6379, 10.0.0.6:6380/") == [("10.0.0.5", 6379), ("10.0.0.6", 6380)]
    assert cluster_nodes("redis://10.0.0.5:6379/0") is None


@pytest.mark.parametrize(
    "url", ["redis+cluster://", "redis+cluster://host", "redis+cluster://h:99999", "redis+cluster://h:x"]
)
def test_a_malformed_cluster_url_is_one_line(url):
    with pytest.raises(ConfigError) as refused:
        cluster_nodes(url)
    assert "\n" not in str(refused.value)
    assert "host:port" in str(refused.value)


def test_a_redis_laid_out_otherwise_is_refused_in_one_line():
    sharded = Streams.of(4, "redis://10.0.0.5:6379")
    check_layout(sharded, None)  # a new Redis: the first to start writes its layout
    check_layout(sharded, sharded.layout.encode())
    with pytest.raises(ConfigError) as refused:
        check_layout(ONE_REDIS, sharded.layout.encode())
    assert "\n" not in str(refused.value)
    assert "stream_shards" in str(refused.value)
