"""``vigil alerts``: each project's rules and channels, what fired and how it was delivered, and silences.

Rules and channels are read from ``vigil.toml``; history and silences go through the running
analytics service's read API (silences with the token of ``run/analytics.json``, kept as
``cli:<login>``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.alerts import KINDS, Silence, check_silence, delivery_text
from contracts.projects import load_projects
from vigil.issues_cli import _client, _print, actor
from vigil.table import render_table

HISTORY_COLUMNS = ("ts", "project", "rule", "action", "title", "delivery")


def rules(data_dir: Path, echo: Callable[[str], None], project: str | None) -> None:
    projects = [p for p in load_projects(data_dir).values() if project is None or p.name == project]
    if project is not None and not projects:
        raise LookupError(f"no project named {project!r}")
    for p in projects:
        echo(f"{p.name}:")
        if not p.alerts and not p.channels:
            echo("  no alert rules or channels (docs/alerts.md says how to add them)")
            continue
        echo(render_table(["rule", "when", "settings", "channels"],
                          [[r.name, r.when, r.settings_text(), ", ".join(r.channels) or "(history only)"]
                           for r in p.alerts]))  # fmt: skip
        echo(render_table(["channel", "goes to"], [[c.name, c.target] for c in p.channels]))


def kinds(echo: Callable[[str], None]) -> None:
    echo(render_table(["when", "fires on", "settings"],
                      [[k, what, ", ".join(takes)] for k, (what, takes) in KINDS.items()]))  # fmt: skip


def history(data_dir: Path, echo: Callable[[str], None], as_json: bool, **params: Any) -> None:
    with _client(data_dir) as read:
        result = read.query("alerts", **params)
    if not result.rows and not as_json:
        echo("No alerts in this range.")
        return
    if not as_json:
        index = result.columns.index("deliveries")
        silenced = result.columns.index("silence_id")
        result.columns.append("delivery")
        for row in result.rows:
            row.append(delivery_text(row[index], row[silenced]))
    _print(result, HISTORY_COLUMNS, as_json, echo)


def silence(data_dir: Path, echo: Callable[[str], None], **fields: Any) -> None:
    given = check_silence(Silence(actor=actor(), **fields))
    with _client(data_dir) as read:
        made = read.silence(given)
    what = f"rule {made['rule']}" if made["rule"] else "every rule"
    about = f" about {made['subject']!r}" if made["subject"] else ""
    echo(f"silence {made['silence_id']}: {what} of {made['project']}{about} quiet until {made['ends_at']} UTC")


def end_silence(data_dir: Path, silence_id: int, echo: Callable[[str], None]) -> None:
    with _client(data_dir) as read:
        ended = read.end_silence(silence_id, actor())
    echo(f"silence {ended['silence_id']} ended")


def silences(data_dir: Path, echo: Callable[[str], None], as_json: bool, **params: Any) -> None:
    with _client(data_dir) as read:
        result = read.query("silences", **params)
    if not result.rows and not as_json:
        echo("No silences in this range.")
        return
    _print(result, ("silence_id", "project", "rule", "subject", "ends_at", "active", "created_by", "reason"),
           as_json, echo)  # fmt: skip
