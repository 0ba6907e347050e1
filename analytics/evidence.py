"""The backend's evidence over an incident's time: what ``analytics/incidents.py`` gives its verdict from.

Each piece looks at what the incident's failing hosts (or, when only the pages throw, every
declared service) name: the site's own hosts, the checks watching them (declared, or
inferred from their targets), the machines serving them, the backend projects' server-side
errors, new releases, and what the failing events are concentrated in. Every piece is
JSON-ready, as it is kept in ``incidents.evidence`` (docs/correlation.md, The evidence).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics import anomalies
from contracts.projects import Project
from contracts.services import Service, domain_matches, host_of

#: A host is saturated past these: CPU busy (average over the time), memory, fullest disk, open files (highest).
SATURATED = {"cpu": 90.0, "memory": 95.0, "disk": 95.0, "fds": 90.0}
#: A check is slow when its median time in a region is this many times the day before's, and this much more.
SLOW_RATIO, SLOW_MIN_MS = 2.0, 200.0
#: "X only": X holds this share of the failures.
ONLY_SHARE = 0.8
#: SQL for the fullest disk and the open files of ``host_metrics`` rows, as percentages.
DISK_PERCENT = "list_max(CAST(json_extract(disks, '$[*].percent') AS DOUBLE[]))"
FDS_PERCENT = "open_fds * 100.0 / nullif(max_fds, 0)"


def own_hosts(
    con: duckdb.DuckDBPyConnection, project_id: int, project: Project | None, since: datetime, now: datetime
) -> set[str]:
    """The site's own hosts: its origins, and the hosts of its pages in the time."""
    hosts = {host_of(o) for o in project.origins} if project is not None else set()
    rows = con.execute(
        f"""SELECT DISTINCT {anomalies.netloc_sql("page_url")} FROM page_views
            WHERE project_id = ? AND ts >= ? AND ts < ?""",
        [project_id, since, now],
    ).fetchall()
    return hosts | {host_of(f"http://{netloc}/") for (netloc,) in rows if netloc}


def serves(service: Service, host: str) -> bool:
    return any(domain_matches(d, host) for d in service.domains) or any(
        host_of(p) == host for p in service.url_prefixes
    )


def is_own(host: str, own_hosts: set[str], services: Iterable[Service]) -> bool:
    return host in own_hosts or any(serves(s, host) for s in services)


def checks(
    con: duckdb.DuckDBPyConnection, project_id: int, relevant: list[Service], hosts: set[str] | None,
    declared: bool, now: datetime,
) -> dict[str, bool]:  # fmt: skip
    """The checks to look at, each with whether it was inferred: the relevant services' checks, and those whose
    target's host is a failing host (or, for a page that throws and no service declared, every check)."""
    chosen = {c: False for s in relevant for c in s.checks}
    targets = con.execute(
        """SELECT "check", arg_max(target, ts) FROM probe_results WHERE project_id = ? AND ts >= ? GROUP BY 1""",
        [project_id, now - timedelta(days=1)],
    ).fetchall()
    for check, target in targets:
        if check in chosen:
            continue
        host = host_of(target if "://" in target else f"tcp://{target}")
        if (hosts is not None and host in hosts) or (hosts is None and not declared):
            chosen[check] = True
    return chosen


def machines(
    con: duckdb.DuckDBPyConnection, project_id: int, relevant: list[Service], declared: bool, since: datetime,
    now: datetime,
) -> dict[str, bool]:  # fmt: skip
    chosen = {h: False for s in relevant for h in s.hosts}
    if not declared:
        rows = con.execute(
            "SELECT DISTINCT host FROM host_metrics WHERE project_id = ? AND ts >= ? AND ts < ?",
            [project_id, since, now],
        ).fetchall()
        chosen.update({host: True for (host,) in rows if host})
    return chosen


def check_evidence(
    con: duckdb.DuckDBPyConnection, project_id: int, checks: dict[str, bool], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    """Per check: its worst state across regions over the time, the regions down, and regions slower than usual."""
    if not checks:
        return []
    names = list(checks)
    changes = con.execute(
        """SELECT "check", region, state, ts, regions_down, regions FROM probe_state_changes
           WHERE project_id = ? AND "check" IN (SELECT unnest(?)) AND ts < ? ORDER BY ts""",
        [project_id, names, now],
    ).fetchall()
    states: dict[tuple[str, str], list[tuple[str, datetime, int | None, int | None]]] = defaultdict(list)
    for check, region, state, ts, down, regions in changes:
        states[(check, region)].append((state, ts, down, regions))
    latency = con.execute(
        """SELECT "check", region, median(duration_ms) FILTER (WHERE ts >= $since),
                  median(duration_ms) FILTER (WHERE ts < $since)
           FROM probe_results WHERE project_id = $project AND "check" IN (SELECT unnest($names)) AND status = 'up'
             AND ts >= $day AND ts < $now GROUP BY ALL""",
        {"project": project_id, "names": names, "since": since, "day": since - timedelta(days=1), "now": now},
    ).fetchall()
    found = []
    for check in names:
        overall = states_during(states.get((check, "*"), []), since)
        worst = next((s for s in ("down", "degraded", "up") if any(o[0] == s for o in overall)), "unknown")
        during = [o for o in overall if o[0] == worst]
        regions = sorted(
            r for (c, r), changes_of in states.items()
            if c == check and r != "*" and any(o[0] == "down" for o in states_during(changes_of, since))
        )  # fmt: skip
        slow = [
            {"region": r, "median_ms": round(now_ms, 1), "usual_ms": round(before_ms, 1)}
            for c, r, now_ms, before_ms in latency
            if c == check and now_ms is not None and before_ms
            and now_ms >= SLOW_RATIO * before_ms and now_ms - before_ms >= SLOW_MIN_MS
        ]  # fmt: skip
        found.append({
            "check": check, "inferred": checks[check], "worst": worst,
            "since": during[0][1].isoformat() if during else None,
            "regions_down": max((o[2] or 0 for o in during), default=len(regions)),
            "regions": max((o[3] or 0 for o in overall), default=0), "down_regions": regions,
            "slow_regions": slow,
        })  # fmt: skip
    return found


def states_during(
    changes: list[tuple[str, datetime, int | None, int | None]], since: datetime
) -> list[tuple[str, datetime, int | None, int | None]]:
    """The states in effect at some point from ``since`` on: the last one before it, and every later change."""
    before = [c for c in changes if c[1] <= since]
    return before[-1:] + [c for c in changes if c[1] > since]


def host_evidence(
    con: duckdb.DuckDBPyConnection, project_id: int, machines: dict[str, bool], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    if not machines:
        return []
    rows = con.execute(
        f"""SELECT host, avg(cpu_busy_percent), max(memory_percent), max({DISK_PERCENT}), max({FDS_PERCENT})
           FROM host_metrics WHERE project_id = ? AND host IN (SELECT unnest(?)) AND ts >= ? AND ts < ?
           GROUP BY host ORDER BY host""",
        [project_id, list(machines), since, now],
    ).fetchall()
    found = []
    for host, cpu, memory, disk, fds in rows:
        values = {"cpu": cpu, "memory": memory, "disk": disk, "fds": fds}
        saturated = [k for k, v in values.items() if v is not None and v >= SATURATED[k]]
        found.append({
            "host": host, "inferred": machines[host], "saturated": saturated,
            **{k: None if v is None else round(v, 1) for k, v in values.items()},
        })  # fmt: skip
    return found


def server_errors(
    con: duckdb.DuckDBPyConnection, backends: dict[int, str], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    """Each backend project's errors over the time against the day before, per minute (the same test)."""
    found = []
    for project_id, name in backends.items():
        rows = con.execute(
            """SELECT coalesce(sum(count) FILTER (WHERE minute >= $since), 0),
                      coalesce(sum(count) FILTER (WHERE minute < $since), 0)
               FROM event_counts_1m WHERE project_id = $project AND kind = 'errors' AND minute >= $day
                 AND minute < $now""",
            {"project": project_id, "since": since, "day": since - timedelta(days=1), "now": now},
        ).fetchall()
        count, before = (float(v) for v in rows[0])
        minutes = (now - since) / timedelta(minutes=1)
        spike, expected, _ = anomalies.judge_count(count, minutes, before / (24 * 60), 24 * 60)
        found.append({"project": name, "errors": int(count), "expected": round(expected, 1), "spike": spike})
    return found


def new_releases(
    con: duckdb.DuckDBPyConnection, project_ids: list[int], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    rows = con.execute(
        """SELECT project_id, release, min(first_seen) AS first_seen FROM (
               SELECT project_id, release, first_seen FROM releases WHERE project_id IN (SELECT unnest($ids))
               UNION ALL
               SELECT project_id, release, min(started) FROM beacon_sessions
               WHERE project_id IN (SELECT unnest($ids)) AND release <> '' GROUP BY ALL)
           GROUP BY ALL HAVING min(first_seen) >= $since AND min(first_seen) < $now ORDER BY first_seen""",
        {"ids": project_ids, "since": since, "now": now},
    ).fetchall()
    return [{"project_id": p, "release": r, "first_seen": t.isoformat()} for p, r, t in rows]


def concentration(
    con: duckdb.DuckDBPyConnection, project_id: int, since: datetime, now: datetime, table: str, by: str,
    hosts: set[str] | None,
) -> list[list[Any]]:  # fmt: skip
    """The top values of ``by`` among the events of the time, each with its share of them and of the page views."""
    value = "browser || coalesce(' ' || nullif(split_part(browser_version, '.', 1), ''), '')" if by == "browser" else by
    rows = con.execute(
        f"""SELECT {value} AS v, {anomalies.netloc_sql("url") if hosts is not None else "''"} AS netloc, count(*)
            FROM {table} WHERE project_id = ? AND ts >= ? AND ts < ? GROUP BY ALL""",
        [project_id, since, now],
    ).fetchall()
    counts: Counter[str] = Counter()
    for v, netloc, n in rows:
        if hosts is None or host_of(f"http://{netloc}/") in hosts:
            counts[v or "unknown"] += n
    views = dict(
        con.execute(
            f"SELECT {value}, count(*) FROM page_views WHERE project_id = ? AND ts >= ? AND ts < ? GROUP BY 1",
            [project_id, since, now],
        ).fetchall()
    ) if by != "error_type" else {}  # fmt: skip
    total, total_views = sum(counts.values()), sum(views.values())
    return [
        [v, round(n / total, 3), round(views.get(v, 0) / total_views, 3) if total_views else None]
        for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    ]


def only(shares: list[list[Any]], most: int = 2) -> list[str]:
    """The values holding ``ONLY_SHARE`` of the events together (at most ``most``), when they are fewer of the
    page views than of the events; else none."""
    taken, share, views = [], 0.0, 0.0
    for value, of_events, of_views in shares[:most]:
        taken.append(str(value))
        share += of_events
        views += of_views or 0.0
        if share >= ONLY_SHARE:
            return taken if views < share or not any(s[2] for s in shares) else []
    return []


def checked(evidence: dict[str, Any], relevant: list[Service]) -> list[str]:
    done = []
    if evidence["checks"]:
        declared = [c["check"] for c in evidence["checks"] if not c["inferred"]]
        inferred = [c["check"] for c in evidence["checks"] if c["inferred"]]
        done.append(
            f"{len(evidence['checks'])} check{'s' if len(evidence['checks']) > 1 else ''}"
            + (f" of {', '.join(s.name for s in relevant)}" if declared else "")
            + (f" ({', '.join(inferred)} inferred from their targets)" if inferred else "")
        )
    if evidence["hosts"]:
        done.append("hosts " + ", ".join(h["host"] for h in evidence["hosts"]))
    if evidence["server_errors"]:
        done.append("server errors of " + ", ".join(e["project"] for e in evidence["server_errors"]))
    return done
