"""The analytics service's settings (documented in the README's configuration table)."""

from __future__ import annotations

import dataclasses
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.read_api import DEFAULT_PORT
from contracts.settings import DEFAULT_DATA_DIR, ConfigError, setting
from contracts.stream import MAX_SHARDS, cluster_nodes

if TYPE_CHECKING:
    from analytics.store import Store

SMTP_SECURITY = ("starttls", "tls", "none")
STORES = ("duckdb", "ducklake")


def has_password(catalog: str) -> bool:
    """Whether a libpq connection string or URL carries a password."""
    if "://" in catalog:
        return ":" in catalog.split("://", 1)[1].split("@", 1)[0] and "@" in catalog
    return re.search(r"(^|\s)password\s*=", catalog, re.IGNORECASE) is not None


@dataclasses.dataclass(frozen=True)
class Resources:
    """What DuckDB may use (``[analytics] duckdb_memory_bytes`` and ``duckdb_threads``); ``None`` leaves DuckDB's own
    default (80 % of the machine's memory, a thread per core)."""

    memory_bytes: int | None = None
    threads: int | None = None

    def config(self) -> dict[str, str | int]:
        found: dict[str, str | int] = {}
        if self.memory_bytes is not None:
            found["memory_limit"] = f"{self.memory_bytes}B"
        if self.threads is not None:
            found["threads"] = self.threads
        return found


@dataclasses.dataclass(frozen=True)
class AnalyticsSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    redis_url: str = setting(
        "", "Redis to consume from; empty means the embedded redis-server of `vigil up`.", env="VIGIL_REDIS_URL"
    )
    stream_shards: int = setting(
        1,
        "Streams of each kind, a project's records always in the same one: more spread them over a Redis "
        "Cluster's nodes (docs/scaling.md). Collectors and analytics must agree.",
        env="VIGIL_STREAM_SHARDS",
        minimum=1,
    )
    host: str = setting("127.0.0.1", "Address of the read API (the dashboard and `vigil sql` use it).")
    port: int = setting(DEFAULT_PORT, "Port of the read API.", minimum=0)
    store: str = setting(
        "duckdb",
        "Where events are stored: duckdb (one file that this process alone writes) or ducklake (a PostgreSQL "
        "catalog and Parquet files that several analytics writers share: docs/scaling.md).",
    )
    database: str = setting("", "store = duckdb: the DuckDB file; empty means vigil.duckdb in the data directory.")
    ducklake_catalog: str = setting(
        "",
        "store = ducklake: the PostgreSQL database that holds the catalog, as a libpq connection string "
        "(`host=db.internal dbname=vigil user=vigil`) or URL; a password in it is refused: PGPASSWORD or ~/.pgpass.",
    )
    ducklake_data_path: str = setting(
        "",
        "store = ducklake: the folder of the Parquet files, which every writer must reach (a shared mount); "
        "empty means lake/ in the data directory.",
    )
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
    alerts_seconds: float = setting(15.0, "How often the projects' alert rules are evaluated.", minimum=1)
    alert_group_wait_seconds: float = setting(
        30.0,
        "A rule's alerts wait this long for others of the same rule and channel, and go out together in one message.",
        minimum=0,
    )
    alert_group_interval_seconds: float = setting(
        300.0,
        "After a message, a rule's next alerts to the same channel wait until this long has passed (a storm "
        "sends one message per interval).",
        minimum=0,
    )
    alert_give_up_hours: float = setting(
        24.0, "A message not delivered this long after it was due is given up (and shown as failed).", minimum=0.001
    )
    alert_retry_seconds: float = setting(
        10.0,
        "The first retry of a failed delivery waits this long; each next one twice as long (at most 15 minutes).",
        minimum=0.1,
    )
    dashboard_url: str = setting(
        "http://127.0.0.1:8471", "The dashboard's address as the people notified reach it: links in alerts and reports."
    )
    smtp_host: str = setting("", "SMTP server for e-mail channels and reports; empty means no e-mail is sent.")
    smtp_port: int = setting(587, "Its port (587 for STARTTLS, 465 for TLS from the start, 25 plain).", minimum=1)
    smtp_security: str = setting("starttls", "starttls, tls, or none (only for a server on this machine).")
    smtp_username: str = setting("", "Log in with this user (after STARTTLS); empty means no login.")
    smtp_password: str = setting("", "Its password; prefer the environment variable to the file.")
    smtp_sender: str = setting("vigil@localhost", "The From address of alerts and reports.")
    smtp_ca_file: str = setting("", "CA certificates to verify the SMTP server with; empty means the system's.")
    smtp_timeout_seconds: float = setting(20.0, "How long a connection to the SMTP server may take.", minimum=0.1)
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
    issue_cache_bytes: int = setting(
        32_000_000,
        "Memory for the fingerprints of recent issues and the first sightings of releases (about 830 bytes an "
        "issue: some 38,000 by default); others are looked up in the file.",
        minimum=100_000,
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
        "so a heavy query never takes the writer's memory (DuckDB 2.0 and newer: the 1.5 series Vigil pins bounds "
        "a query by duckdb_memory_bytes only).",
        minimum=16_000_000,
    )
    duckdb_memory_bytes: int = setting(
        512_000_000,
        "Memory DuckDB may use for its buffers, caches and queries together; past it, sorts, joins and "
        "aggregations spill to disk next to the file (DATABASE.tmp). 0 leaves DuckDB's default, 80 % of the "
        "machine's memory.",
        minimum=0,
    )
    idle_release_seconds: float = setting(
        30.0,
        "Once no read has been answered and no more than a trickle stored (100 rows a second: a probe agent's "
        "results) for this long, DuckDB drops the blocks it keeps cached "
        "(they stay in the system's file cache), so an idle service holds little memory; 0 never does.",
        minimum=0,
    )
    duckdb_threads: int = setting(
        2, "Threads DuckDB runs a query or a checkpoint on; 0 leaves DuckDB's default, one per core.", minimum=0
    )
    jobs: bool = setting(
        True,
        "Run the jobs here (rollup folding, retention, correlation, alerts, daily reports) and send their "
        "notifications. Writers sharing one DuckLake: true on exactly one of them.",
    )
    consumer: str = setting(
        "",
        "This consumer's name in the group; empty means analytics-HOSTNAME. "
        "A restarted consumer with the same name first finishes its own pending entries.",
    )

    def __post_init__(self) -> None:
        cluster_nodes(self.redis_url)  # a malformed cluster URL fails at start, in one line
        if self.retention:  # without overrides there is nothing to check (and `vigil up` need not load the tables)
            self.retention_policy  # noqa: B018 (a bad `retention` fails at start, in one line)
        if self.store not in STORES:
            raise ConfigError(f"store: one of {', '.join(STORES)}, not {self.store[:40]!r}")
        if self.store == "ducklake" and not self.ducklake_catalog:
            raise ConfigError('store = "ducklake" needs ducklake_catalog: the PostgreSQL database of its catalog')
        if has_password(self.ducklake_catalog):
            # DuckDB's errors quote the connection string whole: a password there would reach logs and /healthz.
            raise ConfigError("ducklake_catalog: give the password by PGPASSWORD or ~/.pgpass, not in the string")
        if self.stream_shards > MAX_SHARDS:
            raise ConfigError(f"stream_shards: at most {MAX_SHARDS}, not {self.stream_shards}")
        if self.smtp_security not in SMTP_SECURITY:
            raise ConfigError(f"smtp_security: one of {', '.join(SMTP_SECURITY)}, not {self.smtp_security[:40]!r}")

    @property
    def retention_policy(self) -> dict[str, int]:
        """Days kept per table (``analytics/retention.py``)."""
        from analytics.retention import policy  # the tables' schemas: pyarrow, which the supervisor does not need

        return policy(self.retention_days, self.rollup_retention_days, self.retention)

    @property
    def resources(self) -> Resources:
        """What DuckDB may use, from ``duckdb_memory_bytes`` and ``duckdb_threads`` (0: DuckDB's default)."""
        return Resources(self.duckdb_memory_bytes or None, self.duckdb_threads or None)

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else self.data_dir / "vigil.duckdb"

    @property
    def location(self) -> Store:
        """Where the tables are (``analytics/store.py``)."""
        from analytics.store import Store  # DuckDB and pyarrow, which the supervisor does not need

        if self.store == "ducklake":
            data = Path(self.ducklake_data_path) if self.ducklake_data_path else self.data_dir / "lake"
            return Store(data, self.ducklake_catalog, spill=self.data_dir / "lake.tmp")
        return Store(self.database_path)

    @property
    def consumer_name(self) -> str:
        return self.consumer or f"analytics-{socket.gethostname()}"
