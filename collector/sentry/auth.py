"""Which project a Sentry SDK's request is for, and whether its key proves it.

The key can come from three places, as the SDKs send it: the ``sentry_key`` query
parameter (browser SDKs, which cannot set headers without a CORS preflight), the
``X-Sentry-Auth`` header (server SDKs), and the ``dsn`` in an envelope's header. Every
key given must be the project's public key and every DSN must name the project in the
path: none, or any mismatch, is a 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from collector.asgi import Request
from collector.state import State
from contracts.memo import memo
from contracts.projects import Project

MAX_KEY = 128
#: A DSN longer than this is not one (a key, a host and a path); it is not parsed.
MAX_DSN = 512


def auth_header_key(value: str) -> str | None:
    """``sentry_key`` from ``Sentry sentry_key=…, sentry_version=7, …``."""
    if not value.lower().startswith("sentry "):
        return None
    for part in value[7:].split(","):
        name, _, found = part.strip().partition("=")
        if name.strip() == "sentry_key":
            return found.strip()
    return None


@memo(maxsize=1024, max_chars=MAX_DSN)  # an SDK sends its DSN with every envelope
def dsn_parts(dsn: str) -> tuple[str, str] | None:
    """``(public key, project id)`` of ``https://KEY[:secret]@host/[path/]PROJECT_ID``; ``None`` for a string longer
    than ``MAX_DSN``, which is not one."""
    if len(dsn) > MAX_DSN:
        return None
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return None
    if not parts.username:
        return None
    project_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return parts.username, project_id


def authenticate(
    state: State, request: Request, project_id: int, envelope_header: dict[str, Any] | None = None
) -> Project | None:
    """The project when every key given matches it (and there is at least one); else ``None``."""
    keys = []
    if query_key := request.query("sentry_key"):
        keys.append(query_key)
    if header_key := auth_header_key(request.header(b"x-sentry-auth")):
        keys.append(header_key)
    dsn = (envelope_header or {}).get("dsn")
    if isinstance(dsn, str) and dsn:
        parsed = dsn_parts(dsn)
        if parsed is None or parsed[1] != str(project_id):
            return None
        keys.append(parsed[0])
    if not keys or any(len(k) > MAX_KEY for k in keys):
        return None
    projects = {state.registry.authenticate(project_id, k) for k in keys}
    if len(projects) != 1:
        return None
    return projects.pop()
