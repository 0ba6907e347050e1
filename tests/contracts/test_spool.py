"""The spool under faults: a kill -9 in the middle of a write, replay during writes, a full disk."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from contracts.spool import Spool, SpoolError, SpoolFull
from tests.helpers import mounted_tmpfs

WRITER = """
import sys
from pathlib import Path
from contracts.spool import Spool

spool = Spool(Path(sys.argv[1]), 100_000_000)
n = int(sys.argv[2])
while True:
    spool.put([("t", f"{n}:{part}:".encode() + b"x" * 200, 1) for part in range(3)])
    print(n, flush=True)  # acknowledged: on disk
    n += 1
"""


def test_a_kill_9_in_the_middle_of_writes_keeps_every_acknowledged_record_and_no_half_put(tmp_path):
    directory = tmp_path / "spool"
    acknowledged: list[int] = []
    for kill in range(5):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), str(kill * 1_000_000)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
        )  # fmt: skip
        try:
            assert writer.stdout is not None
            for _ in range(30 + 17 * kill):  # bounded: a different moment each time
                acknowledged.append(int(writer.stdout.readline()))
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(10)
            if writer.stdout is not None:
                writer.stdout.close()
    spool = Spool(directory, 100_000_000)
    records = spool.oldest(100_000)
    spool.close()
    puts: dict[int, list[int]] = {}
    for record in records:
        n, part, _ = record.data.split(b":", 2)
        puts.setdefault(int(n), []).append(int(part))
    assert set(acknowledged) <= set(puts)  # nothing acknowledged is lost
    assert all(parts == [0, 1, 2] for parts in puts.values())  # a put is whole or absent, in order
    assert [r.seq for r in records] == sorted(r.seq for r in records)


def test_records_written_while_they_are_drained_are_each_drained_once(tmp_path):
    spool = Spool(tmp_path / "spool", 100_000_000)
    written: list[bytes] = []
    drained: list[bytes] = []
    writing = True

    def write(prefix: str) -> None:
        for n in range(300):
            data = f"{prefix}{n}".encode()
            spool.put([("t", data, 1)])
            written.append(data)

    def drain() -> None:
        last = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = spool.oldest(50, last)
            if not records and not writing:
                return
            if records:
                drained.extend(r.data for r in records)
                last = records[-1].seq
                spool.remove_through(last)

    writers = [threading.Thread(target=write, args=(p,)) for p in "abc"]
    drainer = threading.Thread(target=drain)
    drainer.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    writing = False
    drainer.join(60)
    spool.close()
    assert sorted(drained) == sorted(written)
    assert len(drained) == 900


def test_the_bound_refuses_or_drops_the_oldest(tmp_path):
    spool = Spool(tmp_path / "spool", 100)
    spool.put([("t", b"a" * 40, 1), ("t", b"b" * 40, 2)])
    with pytest.raises(SpoolFull):
        spool.put([("t", b"c" * 40, 1)])
    assert spool.put([("t", b"c" * 40, 1)], drop_oldest=True) == 1  # "a" made room; it held one item
    assert [r.data[:1] for r in spool.oldest(10)] == [b"b", b"c"]
    assert spool.bytes() == 80
    with pytest.raises(SpoolFull):
        spool.put([("t", b"d" * 101, 1)], drop_oldest=True)  # larger than the whole spool
    spool.close()


def test_a_full_disk_refuses_whole_keeps_what_it_had_and_recovers_when_space_returns(tmp_path):
    with mounted_tmpfs(tmp_path / "disk", 2 * 1024 * 1024) as disk:
        spool = Spool(disk / "spool", 100_000_000)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (1024 * 1024))
        kept, failure = fill(spool)
        assert "disk is full" in str(failure)
        assert kept > 0
        assert spool.count() == kept  # the failed put left nothing, the earlier ones are all there
        filler.unlink()
        spool.put([("t", b"after", 1)])
        records = spool.oldest(100_000)
        spool.remove_through(records[-1].seq)
        assert (len(records), records[-1].data, spool.count(), spool.bytes()) == (kept + 1, b"after", 0, 0)
        spool.close()


def fill(spool: Spool) -> tuple[int, SpoolError]:
    """Put records until the disk refuses one: how many were kept, and the refusal."""
    for kept in range(10_000):  # bounded: the small disk is full long before
        try:
            spool.put([("t", b"x" * 2000, 1)])
        except SpoolError as e:
            return kept, e
    raise AssertionError("the disk never filled")
