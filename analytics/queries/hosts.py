"""The SQL of the hosts queries: every machine's health now, one machine's over time, and errors per project.

"Now" is the five minutes before ``until``: CPU busy is their average; memory, the fullest
disk, the 1-minute load and open files their highest. A host seen in the hour before but not
in those five minutes is listed with its last report and no values: it went silent.
"""

from __future__ import annotations

from analytics.queries.fragments import BUCKET, HOST_FIGURES, WHERE
from analytics.queries.rollups import WHERE as ROLLUP_WHERE

#: How recent a host's figures are to count as its state now, and how far back a silent host is still listed.
NOW_MINUTES = 5
LISTED_MINUTES = 60

SQL = {
    "hosts_now": (
        f"""WITH recent AS (
            SELECT project, region, host, ts, cpu_busy_percent, memory_percent, load1, disks, open_fds, max_fds
            FROM host_metrics
            WHERE ts >= $until - INTERVAL {LISTED_MINUTES} MINUTE AND ts < $until
              AND ($project IS NULL OR project = $project) AND host IS NOT NULL),
        seen AS (SELECT project, region, host, max(ts) AS last_seen FROM recent GROUP BY ALL),
        now AS (
            SELECT project, region, host, {HOST_FIGURES}, round(max(load1), 2) AS load1
            FROM recent WHERE ts >= $until - INTERVAL {NOW_MINUTES} MINUTE GROUP BY ALL)
        SELECT seen.project, seen.region, seen.host, seen.last_seen, now.cpu, now.memory, now.disk, now.load1, now.fds
        FROM seen LEFT JOIN now USING (project, region, host) ORDER BY seen.project, seen.region, seen.host"""
    ),
    "host_series": (
        f"""SELECT {BUCKET}, {HOST_FIGURES}, round(max(load1), 2) AS load1,
               round(avg(net_bytes_sent_per_s), 0) AS net_sent, round(avg(net_bytes_recv_per_s), 0) AS net_received
        FROM host_metrics WHERE {WHERE} AND host = $host
        GROUP BY ALL ORDER BY 1"""
    ),
    "errors_by_project": (
        f"""SELECT project, sum(count)::BIGINT AS errors FROM event_counts_1m
        WHERE {ROLLUP_WHERE} AND kind = 'errors' GROUP BY ALL HAVING sum(count) > 0 ORDER BY errors DESC, project"""
    ),
}
