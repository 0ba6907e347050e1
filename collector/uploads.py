"""What the secret-token endpoints (source maps, probe batches) share: who sends, and the body.

They run in the Starlette app, not on the ingest hot path: a request proves its project with
the secret token (``collector/secret.py``), and its body is read up to a limit and
decompressed up to another, each failure a one-line answer with its status.
"""

from __future__ import annotations

from starlette.requests import Request

from collector.decompress import BadEncoding, TooLarge, UnknownEncoding, decompress
from collector.projects import Project
from collector.secret import authenticate_secret


class Refused(Exception):
    """The request cannot be taken: ``status`` and a one-line ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def secret_project(request: Request) -> Project:
    """The project whose secret token the request carries; raises ``SecretRefused`` (403)."""
    return authenticate_secret(
        request.state.vigil.registry,
        request.path_params["project_id"],
        request.headers.get("authorization", ""),
        request.headers.get("origin"),
    )


async def _read(request: Request, limit: int, what: str) -> bytes:
    """The body as sent, refused (``TooLarge``) once it is over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{what} is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"{what} is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def upload_body(request: Request, limit: int, decompressed_limit: int, what: str) -> bytes:
    """The body, decompressed per its ``Content-Encoding``; raises ``Refused`` with 413, 415 or 400."""
    try:
        body = await _read(request, limit, what)
        encoding = request.headers.get("content-encoding", "")
        return decompress(body, encoding, decompressed_limit) if encoding else body
    except TooLarge as e:
        raise Refused(413, str(e)) from None
    except UnknownEncoding as e:
        raise Refused(415, str(e)) from None
    except BadEncoding as e:
        raise Refused(400, str(e)) from None
