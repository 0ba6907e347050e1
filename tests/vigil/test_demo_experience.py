"""The demo's visitors and machines have the shapes the experience pages are there to find."""

from __future__ import annotations

import random
import statistics
import threading
from collections import defaultdict

import msgspec

from contracts.beacon import decode_batch
from contracts.probes import decode_batch as decode_probes
from contracts.services import MAX_ITEMS
from contracts.vitals import THRESHOLDS
from vigil.demo import experience, fleet
from vigil.demo.traffic import batch

SITE, VENDOR = "https://shop.example", "https://vendor.example"


def p75(values: list[float]) -> float:
    return statistics.quantiles(values, n=4)[2]


def views(route: str, release: str, n: int = 400, mobile: bool = False) -> list[dict[str, object]]:
    rng = random.Random(5)
    events: list[dict[str, object]] = []
    for k in range(n):
        events += experience.page_view(rng, SITE, route, 1_764_072_000_000 + k, "", release, mobile, VENDOR)
    return events


def vital_values(events: list[dict[str, object]], name: str) -> list[float]:
    return [float(e["value"]) for e in events if e["type"] == "vital" and e["name"] == name]  # type: ignore[arg-type]


def test_a_slow_page_a_release_that_slowed_one_and_phones_slower_than_desktops():
    assert p75(vital_values(views("/product/42", "shop@1.4.2"), "LCP")) > THRESHOLDS["LCP"][0]
    assert p75(vital_values(views("/cart", "shop@1.4.2"), "LCP")) <= THRESHOLDS["LCP"][0]
    before = p75(vital_values(views("/checkout", "shop@1.4.2"), "INP"))
    after = p75(vital_values(views("/checkout", "shop@1.5.0"), "INP"))
    assert before <= THRESHOLDS["INP"][0] < after
    assert after > 2 * before
    desktop = p75(vital_values(views("/", "shop@1.4.2"), "LCP"))
    assert p75(vital_values(views("/", "shop@1.4.2", mobile=True), "LCP")) > 1.3 * desktop


def test_failures_besides_errors_land_where_they_should():
    kinds: dict[str, set[str]] = defaultdict(set)
    for route in experience.SHAPES:
        for event in views(route, "shop@1.5.0", n=200):
            kinds[str(event["type"])].add(route)
    assert kinds["resource"] == {"/"}  # the old banner image
    assert kinds["csp"] == {"/checkout"}  # the blocked ad script
    assert kinds["network"] == set(experience.SHAPES)  # the vendor's tracking call, anywhere


def test_every_batch_is_valid_with_a_country_and_events_within_the_visit():
    rng = random.Random(11)
    now = 1_764_072_000_000
    countries = set()
    for _ in range(100):
        body, headers = batch(rng, now, since_ms=now - 15_000)
        decoded = decode_batch(msgspec.json.encode(body)).batch
        assert all(now - 15_000 <= e.ts <= now for e in decoded.events)
        countries.add(headers["CF-IPCountry"])
    assert len(countries) >= 5


def test_the_fleet_has_two_hundred_machines_a_few_running_hot():
    hosts = fleet.fleet()
    assert len(hosts) == 200
    assert len({h.name for h in hosts}) == 200
    assert {h.region for h in hosts} == set(fleet.REGIONS)
    assert 0 < len(fleet.api_hosts()) <= MAX_ITEMS  # declared as the demo-api service's hosts
    rng = random.Random(1)
    by_name = {h.name: fleet.sample(h, rng, 1_764_072_000.0) for h in hosts}
    assert all(by_name[name].cpu_percent["user"] + by_name[name].cpu_percent["system"] > 85
               for name, what in fleet.HOT.items() if what == "cpu")  # fmt: skip
    assert by_name["db-003"].disks[0].percent > 90
    calm = [m for name, m in by_name.items() if name not in fleet.HOT]
    assert max(m.cpu_percent["user"] + m.cpu_percent["system"] for m in calm) < 80


def test_the_fleet_reports_through_the_probes_protocol():
    """Each host's batch is one the probes endpoint decodes (the Hosts page's browser test sends them to a real
    collector)."""
    sent: list[bytes] = []
    stop = threading.Event()

    def send(body: bytes) -> int:
        sent.append(body)
        if len(sent) == len(fleet.fleet()):
            stop.set()
        return 202

    fleet.report(send, stop, seed=3)
    batches = [decode_probes(body) for body in sent]
    assert len({b.agent.host for b in batches}) == 200
    assert all(len(b.records) == 1 for b in batches)
