"""A page's route, computed as rows are stored (Arrow) and in SQL (for rows stored before), the same way."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from analytics.routes import route_array, route_sql

URLS = [
    "https://shop.example/product/42", "https://shop.example/product/42/reviews/7?page=2#top",
    "https://shop.example/", "https://shop.example", "https://shop.example?x=1", "http://127.0.0.1:8474/cart",
    "https://shop.example/order/3f2c9a1e-0b7d-4c55-9d0e-5a1b2c3d4e5f/pay", "https://shop.example/1/2/3",
    "https://shop.example/v2/items", "https://shop.example/2024-report", "https://shop.example/deadbeef00/x",
    "not a url", "", None, "https://shop.example/caf%C3%A9/12",
]  # fmt: skip


def test_ids_collapse_and_the_query_goes():
    routes = route_array(pa.array(URLS, pa.string())).to_pylist()
    assert routes[:8] == [
        "/product/:id", "/product/:id/reviews/:id", "/", "/", "/", "/cart", "/order/:id/pay", "/:id/:id/:id",
    ]  # fmt: skip
    assert routes[8:] == ["/v2/items", "/2024-report", "/:id/x", "/", None, None, "/caf%C3%A9/:id"]


@pytest.mark.parametrize("url", URLS)
def test_arrow_and_sql_agree(url):
    [[in_sql]] = duckdb.sql(f"SELECT {route_sql('u')} FROM (SELECT ?::VARCHAR AS u)", params=[url]).fetchall()
    assert route_array(pa.array([url], pa.string())).to_pylist() == [in_sql]


def test_rows_stored_before_the_column_existed_get_their_route_at_the_upgrade(tmp_path):
    from analytics.store import open_database

    path = tmp_path / "vigil.duckdb"
    con = open_database(path)
    con.execute(
        "INSERT INTO page_views (event_id, ts, received_at, project, project_id, page_url) VALUES "
        "('p1', now(), now(), 'shop', 1, 'https://shop.example/product/9?x'), ('p2', now(), now(), 'shop', 1, NULL)"
    )
    con.execute("UPDATE page_views SET route = NULL")
    con.execute("UPDATE vigil_meta SET value = '10' WHERE key = 'schema_version'")  # as a file of version 10 has it
    con.close()

    con = open_database(path)
    try:
        assert con.execute("SELECT event_id, route FROM page_views ORDER BY 1").fetchall() == [
            ("p1", "/product/:id"), ("p2", None),
        ]  # fmt: skip
    finally:
        con.close()
