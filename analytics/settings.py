"""The analytics service's settings (documented in the README's configuration table)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from analytics.retention import policy
from contracts.read_api import DEFAULT_PORT
from contracts.settings import DEFAULT_DATA_DIR, setting


@dataclasses.dataclass(frozen=True)
class AnalyticsSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    redis_url: str = setting(
        "", "Redis to consume from; empty means the embedded redis-server of `vigil up`.", env="VIGIL_REDIS_URL"
    )
    host: str = setting("127.0.0.1", "Address of the read API (the dashboard and `vigil sql` use it).")
    port: int = setting(DEFAULT_PORT, "Port of the read API.", minimum=0)
    database: str = setting("", "DuckDB file; empty means vigil.duckdb in the data directory.")
    batch_entries: int = setting(500, "Most stream entries (beacon requests) read and committed together.", minimum=1)
    block_ms: int = setting(1000, "How long one read waits for new entries, in milliseconds.", minimum=1)
    claim_idle_ms: int = setting(
        60_000,
        "Entries another consumer has held unacknowledged this long are claimed "
        "and processed here (a consumer that died).",
        minimum=1000,
    )
    source_map_cache_bytes: int = setting(
        256_000_000,
        "Memory for parsed source maps (estimated) in each process that symbolicates "
        "(every processor worker, and the consumer); the least recently used are dropped first.",
        minimum=1_000_000,
    )
    processors: int = setting(
        2,
        "Worker processes that decode, enrich, symbolicate and group events while the consumer "
        "stores the batch before; 0 does that work in the consumer's own thread.",
        minimum=0,
    )
    processor_timeout_seconds: float = setting(
        30.0,
        "A processor worker that has not answered for its share of a batch this long (stopped, stuck) is killed "
        "and restarted; its share is processed in the consumer's thread.",
        minimum=0.1,
    )
    compact_seconds: float = setting(
        60.0, "How often the per-minute rollups fold the partial rows of finished minutes.", minimum=1
    )
    correlation_seconds: float = setting(
        60.0, "How often client anomalies are tested and incidents opened, judged again or closed.", minimum=1
    )
    correlation_window_minutes: int = setting(
        5, "Each client series is counted over this many last minutes and tested against the day before.", minimum=1
    )
    correlation_min_history_minutes: int = setting(
        10,
        "A project's client series are judged once its last day holds page views (or errors) in this many minutes.",
        minimum=1,
    )
    retention_days: int = setting(90, "Days raw event rows are kept; 0 keeps them forever.", minimum=0)
    rollup_retention_days: int = setting(
        400, "Days the per-minute rollups and the beacon's sessions are kept; 0 keeps them forever.", minimum=0
    )
    retention: str = setting("", "Days kept for single tables, overriding the two above: `errors=180,page_views=30`.")
    retention_check_seconds: float = setting(3600.0, "How often rows past their retention are deleted.", minimum=1)
    new_issues_per_minute: int = setting(
        100,
        "New issues a project may open in a minute; past it, events that would open one are grouped into the "
        'project\'s one "too many new issues" issue and counted in outcomes (issue_overflow).',
        minimum=1,
    )
    issue_cache_entries: int = setting(
        100_000,
        "Fingerprints of recent issues kept in memory (of each of the two hashes); others are looked up in the file.",
        minimum=100,
    )
    sql_timeout_seconds: float = setting(
        30.0, "`vigil sql` and the read API's SQL: a query running longer is interrupted.", minimum=0.1
    )
    sql_max_rows: int = setting(
        10_000, "`vigil sql`: most rows in an answer; the rest is cut (and said so).", minimum=1
    )
    sql_max_bytes: int = setting(
        10_000_000, "`vigil sql`: most bytes of an answer (as JSON); the rest is cut, and said.", minimum=1000
    )
    sql_memory_bytes: int = setting(
        256_000_000,
        "`vigil sql`: memory for one query's sorts and hash tables; past it they spill to disk, "
        "so a heavy query never takes the writer's memory.",
        minimum=16_000_000,
    )
    consumer: str = setting(
        "",
        "This consumer's name in the group; empty means analytics-HOSTNAME. "
        "A restarted consumer with the same name first finishes its own pending entries.",
    )

    def __post_init__(self) -> None:
        self.retention_policy  # noqa: B018 (a bad `retention` fails at start, in one line)

    @property
    def retention_policy(self) -> dict[str, int]:
        """Days kept per table (``analytics/retention.py``)."""
        return policy(self.retention_days, self.rollup_retention_days, self.retention)

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else self.data_dir / "vigil.duckdb"

    @property
    def consumer_name(self) -> str:
        return self.consumer or f"analytics-{socket.gethostname()}"
