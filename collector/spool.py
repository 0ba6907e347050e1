"""The collector's spool (``contracts/spool.py``), and the segments older collectors left behind.

Before the spool moved to SQLite, each collector process appended to ``*.spool`` segment
files: records of ``length (4 bytes) · crc32 (4 bytes) · stream \\n entry``. A segment left by
a collector that stopped may hold acknowledged entries, so at start its records move into
the spool (one transaction per segment) and the file is deleted. A damaged record is
skipped and reading resumes at the next intact one, so a torn write hides nothing after it.
"""

from __future__ import annotations

import fcntl
import logging
import struct
import zlib
from pathlib import Path

from contracts.spool import Spool, SpoolError

log = logging.getLogger("vigil.collector")

HEADER = struct.Struct(">II")
SUFFIX = ".spool"
#: A record longer than this is a damaged length field, not a record.
MAX_RECORD = 64 * 1024 * 1024


def segment_records(blob: bytes) -> list[tuple[str, bytes]]:
    """Every intact ``(stream, entry)`` record of a segment, in order, skipping damaged bytes."""
    records: list[tuple[str, bytes]] = []
    at = 0
    while at + HEADER.size <= len(blob):
        length, crc = HEADER.unpack_from(blob, at)
        data = blob[at + HEADER.size : at + HEADER.size + length]
        if length <= MAX_RECORD and len(data) == length and zlib.crc32(data) == crc:
            stream, _, entry = data.partition(b"\n")
            records.append((stream.decode("utf-8", "replace"), entry))
            at += HEADER.size + length
        else:
            at += 1  # resynchronize: the next intact record starts somewhere after this byte
    return records


def import_segments(directory: Path, spool: Spool) -> int:
    """Move the records of old segments in ``directory`` into ``spool``; returns how many moved."""
    moved = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            with path.open("rb") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # an older collector still running holds it
                records = segment_records(f.read())
                spool.put([(stream, entry, 1) for stream, entry in records])
                path.unlink()
        except (OSError, SpoolError) as e:
            log.error("spool segment %s kept for the next start: %s", path.name, e)
            continue
        moved += len(records)
        log.info("moved %d entries of the old spool segment %s into the spool", len(records), path.name)
    return moved
