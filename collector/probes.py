"""Probe agents' results and host metrics in; the shared check list out (docs/probes.md).

``POST /api/{project_id}/probes`` takes a ``ProbeBatch`` (``contracts/probes.py``) with the
project's secret token, validates it whole, and queues it on ``vigil:probes``; analytics stores
its records and drops those it has seen (a retried batch carries the same record ids).
``GET /api/{project_id}/probes/config`` hands every region the same ``probes.toml``, kept in
the data directory as ``probes/PROJECT.toml``.
"""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from collector.enqueue import EnqueueFailed
from collector.refused import Refused
from collector.responses import error, json_response
from collector.state import State
from collector.uploads import secret_project, upload_body
from contracts.probes import decode_batch
from contracts.stream import PROBES_STREAM, ProbeEntry, encode_record

MAX_CONFIG_BYTES = 1_000_000


async def receive(request: Request) -> Response:
    state: State = request.state.vigil
    settings = state.settings
    try:
        project = secret_project(request)
        body = await upload_body(request, settings.max_body_bytes, settings.max_decompressed_bytes, "probe batch")
    except Refused as e:
        return error(e.status, e.reason)
    try:
        batch = decode_batch(body)
    except (msgspec.DecodeError, RecursionError) as e:
        return error(400, f"invalid probe batch: {e}"[:300])
    if state.backlog.over:
        return error(503, "analytics is behind, retry later", {"Retry-After": "30"})
    entry = ProbeEntry(project.id, project.name, time.time_ns() // 1_000_000, msgspec.Raw(body))
    try:
        await state.enqueuer.put(encode_record(entry), PROBES_STREAM, project.id)
    except EnqueueFailed:
        return error(503, "queue unavailable, retry later", {"Retry-After": "5"})
    return json_response(202, {"accepted": len(batch.records)})


async def config(request: Request) -> Response:
    """The project's shared check list (TOML), for agents with ``[agent] checks_from_collector = true``."""
    state: State = request.state.vigil
    try:
        project = secret_project(request)
    except Refused as e:
        return error(e.status, e.reason)
    path = state.settings.data_dir / "probes" / f"{project.name}.toml"
    try:
        with path.open("rb") as f:
            text = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return error(404, f"no shared probe config for project {project.name}: create probes/{project.name}.toml")
    except OSError as e:
        return error(503, f"probe config unreadable: {e.strerror}")
    if len(text) > MAX_CONFIG_BYTES:
        return error(503, f"probe config is larger than {MAX_CONFIG_BYTES} bytes")
    return Response(text, 200, media_type="application/toml")
