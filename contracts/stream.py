"""The stream contract: what the collector appends to Redis and the analytics service reads.

One stream per kind of record, read by the consumer group ``ingest``. An entry carries
one encoded record in its field ``e``, or several that arrived together as a JSON array
in ``g``; JSON keeps ``redis-cli XRANGE`` readable. Each record is declared here once, as a
typed struct, with the functions that encode and decode it:

======================  ===================================  ==================================
stream                  record                               written by
======================  ===================================  ==================================
``vigil:events``        ``StreamEntry`` (a beacon batch)      beacon and Reporting API endpoints
                        ``SentryEventEntry`` (one event)     Sentry envelope and store endpoints
``vigil:sentry``        ``SentryEntry`` (sessions, drops)    Sentry envelope endpoint
``vigil:sourcemaps``    ``SourceMapEntry``                   source map upload endpoint
``vigil:probes``        ``ProbeEntry`` (a probe batch)       probe agents' endpoint
``vigil:outcomes``      ``OutcomeBatch`` (counts)            every collector, every few seconds
======================  ===================================  ==================================

Past one Redis (``Streams``): with ``stream_shards`` above 1, or on a Redis Cluster, each kind
of record has one stream per shard, named with the shard as a hash tag (``vigil:{3}:events``),
so that a shard's streams live on one cluster node and are read with one command; a
project's records always go to the same shard (its id modulo the shards).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

import msgspec

from contracts.beacon import Batch
from contracts.probes import ProbeBatch
from contracts.settings import ConfigError

EVENTS_STREAM = "vigil:events"
OUTCOMES_STREAM = "vigil:outcomes"
SENTRY_STREAM = "vigil:sentry"
SOURCEMAPS_STREAM = "vigil:sourcemaps"
PROBES_STREAM = "vigil:probes"
#: Entries analytics could not process, with the reason (one per shard when sharded).
DEAD_LETTER_STREAM = "vigil:dead"
#: Every kind of record's stream, as named on one Redis.
KINDS = (EVENTS_STREAM, OUTCOMES_STREAM, SENTRY_STREAM, SOURCEMAPS_STREAM, PROBES_STREAM)
CONSUMER_GROUP = "ingest"
#: ``redis+cluster://host:port,host:port/``: the seed nodes of a Redis Cluster.
CLUSTER_SCHEME = "redis+cluster://"
#: Most shards: each is a stream per kind of record that every analytics writer reads in turn.
MAX_SHARDS = 256
_TAGGED = re.compile(r"^vigil:\{(\d+)\}:(.+)$")


def cluster_nodes(url: str) -> list[tuple[str, int]] | None:
    """The seed nodes of a ``redis+cluster://`` URL, or None for a URL of one Redis (a one-line error if malformed)."""
    if "+cluster://" in url.split("?", 1)[0] and not url.startswith(CLUSTER_SCHEME):
        raise ConfigError(f"redis_url: a Redis Cluster is named redis+cluster://host:port,…, not {url[:40]!r}…")
    if not url.startswith(CLUSTER_SCHEME):
        return None
    nodes: list[tuple[str, int]] = []
    for part in url.removeprefix(CLUSTER_SCHEME).rstrip("/").split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or "@" in host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"redis_url: a cluster's seed nodes are host:port, comma-separated, not {part[:60]!r}")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


@dataclasses.dataclass(frozen=True)
class Streams:
    """Where each kind of record goes: the names of one Redis (``shards`` 1, untagged), or one stream per kind
    and shard, the shard a hash tag in the name (``tagged``: set on a Redis Cluster, or with several shards)."""

    shards: int = 1
    tagged: bool = False

    @classmethod
    def of(cls, shards: int, redis_url: str) -> Streams:
        return cls(shards, tagged=shards > 1 or redis_url.startswith(CLUSTER_SCHEME))

    @property
    def layout(self) -> str:
        """How the streams are named, as kept in Redis under ``LAYOUT_KEY``."""
        return f"{self.shards} {'tagged' if self.tagged else 'plain'}"

    def name(self, kind: str, shard: int = 0) -> str:
        """The stream of ``kind`` (a name of one Redis, such as ``vigil:events``) in ``shard``."""
        return kind.replace("vigil:", f"vigil:{{{shard}}}:", 1) if self.tagged else kind

    def for_project(self, kind: str, project_id: int) -> str:
        """The stream a project's records of ``kind`` go to."""
        return self.name(kind, project_id % self.shards)

    def shard(self, shard: int, kinds: Iterable[str] = KINDS) -> list[str]:
        """The streams of each of ``kinds`` (every kind) in ``shard``."""
        return [self.name(kind, shard) for kind in kinds]

    def kind(self, stream: str) -> str:
        """The kind of ``stream`` (its name on one Redis)."""
        if not self.tagged:
            return stream
        found = _TAGGED.match(stream)
        return f"vigil:{found.group(2)}" if found else stream

    def shard_of(self, stream: str) -> int:
        if not self.tagged:
            return 0
        found = _TAGGED.match(stream)
        return int(found.group(1)) if found else 0


#: The streams of one Redis, unsharded (``vigil up``'s).
ONE_REDIS = Streams()
#: The layout every collector and writer of one Redis must share, kept in Redis by the first to start.
LAYOUT_KEY = "vigil:layout"


def check_layout(streams: Streams, stored: bytes | str | None) -> None:
    """Refuse to start (one line) when the Redis holds streams laid out otherwise: entries would be left unread."""
    if stored is None:
        return
    found = stored.decode() if isinstance(stored, bytes) else stored
    if found != streams.layout:
        raise ConfigError(
            f"this Redis's streams are laid out as {found!r}, these settings as {streams.layout!r}: give every "
            f"collector and writer the same stream_shards and redis_url kind (docs/scaling.md), or, once the streams "
            f"are drained, delete the key {LAYOUT_KEY}"
        )


ENTRY_FIELD = b"e"
#: Several entries that arrived together, in one stream entry: a JSON array of them.
GROUP_FIELD = b"g"

_encode = msgspec.json.Encoder().encode


def encode_record(record: OutcomeBatch | SentryEntry | SentryEventEntry | SourceMapEntry | ProbeEntry) -> bytes:
    """A record's bytes for its stream; a ``StreamEntry`` goes through ``encode_entry`` instead."""
    return _encode(record)


class StreamEntry(msgspec.Struct, frozen=True):
    """One accepted beacon request, as queued for analytics."""

    project_id: int
    project: str
    received_at: int  # milliseconds since the Unix epoch, the collector's clock
    user_agent: str
    # The validated batch, encoded again from the decoded structs.
    batch: Batch
    v: int = 1
    # The sender's address, anonymized unless the project keeps addresses; empty if unknown.
    client_ip: str = ""
    # The client's country (ISO 3166 two letters) from a trusted CDN header; empty if unknown.
    country: str = ""
    # Who sent it: "beacon" (page script, Sentry SDKs included) or "reporting_api" (the browser itself).
    source: str = "beacon"


_decoder = msgspec.json.Decoder(StreamEntry)


def encode_entry(entry: StreamEntry) -> bytes:
    """The entry's bytes: the validated batch encoded again, so nothing unvalidated rides along."""
    return _encode(entry)


_group = msgspec.json.Decoder(list[msgspec.Raw])


def payloads(fields: dict[bytes, bytes] | None) -> list[bytes]:
    """The entries a stream entry holds: its ``e`` field, or each element of its ``g`` array.

    Raises ``msgspec.DecodeError`` for a ``g`` that is not a JSON array, ``KeyError`` when neither is there.
    """
    fields = fields or {}
    single = fields.get(ENTRY_FIELD)
    if single is not None:
        return [single]
    return [bytes(raw) for raw in _group.decode(fields[GROUP_FIELD])]


def decode_entry(data: bytes) -> StreamEntry:
    """Decode one entry's ``e`` field; raises ``msgspec.DecodeError`` if it is not one."""
    return _decoder.decode(data)


class SentryEventEntry(msgspec.Struct, frozen=True, omit_defaults=True, tag_field="kind", tag="sentry_event"):
    """One Sentry error or message event, its payload as the SDK sent it but its user and its request's secrets.

    The collector checks what needs no full parse (the envelope's framing, the DSN, the
    sizes, the rate limits, that the payload's top level is JSON) and reads ``event_id``,
    ``user`` and ``request`` of it: the user's id is keyed with the project's secret and the
    address anonymized there, and the user, the request's cookies, environment, body, query
    string, fragment and secret headers are left out, so none of them leaves the collector.
    Analytics turns the rest into a Vigil error event (``analytics/sentry/convert.py``), in
    its workers.
    """

    project_id: int
    project: str
    received_at: int  # ms since the epoch, the collector's clock
    event_id: str  # the event's, else the envelope header's, else made up: what the SDK was answered
    user_agent: str  # the request's; the event's own request headers name the page's when it has them
    event: msgspec.Raw  # the item's payload, at most max_event_bytes, valid JSON
    sent_at: int | None = None  # the envelope header's sent_at (the SDK's clock), ms
    user_id: str = ""  # the user's id, e-mail or name keyed with the project's secret token
    client_ip: str = ""  # the user's address (the event's user.ip_address, else the sender's), anonymized
    country: str = ""


_sentry_event = msgspec.json.Decoder(SentryEventEntry)
#: How every encoded ``SentryEventEntry`` starts: msgspec writes the tag first.
_SENTRY_EVENT_START = b'{"kind":"sentry_event",'


def decode_events_entry(data: bytes) -> StreamEntry | SentryEventEntry:
    """One entry of the events stream: a beacon batch or a Sentry event; ``msgspec.DecodeError`` if neither."""
    if data.startswith(_SENTRY_EVENT_START):
        return _sentry_event.decode(data)
    return _decoder.decode(data)


# vigil:outcomes


class OutcomeRow(msgspec.Struct, frozen=True):
    project_id: int  # 0 when no project was identified
    project: str
    # "accepted", "invalid", "forbidden", "rate_limited", "spike_sampled", "too_large", "unavailable", "skipped"
    outcome: str
    reason: str
    unit: str  # "event" or "request"
    count: int


class OutcomeBatch(msgspec.Struct, frozen=True):
    """One flush: the counts of one collector process over [start, end) in ms since the epoch."""

    id: str
    collector: str
    start: int
    end: int
    rows: list[OutcomeRow]


_outcomes = msgspec.json.Decoder(OutcomeBatch)


def decode_outcomes(data: bytes) -> OutcomeBatch:
    return _outcomes.decode(data)


# vigil:sentry


class SessionRow(msgspec.Struct, frozen=True):
    release: str
    environment: str
    started: int  # ms since the epoch
    session_id: str  # empty for aggregated counts
    distinct_id: str
    status: str  # "ok", "exited", "errored", "unhandled", "abnormal", "crashed"
    errors: int
    duration: float | None
    quantity: int  # 1 for a session update; the count for an aggregate
    init: bool


class DropRow(msgspec.Struct, frozen=True):
    reason: str
    category: str
    quantity: int


class ReleaseRow(msgspec.Struct, frozen=True):
    """A release made, updated (finalized) or deployed through Sentry's release API (sentry-cli, bundler plugins)."""

    release: str
    action: str  # "created", "updated" or "deployed"
    started: int  # ms since the epoch: the request's dateStarted, else when it arrived
    released: int | None  # dateReleased (a finalized release), ms
    environment: str  # a deploy's
    url: str


class SentryEntry(msgspec.Struct, frozen=True):
    """Sessions, client reports and release marks from one request, for analytics' ``sentry_sessions``,
    ``client_drops`` and ``sentry_releases``."""

    id: str
    project_id: int
    project: str
    received_at: int
    sdk: str
    sessions: list[SessionRow] = []
    drops: list[DropRow] = []
    releases: list[ReleaseRow] = []


_sentry_entry = msgspec.json.Decoder(SentryEntry)


def decode_sentry_entry(data: bytes) -> SentryEntry:
    return _sentry_entry.decode(data)


# vigil:sourcemaps


class SourceMapEntry(msgspec.Struct, frozen=True):
    """One uploaded map: checked to be a version-3 source map, stored as uploaded."""

    project_id: int
    project: str
    release: str
    url: str
    debug_id: str
    uploaded_at: int  # ms since the epoch
    map: msgspec.Raw
    source: str = ""  # the minified file, where the upload had it (an artifact bundle does): scopes name functions


_sourcemap_entry = msgspec.json.Decoder(SourceMapEntry)


def decode_sourcemap_entry(data: bytes) -> SourceMapEntry:
    return _sourcemap_entry.decode(data)


# vigil:probes


class ProbeEntry(msgspec.Struct, frozen=True):
    """One accepted probe batch, as queued for analytics."""

    project_id: int
    project: str
    received_at: int  # ms since the epoch, the collector's clock
    batch: msgspec.Raw  # the request's own bytes, validated as a ProbeBatch


class DecodedProbeEntry(msgspec.Struct, frozen=True):
    project_id: int
    project: str
    received_at: int
    batch: ProbeBatch


_probe_entry = msgspec.json.Decoder(DecodedProbeEntry)


def decode_probe_entry(data: bytes) -> DecodedProbeEntry:
    return _probe_entry.decode(data)
