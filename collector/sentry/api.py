"""The part of Sentry's web API that sentry-cli and the bundler plugins use to upload source maps and mark releases.

A build points its upload step at the collector (``SENTRY_URL``) with a token from ``vigil
token create --scope sourcemaps`` (``SENTRY_AUTH_TOKEN``); nothing else changes. The
organization in a URL is not checked (Vigil has none); projects are Vigil's by name or id.

    GET  /api/0/                                            who the token is (sentry-cli info)
    GET  /api/0/organizations/{org}/chunk-upload/            how to upload: chunk size, limits
    POST /api/0/organizations/{org}/chunk-upload/            chunks (multipart, gzip or not), named by SHA-1
    POST /api/0/organizations/{org}/artifactbundle/assemble/ put the chunks together; store the bundle's maps
    POST /api/0/organizations/{org}/releases/                a release was made (…/projects/{org}/{project}/releases/
    PUT  /api/0/organizations/{org}/releases/{version}/      finalized (released), commits     for one project, as
                                                                                              sentry-cli 2.x asks)
    POST /api/0/organizations/{org}/releases/{version}/deploys/
    GET  /api/0/organizations/{org}/repos/, …/previous-with-commits/   nothing to tell: [] and {}

Chunks wait in Redis for an hour (every collector sees them), keyed by their SHA-1. Once
every chunk of a bundle is there, ``assemble`` joins them, checks the bundle's SHA-1, opens
it (an artifact bundle, ``collector/sentry/bundles.py``) and queues each minified file with
its map on ``vigil:sourcemaps``, keyed by its URL, debug id and release, for analytics to
store. Every bound is checked before the work it bounds.
docs/sourcemaps.md says how to set a build up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import time
from datetime import UTC, datetime

import msgspec
import redis.asyncio as aioredis
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.cluster import REDIS_ERRORS
from collector.enqueue import EnqueueFailed
from collector.refused import Refused, decoded
from collector.responses import error
from collector.sentry.bundles import BundleError, joined
from collector.sourcemaps import MAX_RELEASE, MAX_URL
from collector.state import State
from collector.uploads import multipart_form, read_body
from contracts.projects import Project
from contracts.settings import ConfigError
from contracts.stream import SENTRY_STREAM, SOURCEMAPS_STREAM, ReleaseRow, SentryEntry, SourceMapEntry, encode_record
from contracts.tokens import ApiToken, find

SCOPE = "sourcemaps"
CHUNK_SIZE = 8 * 1024 * 1024
CHUNKS_PER_REQUEST = 16
MAX_REQUEST = 32 * 1024 * 1024
#: How long uploaded chunks and an assembled bundle's answer are kept.
CHUNK_TTL = 3600
MAX_PROJECTS = 50
_SHA1 = re.compile(r"[0-9a-f]{40}")
_encode = msgspec.json.Encoder().encode


def _json(status: int, body: object) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _token(request: Request) -> ApiToken | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    state: State = request.state.vigil
    token = find(state.registry.tokens, value.strip())
    if token is None:
        # A token made a moment ago: read vigil.toml now rather than at the watcher's next look (a revoked one is
        # gone at that look). A broken file keeps the tokens already read; the watcher reports it.
        with contextlib.suppress(ConfigError):
            state.registry.reload()
        token = find(state.registry.tokens, value.strip())
    return token


def _authorized(request: Request) -> ApiToken:
    token = _token(request)
    if token is None:
        raise Refused(401, "a valid API token is required (Authorization: Bearer; `vigil token create`)", "auth")
    if token.scope != SCOPE:
        raise Refused(403, f"the token's scope is {token.scope}, not {SCOPE}", "auth")
    return token


def _projects(request: Request, token: ApiToken, names: list[str | int]) -> list[Project]:
    """The projects named (by name or id), each one the token may act for; refused (400, 403) otherwise."""
    state: State = request.state.vigil
    if len(names) > MAX_PROJECTS:
        raise Refused(400, f"at most {MAX_PROJECTS} projects", "invalid")
    by_name = {p.name: p for p in state.registry.projects.values()}
    found: dict[int, Project] = {}  # a project named twice (by name and by id) counts once
    for name in names:
        text = str(name)
        number = int(text) if text.isascii() and text.isdigit() and len(text) < 11 else None
        project = by_name.get(text) or (state.registry.projects.get(number) if number is not None else None)
        if project is None:
            raise Refused(400, f"no project {text[:60]!r} (by name or id)", "invalid")
        if not token.allows(SCOPE, project.name):
            raise Refused(403, f"the token may not upload for project {project.name!r}", "auth")
        found[project.id] = project
    if not found:
        raise Refused(400, "name the project (SENTRY_PROJECT, --project)", "invalid")
    return list(found.values())


def _refusal(e: Refused) -> Response:
    return error(e.status, e.reason, {"Retry-After": "5"} if e.status == 503 else None)


async def api_root(request: Request) -> Response:
    """What sentry-cli's ``info`` (and a plugin's start) asks: whether the token is good, and for what."""
    token = _token(request)
    auth = {"scopes": ["project:releases", "project:write", "org:read"]} if token and token.scope == SCOPE else None
    return _json(200, {"version": "0", "auth": auth, "user": None})


async def chunk_options(request: Request) -> Response:
    try:
        _authorized(request)
    except Refused as e:
        return _refusal(e)
    state: State = request.state.vigil
    org = request.path_params["org"]
    return _json(200, {
        "url": f"/api/0/organizations/{org}/chunk-upload/",
        "chunkSize": CHUNK_SIZE, "chunksPerRequest": CHUNKS_PER_REQUEST, "maxRequestSize": MAX_REQUEST,
        "maxFileSize": state.settings.max_bundle_bytes, "concurrency": 2, "hashAlgorithm": "sha1",
        "compression": ["gzip"], "accept": ["release_files", "artifact_bundles", "artifact_bundles_v2"],
    })  # fmt: skip


def _chunk(data: bytes, gzipped: bool, name: str) -> bytes:
    """A chunk as sent, unpacked and checked against its name (off the event loop: up to 8 MiB each)."""
    if gzipped:
        data = decoded(data, "gzip", CHUNK_SIZE)
    if len(data) > CHUNK_SIZE:
        raise Refused(413, f"a chunk is larger than {CHUNK_SIZE} bytes", "too_large", "body")
    if hashlib.sha1(data, usedforsecurity=False).hexdigest() != name:
        raise Refused(400, f"chunk {name}: its SHA-1 does not match its content", "invalid")
    return data


async def upload_chunks(request: Request) -> Response:
    """Store each chunk under its SHA-1 (its part's file name) for an hour; a gzip part (``file_gzip``) unpacked."""
    state: State = request.state.vigil
    try:
        token = _authorized(request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise Refused(415, "chunks come as multipart/form-data, one file per chunk", "invalid")
        body = await read_body(request, MAX_REQUEST + 1024 * 1024, "a chunk upload")
        form = await multipart_form(request, body, CHUNKS_PER_REQUEST, "chunk upload")
        chunks: dict[str, bytes] = {}
        for field, part in form.multi_items():
            if field not in {"file", "file_gzip"} or not isinstance(part, UploadFile):
                raise Refused(400, f"unexpected form field {field[:40]!r}: chunks are files named file or file_gzip",
                              "invalid")  # fmt: skip
            name = (part.filename or "").lower()
            if not _SHA1.fullmatch(name):
                raise Refused(400, "a chunk's file name must be its SHA-1 (40 hex digits)", "invalid")
            data = await asyncio.to_thread(_chunk, await part.read(), field == "file_gzip", name)
            chunks[name] = data
    except Refused as e:
        return _refusal(e)
    # What one token may keep waiting in Redis (it comes back as its bundles are assembled, else within the hour).
    budget, waiting = 2 * state.settings.max_bundle_bytes, f"vigil:chunk-bytes:{token.id}"
    size = sum(len(data) for data in chunks.values())
    try:
        held = await state.redis.incrby(waiting, size)
        await state.redis.expire(waiting, CHUNK_TTL)
        if held > budget:
            await state.redis.decrby(waiting, size)
            return error(429, f"this token has {budget} bytes of chunks waiting to be assembled: assemble them first",
                         {"Retry-After": "60"})  # fmt: skip
        async with state.redis.pipeline(transaction=False) as pipe:
            for name, data in chunks.items():
                pipe.set(f"vigil:chunk:{name}", data, ex=CHUNK_TTL)
            await pipe.execute()
    except REDIS_ERRORS:
        return error(503, "chunk store unavailable, retry later", {"Retry-After": "5"})
    return _json(200, {"chunks": sorted(chunks)})


class AssembleRequest(msgspec.Struct, forbid_unknown_fields=False):
    checksum: str
    chunks: list[str] = msgspec.field(default_factory=list)
    projects: list[str | int] = msgspec.field(default_factory=list)
    version: str | None = None
    dist: str | None = None


_assemble = msgspec.json.Decoder(AssembleRequest)


def _state(state: str, missing: list[str] | None = None, detail: str | None = None) -> Response:
    return _json(200, {"state": state, "missingChunks": missing or [], "detail": detail})


async def assemble(request: Request) -> Response:
    """Join a bundle's chunks once all are uploaded and queue its maps; until then, say which chunks are missing."""
    state: State = request.state.vigil
    try:
        token = _authorized(request)
        raw = await read_body(request, 1024 * 1024, "an assemble request")
        try:
            ask = _assemble.decode(raw)
        except (msgspec.DecodeError, RecursionError) as e:
            raise Refused(400, f"not an assemble request: {e}", "invalid") from None
        chunks = [c.lower() for c in ask.chunks]
        if not _SHA1.fullmatch(ask.checksum.lower()) or not all(_SHA1.fullmatch(c) for c in chunks):
            raise Refused(400, "checksum and chunks must be SHA-1s (40 hex digits)", "invalid")
        most = -(-state.settings.max_bundle_bytes // CHUNK_SIZE)
        if len(chunks) > most:
            raise Refused(400, f"at most {most} chunks: a bundle is at most {state.settings.max_bundle_bytes} bytes",
                          "invalid")  # fmt: skip
        release = ask.version or ""
        if len(release) > MAX_RELEASE or "/" in release:
            raise Refused(400, f"version: at most {MAX_RELEASE} characters, no slash", "invalid")
        projects = _projects(request, token, ask.projects)
    except Refused as e:
        return _refusal(e)
    checksum = ask.checksum.lower()
    done_key = f"vigil:assembled:{checksum}:{','.join(str(p.id) for p in projects)}:{release}"
    try:
        if await state.redis.get(done_key):
            return _state("ok")
        distinct = list(dict.fromkeys(chunks))
        async with state.redis.pipeline(transaction=False) as pipe:
            for c in distinct:
                pipe.exists(f"vigil:chunk:{c}")
            present = await pipe.execute()
        missing = [c for c, here in zip(distinct, present, strict=True) if not here]
        if missing or not chunks:
            return _state("not_found", missing)
        # Another collector (or a retry) assembling this bundle already: sentry-cli takes "assembling" as under way.
        lock = f"vigil:assembling:{done_key}"
        if not await state.redis.set(lock, b"1", nx=True, ex=600):
            return _state("assembling")
    except REDIS_ERRORS:
        return error(503, "chunk store unavailable, retry later", {"Retry-After": "5"})
    try:
        return await _assembled(state, token, projects, release, checksum, chunks, done_key)
    finally:
        with contextlib.suppress(*REDIS_ERRORS):
            await state.redis.delete(lock)


async def _assembled(
    state: State, token: ApiToken, projects: list[Project], release: str, checksum: str, chunks: list[str],
    done_key: str,
) -> Response:  # fmt: skip
    """Join, check and unpack the bundle, queue its files, and free its chunks (and the token's chunk budget)."""
    settings = state.settings
    distinct = list(dict.fromkeys(chunks))
    try:
        async with state.redis.pipeline(transaction=False) as pipe:
            for c in distinct:
                pipe.strlen(f"vigil:chunk:{c}")
            sizes = dict(zip(distinct, await pipe.execute(), strict=True))
        if sum(sizes[c] for c in chunks) > settings.max_bundle_bytes:  # before any chunk is read
            return _state("error", detail=f"the bundle is larger than {settings.max_bundle_bytes} bytes")
        keys = [f"vigil:chunk:{c}" for c in distinct]
        # On a Redis Cluster the chunks are on several nodes: one MGET per node (the chunks are kept until done).
        fetched = dict(
            zip(
                distinct,
                await (
                    state.redis.mget_nonatomic(keys)
                    if isinstance(state.redis, aioredis.RedisCluster)
                    else state.redis.mget(keys)
                ),
                strict=True,
            )
        )
    except REDIS_ERRORS:
        return error(503, "chunk store unavailable, retry later", {"Retry-After": "5"})
    parts = [fetched[c] for c in chunks]
    if any(p is None for p in parts):  # expired between the two looks
        return _state("not_found", [c for c, p in zip(chunks, parts, strict=True) if p is None])
    try:  # hashing and unzipping up to max_bundle_bytes: off the event loop, which goes on taking events
        files = await asyncio.to_thread(
            joined, [p for p in parts if isinstance(p, bytes)], checksum, settings.max_sourcemap_bytes,
            settings.max_bundle_bytes,
        )  # fmt: skip
    except BundleError as e:
        return _state("error", detail=str(e))
    uploaded_at = time.time_ns() // 1_000_000
    try:
        for project in projects:
            for item in files:
                entry = SourceMapEntry(project.id, project.name, release, item.url, item.debug_id, uploaded_at,
                                       msgspec.Raw(item.map), item.source)  # fmt: skip
                await state.enqueuer.put(encode_record(entry), SOURCEMAPS_STREAM, project.id)
        await state.redis.set(done_key, b"1", ex=CHUNK_TTL)
        freed = await state.redis.delete(*[f"vigil:chunk:{c}" for c in set(chunks)])
        if freed:  # each chunk's bytes once, as its upload counted them
            await state.redis.decrby(f"vigil:chunk-bytes:{token.id}", sum(sizes.values()))
    except EnqueueFailed:
        return error(503, "queue unavailable, retry later", {"Retry-After": "5"})
    except REDIS_ERRORS:
        return error(503, "chunk store unavailable, retry later", {"Retry-After": "5"})
    return _state("ok")


class ReleaseRequest(msgspec.Struct, forbid_unknown_fields=False):
    version: str | None = None
    projects: list[str | int] | None = None
    dateStarted: str | None = None
    dateReleased: str | None = None
    url: str | None = None
    environment: str | None = None  # a deploy's


_release = msgspec.json.Decoder(ReleaseRequest)


def _ms(text: str | None, default: int) -> int:
    """Milliseconds from an RFC 3339 time with up to nine fractional digits (Rust's chrono writes nine)."""
    if not text:
        return default
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", text[:64].replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(cleaned)
        value = int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)
    except (ValueError, OverflowError):
        value = -1
    if not 0 <= value <= 253_402_300_799_999:  # 1970 to 9999, as every stored time
        raise Refused(400, f"not an RFC 3339 time from 1970 on: {text[:40]!r}", "invalid")
    return value


async def _release_call(request: Request, action: str) -> Response:
    """Record a release made, updated or deployed (``sentry_releases``) for each project, and answer as Sentry does."""
    state: State = request.state.vigil
    try:
        token = _authorized(request)
        try:
            ask = _release.decode(await read_body(request, 1024 * 1024, "a release request"))
        except (msgspec.DecodeError, RecursionError) as e:
            raise Refused(400, f"not a release request: {e}", "invalid") from None
        version = request.path_params.get("version") or ask.version or ""
        if not 0 < len(version) <= MAX_RELEASE or "/" in version:
            raise Refused(400, f"version is required: at most {MAX_RELEASE} characters, no slash", "invalid")
        if "project" in request.path_params:  # sentry-cli 2.x with one project: /projects/{org}/{project}/releases/
            projects = _projects(request, token, [request.path_params["project"]])
        elif ask.projects:
            projects = _projects(request, token, ask.projects)
        else:  # finalize and deploys may leave the projects out: every project the token may act for
            projects = [p for p in state.registry.projects.values() if token.allows(SCOPE, p.name)]
        now = time.time_ns() // 1_000_000
        started, released = _ms(ask.dateStarted, now), _ms(ask.dateReleased, 0) or None
        environment = (ask.environment or "")[:64]
        if action == "deployed" and not environment:
            raise Refused(400, "a deploy needs its environment", "invalid")
    except Refused as e:
        return _refusal(e)
    row = ReleaseRow(version, action, started, released, environment, (ask.url or "")[:MAX_URL])
    try:
        for project in projects:
            caller = request.headers.get("user-agent", "")[:64]
            entry = SentryEntry(id=f"release-{secrets.token_hex(8)}", project_id=project.id, project=project.name,
                                received_at=now, sdk=caller, releases=[row])  # fmt: skip
            await state.enqueuer.put(encode_record(entry), SENTRY_STREAM, project.id)
    except EnqueueFailed:
        return error(503, "queue unavailable, retry later", {"Retry-After": "5"})
    if action == "deployed":
        return _json(201, {"id": str(now), "environment": environment, "dateFinished": _now(), "name": None})
    body = {"version": version, "dateCreated": _now(), "dateReleased": ask.dateReleased,
            "projects": [{"slug": p.name, "name": p.name} for p in projects], "newGroups": 0}  # fmt: skip
    return _json(201 if action == "created" else 200, body)


async def create_release(request: Request) -> Response:
    return await _release_call(request, "created")


async def update_release(request: Request) -> Response:
    return await _release_call(request, "updated")


async def create_deploy(request: Request) -> Response:
    return await _release_call(request, "deployed")


async def no_repositories(request: Request) -> Response:
    try:
        _authorized(request)
    except Refused as e:
        return _refusal(e)
    return _json(200, [])


async def no_previous_release(request: Request) -> Response:
    try:
        _authorized(request)
    except Refused as e:
        return _refusal(e)
    return _json(200, {})


_ORG = "/api/0/organizations/{org}"
_PROJECT = "/api/0/projects/{org}/{project}"
routes = [
    Route("/api/0/", api_root, methods=["GET"]),
    Route(f"{_ORG}/chunk-upload/", chunk_options, methods=["GET"]),
    Route(f"{_ORG}/chunk-upload/", upload_chunks, methods=["POST"]),
    Route(f"{_ORG}/artifactbundle/assemble/", assemble, methods=["POST"]),
    Route(f"{_ORG}/releases/", create_release, methods=["POST"]),
    Route(f"{_ORG}/releases/{{version}}/", update_release, methods=["PUT"]),
    Route(f"{_ORG}/releases/{{version}}/deploys/", create_deploy, methods=["POST"]),
    Route(f"{_ORG}/releases/{{version}}/previous-with-commits/", no_previous_release, methods=["GET"]),
    Route(f"{_ORG}/repos/", no_repositories, methods=["GET"]),
    Route(f"{_PROJECT}/releases/", create_release, methods=["POST"]),
    Route(f"{_PROJECT}/releases/{{version}}/", update_release, methods=["PUT"]),
]
