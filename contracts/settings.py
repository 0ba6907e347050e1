"""Settings: one declared table per process kind, read once at start, then frozen.

Each process kind declares its settings as a frozen dataclass whose fields carry a ``doc``
in their metadata. A value comes from, in rising precedence: the field's default, the
process kind's table in ``vigil.toml`` in the data directory, the ``VIGIL_<KIND>_<NAME>``
environment variable (``VIGIL_<NAME>`` for the shared ones), and finally explicit
overrides (command-line options). Every value is validated here, so a bad setting stops
the process at start with one line naming where it came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

CONFIG_FILE = "vigil.toml"
DEFAULT_DATA_DIR = Path("vigil-data")
#: What may stand at the top of ``vigil.toml``: each process kind's table, the projects, and the
#: settings every kind shares. Anything else is a typo (``[colector]``) and stops the process.
FILE_KEYS = ("collector", "analytics", "dashboard", "projects", "tokens", "redis_url", "stream_shards")

S = TypeVar("S")


class ConfigError(Exception):
    """A setting or the config file is invalid; the message is one line for the user."""


def setting(default: Any, doc: str, *, env: str | None = None, minimum: float | None = None) -> Any:
    """Declare one setting: its default, the line that documents it, and optional bounds.

    ``env`` names a shared setting (such as ``VIGIL_REDIS_URL``): it is not prefixed by a
    process kind, and in ``vigil.toml`` it sits at the top level rather than in a kind's table.
    """
    return dataclasses.field(default=default, metadata={"doc": doc, "env": env, "minimum": minimum})


def data_dir_from_env(explicit: str | Path | None = None) -> Path:
    """The data directory: the explicit value, else ``VIGIL_DATA_DIR``, else ``./vigil-data``."""
    raw = explicit if explicit is not None else os.environ.get("VIGIL_DATA_DIR")
    return Path(raw) if raw else DEFAULT_DATA_DIR


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; an absent file is an empty document, a broken one a one-line error."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def read_config_file(data_dir: Path) -> dict[str, Any]:
    """Parse ``vigil.toml`` in the data directory; an absent file is an empty config."""
    path = data_dir / CONFIG_FILE
    document = read_toml(path)
    for key in document:
        if key not in FILE_KEYS:
            close = difflib.get_close_matches(key, FILE_KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(FILE_KEYS)})"
            raise ConfigError(f"{path}: unknown table or setting {key[:60]!r}{hint}")
    return document


def env_name(kind: str, field: dataclasses.Field[Any]) -> str:
    """The environment variable that sets ``field`` for a process ``kind``."""
    return field.metadata.get("env") or f"VIGIL_{kind.upper()}_{field.name.upper()}"


def load(cls: type[S], kind: str, data_dir: Path, overrides: Mapping[str, Any] | None = None) -> S:
    """Build the frozen settings ``cls`` for process ``kind`` from file, environment and overrides."""
    config = read_config_file(data_dir)
    table = config.get(kind, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{data_dir / CONFIG_FILE}: [{kind}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(table) - {n for n, f in fields.items() if f.metadata.get("env") is None}
    if unknown:
        name = sorted(unknown)[0]
        close = difflib.get_close_matches(name, [n for n, f in fields.items() if f.metadata.get("env") is None], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{data_dir / CONFIG_FILE}: unknown setting [{kind}] {name[:60]}{hint}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name == "data_dir":
            values[name] = data_dir
            continue
        source, raw = "default", field.default
        shared = field.metadata.get("env") is not None
        if shared and name in config:
            source, raw = f"{data_dir / CONFIG_FILE} {name}", config[name]
        if not shared and name in table:
            source, raw = f"{data_dir / CONFIG_FILE} [{kind}] {name}", table[name]
        variable = env_name(kind, field)
        if variable in os.environ:
            source, raw = variable, os.environ[variable]
        if overrides and overrides.get(name) is not None:
            source, raw = f"option --{name.replace('_', '-')}", overrides[name]
        values[name] = _coerce(raw, hints[name], field, source)
    return cls(**values)


def _coerce(raw: Any, hint: Any, field: dataclasses.Field[Any], source: str) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    if optional:
        if raw is None or raw == "":
            return None
        (hint,) = (a for a in typing.get_args(hint) if a is not type(None))
    try:
        value = _convert(raw, hint)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: expected {getattr(hint, '__name__', hint)}, got {raw!r}") from None
    minimum = field.metadata.get("minimum")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{source}: must be at least {minimum}, got {value!r}")
    return value


def _convert(raw: Any, hint: Any) -> Any:
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return raw.lower() in {"1", "true", "yes", "on"}
        raise ValueError(raw)
    if hint is int:
        if isinstance(raw, bool | float):
            raise TypeError(raw)
        return int(raw)
    if hint is float:
        if isinstance(raw, bool):
            raise TypeError(raw)
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise TypeError(raw)
        return raw
    if hint is Path:
        return Path(raw)
    raise TypeError(f"unsupported setting type {hint!r}")


def documented(cls: type[Any], kind: str) -> list[tuple[str, str, Any, str]]:
    """(environment variable, file key, default, doc) for every setting of ``cls``: the docs' source."""
    rows = []
    for f in dataclasses.fields(cls):
        if f.name == "data_dir":
            continue
        key = f.name if f.metadata.get("env") else f"[{kind}] {f.name}"
        rows.append((env_name(kind, f), key, f.default, f.metadata["doc"]))
    return rows
