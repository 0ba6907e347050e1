"""Real probe agents (``vigil probe``) against the real collector and analytics: quorum and delivery."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import runfiles
from contracts.projects import Project
from contracts.read_api import ReadClient
from tests.helpers import Service, env_without_vigil, free_port, wait_until
from vigil import self_probe


@pytest.fixture
def healthy() -> Iterator[str]:
    """An HTTP server on loopback that answers 200."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(5)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/"  # nothing listens there: tcp.refused


def agent(data_dir: Path, project: Project, collector: Service, region: str, url: str) -> Service:
    checks = [{"name": "shop", "type": "http", "url": url, "interval": 0.5, "timeout": 0.4}]
    port = free_port()
    config = self_probe.write_config(
        data_dir, region, project, collector.url, checks, host_metrics=False, metrics_port=port
    )
    service = Service(
        f"probe-{region}",
        [sys.executable, "-m", "vigil", "probe", "--config", str(config), "--region", region],
        env=env_without_vigil(),
        url=f"http://127.0.0.1:{port}",
        log=data_dir / f"probe-{region}.log",
    )
    service.start("/metrics")  # the agent's Prometheus endpoint answers: it runs
    return service


def states(client: ReadClient) -> dict[str, str]:
    return {row[2]: row[3] for row in client.query("checks").rows}


@pytest.fixture
def client(data_dir: Path, analytics: Service) -> Iterator[ReadClient]:
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(analytics.url, token=info["token"]) as read:
        yield read


def test_regions_make_a_quorum_and_a_stopped_collector_loses_nothing(
    data_dir, demo_project, collector, analytics, healthy, client
):
    eu = agent(data_dir, demo_project, collector, "eu", closed_port_url())
    us = agent(data_dir, demo_project, collector, "us", healthy)
    try:
        wait_until(lambda: states(client) == {"eu": "down", "us": "up", "*": "degraded"}, timeout=30,
                   what="eu down, us up: degraded", interval=0.3)  # fmt: skip

        # The collector goes away for a while; the agents spool and send everything later.
        collector.stop()
        threading.Event().wait(3)  # six runs of each check while nothing answers
        collector.start("/healthz")
        us.stop()
        us = agent(data_dir, demo_project, collector, "us", closed_port_url())  # now us fails too
        wait_until(lambda: states(client).get("*") == "down", timeout=30, what="both regions down", interval=0.3)
    finally:
        eu.stop()
        us.stop()

    def delivered() -> bool:
        rows = client.sql("SELECT count(*), count(DISTINCT id) FROM probe_results").rows
        return rows[0][0] > 0 and rows[0][0] == rows[0][1]

    wait_until(delivered, timeout=10, what="results stored once each")
    gaps = client.sql(
        """SELECT max(gap) FROM (SELECT epoch(ts - lag(ts) OVER (PARTITION BY region, agent_id ORDER BY ts)) AS gap
           FROM probe_results WHERE region = 'eu')"""
    ).rows[0][0]
    assert gaps < 2.5  # eu ran every 0.5 s throughout: the runs while the collector was away arrived too
    history = [(r[3], r[5]) for r in client.query("check_history", since="2000-01-01T00:00:00Z").rows]
    assert ("*", "degraded") in history
    assert ("*", "down") in history
