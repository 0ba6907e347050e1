from __future__ import annotations

import pytest
import redis

from tests.e2e.beacon import Received


@pytest.fixture
def received(redis_client: redis.Redis) -> Received:
    return Received(redis_client)
