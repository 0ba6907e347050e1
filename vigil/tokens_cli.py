"""``vigil token create|list|revoke``: the API tokens a build's upload step uses (sentry-cli, bundler plugins)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from contracts.projects import create_token, load_tokens, revoke_token
from contracts.settings import ConfigError
from vigil.projects_cli import collector_url
from vigil.table import dumps, render_table

Echo = Callable[[str], None]


def create(data_dir: Path, name: str, scope: str, projects: tuple[str, ...], as_json: bool, echo: Echo) -> None:
    token, kept = create_token(data_dir, name, scope, projects)
    url = collector_url(data_dir)
    if as_json:
        echo(dumps({"token": token, "id": kept.id, "name": kept.name, "scope": kept.scope,
                    "projects": list(kept.projects), "url": url}))  # fmt: skip
        return
    echo(f"Created token {kept.id} ({kept.scope}) for {', '.join(kept.projects) or 'every project'}; shown once:")
    echo(f"  {token}")
    echo("With sentry-cli or a Sentry bundler plugin (docs/sourcemaps.md):")
    echo(f"  SENTRY_URL={url} SENTRY_AUTH_TOKEN=<the token> SENTRY_PROJECT=<project name>")


def list_tokens(data_dir: Path, as_json: bool, echo: Echo) -> None:
    tokens = sorted(load_tokens(data_dir).values(), key=lambda t: t.created_at)
    columns = ("id", "name", "scope", "projects", "created")
    rows = [(t.id, t.name, t.scope, ", ".join(t.projects) or "(every project)", t.created_at) for t in tokens]
    if as_json:
        echo(dumps([dict(zip(columns, row, strict=True)) for row in rows]))
    elif not rows:
        echo("No tokens yet: `vigil token create --scope sourcemaps --project NAME` makes one.")
    else:
        echo(render_table(columns, rows))


def revoke(data_dir: Path, token_id: str, echo: Echo) -> None:
    if not revoke_token(data_dir, token_id):
        raise ConfigError(f"no token {token_id[:20]!r} (`vigil token list` shows them)")
    echo(f"Revoked token {token_id}: uploads with it are refused from now on")
