"""The demo shop's visitors, sent through a real collector for the experience pages' tests, and ``vigil sql``."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx

from contracts.projects import Project
from contracts.read_api import ReadClient
from tests.helpers import Service, wait_until
from vigil.demo.traffic import COUNTRY_HEADER, batch
from vigil.sql import query

#: The collector of these tests trusts the demo's country header, and takes a visit at a time from one address.
COLLECTOR_ENV = {"VIGIL_COLLECTOR_COUNTRY_HEADER": COUNTRY_HEADER, "VIGIL_COLLECTOR_ADDRESS_BURST": "2000"}


def send_visits(http: httpx.Client, collector: Service, analytics: Service, project: Project, visits: int,
                seed: int = 4) -> list[dict[str, Any]]:  # fmt: skip
    """``visits`` of the demo shop over the last two minutes (the newer release rolling out half way), stored;
    returns every event sent."""
    rng = random.Random(seed)
    start = int(time.time() * 1000) - 120_000
    sent: list[dict[str, Any]] = []
    for k in range(visits):
        body, headers = batch(rng, start + k * 90_000 // visits, since_ms=start, rollout_ms=45_000)
        response = http.post(f"{collector.url}/api/{project.id}/events", params={"key": project.public_key},
                             json=body, headers=headers)  # fmt: skip
        assert response.status_code == 202, response.text
        sent += body["events"]  # type: ignore[arg-type]
    views = sum(1 for e in sent if e["type"] == "pageview")
    with ReadClient(analytics.url) as client:
        wait_until(lambda: client.query("traffic_totals", since=_iso(start - 60_000)).rows[0][0] == views,
                   timeout=30, what=f"{views} page views stored")  # fmt: skip
    return sent


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def sql(data_dir: Path, statement: str) -> list[dict[str, Any]]:
    """``vigil sql``'s answer, as rows keyed by column."""
    result = query(data_dir, statement)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


#: The route of a stored page URL, written apart from the product's own rule: the demo's ids are numbers.
ROUTE = r"regexp_replace(regexp_extract(page_url, '^[a-z]+://[^/]+([^?#]*)', 1), '/[0-9]+', '/:id', 'g')"
