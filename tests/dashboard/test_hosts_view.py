"""The fleet heat map's pieces that are pure functions of the read API's rows."""

from __future__ import annotations

from datetime import datetime

from contracts.services import Service
from dashboard.hosts_view import NO_SERVICE, SILENT, WIDTH, grouped, heatmap, hosts

SEEN = datetime(2026, 12, 1, 12, 4, 10)


def row(host: str, region: str, cpu: float | None, disk: float | None = 50.0) -> dict[str, object]:
    return {"host": host, "region": region, "last_seen": SEEN, "cpu": cpu, "memory": 40.0 if cpu else None,
            "disk": disk if cpu else None, "load1": 1.0 if cpu else None, "fds": 2.0 if cpu else None}  # fmt: skip


API = Service("api", hosts=("api-1", "api-2"), checks=("api-health",), backend_projects=("shop-api",))


def test_services_bring_their_errors_and_the_worst_state_of_their_checks():
    found = {h.name: h for h in hosts([row("api-1", "eu", 20.0), row("web-1", "eu", 30.0)], [("shop", API)],
                                      {"shop-api": 12, "other": 5}, {("shop", "api-health"): "degraded"})}  # fmt: skip
    assert (found["api-1"].services, found["api-1"].values["errors"], found["api-1"].values["checks"]) == (
        ["api"],
        12.0,
        1.0,
    )
    assert (found["web-1"].services, found["web-1"].values["errors"], found["web-1"].values["checks"]) == (
        [],
        0.0,
        None,
    )


def test_groups_put_silent_hosts_then_the_worst_first():
    found = hosts([row("a", "eu", 10.0), row("b", "eu", 90.0), row("c", "us", 50.0), row("d", "eu", None)],
                  [("shop", Service("web", hosts=("a", "b")))], {}, {})  # fmt: skip
    by_region = grouped(found, "region", "cpu")
    assert list(by_region) == ["eu", "us"]
    assert [h.name for h in by_region["eu"]] == ["d", "b", "a"]
    assert [h.name for h in grouped(found, "service", "cpu")[NO_SERVICE]] == ["d", "c"]


def test_one_trace_of_rows_of_fifty_with_a_blank_row_between_groups():
    rows = [row(f"h{n:04d}", "eu" if n < 120 else "us", float(n % 100)) for n in range(5000)]
    rows[7]["cpu"] = None  # silent
    fig = heatmap(grouped(hosts(rows, [], {}, {}), "region", "cpu"), "cpu")
    assert len(fig.data) == 1
    z = fig.data[0].z
    assert len(z) == 3 + 1 + 98 + 1  # 120 hosts in eu, then 4,880 in us
    assert all(len(r) == WIDTH for r in z)
    assert z[0][0] == SILENT  # eu has the silent host: it comes first, in the group with the worst
    assert list(z[3]) == [None] * WIDTH
    assert fig.data[0].customdata[0][0] == "h0007"
    assert sum(1 for r in z for v in r if v is not None) == 5000
    assert list(fig.layout.yaxis.ticktext) == ["eu (120)", "us (4880)"]
