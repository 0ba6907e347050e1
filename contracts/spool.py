"""A durable local queue on SQLite: the collector's spool and the probe agent's outbox.

Records wait here while their destination (Redis for the collector, the collector for a
probe agent) cannot take them, and leave oldest first. The store is one SQLite database in
WAL mode with ``synchronous = FULL``: ``put`` returns only once its records are on disk, a
crash in the middle of a ``put`` leaves none of them, and a reader sees only whole
committed records. So a record is never half-written, never hidden by a torn neighbour,
and never removed before it was read; several processes may share one spool (SQLite locks
the file), and ``replaying`` lets one of them at a time drain it.

The spool is bounded in bytes (the records' own bytes, kept in the database as they are
added and removed). ``put`` refuses what does not fit (``SpoolFull``), or with
``drop_oldest`` makes room by deleting the oldest records and says how many items those held.
A failing disk (full, read-only, I/O error) raises ``SpoolError`` with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

DATABASE = "spool.sqlite3"
#: How long a writer waits for another process's transaction on the same spool.
BUSY_TIMEOUT_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so seq order is arrival order
    topic TEXT NOT NULL,                    -- the collector: the stream; the agent: unused
    data BLOB NOT NULL,
    items INTEGER NOT NULL DEFAULT 1        -- what the record holds (a probe batch's records)
);
CREATE TABLE IF NOT EXISTS size (id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO size VALUES (1, 0);
"""


class SpoolError(Exception):
    """The spool's disk failed (full, read-only, I/O error); nothing of the failed call was kept."""


class SpoolFull(SpoolError):
    """The records do not fit in the spool's bound; none of them was kept."""


@dataclasses.dataclass(frozen=True)
class Record:
    seq: int
    topic: str
    data: bytes
    items: int


class Spool:
    """The spool in ``directory`` (created if needed), at most ``max_bytes`` of records."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / DATABASE
        # One connection, used by one thread at a time (callers hand the work to threads).
        self._lock = threading.Lock()
        with self._failing("open"):
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            (mode,) = self._db.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":  # a filesystem without shared memory: readers would block writers
                raise SpoolError(f"spool open failed: the filesystem of {directory} cannot hold a write-ahead log")
            self._db.execute("PRAGMA synchronous = FULL")
            # Keep the write-ahead log small: it holds every page a commit changed until a checkpoint.
            self._db.execute("PRAGMA wal_autocheckpoint = 256")
            self._db.execute("PRAGMA journal_size_limit = 4194304")
            self._db.executescript(_SCHEMA)
            # Made once: replaying later only locks it, which works even once the disk went read-only.
            (directory / "replay.lock").touch(mode=0o600)
        self.path.chmod(0o600)

    @contextlib.contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise SpoolError(f"spool {what} failed: {e}") from None
        except OSError as e:
            raise SpoolError(f"spool {what} failed: {e.strerror or e}") from None

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._failing(what):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite rolls back by itself after a full disk or an I/O error, not after every failed COMMIT.
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def put(self, records: Sequence[tuple[str, bytes, int]], *, drop_oldest: bool = False) -> int:
        """Keep ``(topic, data, items)`` records durably, all or none; returns the items dropped to make room.

        Raises ``SpoolFull`` when they do not fit (with ``drop_oldest``, only when they
        alone are larger than the spool), ``SpoolError`` when the disk fails.
        """
        size = sum(len(data) for _, data, _ in records)
        if size > self.max_bytes:
            raise SpoolFull(f"the spool is full ({self.max_bytes} bytes)")
        dropped = 0
        with self._transaction("write") as db:
            (used,) = db.execute("SELECT bytes FROM size").fetchone()
            while used + size > self.max_bytes:
                if not drop_oldest:
                    raise SpoolFull(f"the spool is full ({self.max_bytes} bytes)")
                oldest = db.execute("SELECT seq, length(data), items FROM records ORDER BY seq LIMIT 64").fetchall()
                for seq, length, items in oldest:
                    if used + size <= self.max_bytes:
                        break
                    db.execute("DELETE FROM records WHERE seq = ?", (seq,))
                    used, dropped = used - length, dropped + items
            db.executemany("INSERT INTO records (topic, data, items) VALUES (?, ?, ?)", records)
            db.execute("UPDATE size SET bytes = ?", (used + size,))
        return dropped

    def oldest(self, limit: int, after: int = 0) -> list[Record]:
        """Up to ``limit`` records with a ``seq`` above ``after``, oldest first (they stay until removed)."""
        with self._lock, self._failing("read"):
            rows = self._db.execute(
                "SELECT seq, topic, data, items FROM records WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [Record(seq, topic, bytes(data), items) for seq, topic, data, items in rows]

    def remove(self, seq: int) -> None:
        """One record was delivered: delete it (gone already is fine)."""
        self._delete("seq = ?", seq)

    def remove_through(self, seq: int) -> None:
        """Every record up to ``seq`` was delivered: delete them.

        Safe while others write: SQLite commits one writer at a time, so a record not yet
        visible to the reader that chose ``seq`` gets a higher one.
        """
        self._delete("seq <= ?", seq)

    def _delete(self, where: str, seq: int) -> None:
        with self._transaction("delete") as db:
            (freed,) = db.execute(
                f"SELECT coalesce(sum(length(data)), 0) FROM records WHERE {where}", (seq,)
            ).fetchone()
            if db.execute(f"DELETE FROM records WHERE {where}", (seq,)).rowcount:
                db.execute("UPDATE size SET bytes = max(0, bytes - ?)", (freed,))

    def count(self, after: int = 0) -> int:
        """Records with a ``seq`` above ``after``."""
        with self._lock, self._failing("read"):
            (count,) = self._db.execute("SELECT count(*) FROM records WHERE seq > ?", (after,)).fetchone()
        return int(count)

    def __len__(self) -> int:
        return self.count()

    def bytes(self) -> int:
        with self._lock, self._failing("read"):
            (used,) = self._db.execute("SELECT bytes FROM size").fetchone()
        return int(used)

    @contextlib.contextmanager
    def replaying(self) -> Iterator[bool]:
        """Whether this process may drain the spool now (no other process sharing it is): hold it while draining."""
        with (self.directory / "replay.lock").open("rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
