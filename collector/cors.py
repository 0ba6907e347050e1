"""Cross-origin rules for browser senders.

The beacon sends ``text/plain`` so a browser makes no preflight; the answer still carries
``Access-Control-Allow-Origin`` so the beacon's fetch fallback can read the status and
back off. A project with ``origins`` accepts only those; one without accepts any origin.
"""

from __future__ import annotations

from starlette.responses import Response

from collector.projects import Project

MAX_AGE = "86400"


def allowed_origin(project: Project, origin: str | None) -> bool:
    """Requests without an ``Origin`` (servers, curl) are not browser traffic and pass."""
    if origin is None or not project.origins:
        return True
    return origin in project.origins


def cors_headers(origin: str | None) -> dict[str, str]:
    if origin is None:
        return {}
    # Retry-After must be exposed, or the beacon's fetch cannot read how long to back off.
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}


def preflight(project: Project | None, origin: str | None) -> Response:
    """Answer ``OPTIONS``: allowed origins get the methods and headers the beacon may use."""
    if project is None or origin is None or not allowed_origin(project, origin):
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            **cors_headers(origin),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": MAX_AGE,
        },
    )
