"""The SQL of the queries over probe agents' results: check states, their history, uptime and reachability."""

from __future__ import annotations

from analytics.queries.fragments import BUCKET, WHERE

SQL = {
    "checks": (
        """SELECT project, "check", region, state, since, last_ts FROM probe_states
        WHERE $project IS NULL OR project = $project ORDER BY project, "check", region"""
    ),
    "check_history": (
        f"""SELECT ts, project, "check", region, host, state, previous, regions_down, regions, reason
        FROM probe_state_changes WHERE {WHERE} AND ($check IS NULL OR "check" = $check)
        ORDER BY ts, "check", region"""
    ),
    "check_reachability": (
        f"""SELECT project, "check", region, ts::DATE AS day, count(*) AS runs,
               count(*) FILTER (WHERE status = 'up') AS up,
               round(count(*) FILTER (WHERE status = 'up') / count(*), 6) AS reachability
        FROM probe_results WHERE {WHERE} AND status IN ('up', 'down')
        GROUP BY ALL ORDER BY project, "check", day, region"""
    ),
    "check_uptime": (
        f"""WITH minutes AS (
            SELECT project, "check", time_bucket(INTERVAL 1 MINUTE, ts) AS minute, bool_or(status = 'up') AS up
            FROM probe_results WHERE {WHERE} AND status IN ('up', 'down') GROUP BY ALL
        )
        SELECT project, "check", minute::DATE AS day, count(*) AS minutes, count(*) FILTER (WHERE up) AS minutes_up,
               round(count(*) FILTER (WHERE up) / count(*), 6) AS uptime
        FROM minutes GROUP BY ALL ORDER BY project, "check", day"""
    ),
    "check_phases": (
        f"""SELECT {BUCKET}, region,
               median(dns_ms) AS dns, median(connect_ms) AS connect, median(tls_ms) AS tls,
               median(processing_ms) AS processing, median(transfer_ms) AS transfer,
               median(duration_ms) AS duration, count(*) FILTER (WHERE status = 'up') AS up,
               count(*) FILTER (WHERE status = 'down') AS down
        FROM probe_results WHERE {WHERE} AND "check" = $check GROUP BY ALL ORDER BY minute, region"""
    ),
    "agents": (
        """SELECT project, region, host, state, last_heartbeat, interval_s FROM probe_agents
        WHERE $project IS NULL OR project = $project ORDER BY project, region, host"""
    ),
}
