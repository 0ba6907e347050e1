"""What the correlation job costs each minute on a database of 10 million events over 30 days.

Run by hand: ``.venv/bin/python bench/correlation.py [--db PATH] [--calls 15]``.

It uses the database of ``bench/read_api.py`` (filled the same way when ``--db`` is absent
or empty: 3 M errors, 5 M page views, 1 M vitals and 1 M failed requests over three
projects, 1.3 M probe results), then times, at the data's last minute, the anomaly tests
alone (``anomalies.detect``: every series of every project against its last day) and a
whole evaluation (``incidents.evaluate``), ``--calls`` times each after a warm-up; then the
same with a spike of failed requests added to one host in the last minutes, so an incident
opens and its evidence is gathered every call.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import anomalies, incidents  # noqa: E402
from analytics.store import open_database  # noqa: E402
from bench.read_api import fill, timed  # noqa: E402


def arguments(doc: str) -> argparse.Namespace:
    """``--db`` and ``--calls``, described by the first line of the bench's ``doc``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--db", type=Path, help="the database of bench/read_api.py (filled if absent)")
    parser.add_argument("--calls", type=int, default=15)
    return parser.parse_args()


@contextlib.contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[tuple[duckdb.DuckDBPyConnection, datetime]]:
    """The database of bench/read_api.py at ``--db`` (filled first if absent; a temporary one without ``--db``),
    open, and the moment to time at: just after its last page view."""
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        path = args.db or Path(tmp) / "vigil.duckdb"
        if not path.exists():
            print(f"filling {path}", flush=True)
            fill(path, 10_000_000, 30, datetime.now(UTC).replace(tzinfo=None, microsecond=0))
        con = open_database(path)
        try:
            ((latest,),) = con.execute("SELECT max(ts) FROM page_views").fetchall()
            yield con, latest + timedelta(seconds=20)
        finally:
            con.close()


def main() -> int:
    args = arguments(__doc__)
    with bench_database(args) as (con, now):
        print("| step | p50 | p95 |\n| --- | --- | --- |")
        for name, call in (
            ("anomaly tests (detect), nothing out of line", lambda: anomalies.detect(con, now)),
            ("whole evaluation, nothing out of line", lambda: incidents.evaluate(con, {}, now)),
        ):
            p50, p95 = timed(call, args.calls)
            print(f"| {name} | {p50:.0f} ms | {p95:.0f} ms |", flush=True)
        con.execute(
            """INSERT INTO network_failures BY NAME
               SELECT 'spike' || i AS event_id, ts - to_milliseconds(i * 1000) AS ts, ts AS received_at,
                      project, project_id, 'https://shop.example/' AS page_url, 'fetch' AS api, 'GET' AS method,
                      'https://checkout.example/pay' AS url, 0 AS status, 'network_error' AS failure
               FROM (SELECT max(ts) AS ts, 'shop' AS project, 1 AS project_id FROM page_views), range(200) t(i)"""
        )
        evaluations = [
            ("whole evaluation, an incident open (evidence gathered)", lambda: incidents.evaluate(con, {}, now))
        ]
        for name, call in evaluations:
            p50, p95 = timed(call, args.calls)
            print(f"| {name} | {p50:.0f} ms | {p95:.0f} ms |", flush=True)
        ((opened,),) = con.execute("SELECT count(*) FROM incidents").fetchall()
        print(f"\nincidents opened by the spike: {opened}")
        con.execute("DELETE FROM network_failures WHERE event_id LIKE 'spike%'")
        con.execute("DELETE FROM incident_activity")
        con.execute("DELETE FROM incidents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
