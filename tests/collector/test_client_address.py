"""What the collector keeps of a client's address and country, and whom it believes about them."""

from __future__ import annotations

import subprocess
import sys

from contracts.projects import create_project, load_projects
from contracts.stream import EVENTS_STREAM, decode_entry
from tests.collector.test_routes import batch, post
from tests.conftest import _service
from tests.helpers import env_without_vigil, wait_until


def test_client_addresses_are_anonymized_unless_the_project_keeps_them(http, collector, data_dir, redis_client):
    keeps = create_project(data_dir, "keeps")
    with (data_dir / "vigil.toml").open("a") as f:
        f.write("store_ip = true\n")  # appended to the last [[projects]] table
    wait_until(lambda: post(http, collector, keeps, batch()).status_code == 202, timeout=5, what="reload")
    demo = next(p for p in load_projects(data_dir).values() if p.name == "demo")
    post(http, collector, demo, batch())

    ips = {
        decode_entry(f[b"e"]).project: decode_entry(f[b"e"]).client_ip for _, f in redis_client.xrange(EVENTS_STREAM)
    }
    assert ips == {"keeps": "127.0.0.1", "demo": "127.0.0.0"}


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(http, data_dir, redis_url, redis_client):
    """Behind a TLS proxy every visitor shared the proxy's address: its bucket, and the address stored."""
    keeps = create_project(data_dir, "keeps")
    with (data_dir / "vigil.toml").open("a") as f:
        f.write("store_ip = true\n")
    limits = {"VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0.1", "VIGIL_COLLECTOR_ADDRESS_BURST": "1"}
    forwarded = ("203.0.113.7", "198.51.100.9")
    for trusted in ("", "127.0.0.1, 10.0.0.0/8"):
        redis_client.delete(EVENTS_STREAM)
        env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_TRUSTED_PROXIES": trusted, **limits}
        service = _service("collector", data_dir, env, "/healthz")
        try:
            statuses = [
                post(http, service, keeps, batch(), headers={"X-Forwarded-For": f"10.1.1.1, {ip}"}).status_code
                for ip in forwarded
            ]
        finally:
            service.stop()
        ips = [decode_entry(f[b"e"]).client_ip for _, f in redis_client.xrange(EVENTS_STREAM)]
        if trusted:  # two visitors, two buckets, their own addresses
            assert (statuses, ips) == ([202, 202], list(forwarded))
        else:  # the header is anyone's to forge: the connection's address, one bucket
            assert (statuses, ips) == ([202, 429], ["127.0.0.1"])


def test_a_trusted_proxy_that_is_not_an_address_stops_the_collector_at_start(data_dir):
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "serve", "collector", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60,
        env={**env_without_vigil(), "VIGIL_COLLECTOR_TRUSTED_PROXIES": "my-proxy.internal"},
    )  # fmt: skip
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (
        2, "vigil: error: trusted_proxies: 'my-proxy.internal' is not an IP address or network",
    )  # fmt: skip


def test_the_country_comes_only_from_the_configured_cdn_header(http, data_dir, demo_project, redis_url, redis_client):
    service = _service(
        "collector",
        data_dir,
        {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_COUNTRY_HEADER": "CF-IPCountry"},
        "/healthz",
    )
    sent = {"b1": "de", "b2": "XX", "b3": "<b>DE</b>", "b4": None}
    try:
        for batch_id, value in sent.items():
            headers = {"CF-IPCountry": value} if value else {}
            assert post(http, service, demo_project, batch(batch_id=batch_id), headers=headers).status_code == 202
    finally:
        service.stop()

    entries = [decode_entry(f[b"e"]) for _, f in redis_client.xrange(EVENTS_STREAM)]
    assert {e.batch.batch_id: e.country for e in entries} == {"b1": "DE", "b2": "", "b3": "", "b4": ""}
