"""Cross-origin rules for browser senders.

The beacon sends ``text/plain`` so a browser makes no preflight; the answer still carries
``Access-Control-Allow-Origin`` so the beacon's fetch fallback can read the status and
back off. A project with ``origins`` accepts only those; one without accepts any origin.
"""

from __future__ import annotations

from starlette.responses import Response

from contracts.projects import Project

MAX_AGE = "86400"
EXPOSED = "Retry-After, X-Sentry-Rate-Limits, X-Sentry-Error"
#: What browser senders may set: the beacon only Content-Type; Sentry's SDKs their auth header too.
ALLOWED_HEADERS = "Content-Type, Content-Encoding, X-Sentry-Auth"


def allowed_origin(project: Project, origin: str | None) -> bool:
    """Requests without an ``Origin`` (servers, curl) are not browser traffic and pass."""
    if origin is None or not project.origins:
        return True
    return origin in project.origins


def cors_headers(origin: str | None) -> dict[str, str]:
    if origin is None:
        return {}
    # Retry-After (and Sentry's own headers) must be exposed, or a browser sender cannot read how to back off.
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": EXPOSED}


def preflight(project: Project | None, origin: str | None) -> Response:
    """Answer ``OPTIONS``: allowed origins get the methods and headers the beacon may use."""
    if project is None or origin is None or not allowed_origin(project, origin):
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            **cors_headers(origin),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        },
    )
