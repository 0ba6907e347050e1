"""``vigil project create`` and ``vigil project list``: the keys, and how to paste them into a site."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from collector.settings import CollectorSettings
from contracts import runfiles
from contracts.projects import Project, create_project, load_projects
from contracts.settings import load
from vigil.table import dumps, render_table

Echo = Callable[[str], None]


def script_tag(collector_url: str, project: Project) -> str:
    src = html.escape(f"{collector_url}/beacon.js")
    return f'<script async src="{src}" data-project="{project.id}" data-key="{project.public_key}"></script>'


def dsn(collector_url: str, project: Project) -> str:
    """A Sentry-style DSN: an app using a Sentry SDK points it here."""
    parts = urlsplit(collector_url)
    return f"{parts.scheme}://{project.public_key}@{parts.netloc}{parts.path.rstrip('/')}/{project.id}"


def collector_url(data_dir: Path) -> str:
    """Where browsers reach the collector: the running one's address (its run file), else the settings'."""
    live = runfiles.read_live(data_dir, "collector")
    if live is not None and isinstance(live.get("url"), str):
        return str(live["url"])
    return load(CollectorSettings, "collector", data_dir).url


def describe(collector_url: str, project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "public_key": project.public_key,
        "secret_token": project.secret_token,
        "origins": list(project.origins),
        "script_tag": script_tag(collector_url, project),
        "dsn": dsn(collector_url, project),
    }


def create(data_dir: Path, name: str, origins: tuple[str, ...], as_json: bool, echo: Echo) -> None:
    info = describe(collector_url(data_dir), create_project(data_dir, name, origins))
    if as_json:
        echo(dumps(info))
        return
    echo(f"Created project {info['name']} (id {info['id']}) in {data_dir / 'vigil.toml'}")
    echo(f"  public key    {info['public_key']}")
    echo(f"  secret token  {info['secret_token']}   (for trusted senders only; never put it in a page)")
    echo(f"  origins       {', '.join(info['origins']) or 'any'}")
    echo(f"  script tag    {info['script_tag']}")
    echo(f"  DSN           {info['dsn']}")


def list_projects(data_dir: Path, as_json: bool, echo: Echo) -> None:
    url = collector_url(data_dir)
    projects = sorted(load_projects(data_dir).values(), key=lambda p: p.id)
    if as_json:
        echo(dumps([describe(url, p) for p in projects]))
        return
    if not projects:
        echo(f"No projects yet in {data_dir}. Create one with: vigil project create NAME")
        return
    rows = [[p.id, p.name, p.public_key, ", ".join(p.origins) or "any", dsn(url, p), watches(p)] for p in projects]
    echo(render_table(["id", "name", "public key", "origins", "dsn", "declared"], rows))


def watches(project: Project) -> str:
    """What the project declares beyond its keys: ``2 services, 3 alert rules, report 08:00 Europe/Paris``."""
    parts = [f"{len(items)} {what}{'s' if len(items) != 1 else ''}"
             for items, what in ((project.services, "service"), (project.alerts, "alert rule"),
                                 (project.channels, "channel")) if items]  # fmt: skip
    mailed = f" to {len(project.report.email)}" if project.report.email else ""
    parts.append(f"report {project.report.hour:02d}:00 {project.report.timezone}{mailed}")
    return ", ".join(parts)
