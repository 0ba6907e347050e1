"""The collector's settings (documented in the README's configuration table)."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from contracts.settings import DEFAULT_DATA_DIR, ConfigError, setting
from contracts.stream import MAX_SHARDS, cluster_nodes

DEFAULT_PORT = 8470


@dataclasses.dataclass(frozen=True)
class CollectorSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    redis_url: str = setting(
        "", "Redis to queue into; empty means the embedded redis-server of `vigil up`.", env="VIGIL_REDIS_URL"
    )
    stream_shards: int = setting(
        1,
        "Streams of each kind, a project's records always in the same one: more spread them over a Redis "
        "Cluster's nodes (docs/scaling.md). Collectors and analytics must agree.",
        env="VIGIL_STREAM_SHARDS",
        minimum=1,
    )
    redis_replicas: int = setting(
        1,
        "On a Redis Cluster: replicas that must hold each entry before its request is answered (WAIT), so that a "
        "primary that dies loses nothing accepted; 0 answers once the primary has it. One Redis ignores it.",
        minimum=0,
    )
    host: str = setting("127.0.0.1", "Address the collector listens on (0.0.0.0 to take traffic from other hosts).")
    port: int = setting(DEFAULT_PORT, "Port the collector listens on.", minimum=0)
    public_url: str = setting(
        "", "URL browsers use to reach the collector, for script tags and DSNs; empty means http://HOST:PORT."
    )
    max_body_bytes: int = setting(
        1_000_000, "Largest request body accepted (as sent, compressed or not); larger gets 413.", minimum=1024
    )
    max_decompressed_bytes: int = setting(
        5_000_000, "Largest body after undoing Content-Encoding; larger gets 413.", minimum=1024
    )
    max_event_bytes: int = setting(
        1_000_000, "Largest single event (a Sentry event item or store body); larger gets 413.", minimum=1024
    )
    max_sourcemap_bytes: int = setting(
        20_000_000, "Largest source map accepted by the upload endpoint (decompressed); larger gets 413.", minimum=1024
    )
    max_bundle_bytes: int = setting(
        200_000_000,
        "Largest artifact bundle sentry-cli or a bundler plugin may upload, and its files together once unpacked.",
        minimum=1024,
    )
    spool_after_ms: int = setting(
        1000,
        "An entry Redis has not taken this long goes to the local spool instead (and the request is answered).",
        minimum=10,
    )
    spool_max_bytes: int = setting(
        256_000_000,
        "Bound of the local spool (DATA_DIR/spool); when full, requests Redis cannot take get 503.",
        minimum=0,
    )
    address_requests_per_second: float = setting(
        50.0, "Requests a second one client address may send (0: no limit); more get 429.", minimum=0
    )
    address_burst: float = setting(200.0, "Requests one client address may send at once above its rate.", minimum=1)
    project_events_per_second: float = setting(
        5000.0, "Events a second one project may send (0: no limit); more get 429.", minimum=0
    )
    project_burst: float = setting(50_000.0, "Events one project may send at once above its rate.", minimum=1)
    spike_factor: float = setting(
        10.0,
        "A project sending more than this many times its own recent rate is sampled down to it (0: off).",
        minimum=0,
    )
    spike_floor_per_minute: float = setting(
        6000.0, "Spike protection leaves a project alone below this many events a minute.", minimum=0
    )
    outcomes_flush_seconds: float = setting(
        10.0, "How often each collector process sends its outcome counts to analytics.", minimum=0.1
    )
    max_backlog: int = setting(
        1_000_000,
        "Entries waiting in the stream for analytics beyond which new requests "
        "get 503 with Retry-After, so Redis memory stays bounded.",
        minimum=1,
    )
    max_backlog_bytes: int = setting(
        256_000_000,
        "Memory Redis uses (mostly the streams waiting for analytics) beyond which new requests get 503 "
        "with Retry-After; vigil up gives its redis-server a maxmemory 256 MB above it. 0 turns it off.",
        minimum=0,
    )
    project_reload_seconds: float = setting(
        2.0, "How often vigil.toml is checked for new or changed projects.", minimum=0.1
    )
    country_header: str = setting(
        "",
        "Request header with the client's country (ISO 3166 two letters) set by a CDN or proxy "
        "in front of the collector that you trust, such as CF-IPCountry or CloudFront-Viewer-Country; "
        "empty stores no country.",
    )
    trusted_proxies: str = setting(
        "",
        "Addresses or networks (CIDR), comma-separated, of the proxies in front of the collector (a TLS "
        "terminator, a load balancer) whose X-Forwarded-For names the client; empty trusts no proxy header.",
    )
    workers: int = setting(1, "Collector worker processes sharing the port.", minimum=1)
    scripts_dir: str = setting(
        "", "Folder with the built vigil.js and loader.js; empty means beacon-js/dist of this checkout."
    )

    def __post_init__(self) -> None:
        self.proxies  # noqa: B018 (a bad trusted_proxies fails at start, in one line)
        cluster_nodes(self.redis_url)  # a malformed cluster URL fails at start, in one line
        if self.stream_shards > MAX_SHARDS:
            raise ConfigError(f"stream_shards: at most {MAX_SHARDS}, not {self.stream_shards}")

    @property
    def proxies(self) -> list[str]:
        """``trusted_proxies`` as a list of networks, each checked."""
        found = [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]
        for part in found:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ConfigError(f"trusted_proxies: {part[:60]!r} is not an IP address or network") from None
        return found

    @property
    def url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"
