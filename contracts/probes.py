"""The probe agent's wire format, version 1 (``docs/probes.md``), as typed, bounded structs.

The agent encodes a ``ProbeBatch`` and sends it to ``POST /api/{project_id}/probes`` with the
project's secret token. The collector decodes the body straight into ``ProbeBatch`` (records of
an unknown ``kind`` are refused by msgspec's tagged union, so a newer agent raises ``v``) and
drops records whose ``id`` it has already stored: a batch is retried with the same ids.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

PROTOCOL_VERSION = 1
ENDPOINT = "/api/{project_id}/probes"

MAX_RECORDS = 1000
MAX_ITEMS = 256  # mounts, disks, interfaces, DNS answers, CPU modes

EpochMs = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Short = Annotated[str, msgspec.Meta(max_length=64)]
Name = Annotated[str, msgspec.Meta(max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=2048)]
Millis = Annotated[float, msgspec.Meta(ge=0, le=86_400_000)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Rate = Annotated[float, msgspec.Meta(ge=0)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Status = Literal["up", "down", "unknown"]


class Phases(msgspec.Struct, gc=False, omit_defaults=True):
    """Where the time of one check went, in milliseconds; the phases add up to ``duration_ms``.

    The same phases as blackbox_exporter's ``probe_http_duration_seconds``: ``processing`` runs from
    the connection being ready (after TLS) to the first response byte, ``transfer`` from there to the end.
    Over redirects, each phase is the sum over the hops.
    """

    dns: Millis = 0.0
    connect: Millis = 0.0
    tls: Millis = 0.0
    processing: Millis = 0.0
    transfer: Millis = 0.0


class CheckResult(msgspec.Struct, tag="check", tag_field="kind", omit_defaults=True):
    """One run of one check from this agent."""

    id: Id
    ts: EpochMs  # when the run started
    check: Name
    check_type: Literal["http", "tcp", "dns", "tls"]
    target: Text
    status: Status
    duration_ms: Millis
    # "" when up; else the network error class (dns.name_not_resolved, tcp.refused, tls.cert.date_invalid,
    # http.error, …) or the failed assertion (assert.body_regex, assert.latency, …). See docs/probes.md.
    error: Short = ""
    reason: Text = ""  # one human line: the library's message or what the assertion saw
    phases: Phases | None = None
    http_status: Annotated[int, msgspec.Meta(ge=0, le=999)] | None = None
    response_bytes: Count | None = None
    redirects: Count | None = None
    resolved_ip: Short = ""
    cert_expires_at: EpochMs | None = None
    cert_days_left: float | None = None
    dns_answers: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = []


class Memory(msgspec.Struct, gc=False):
    total: Count
    available: Count
    used: Count
    percent: Percent


class Swap(msgspec.Struct, gc=False):
    total: Count
    used: Count
    percent: Percent
    swapped_in_per_s: Rate
    swapped_out_per_s: Rate


class DiskUsage(msgspec.Struct, gc=False):
    mount: Text
    device: Text
    fstype: Short
    total: Count
    used: Count
    free: Count
    percent: Percent


class DiskIo(msgspec.Struct, gc=False):
    device: Short
    read_bytes_per_s: Rate
    write_bytes_per_s: Rate
    reads_per_s: Rate
    writes_per_s: Rate


class NetIo(msgspec.Struct, gc=False):
    interface: Short
    bytes_sent_per_s: Rate
    bytes_recv_per_s: Rate
    packets_sent_per_s: Rate
    packets_recv_per_s: Rate
    errors_in_per_s: Rate
    errors_out_per_s: Rate
    drops_in_per_s: Rate
    drops_out_per_s: Rate


class HostMetrics(msgspec.Struct, tag="host", tag_field="kind"):
    """The host's health over the last ``interval_s`` seconds; every counter is sent as a rate per second."""

    id: Id
    ts: EpochMs
    interval_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)]
    cpu_percent: Annotated[dict[Short, Percent], msgspec.Meta(max_length=MAX_ITEMS)]  # by mode: user, system, …
    load: Annotated[list[float], msgspec.Meta(min_length=3, max_length=3)]  # 1, 5, 15 minutes
    memory: Memory
    swap: Swap
    disks: Annotated[list[DiskUsage], msgspec.Meta(max_length=MAX_ITEMS)]
    disk_io: Annotated[list[DiskIo], msgspec.Meta(max_length=MAX_ITEMS)]
    net: Annotated[list[NetIo], msgspec.Meta(max_length=MAX_ITEMS)]
    open_fds: Count  # system-wide, from /proc/sys/fs/file-nr
    max_fds: Count
    processes: Count
    uptime_s: Annotated[float, msgspec.Meta(ge=0)]


class Heartbeat(msgspec.Struct, tag="heartbeat", tag_field="kind", omit_defaults=True):
    """The agent is alive; a missing heartbeat is the server's "agent lost" state, not the targets being down."""

    id: Id
    ts: EpochMs
    started_at: EpochMs
    interval_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)]
    checks: Count  # checks configured
    spooled_batches: Count  # batches waiting on disk, this one's included
    dropped_records: Count  # records the full spool dropped since the agent started
    self_check_ok: bool | None = None  # None: no self-check configured, or none finished yet


Record = CheckResult | HostMetrics | Heartbeat


class AgentInfo(msgspec.Struct, gc=False):
    region: Short
    host: Name
    agent_id: Id  # random per agent process; a restarted agent gets a new one
    version: Short


class ProbeBatch(msgspec.Struct):
    """The body of ``POST /api/{project_id}/probes``."""

    batch_id: Id
    sent_at: EpochMs
    agent: AgentInfo
    records: Annotated[list[Record], msgspec.Meta(min_length=1, max_length=MAX_RECORDS)]
    v: Literal[1] = 1  # PROTOCOL_VERSION


def decode_batch(body: bytes) -> ProbeBatch:
    """Validate a request body; raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` naming the field."""
    return msgspec.json.decode(body, type=ProbeBatch)
