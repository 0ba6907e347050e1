"""What the secret-token endpoints (source maps, probe batches) share: who sends, and the body.

They run in the Starlette app, not on the ingest hot path: a request proves its project with
the secret token (``collector/secret.py``), and its body is read up to a limit and
decompressed up to another, each failure a one-line answer with its status.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from collector.refused import Refused, decoded
from collector.secret import authenticate_secret
from contracts.projects import Project


def secret_project(request: Request) -> Project:
    """The project whose secret token the request carries; raises ``Refused`` (403)."""
    return authenticate_secret(
        request.state.vigil.registry,
        request.path_params["project_id"],
        request.headers.get("authorization", ""),
        request.headers.get("origin"),
    )


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The body as sent, refused (413) once it is over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"{what} is larger than {limit} bytes", "too_large", "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"{what} is larger than {limit} bytes", "too_large", "body")
        chunks.append(chunk)
    return b"".join(chunks)


async def upload_body(request: Request, limit: int, decompressed_limit: int, what: str) -> bytes:
    """The body, decompressed per its ``Content-Encoding``; raises ``Refused`` with 413, 415 or 400."""
    body = await read_body(request, limit, what)
    return decoded(body, request.headers.get("content-encoding", ""), decompressed_limit)


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


class _InMemory(MultiPartParser):
    # The body was read, bounded, before it is taken apart: its files stay in memory, never in temporary files.
    spool_max_size = 2**62


async def multipart_form(request: Request, body: bytes, max_files: int, what: str) -> FormData:
    """A multipart body already read (and decompressed), taken apart: files only; raises ``Refused`` (400)."""
    parser = _InMemory(request.headers, _once(body), max_files=max_files, max_fields=0)
    try:
        return await parser.parse()
    except MultiPartException as e:
        raise Refused(400, f"not a multipart {what}: {e.message}", "invalid") from None
