"""``POST /api/{project_id}/sourcemaps``: a build uploads its source maps (``vigil sourcemaps upload`` does this).

    POST /api/2/sourcemaps?release=shop%401.4.2&url=~%2Fstatic%2Fapp.js[&debug_id=…]
    Authorization: Bearer <secret token>
    <the map's JSON, possibly gzip-compressed>

or, to send the minified file with its map (its scopes name the functions of a stack), a
``multipart/form-data`` body with a file part ``map`` and a file part ``source``.

A map is keyed by release and the URL of the minified file it belongs to (``~/path``
matches that path on any origin), and by debug id when the bundle has one. It is checked
to be a version-3 source map, queued on ``vigil:sourcemaps`` and stored by analytics; a
second upload for the same release and URL replaces the first. Answers 201.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from collector.enqueue import EnqueueFailed
from collector.refused import Refused
from collector.responses import error, json_response
from collector.state import State
from collector.uploads import multipart_form, secret_project, upload_body
from contracts.sourcemaps import BOM, check_map
from contracts.stream import SOURCEMAPS_STREAM, SourceMapEntry, encode_record

MAX_RELEASE = 200
MAX_URL = 2048
MAX_DEBUG_ID = 64


async def upload(request: Request) -> Response:
    state: State = request.state.vigil
    settings = state.settings
    try:
        project = secret_project(request)
    except Refused as e:
        return error(e.status, e.reason)
    release = request.query_params.get("release", "")
    url = request.query_params.get("url", "")
    if not 0 < len(release) <= MAX_RELEASE:
        return error(400, f"release is required, at most {MAX_RELEASE} characters")
    if not 0 < len(url) <= MAX_URL:
        return error(400, f"url (of the minified file) is required, at most {MAX_URL} characters")
    try:
        body, source = await _map_and_source(request, settings.max_sourcemap_bytes)
    except Refused as e:
        return error(e.status, e.reason)
    try:
        head = check_map(body)
    except ValueError as e:
        return error(400, str(e))
    body = body.removeprefix(BOM)  # not JSON: the stream entry must be
    debug_id = (request.query_params.get("debug_id") or head.debugId or head.debug_id or "").lower()[:MAX_DEBUG_ID]
    entry = SourceMapEntry(
        project.id, project.name, release, url, debug_id, time.time_ns() // 1_000_000, msgspec.Raw(body),
        source.decode("utf-8", errors="replace"),
    )  # fmt: skip
    try:
        await state.enqueuer.put(encode_record(entry), SOURCEMAPS_STREAM, project.id)
    except EnqueueFailed:
        return error(503, "queue unavailable, retry later", {"Retry-After": "5"})
    answer: dict[str, Any] = {"release": release, "url": url, "debug_id": debug_id, "bytes": len(body),
                              "source_bytes": len(source)}  # fmt: skip
    return json_response(201, answer)


async def _map_and_source(request: Request, limit: int) -> tuple[bytes, bytes]:
    """The map, and the minified file when the body is multipart (``map`` and ``source``, each at most ``limit``)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await upload_body(request, limit, limit, "source map"), b""
    whole = 2 * limit + 64 * 1024  # both parts and their headers
    form = await multipart_form(request, await upload_body(request, whole, whole, "a source map upload"), 2, "upload")
    parts: dict[str, bytes] = {}
    for field, part in form.multi_items():
        if field not in {"map", "source"} or field in parts or not isinstance(part, UploadFile):
            raise Refused(400, f"unexpected form field {field[:40]!r}: send one file part map and one source")
        parts[field] = await part.read()
        if len(parts[field]) > limit:
            raise Refused(413, f"the {field} part is larger than {limit} bytes")
    if "map" not in parts:
        raise Refused(400, "a multipart upload needs a file part named map")
    return parts["map"], parts.get("source", b"")
