"""The cost of building a beacon request's stream entry: the validated batch encoded again, against the raw bytes.

Run by hand: ``.venv/bin/python bench/stream_entry.py [--rounds 20000]``. One process, the
10-event batch of ``bench/collector_load.py``; it times decoding the body (the validation every
request pays), encoding the entry from the decoded structs (what the collector does), and
wrapping the body's own bytes in an entry unchanged (what it did before, letting unknown fields
and padding through), each the mean over ``--rounds``, side by side in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from collector_load import batch  # noqa: E402

from contracts.beacon import decode_batch  # noqa: E402
from contracts.stream import StreamEntry, encode_entry  # noqa: E402


class RawEntry(msgspec.Struct):
    project_id: int
    project: str
    received_at: int
    user_agent: str
    batch: msgspec.Raw


def per_call(fn: object, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    body = batch()
    decoded = decode_batch(body).batch
    entry = StreamEntry(1, "shop", 1, "Mozilla/5.0", decoded)
    encode_raw = msgspec.json.Encoder().encode
    raw = RawEntry(1, "shop", 1, "Mozilla/5.0", msgspec.Raw(body))
    print(f"body {len(body)} B; entry encoded again {len(encode_entry(entry))} B, raw {len(encode_raw(raw))} B")
    print(f"decode and validate: {per_call(lambda: decode_batch(body), rounds):.2f} µs")
    print(f"entry encoded again: {per_call(lambda: encode_entry(entry), rounds):.2f} µs")
    print(f"entry of raw bytes:  {per_call(lambda: encode_raw(raw), rounds):.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
