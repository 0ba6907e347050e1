"""API tokens: what a build's upload step proves itself with (sentry-cli, Sentry's bundler plugins).

``vigil token create --scope sourcemaps [--project NAME]…`` mints one and prints it once.
``vigil.toml`` keeps only its SHA-256 in a ``[[tokens]]`` entry, with its name, scope,
projects (none: every project) and when it was made. A token is 256 random bits, so a fast
hash is safe to keep, as with any high-entropy secret (passwords need a slow one: they
are guessable); the collector re-reads the file when it changes, as for projects.

The text is shaped as Sentry's organization tokens, ``sntrys_<payload>_<secret>``, so that
sentry-cli and the bundler plugins take it without an organization setting: the payload
is base64 JSON ``{"iat": …, "url": null, "region_url": "", "org": "vigil"}`` (``url``
null leaves the server to ``SENTRY_URL``), the secret 32 random bytes in unpadded base64.
The whole text is what is hashed.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.settings import ConfigError

SCOPES = ("sourcemaps",)
#: The organization a token names: Vigil has none, and takes any name in a URL.
ORGANIZATION = "vigil"
PREFIX = "sntrys_"
MAX_TOKEN = 512
_ID = re.compile(r"[0-9a-f]{12}")
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True)
class ApiToken:
    id: str  # the first 12 hex digits of the hash: names the token in `vigil token list` and `revoke`
    name: str
    scope: str
    projects: tuple[str, ...]  # project names it may act for; empty: every project
    created_at: str  # ISO 8601, UTC
    sha256: str

    def allows(self, scope: str, project: str) -> bool:
        return self.scope == scope and (not self.projects or project in self.projects)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint() -> str:
    """A new token's text (never stored)."""
    payload = {"iat": time.time(), "url": None, "region_url": "", "org": ORGANIZATION}
    encoded = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    secret = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{PREFIX}{encoded}_{secret}"


def new_entry(token: str, name: str, scope: str, projects: tuple[str, ...]) -> dict[str, Any]:
    """The ``[[tokens]]`` entry that keeps ``token`` (its hash, not its text)."""
    if scope not in SCOPES:
        raise ConfigError(f"unknown scope {scope!r}: one of {', '.join(SCOPES)}")
    hashed = digest(token)
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {"id": hashed[:12], "name": name, "scope": scope, "projects": list(projects), "created_at": created,
            "sha256": hashed}  # fmt: skip


def parse_tokens(document: dict[str, Any], path: Path) -> dict[str, ApiToken]:
    """The tokens of a ``vigil.toml`` document, by hash; a malformed entry is a ``ConfigError``."""
    found: dict[str, ApiToken] = {}
    entries = document.get("tokens", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: tokens must be an array of tables ([[tokens]])")
    for n, entry in enumerate(entries):
        where = f"{path}: tokens[{n}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: not a table")
        hashed, scope, projects = entry.get("sha256"), entry.get("scope"), entry.get("projects", [])
        if not isinstance(hashed, str) or not _HASH.fullmatch(hashed):
            raise ConfigError(f"{where}: sha256 must be 64 hex digits")
        if scope not in SCOPES:
            raise ConfigError(f"{where}: scope must be one of {', '.join(SCOPES)}")
        if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
            raise ConfigError(f"{where}: projects must be a list of project names")
        token_id = entry.get("id", hashed[:12])
        if not isinstance(token_id, str) or not _ID.fullmatch(token_id):
            raise ConfigError(f"{where}: id must be 12 hex digits")
        found[hashed] = ApiToken(token_id, str(entry.get("name", "")), scope, tuple(projects),
                                 str(entry.get("created_at", "")), hashed)  # fmt: skip
    return found


def find(tokens: dict[str, ApiToken], presented: str) -> ApiToken | None:
    """The token whose text was presented (an ``Authorization: Bearer`` value), or ``None``."""
    if not presented or len(presented) > MAX_TOKEN:
        return None
    hashed = digest(presented)
    # A dict look-up by the hash of a 256-bit secret leaks nothing useful by its timing; compare once more anyway.
    token = tokens.get(hashed)
    return token if token is not None and secrets.compare_digest(token.sha256, hashed) else None
