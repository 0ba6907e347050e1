"""The SQL of the hosts queries: every machine's health now, one machine's over time, and errors per project.

"Now" is the five minutes before ``until``: CPU busy is their average; memory, the fullest
disk, the 1-minute load and open files their highest. A host seen in the hour before but not
in those five minutes is listed with its last report and no values: it went silent.
"""

from __future__ import annotations

from analytics.evidence import DISK_PERCENT, FDS_PERCENT

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
            SELECT project, region, host, round(avg(cpu_busy_percent), 1) AS cpu,
                   round(max(memory_percent), 1) AS memory, round(max({DISK_PERCENT}), 1) AS disk,
                   round(max(load1), 2) AS load1, round(max({FDS_PERCENT}), 1) AS fds
            FROM recent WHERE ts >= $until - INTERVAL {NOW_MINUTES} MINUTE GROUP BY ALL)
        SELECT seen.project, seen.region, seen.host, seen.last_seen, now.cpu, now.memory, now.disk, now.load1, now.fds
        FROM seen LEFT JOIN now USING (project, region, host) ORDER BY seen.project, seen.region, seen.host"""
    ),
    "host_series": (
        f"""SELECT time_bucket(to_seconds($bucket_seconds), ts) AS minute, round(avg(cpu_busy_percent), 1) AS cpu,
               round(max(memory_percent), 1) AS memory, round(max({DISK_PERCENT}), 1) AS disk,
               round(max(load1), 2) AS load1, round(max({FDS_PERCENT}), 1) AS fds,
               round(avg(net_bytes_sent_per_s), 0) AS net_sent, round(avg(net_bytes_recv_per_s), 0) AS net_received
        FROM host_metrics
        WHERE ts >= $since AND ts < $until AND ($project IS NULL OR project = $project) AND host = $host
        GROUP BY ALL ORDER BY 1"""
    ),
    "errors_by_project": (
        """SELECT project, sum(count)::BIGINT AS errors FROM event_counts_1m
        WHERE minute >= time_bucket(INTERVAL 1 MINUTE, $since) AND minute < $until AND kind = 'errors'
          AND ($project IS NULL OR project = $project)
        GROUP BY ALL HAVING sum(count) > 0 ORDER BY errors DESC, project"""
    ),
}
