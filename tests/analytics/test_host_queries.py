"""The read API's queries behind the Hosts page, on a real DuckDB file with known answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from analytics.queries import run_query
from analytics.store import insert, open_database
from analytics.tables import TABLES

UNTIL = datetime(2026, 12, 1, 12, 0)


def metrics(host: str, minutes_ago: float, cpu: float, disk: float = 40.0, region: str = "eu") -> dict[str, Any]:
    ts = UNTIL - timedelta(minutes=minutes_ago)
    return {"id": f"{host}-{minutes_ago}", "ts": ts, "received_at": ts, "project": "shop", "project_id": 1,
            "region": region, "host": host, "cpu_busy_percent": cpu, "memory_percent": 50.0, "load1": cpu / 25,
            "disks": json.dumps([{"percent": 10.0}, {"percent": disk}]), "open_fds": 100, "max_fds": 1000,
            "net_bytes_sent_per_s": 10.0, "net_bytes_recv_per_s": 20.0}  # fmt: skip


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = open_database(tmp_path / "vigil.duckdb")
    rows = [metrics("web-1", 1, 20), metrics("web-1", 3, 40), metrics("web-1", 8, 99),  # the 8-minute one is past
            metrics("db-1", 2, 90, disk=95.0, region="us"), metrics("gone-1", 30, 10)]  # fmt: skip
    schema = TABLES["host_metrics"]
    full = [{**{f: None for f in schema.names}, **r} for r in rows]
    insert(connection, "host_metrics", pa.Table.from_pylist(full, schema=schema), ())
    yield connection
    connection.close()


def query(con, name: str, **params: str) -> list[dict[str, Any]]:
    result = run_query(con, name, params)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_hosts_now_are_their_last_five_minutes_and_silent_ones_have_no_values(con):
    hosts = {h["host"]: h for h in query(con, "hosts_now", until="2026-12-01T12:00:00Z")}
    assert set(hosts) == {"web-1", "db-1", "gone-1"}
    assert (hosts["web-1"]["cpu"], hosts["web-1"]["load1"], hosts["web-1"]["fds"]) == (30.0, 1.6, 10.0)
    assert (hosts["db-1"]["region"], hosts["db-1"]["disk"]) == ("us", 95.0)
    assert hosts["gone-1"]["cpu"] is None
    assert hosts["gone-1"]["last_seen"] == UNTIL - timedelta(minutes=30)


def test_one_hosts_series(con):
    series = query(con, "host_series", host="web-1", since="2026-12-01T11:00:00Z", until="2026-12-01T12:00:00Z",
                   bucket_seconds="600")  # fmt: skip
    assert [(r["minute"], r["cpu"]) for r in series] == [(datetime(2026, 12, 1, 11, 50), 53.0)]
    assert series[0]["net_received"] == 20
