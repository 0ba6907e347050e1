"""SQL pieces the named queries share, so a range, a time bucket or a host's figures mean the same everywhere."""

from __future__ import annotations

from analytics.evidence import DISK_PERCENT, FDS_PERCENT

#: A raw table's rows in the range, of one project or all.
WHERE = "ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)"
#: The time bucket of a raw row, as ``minute``.
BUCKET = "time_bucket(to_seconds($bucket_seconds), ts) AS minute"
#: A host's figures over a group of its reports: CPU busy on average; memory, the fullest disk and open files (of
#: the limit) at their highest, in %.
HOST_FIGURES = f"""round(avg(cpu_busy_percent), 1) AS cpu, round(max(memory_percent), 1) AS memory,
    round(max({DISK_PERCENT}), 1) AS disk, round(max({FDS_PERCENT}), 1) AS fds"""
