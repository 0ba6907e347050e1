"""The collector's answers: small JSON bodies, one-line reasons, never a stack trace."""

from __future__ import annotations

import msgspec
from starlette.responses import Response

_encode = msgspec.json.encode


def json_response(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json", headers=headers)


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    """A client-visible error: ``{"error": reason}`` with ``reason`` on one line."""
    return json_response(status, {"error": " ".join(reason.split())[:300]}, headers)
