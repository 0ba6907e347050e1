"""Take the screenshots of docs/dashboard.md from a running `vigil demo`, so they show the dashboard as it is.

Run by hand after a change to a page: ``make setup && .venv/bin/python docs/screenshots.py``.
It starts ``vigil demo`` on free ports in a fresh data directory, waits until the demo's
traffic has made issues and the self-probe has run its checks, opens each page in headless
Chromium (Debian's package) at 1400 by 900 pixels, writes ``docs/img/<page>.png``, and stops the demo
by its pid. For the incident pages it breaks the demo's API (``vigil demo break backend``)
once the demo has run long enough to have a past, and waits for the incident blamed on it:
about six minutes in all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts import runfiles  # noqa: E402
from contracts.read_api import ReadApiError, ReadClient  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers import free_port, stop_process, wait_until  # noqa: E402

OUT = ROOT / "docs" / "img"


def shoot(page: Page, url: str, ready: str, name: str) -> None:
    page.goto(url)
    page.locator(ready).first.wait_for(timeout=30_000)
    time.sleep(1.5)  # let the figures draw
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/img/{name}.png")


def break_the_backend(data: Path, started: float) -> int:
    """Break the demo's API once it has four minutes of past; the id of the incident blamed on it."""
    time.sleep(max(0.0, 270 - (time.monotonic() - started)))
    subprocess.run([sys.executable, "-m", "vigil", "demo", "break", "backend", "--seconds", "90", "--data-dir",
                    str(data)], check=True, cwd=ROOT, capture_output=True)  # fmt: skip

    def blamed() -> int | None:
        info = runfiles.read_live(data, "analytics")
        try:
            with ReadClient(info["url"] if info else "http://127.0.0.1:9") as client:
                found = client.query("incidents")
        except ReadApiError:
            return None
        rows = [dict(zip(found.columns, row, strict=True)) for row in found.rows]
        return next((int(r["incident_id"]) for r in rows if str(r["summary"]).startswith("demo-api down")), None)

    incident = wait_until(blamed, timeout=240, what="the incident blamed on the demo's API", interval=3)
    time.sleep(30)  # a little of the outage on its timeline
    return int(incident or 0)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("collector", "analytics", "dashboard", "demo")}
    with tempfile.TemporaryDirectory(prefix="vigil-screens-") as tmp:
        data = Path(tmp) / "data"
        argv = [sys.executable, "-m", "vigil", "demo", "--data-dir", str(data),
                *(f"--{name}-port={port}" for name, port in ports.items())]  # fmt: skip
        demo = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=ROOT)
        started = time.monotonic()
        try:
            dashboard = f"http://127.0.0.1:{ports['dashboard']}"

            def issues() -> list[list[object]]:
                info = runfiles.read_live(data, "analytics")
                if info is None:
                    return []
                try:
                    with ReadClient(info["url"]) as client:
                        rows = client.query("issues", since="2000-01-01T00:00:00Z").rows
                        checks = client.query("checks").rows
                except ReadApiError:
                    return []
                return rows if len(rows) >= 3 and checks else []

            found = wait_until(issues, timeout=180, what="the demo's issues and checks", interval=2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                shoot(page, f"{dashboard}/login", "form", "login")
                # Log in as the user the demo made (its password is kept in the data directory).
                page.get_by_label("User").fill("demo")
                page.get_by_label("Password").fill((data / "dashboard" / "demo-password").read_text().strip())
                page.get_by_role("button", name="Log in").click()
                page.locator("#account-user").wait_for(timeout=30_000)
                shoot(page, f"{dashboard}/?range=1h", "#overview-kpis .kpi", "overview")
                shoot(page, f"{dashboard}/issues?range=1h", "#issues-table .ag-row", "issues")
                shoot(page, f"{dashboard}/issues/{found[0][0]}?range=1h", "#issue-event-view h3", "issue")
                shoot(page, f"{dashboard}/releases?range=24h", "#releases-table .ag-row", "releases")
                shoot(page, f"{dashboard}/traffic?range=1h", "#traffic-pages-grid .ag-row", "traffic")
                shoot(page, f"{dashboard}/hosts?range=1h&host=worker-007", "#hosts-worst-grid .ag-row", "hosts")
                incident = break_the_backend(data, started)
                # By now the demo has a few minutes of visits: enough for a release that slowed a page to show.
                shoot(page, f"{dashboard}/vitals?range=1h", "#vitals-pages-grid .ag-row", "vitals")
                shoot(page, f"{dashboard}/network?range=1h", "#network-targets-grid .ag-row", "network")
                shoot(page, f"{dashboard}/checks?range=15m&check=demo-home", "#checks-phases .bars", "checks")
                shoot(page, f"{dashboard}/incidents?range=24h", "#incidents-table .ag-row", "incidents")
                shoot(page, f"{dashboard}/incidents/{incident}", "#incident-checks .ag-row", "incident")
                # The incident's opening went to the demo's mailbox and webhook receiver.
                shoot(page, f"{dashboard}/alerts?range=1h", "#alerts-history .ag-row", "alerts")
                # The last two days' reports, made as the analytics service started.
                shoot(page, f"{dashboard}/reports", "#reports-table .ag-row", "reports")
                browser.close()
        finally:
            demo.send_signal(signal.SIGTERM)
            stop_process(demo, timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
