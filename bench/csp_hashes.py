"""What the dashboard's Content-Security-Policy costs per response: Dash's inline-script hashes, against a whole answer.

Run by hand: ``.venv/bin/python bench/csp_hashes.py [--calls 300]``. The policy is built at
every response (``dashboard/auth.py``), because Dash adds its inline scripts as it sets
itself up; this times ``csp_hashes`` and a whole ``/_dash-layout`` answer through Flask's
test client (no network), median of ``--calls``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.read_api import ReadClient  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.settings import DashboardSettings  # noqa: E402


def median_us(call: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        app = create_app(DashboardSettings(data_dir=Path(tmp)), ReadClient("http://127.0.0.1:9"))
        client = app.server.test_client()
        client.get("/")  # Dash sets itself up at the first request
        hashes = median_us(app.csp_hashes, args.calls)
        answer = median_us(lambda: client.get("/_dash-layout"), args.calls)
    print(f"csp_hashes: {hashes:.1f} µs; a whole /_dash-layout answer: {answer:.0f} µs ({hashes / answer:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
