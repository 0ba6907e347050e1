"""The secret token: how trusted senders (build pipelines uploading source maps, probe agents) prove a project.

It travels only as ``Authorization: Bearer <token>`` and is refused on any request that
carries an ``Origin`` header: browsers send one, so a secret pasted into a page never
works, and the public key (which is in every page) is never accepted here.
"""

from __future__ import annotations

import secrets

from collector.projects import Project, ProjectRegistry

MAX_TOKEN = 128


class SecretRefused(Exception):
    """The request does not prove the project; ``str()`` is the one-line reason for the 403."""


def authenticate_secret(registry: ProjectRegistry, project_id: int, authorization: str, origin: str | None) -> Project:
    if origin is not None:
        raise SecretRefused("secret tokens are not accepted from browsers")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        raise SecretRefused("expected Authorization: Bearer <the project's secret token>")
    project = registry.projects.get(project_id)
    if project is None or not secrets.compare_digest(project.secret_token.encode(), token.encode()):
        raise SecretRefused("unknown project or secret token")
    return project
