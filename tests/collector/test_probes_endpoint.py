"""The probe agents' endpoints on a real collector and redis-server."""

from __future__ import annotations

import gzip

import msgspec

from contracts.probes import AgentInfo, CheckResult, ProbeBatch
from contracts.stream import PROBES_STREAM, decode_probe_entry


def body() -> bytes:
    batch = ProbeBatch(
        batch_id="b1", sent_at=1_764_072_000_000, agent=AgentInfo("eu", "probe-1", "a1", "1"),
        records=[CheckResult(id="r1", ts=1_764_072_000_000, check="shop", check_type="tcp", target="127.0.0.1:1",
                             status="down", duration_ms=0.2, error="tcp.refused")],
    )  # fmt: skip
    return msgspec.json.encode(batch)


def test_a_batch_with_the_secret_token_is_queued(http, collector, demo_project, redis_client):
    response = http.post(
        f"{collector.url}/api/{demo_project.id}/probes",
        content=gzip.compress(body()),
        headers={"Authorization": f"Bearer {demo_project.secret_token}", "Content-Encoding": "gzip"},
    )
    assert (response.status_code, response.json()) == (202, {"accepted": 1})
    ((_, fields),) = redis_client.xrange(PROBES_STREAM)
    entry = decode_probe_entry(fields[b"e"])
    assert (entry.project, entry.batch.agent.region, entry.batch.records[0].error) == ("demo", "eu", "tcp.refused")


def test_the_public_key_a_browser_and_bad_bodies_are_refused(http, collector, demo_project, redis_client):
    url = f"{collector.url}/api/{demo_project.id}/probes"
    secret = {"Authorization": f"Bearer {demo_project.secret_token}"}
    public = http.post(url, content=body(), headers={"Authorization": f"Bearer {demo_project.public_key}"})
    browser = http.post(url, content=body(), headers={**secret, "Origin": "https://shop.example"})
    broken = http.post(url, content=b"{not json", headers=secret)
    invalid = http.post(url, content=body().replace(b'"down"', b'"sideways"'), headers=secret)

    assert (public.status_code, public.json()) == (403, {"error": "unknown project or secret token"})
    assert browser.status_code == 403
    assert broken.status_code == 400
    assert invalid.status_code == 400
    assert invalid.json()["error"] == "invalid probe batch: Invalid enum value 'sideways' - at `$.records[0].status`"
    assert redis_client.xlen(PROBES_STREAM) == 0


def test_the_shared_config_is_served_to_agents(http, collector, demo_project, data_dir):
    url = f"{collector.url}/api/{demo_project.id}/probes/config"
    secret = {"Authorization": f"Bearer {demo_project.secret_token}"}
    missing = http.get(url, headers=secret)
    (data_dir / "probes").mkdir()
    (data_dir / "probes" / "demo.toml").write_text('[[check]]\nname = "shop"\n')
    found = http.get(url, headers=secret)
    refused = http.get(url, headers={"Authorization": f"Bearer {demo_project.public_key}"})

    assert (missing.status_code, missing.json()["error"]) == (
        404, "no shared probe config for project demo: create probes/demo.toml"
    )  # fmt: skip
    assert (found.status_code, found.text) == (200, '[[check]]\nname = "shop"\n')
    assert refused.status_code == 403
