"""The secret token: how trusted senders (build pipelines uploading source maps, probe agents) prove a project.

It travels only as ``Authorization: Bearer <token>`` and is refused on any request that
carries an ``Origin`` header: browsers send one, so a secret pasted into a page never
works, and the public key (which is in every page) is never accepted here.
"""

from __future__ import annotations

import secrets

from collector.refused import Refused
from contracts.projects import Project, ProjectRegistry

MAX_TOKEN = 128


def authenticate_secret(registry: ProjectRegistry, project_id: int, authorization: str, origin: str | None) -> Project:
    if origin is not None:
        raise Refused(403, "secret tokens are not accepted from browsers", "forbidden", "secret_token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        raise Refused(403, "expected Authorization: Bearer <the project's secret token>", "forbidden", "secret_token")
    project = registry.projects.get(project_id)
    if project is None or not secrets.compare_digest(project.secret_token.encode(), token.encode()):
        raise Refused(403, "unknown project or secret token", "forbidden", "secret_token")
    return project
