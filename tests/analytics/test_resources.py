"""What DuckDB may use comes from the settings: its memory bound and its threads, in the running service."""

from __future__ import annotations

import time

import pytest

from analytics.settings import AnalyticsSettings, Resources
from analytics.store import open_database
from contracts import runfiles
from contracts.read_api import ReadClient
from tests.helpers import wait_until


@pytest.fixture
def analytics_env() -> dict[str, str]:
    return {"VIGIL_ANALYTICS_DUCKDB_MEMORY_BYTES": "300000000", "VIGIL_ANALYTICS_DUCKDB_THREADS": "1",
            "VIGIL_ANALYTICS_IDLE_RELEASE_SECONDS": "1"}  # fmt: skip


def test_the_service_runs_duckdb_within_its_settings(analytics, data_dir):
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        found = client.sql("SELECT current_setting('memory_limit'), current_setting('threads')").rows
    assert found == [["286.1 MiB", 1]]  # 300,000,000 bytes


def test_an_idle_service_gives_duckdbs_cached_memory_back_once_per_quiet_spell(analytics, data_dir, http):
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None

    def releases() -> int:
        return int(http.get(f"{analytics.url}/healthz").json()["idle_releases"])

    with ReadClient(info["url"], token=info["token"]) as client:
        client.sql("SELECT count(*) FROM errors")  # a read: the quiet spell starts again
        wait_until(lambda: releases() >= 1, timeout=15, what="memory given back after a second of quiet")
        first = releases()
        time.sleep(2.5)  # still quiet: nothing more to give back
        assert releases() == first
        # Its limit is as the settings say, not the floor it was lowered to for a moment.
        assert client.sql("SELECT current_setting('memory_limit')").rows == [["286.1 MiB"]]
        wait_until(lambda: releases() == first + 1, timeout=15, what="memory given back after the read above")


def test_the_defaults_bound_duckdb_and_zero_leaves_its_own(tmp_path):
    assert AnalyticsSettings().resources == Resources(512_000_000, 2)
    assert AnalyticsSettings(duckdb_memory_bytes=0, duckdb_threads=0).resources == Resources(None, None)
    con = open_database(tmp_path / "vigil.duckdb", AnalyticsSettings().resources)
    try:
        assert con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone() == (
            "488.2 MiB",
            2,
        )
    finally:
        con.close()
