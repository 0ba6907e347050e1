"""The optional /metrics endpoint in the Prometheus text format."""

from __future__ import annotations

import asyncio

import httpx

from server_probes.agent import Agent
from server_probes.config import load_config
from tests.helpers import free_port


def test_metrics_endpoint_shows_the_latest_results(http_port, write_config, tmp_path):
    path = write_config(f"""
[agent]
region = "eu-west"
metrics_port = {free_port()}
host_metrics_interval = 0

[[checks]]
name = "ok"
type = "http"
url = "http://127.0.0.1:{http_port}/slow"
""")
    agent = Agent(load_config(path))
    scraped: list[str] = []

    def scrape(result: object) -> None:
        scraped.append(httpx.get(f"http://127.0.0.1:{agent.metrics_port}/metrics", timeout=5).text)

    async def main() -> None:
        original = agent.on_result

        def observed(result):  # type: ignore[no-untyped-def]
            original(result)
            scrape(result)

        agent.on_result = observed  # type: ignore[method-assign]
        await agent.run(once=True)

    asyncio.run(main())
    (text,) = scraped
    assert 'vigil_probe_success{check="ok",region="eu-west",type="http"} 1.0' in text
    assert 'vigil_probe_http_status_code{check="ok",region="eu-west",type="http"} 200.0' in text
    assert 'phase="processing"' in text
