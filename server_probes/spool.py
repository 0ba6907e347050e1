"""The agent's outbox on disk: one file per batch, sent oldest first, bounded in bytes.

Every batch goes through the spool, so a batch written here survives the collector being away
and the agent restarting. When a new batch would pass ``max_bytes``, the oldest batches are
deleted and their records counted as dropped: recent results matter more than old ones.
A file is written to a temporary name, fsync'd and renamed, so a crash never leaves half a batch.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

_NAME = re.compile(r"^(\d{12})-(\d+)\.json$")


class Spool:
    """Batches waiting to be sent, in ``directory``; not shared between agents (one directory each)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.dropped_records = 0  # since this process started
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)
        existing = self._files()
        self._next = int(_NAME.match(existing[-1].name).group(1)) + 1 if existing else 1  # type: ignore[union-attr]

    def _files(self) -> list[Path]:
        return sorted(p for p in self.directory.iterdir() if _NAME.match(p.name))

    def put(self, body: bytes, records: int) -> None:
        """Keep one encoded batch of ``records`` records, dropping the oldest batches if it does not fit."""
        files = self._files()
        used = sum(_size(p) for p in files)
        while files and used + len(body) > self.max_bytes:
            oldest = files.pop(0)
            used -= _size(oldest)
            self._drop(oldest)
        path = self.directory / f"{self._next:012d}-{records}.json"
        self._next += 1
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def oldest(self) -> Path | None:
        files = self._files()
        return files[0] if files else None

    def remove(self, path: Path) -> None:
        """The batch was delivered (or refused for good)."""
        path.unlink(missing_ok=True)

    def _drop(self, path: Path) -> None:
        match = _NAME.match(path.name)
        self.dropped_records += int(match.group(2)) if match else 0
        path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._files())


def _size(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        return path.stat().st_size
    return 0
