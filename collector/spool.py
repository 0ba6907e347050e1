"""A bounded, fsync'd local spool for entries Redis could not take in time.

Each collector process appends to a segment file under ``DATA_DIR/spool`` that it keeps
exclusively locked. A record is ``length (4 bytes) · crc32 (4 bytes) · entry``; a write is
fsync'd before the requests it holds are answered 202. To replay, the process seals its
current segment (new entries go to a fresh one), hands the sealed segments' records to
Redis oldest first, and deletes each segment once all of it is in Redis. Segments whose
lock is free belong to a process that stopped or crashed: whichever collector finds them
replays them, so nothing acknowledged is lost across a restart.

A torn record at the end of a segment (a crash mid-write) was never acknowledged; its
length or checksum does not match and it is skipped with whatever follows it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

HEADER = struct.Struct(">II")
SUFFIX = ".spool"


class SpoolFull(Exception):
    """The spool is at its bound; the request must be refused (503)."""


def _lock(path: Path, mode: str) -> IO[bytes] | None:
    """``path`` opened and exclusively locked, or ``None`` if it is gone or another process holds it."""
    try:
        f = path.open(mode)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f


def read_records(f: IO[bytes]) -> list[bytes]:
    """The complete, intact records of a segment, in order; stops at the first torn one."""
    f.seek(0)
    records: list[bytes] = []
    while True:
        header = f.read(HEADER.size)
        if len(header) < HEADER.size:
            return records
        length, crc = HEADER.unpack(header)
        data = f.read(length)
        if len(data) < length or zlib.crc32(data) != crc:
            return records
        records.append(data)


class Segment:
    """One locked spool file."""

    def __init__(self, path: Path, file: IO[bytes]) -> None:
        self.path, self.file = path, file

    def records(self) -> list[bytes]:
        return read_records(self.file)

    def size(self) -> int:
        return os.fstat(self.file.fileno()).st_size

    def delete(self) -> None:
        """Everything in it is in Redis: remove it (unlink while still locked, then release)."""
        self.path.unlink(missing_ok=True)
        self.file.close()


class Spool:
    """This process's segments (the one being written and the sealed ones) and the orphans of others."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.sealed: list[Segment] = []
        self.current = self._new_segment()

    def _new_segment(self) -> Segment:
        # Names sort by creation time, so segments replay oldest first.
        path = self.directory / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        file = path.open("a+b")
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return Segment(path, file)

    def total_bytes(self) -> int:
        """Bytes in every segment of the directory, this process's and orphans."""
        total = 0
        for path in self.directory.glob(f"*{SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def append(self, entries: list[bytes]) -> None:
        """Write ``entries`` durably (fsync) or raise ``SpoolFull`` having written none of them."""
        blob = b"".join(HEADER.pack(len(e), zlib.crc32(e)) + e for e in entries)
        if self.total_bytes() + len(blob) > self.max_bytes:
            raise SpoolFull(f"the spool is full ({self.max_bytes} bytes)")
        f = self.current.file
        f.seek(0, os.SEEK_END)
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())

    def seal(self) -> None:
        """Start a fresh segment for new entries; the current one, if it holds any, waits to be replayed."""
        if self.current.size() == 0:
            return
        self.sealed.append(self.current)
        self.current = self._new_segment()

    def orphans(self) -> Iterator[Segment]:
        """Segments of processes that are gone, each locked while the caller replays it, oldest first."""
        own = {self.current.path, *(s.path for s in self.sealed)}
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path in own:
                continue
            file = _lock(path, "r+b")
            if file is not None:
                yield Segment(path, file)

    def close(self) -> None:
        """Release every segment; an empty current one is deleted, the rest wait for the next replay."""
        if self.current.size() == 0:
            self.current.delete()
        else:
            self.current.file.close()
        for segment in self.sealed:
            segment.file.close()
        self.sealed = []
