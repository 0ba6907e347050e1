"""What DuckDB may use comes from the settings: its memory bound and its threads, in the running service."""

from __future__ import annotations

import pytest

from analytics.settings import AnalyticsSettings, Resources
from analytics.store import open_database
from contracts import runfiles
from contracts.read_api import ReadClient


@pytest.fixture
def analytics_env() -> dict[str, str]:
    return {"VIGIL_ANALYTICS_DUCKDB_MEMORY_BYTES": "300000000", "VIGIL_ANALYTICS_DUCKDB_THREADS": "1"}


def test_the_service_runs_duckdb_within_its_settings(analytics, data_dir):
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        found = client.sql("SELECT current_setting('memory_limit'), current_setting('threads')").rows
    assert found == [["286.1 MiB", 1]]  # 300,000,000 bytes


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
