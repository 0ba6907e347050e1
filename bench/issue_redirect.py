"""The per-batch cost of looking for merged issues in the consumer (``IssueIndex._redirect``), with and without a merge.

Run by hand: ``.venv/bin/python bench/issue_redirect.py [--issues 100000] [--calls 2000]``. A fresh
DuckDB file holds ``--issues`` issues; a batch of 1,000 error events over 50 of them is
redirected ``--calls`` times while no issue was ever merged (the look-up is skipped), then
again once one issue in fifty is merged (it is made), side by side in one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.issue_index import IssueIndex  # noqa: E402
from analytics.store import open_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        con = open_database(Path(tmp) / "vigil.duckdb")
        con.execute(
            """INSERT INTO issues (issue_id, project_id, project, app_hash, full_hash, first_seen, last_seen, events,
                   status)
               SELECT i, 1, 'shop', md5(i::VARCHAR), md5(i::VARCHAR), now(), now(), 1, 'unresolved'
               FROM range(1, $n + 1) t(i)""",
            {"n": args.issues},
        )
        ids = list(range(1000, 1050)) * 20  # 1,000 events over 50 issues
        for label in ("no merge ever", "one issue in fifty merged"):
            index = IssueIndex(con)
            con.begin()
            started = time.perf_counter()
            for _ in range(args.calls):
                index._redirect(con, ids, {})
            per_call = (time.perf_counter() - started) / args.calls
            con.rollback()
            print(f"{label}: {per_call * 1e6:,.1f} µs per batch")
            con.execute("UPDATE issues SET merged_into = 1 WHERE issue_id % 50 = 0")
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
