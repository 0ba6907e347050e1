"""What every ``vigil`` command shares: its errors and exit status, and the data directory option."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from contracts.settings import ConfigError, data_dir_from_env

F = TypeVar("F", bound=Callable[..., Any])


class Failed(click.ClickException):
    """Exit 1 with ``vigil: error: …``."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"vigil: error: {self.message}", err=True)


class BadInput(Failed):
    exit_code = 2


def _user_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(errors a user caused: exit 2, failures to report in one line: exit 1). Imported when an error is raised, not
    before every command: ``analytics.store`` brings DuckDB and pyarrow, which ``vigil up`` and the probe agent never
    need."""
    from analytics.store import SchemaTooNew
    from contracts.alerts import SilenceError
    from contracts.incidents import FeedbackError
    from contracts.queries import QueryError
    from contracts.read_api import ReadApiError, Refused
    from contracts.triage import ActionError
    from dashboard.users import UserError
    from vigil.sourcemaps_cli import UploadFailed
    from vigil.supervise import ChildFailed

    bad = (ConfigError, QueryError, Refused, ActionError, FeedbackError, SilenceError, UserError)
    return bad, (ReadApiError, ChildFailed, UploadFailed, SchemaTooNew)


def friendly(fn: F) -> F:
    """Turn the errors a user can cause into one line and the documented exit status."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            bad, failed = _user_errors()
            if isinstance(e, bad):
                raise BadInput(str(e)) from None
            if isinstance(e, failed):
                raise Failed(str(e)) from None
            raise

    return wrapper  # type: ignore[return-value]


def data_dir_option(fn: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="VIGIL_DATA_DIR",
        default=None,
        show_default="./vigil-data",
        help="Where Vigil keeps vigil.toml, Redis's append-only file and the DuckDB file.",
    )(fn)


def resolve_data_dir(value: Path | None) -> Path:
    return data_dir_from_env(value)
