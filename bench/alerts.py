"""What the alerts job and the daily report cost on a database of 10 million events over 30 days, side by side with
the correlation job's evaluation (the same data, the same run).

Run by hand: ``.venv/bin/python bench/alerts.py [--db PATH] [--calls 15]``.

It uses the database of ``bench/read_api.py`` (filled the same way when ``--db`` is absent
or empty), then times at the data's last minute, ``--calls`` times each after a warm-up:
``incidents.evaluate`` (the correlation job, the yardstick), ``alerts.evaluate`` with one
rule of every kind on the busiest project, and ``report.build`` of that project's last
whole day. Each is given as a ratio to the correlation job, measured in the same run.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import alerts, incidents, report  # noqa: E402
from bench.correlation import arguments, bench_database  # noqa: E402
from bench.read_api import timed  # noqa: E402
from contracts.alerts import parse_alerting  # noqa: E402
from contracts.projects import Project  # noqa: E402

RULES = [
    {"name": "new", "when": "new_issue"},
    {"name": "regression", "when": "regression"},
    {"name": "spike", "when": "issue_spike"},
    {"name": "users", "when": "users_affected", "users": 50},
    {"name": "down", "when": "check_down"},
    {"name": "degraded", "when": "check_degraded"},
    {"name": "lost", "when": "agent_lost"},
    {"name": "cpu", "when": "host_metric", "metric": "cpu", "above": 90},
    {"name": "slo", "when": "slo_burn"},
    {"name": "slo vitals", "when": "slo_burn", "signal": "good_vitals", "severity": "ticket"},
    {"name": "incidents", "when": "incident"},
]


def main() -> int:
    args = arguments(__doc__)
    rules, channels = parse_alerting(RULES, [])
    shop = {1: Project(1, "shop", "k", "t", alerts=rules, channels=channels)}
    with bench_database(args) as (con, now):
        alerts.evaluate(con, shop, now - timedelta(hours=2))  # the rules watch from two hours before
        day = (now - timedelta(days=1)).date()
        steps = [
            ("correlation job (incidents.evaluate), the yardstick", lambda: incidents.evaluate(con, {}, now)),
            (f"alerts job, {len(RULES)} rules (alerts.evaluate)", lambda: alerts.evaluate(con, shop, now)),
            ("daily report of the busiest project (report.build)", lambda: report.build(con, shop[1], day, now)),
        ]  # fmt: skip
        print("| step | p50 | p95 | p50 / correlation |\n| --- | --- | --- | --- |")
        yardstick = 0.0
        for name, call in steps:
            p50, p95 = timed(call, args.calls)
            yardstick = yardstick or p50
            print(f"| {name} | {p50:.0f} ms | {p95:.0f} ms | {p50 / yardstick:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
