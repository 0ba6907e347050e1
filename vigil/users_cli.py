"""``vigil user``: the people who may log in to the dashboard (``dashboard/users.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dashboard.users import UserError, Users, users_file
from vigil.table import render_table


def add(data_dir: Path, name: str, password: str, echo: Callable[[str], None]) -> None:
    Users(users_file(data_dir)).add(name, password)  # it checks both
    echo(f"User {name} added: they can log in to the dashboard now.")


def remove(data_dir: Path, name: str, echo: Callable[[str], None]) -> None:
    if not Users(users_file(data_dir)).remove(name):
        raise UserError(f"there is no user {name[:70]!r} (vigil user list shows them)")
    echo(f"User {name} removed: their sessions end at their next request.")


def list_users(data_dir: Path, echo: Callable[[str], None]) -> None:
    rows = Users(users_file(data_dir)).list()
    if not rows:
        echo("No users yet: the dashboard is open on loopback only. Add one with `vigil user add NAME`.")
        return
    echo(render_table(["user", "created (UTC)", "last login (UTC)"], [[n, c, last or "never"] for n, c, last in rows]))
