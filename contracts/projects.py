"""Projects and their keys, kept in the ``[[projects]]`` array of ``vigil.toml``.

A project has a numeric id (Sentry SDKs require digits in a DSN), a slug name, a public
key that may only send events, and a secret token for trusted senders. Writers lock the
file and replace it atomically, so the collector, which re-reads it when it changes,
never sees half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit

from contracts.alerts import Channel, Rule, parse_alerting
from contracts.reports import ReportSettings, parse_report
from contracts.services import Service, parse_services
from contracts.settings import CONFIG_FILE, ConfigError, read_toml
from contracts.tokens import ApiToken, mint, new_entry, parse_tokens

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
#: Ids are stored as 32-bit integers.
MAX_PROJECT_ID = 2**31 - 1
DEMO_PROJECT = "demo"


@dataclasses.dataclass(frozen=True)
class Project:
    """One monitored site or app."""

    id: int
    name: str
    public_key: str
    secret_token: str
    origins: tuple[str, ...] = ()
    # Keep client addresses whole; by default they are anonymized before anything stores them.
    store_ip: bool = False
    #: What its pages call and what watches and serves it (contracts/services.py).
    services: tuple[Service, ...] = ()
    #: Its alert rules and the channels they notify (contracts/alerts.py).
    alerts: tuple[Rule, ...] = ()
    channels: tuple[Channel, ...] = ()
    #: When its daily report is made and who gets it (contracts/reports.py).
    report: ReportSettings = dataclasses.field(default_factory=ReportSettings)

    def as_toml(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "public_key": self.public_key,
            "secret_token": self.secret_token,
            "origins": list(self.origins),
        }


def normalize_origin(raw: str) -> str:
    """``https://Shop.example:443/`` → ``https://shop.example``; anything not an origin raises ``ValueError``."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        raise ValueError(f"not an origin (scheme://host[:port]): {raw!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"not an origin (scheme://host[:port]): {raw!r}")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _origins(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        raise ValueError("origins must be a list of strings")
    return tuple(normalize_origin(o) for o in raw)


def parse_projects(document: dict[str, Any], path: Path) -> dict[int, Project]:
    """Validate the ``[[projects]]`` array of a parsed config file."""
    raw = document.get("projects", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: projects must be an array of tables ([[projects]])")
    projects: dict[int, Project] = {}
    names: set[str] = set()
    for n, item in enumerate(raw, start=1):
        where = f"{path}: project #{n}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a table")
        try:
            alerts, channels = parse_alerting(item.get("alerts", []), item.get("channels", []))
            project = Project(
                id=item["id"],
                name=item["name"],
                public_key=item["public_key"],
                secret_token=item["secret_token"],
                origins=_origins(item.get("origins", [])),
                store_ip=item.get("store_ip", False),
                services=parse_services(item.get("services", [])),
                alerts=alerts,
                channels=channels,
                report=parse_report(item.get("report")),
            )
        except KeyError as e:
            raise ConfigError(f"{where}: missing {e.args[0]}") from None
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {e}") from None
        if not isinstance(project.id, int) or isinstance(project.id, bool) or not 1 <= project.id <= MAX_PROJECT_ID:
            raise ConfigError(f"{where}: id must be an integer from 1 to {MAX_PROJECT_ID}")
        if not isinstance(project.store_ip, bool):
            raise ConfigError(f"{where}: store_ip must be true or false")
        for key in ("name", "public_key", "secret_token"):
            if not isinstance(getattr(project, key), str) or not getattr(project, key):
                raise ConfigError(f"{where}: {key} must be a non-empty string")
        if not NAME_RE.fullmatch(project.name):
            raise ConfigError(f"{where}: name {project.name!r} must be lowercase letters, digits and dashes")
        if project.id in projects or project.name in names:
            raise ConfigError(f"{where}: id {project.id} or name {project.name!r} is used twice")
        projects[project.id] = project
        names.add(project.name)
    return projects


def load_projects(data_dir: Path) -> dict[int, Project]:
    """All projects of the data directory, by id (none if there is no config file yet)."""
    path = data_dir / CONFIG_FILE
    return parse_projects(read_toml(path), path)


@contextlib.contextmanager
def _locked_document(data_dir: Path) -> Iterator[tomlkit.TOMLDocument]:
    """Read-modify-write ``vigil.toml`` under an exclusive lock, replacing it atomically."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_FILE
    with (data_dir / f".{CONFIG_FILE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = path.read_text() if path.exists() else ""
        try:
            document = tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        yield document
        tmp = path.with_name(f".{CONFIG_FILE}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(tomlkit.dumps(document))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def create_project(
    data_dir: Path, name: str, origins: tuple[str, ...] = (), filters: dict[str, Any] | None = None
) -> Project:
    """Add a project with fresh keys and return it; the name must be new.

    ``filters`` becomes the project's ``[projects.filters]`` table (analytics/filters.py).
    """
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"project name {name!r} must be 1-63 lowercase letters, digits and dashes")
    try:
        clean_origins = tuple(normalize_origin(o) for o in origins)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    with _locked_document(data_dir) as document:
        existing = parse_projects(document.unwrap(), data_dir / CONFIG_FILE)
        if any(p.name == name for p in existing.values()):
            raise ConfigError(f"a project named {name!r} already exists")
        project = Project(
            id=max(existing, default=0) + 1,
            name=name,
            public_key=secrets.token_hex(16),
            secret_token="vgs_" + secrets.token_urlsafe(30),
            origins=clean_origins,
        )
        if "projects" not in document:
            document.append("projects", tomlkit.aot())
        table = document["projects"]
        assert isinstance(table, tomlkit.items.AoT)
        item = project.as_toml()
        if filters:
            item["filters"] = filters
        table.append(item)
    return project


def save_service(data_dir: Path, project_name: str, name: str, service: Service | None) -> None:
    """Add or replace the service ``name`` of a project in ``vigil.toml`` (``None`` removes it)."""
    save_item(data_dir, project_name, "services", name, None if service is None else service.as_toml())


def save_item(data_dir: Path, project_name: str, array: str, name: str, table: dict[str, Any] | None) -> None:
    """Add or replace the item ``name`` of a project's ``array`` (services, alerts, channels) in ``vigil.toml``;
    ``None`` removes it.

    The file is checked whole before it is written, so a bad item (or removing a channel a
    rule still notifies) raises ``ConfigError`` and changes nothing.
    """
    what = {"services": "service", "alerts": "alert rule", "channels": "channel"}[array]
    with _locked_document(data_dir) as document:
        items = document.get("projects")
        item = next((p for p in items or [] if isinstance(p, dict) and p.get("name") == project_name), None)
        if item is None:
            raise ConfigError(f"no project named {project_name[:60]!r}")
        existing = item.get(array)
        if existing is None:
            existing = item[array] = tomlkit.aot()
        kept = [t for t in existing if not (isinstance(t, dict) and t.get("name") == name)]
        if table is None and len(kept) == len(existing):
            raise ConfigError(f"project {project_name!r} has no {what} {name[:60]!r}")
        fresh = tomlkit.aot()
        for old in kept:
            fresh.append(old)
        if table is not None:
            fresh.append(table)
        if len(fresh):
            item[array] = fresh
        else:
            del item[array]
        parse_projects(document.unwrap(), data_dir / CONFIG_FILE)  # raises before anything is written


def create_token(data_dir: Path, name: str, scope: str, projects: tuple[str, ...]) -> tuple[str, ApiToken]:
    """Mint an API token (``contracts/tokens.py``) for ``projects`` (none: every one), keep its hash in
    ``vigil.toml``, and return its text (shown once) with what was kept."""
    token = mint()
    with _locked_document(data_dir) as document:
        known = {p.get("name") for p in document.get("projects") or [] if isinstance(p, dict)}
        unknown = [p for p in projects if p not in known]
        if unknown:
            raise ConfigError(f"no project named {unknown[0][:60]!r}")
        entries = document.get("tokens")
        if entries is None:
            entries = document["tokens"] = tomlkit.aot()
        entry = new_entry(token, name, scope, projects)
        entries.append(entry)
        kept = parse_tokens(document.unwrap(), data_dir / CONFIG_FILE)
    return token, kept[entry["sha256"]]


def revoke_token(data_dir: Path, token_id: str) -> bool:
    """Remove the token ``token_id`` (its 12-digit id); whether there was one."""
    with _locked_document(data_dir) as document:
        entries = document.get("tokens") or []
        kept = [t for t in entries if not (isinstance(t, dict) and t.get("id") == token_id)]
        if len(kept) == len(entries):
            return False
        fresh = tomlkit.aot()
        for entry in kept:
            fresh.append(entry)
        if len(fresh):
            document["tokens"] = fresh
        else:
            del document["tokens"]
    return True


def load_tokens(data_dir: Path) -> dict[str, ApiToken]:
    """The API tokens of the data directory, by hash."""
    path = data_dir / CONFIG_FILE
    return parse_tokens(read_toml(path), path)


def ensure_demo_project(data_dir: Path) -> Project:
    """The ``demo`` project, created on first run."""
    for project in load_projects(data_dir).values():
        if project.name == DEMO_PROJECT:
            return project
    try:
        # The demo site is served from 127.0.0.1: keep its events, which the localhost filter would drop.
        return create_project(data_dir, DEMO_PROJECT, filters={"localhost": False})
    except ConfigError:
        # Another process created it between our read and our write.
        return next(p for p in load_projects(data_dir).values() if p.name == DEMO_PROJECT)


class ProjectRegistry:
    """The collector's view of the projects, re-read when ``vigil.toml`` changes on disk."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CONFIG_FILE
        self._data_dir = data_dir
        self._stamp: tuple[int, int, int] | None = None
        self.projects: dict[int, Project] = {}
        self.tokens: dict[str, ApiToken] = {}  # by hash (contracts/tokens.py)
        self.reload()

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def reload(self) -> bool:
        """Re-read the file if it changed; returns whether the projects were replaced.

        A broken file raises ``ConfigError`` and leaves the projects already loaded in place.
        """
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp  # a broken file is reported once, not on every check
        self.projects = load_projects(self._data_dir)
        self.tokens = load_tokens(self._data_dir)
        return True

    def authenticate(self, project_id: int, public_key: str) -> Project | None:
        """The project if ``public_key`` is its key, else ``None`` (constant-time compare)."""
        project = self.projects.get(project_id)
        if project is None or not secrets.compare_digest(project.public_key.encode(), public_key.encode()):
            return None
        return project
