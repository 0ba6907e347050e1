"""Queries over the probe agents' results: check states, their history, uptime and reachability."""

from __future__ import annotations

from analytics.queries.overview import PROJECT, RANGE
from analytics.queries.spec import NamedQuery

WHERE = "ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)"

QUERIES = [
    NamedQuery(
        "checks",
        "The current state of every check per region, and across its regions (region '*').",
        """SELECT project, "check", region, state, since, last_ts FROM probe_states
           WHERE $project IS NULL OR project = $project ORDER BY project, "check", region""",
        (PROJECT,),
    ),
    NamedQuery(
        "check_history",
        "Every change of a check's state (per region, and '*' across regions) or an agent's (check empty).",
        f"""SELECT ts, project, "check", region, host, state, previous, regions_down, regions, reason
            FROM probe_state_changes WHERE {WHERE} ORDER BY ts, "check", region""",
        RANGE,
    ),
    NamedQuery(
        "check_reachability",
        "Per project, check, region and UTC day: runs with a conclusive result, how many were up, and their share.",
        f"""SELECT project, "check", region, ts::DATE AS day, count(*) AS runs,
                   count(*) FILTER (WHERE status = 'up') AS up,
                   round(count(*) FILTER (WHERE status = 'up') / count(*), 6) AS reachability
            FROM probe_results WHERE {WHERE} AND status IN ('up', 'down')
            GROUP BY ALL ORDER BY project, "check", day, region""",
        RANGE,
    ),
    NamedQuery(
        "check_uptime",
        "Per project, check and UTC day: of the minutes with a conclusive result, the share with a region up.",
        f"""WITH minutes AS (
                SELECT project, "check", time_bucket(INTERVAL 1 MINUTE, ts) AS minute, bool_or(status = 'up') AS up
                FROM probe_results WHERE {WHERE} AND status IN ('up', 'down') GROUP BY ALL
            )
            SELECT project, "check", minute::DATE AS day, count(*) AS minutes, count(*) FILTER (WHERE up) AS minutes_up,
                   round(count(*) FILTER (WHERE up) / count(*), 6) AS uptime
            FROM minutes GROUP BY ALL ORDER BY project, "check", day""",
        RANGE,
    ),
    NamedQuery(
        "agents",
        "Every probe agent (region and host): its last heartbeat and whether it is lost.",
        """SELECT project, region, host, state, last_heartbeat, interval_s FROM probe_agents
           WHERE $project IS NULL OR project = $project ORDER BY project, region, host""",
        (PROJECT,),
    ),
]
