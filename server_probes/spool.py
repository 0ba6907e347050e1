"""The agent's outbox on disk: batches sent oldest first, bounded in bytes (``contracts/spool.py``).

Every batch goes through the spool, so a batch written here survives the collector being away
and the agent restarting. It is the collector's spool mechanism (SQLite, synced to disk; a crash
never leaves half a batch), with one difference: when a new batch would pass ``max_bytes``, the
oldest batches are deleted and their records counted as dropped, since recent results matter
more than old ones.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from contracts import spool

log = logging.getLogger("vigil.probe")

TOPIC = "probes"
#: A batch file of agents before the outbox moved to SQLite: ``{sequence}-{records}.json``.
_OLD_BATCH = re.compile(r"^(\d{12})-(\d+)\.json$")

Batch = spool.Record


class Spool:
    """Batches waiting to be sent, in ``directory``; not shared between agents (one directory each)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.queue = spool.Spool(directory, max_bytes)
        self.dropped_records = 0  # since this process started
        self._import_old_batches()

    def _import_old_batches(self) -> None:
        """Batch files an older agent left are sent like any other, oldest first."""
        for leftover in self.directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)
        for path in sorted(p for p in self.directory.iterdir() if _OLD_BATCH.match(p.name)):
            match = _OLD_BATCH.match(path.name)
            assert match is not None
            self.put(path.read_bytes(), int(match.group(2)))
            path.unlink()
            log.info("moved the spooled batch %s into the outbox", path.name)

    def put(self, body: bytes, records: int) -> None:
        """Keep one encoded batch of ``records`` records, dropping the oldest batches if it does not fit."""
        self.dropped_records += self.queue.put([(TOPIC, body, records)], drop_oldest=True)

    def oldest(self) -> Batch | None:
        found = self.queue.oldest(1)
        return found[0] if found else None

    def remove(self, batch: Batch) -> None:
        """The batch was delivered (or refused for good)."""
        self.queue.remove(batch.seq)

    def __len__(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        self.queue.close()
