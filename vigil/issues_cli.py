"""``vigil issues``: list issues and triage them from a terminal, through the running analytics service.

Every action goes through the read API's ``POST /v1/issues/actions`` with the token of
``run/analytics.json``, as the dashboard's do; the activity log names ``cli:<login>``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.read_api import ReadClient, Result, live_client
from contracts.settings import ConfigError
from contracts.triage import Action, check
from vigil.table import dumps, render_table

LIST_COLUMNS = ("issue_id", "status", "events_in_range", "users", "last_seen", "last_release", "title")


def _client(data_dir: Path) -> ReadClient:
    client = live_client(data_dir)
    if client is None:
        raise ConfigError(f"the analytics service is not running on {data_dir}: start Vigil with `vigil up`")
    return client


def actor() -> str:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"cli:{login}"[:100]


def act(data_dir: Path, action: Action, echo: Callable[[str], None]) -> None:
    check(action)
    with _client(data_dir) as read:
        answer = read.act(action)
    for issue in answer["issues"]:
        if "merged" in issue:
            echo(f"#{issue['issue_id']}: merged {', '.join(f'#{i}' for i in issue['merged'])} into it")
        else:
            where = f" (in {issue['resolved_in_release']})" if issue.get("resolved_in_release") else ""
            echo(f"#{issue['issue_id']}: {issue['status'].replace('_', ' ')}{where}")


def _print(result: Result, columns: tuple[str, ...], as_json: bool, echo: Callable[[str], None]) -> None:
    rows: list[dict[str, Any]] = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    if as_json:
        echo(dumps(rows))
    else:
        echo(render_table(list(columns), [[row.get(c) for c in columns] for row in rows]))


def list_issues(data_dir: Path, echo: Callable[[str], None], as_json: bool, **params: Any) -> None:
    with _client(data_dir) as read:
        result = read.query("issues", **params)
    if not result.rows and not as_json:
        echo("No issues with events in this range.")
        return
    _print(result, LIST_COLUMNS, as_json, echo)


def activity(data_dir: Path, issue_id: int, echo: Callable[[str], None], as_json: bool) -> None:
    with _client(data_dir) as read:
        result = read.query("issue_activity", issue_id=issue_id)
    _print(result, ("ts", "actor", "action", "detail"), as_json, echo)
