"""Run files: how a running service tells local commands where it listens.

The analytics service writes ``run/analytics.json`` (its pid, read API URL and a token
for read-only SQL) in the data directory, readable by its owner only, and removes it at
stop. ``vigil sql`` uses it when the pid is alive and falls back to the file otherwise.
The collector writes ``run/collector.json`` (the URL browsers reach it at), which
``vigil project create`` prints its script tag and DSN from.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

import psutil

from contracts.settings import ConfigError


def run_file(data_dir: Path, name: str) -> Path:
    return data_dir / "run" / f"{name}.json"


def write(data_dir: Path, name: str, info: dict[str, Any]) -> Path:
    info = {"pid": os.getpid(), "started": psutil.Process().create_time(), **info}
    return write_private(run_file(data_dir, name), json.dumps(info))


def write_private(path: Path, text: str) -> Path:
    """Replace ``path`` atomically with ``text``, readable by its owner only, in a private folder."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def read_live(data_dir: Path, name: str) -> dict[str, Any] | None:
    """The run file's content if the process that wrote it is still running, else ``None``."""
    try:
        info: dict[str, Any] = json.loads(run_file(data_dir, name).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        # A pid can be reused; the start time tells the writer from a newcomer.
        if psutil.Process(pid).create_time() != info.get("started"):
            return None
    except psutil.Error:
        return None
    return info


def remove(data_dir: Path, name: str) -> None:
    run_file(data_dir, name).unlink(missing_ok=True)


def remove_own(data_dir: Path, name: str) -> None:
    """Remove the run file if this process wrote it (several worker processes may each have written it)."""
    try:
        info = json.loads(run_file(data_dir, name).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return
    if info.get("pid") == os.getpid():
        remove(data_dir, name)


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold ``run/vigil.lock`` for as long as the returned file stays open.

    Two ``vigil up`` on one data directory would run two redis-servers on one append-only
    file and fight over the socket; the second is refused with the first one's pid.
    """
    path = data_dir / "run" / "vigil.lock"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = path.open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise ConfigError(
            f"{data_dir} is in use by another vigil up (pid {holder}); stop it or use another --data-dir"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock
