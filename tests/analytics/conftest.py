"""What the analytics tests share: an empty Vigil database in a file of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics.store import open_database


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_database(tmp_path / "vigil.duckdb")
    yield connection
    connection.close()
