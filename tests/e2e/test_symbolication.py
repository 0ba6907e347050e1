"""An error thrown in Chromium through an esbuild bundle is stored with its original files, lines and names.

The app is written here in TypeScript, bundled and minified by esbuild with a source map,
and the map uploaded with its minified file by ``vigil sourcemaps upload`` to a real collector. Chromium loads
the page with the beacon; the bundle throws through a script that has no map. What the
analytics service stores is checked against positions found in the source text itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import runfiles
from contracts.read_api import ReadClient
from tests.browser import Reply
from tests.e2e.beacon import page as html_page
from tests.e2e.beacon import tag
from tests.helpers import env_without_vigil, wait_until

pytestmark = pytest.mark.browser

ESBUILD = Path(__file__).resolve().parents[2] / "beacon-js" / "node_modules" / ".bin" / "esbuild"
RELEASE = "shop@2.3.1"

SOURCES = {
    "format.ts": """\
export function formatPrice(cents: number): string {
  if (cents < 0) {
    throw new RangeError(`negative total: ${cents}`);
  }
  return (cents / 100).toFixed(2);
}
""",
    "cart.ts": """\
import { formatPrice } from "./format";

export function renderTotal(items: number[]): string {
  const total = items.reduce((sum, price) => sum + price, 0);
  return formatPrice(total);
}
""",
    "main.ts": """\
import { renderTotal } from "./cart";

declare function eachCart(carts: number[][], visit: (items: number[]) => void): void;

function checkout(carts: number[][]): void {
  eachCart(carts, (items) => {
    document.title = renderTotal(items);
  });
}

setTimeout(() => checkout([[250, 100], [300, -900]]), 0);
""",
}
# A third-party script served as it is, with no map: the bundle's callback runs inside it.
VENDOR = """\
/* vendor: iterate over carts */
function eachCart(carts, visit) {
  for (var i = 0; i < carts.length; i++) {
    visit(carts[i]);
  }
}
"""


def at(text: str, needle: str) -> tuple[int, int]:
    """(line, column), both from 1, of the one place ``needle`` is in ``text``."""
    assert text.count(needle) == 1, needle
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def line_of(text: str, needle: str) -> str:
    return text.splitlines()[at(text, needle)[0] - 1]


def build(folder: Path) -> str:
    """Bundle and minify ``src/main.ts`` into ``app.js`` with ``app.js.map`` (sources embedded); returns the bundle."""
    for name, text in SOURCES.items():
        (folder / "src").mkdir(parents=True, exist_ok=True)
        (folder / "src" / name).write_text(text)
    subprocess.run(
        [str(ESBUILD), "src/main.ts", "--bundle", "--minify", "--sourcemap", "--sources-content=true",
         "--outfile=app.js", "--log-level=error"],
        cwd=folder, check=True, timeout=60,
    )  # fmt: skip
    return (folder / "app.js").read_text()


def checkout_throws(page, site, collector, project, path: str, bundle: str) -> None:  # type: ignore[no-untyped-def]
    """The checkout page with the beacon, the vendor script and the bundle served at ``path``: loaded in Chromium,
    it throws once, and the beacon sends the error."""
    site.pages[path] = Reply(bundle, content_type="application/javascript")
    site.pages["/vendor/each.js"] = Reply(VENDOR, content_type="application/javascript")
    site.pages["/checkout"] = html_page(
        '<script>addEventListener("error", function () { window.thrown = (window.thrown || 0) + 1; });</script>'
        + tag(f"{collector.url}/beacon.js", project, release=RELEASE)
        + f'<script src="/vendor/each.js"></script><script src="{path}"></script>'
    )
    page.goto(f"{site.url}/checkout")
    page.wait_for_function("window.thrown === 1")
    page.evaluate("vigil.flush()")


def test_a_minified_error_from_chromium_is_stored_against_the_original_source(
    page, site, collector, analytics, demo_project, data_dir, tmp_path
):
    shop = tmp_path / "shop"
    bundle = build(shop)
    upload = subprocess.run(
        [sys.executable, "-m", "vigil", "sourcemaps", "upload", "--release", RELEASE,
         "--collector-url", collector.url, "--data-dir", str(data_dir), str(shop)],
        capture_output=True, text=True, timeout=60, env=env_without_vigil(),
    )  # fmt: skip
    assert upload.returncode == 0, upload.stdout + upload.stderr
    map_size, bundle_size = (shop / "app.js.map").stat().st_size, (shop / "app.js").stat().st_size
    assert upload.stdout.splitlines() == [
        f"uploaded app.js.map as ~/app.js ({map_size} bytes) with its minified file ({bundle_size} bytes)"
    ]

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        # The map must be stored before the error is processed, or the error is kept unmapped.
        wait_until(
            lambda: client.sql("SELECT release, url FROM source_maps").rows == [[RELEASE, "~/app.js"]],
            timeout=10, what="the uploaded map stored",
        )  # fmt: skip

        checkout_throws(page, site, collector, demo_project, "/app.js", bundle)

        statement = "SELECT error_type, message, release, frames FROM errors"
        rows = wait_until(lambda: client.sql(statement).rows, timeout=15, what="the error stored")
    ((error_type, message, release, frames_json),) = rows
    assert (error_type, message, release) == ("RangeError", "negative total: -600", RELEASE)

    format_ts, cart_ts, main_ts = SOURCES["format.ts"], SOURCES["cart.ts"], SOURCES["main.ts"]
    app, vendor = f"{site.url}/app.js", f"{site.url}/vendor/each.js"

    def mapped(function: str, kind: str, source: str, text: str, needle: str) -> dict[str, object]:
        """A bundle frame mapped to where ``needle`` starts in ``src/<source>``, with its line as context."""
        line, column = at(text, needle)
        return {
            "function": function, "url": app, "in_app": True, "kind": kind, "source": f"src/{source}",
            "source_line": line, "source_column": column, "context": line_of(text, needle), "mapped": True,
        }  # fmt: skip

    frames = json.loads(frames_json)
    # V8 reports the throw at its `new` and every call at its callee; the map gives those back.
    # Each frame is named by the function it runs in, from the scopes of the uploaded minified file:
    # the callbacks are anonymous functions, the one called by the vendor script and the outermost one.
    # Two lines of original source either side of an own-code frame's line, for the issue page.
    assert (frames[0]["pre_context"], frames[0]["post_context"]) == (
        format_ts.splitlines()[0:2], format_ts.splitlines()[3:5],
    )  # fmt: skip
    left_out = {"line", "column", "pre_context", "post_context"}
    assert [{k: v for k, v in f.items() if k not in left_out} for f in frames] == [
        mapped("formatPrice", "normal", "format.ts", format_ts, "new RangeError"),
        mapped("renderTotal", "normal", "cart.ts", cart_ts, "formatPrice(total)"),
        mapped("<anonymous>", "anonymous", "main.ts", main_ts, "renderTotal(items)"),
        {
            "function": "eachCart", "url": vendor, "in_app": True, "kind": "normal", "source": "",
            "source_line": None, "source_column": None, "context": "", "mapped": False,
        },
        mapped("checkout", "normal", "main.ts", main_ts, "eachCart(carts, ("),
        mapped("<anonymous>", "anonymous", "main.ts", main_ts, "checkout([["),
    ]  # fmt: skip
    # The positions as the browser reported them are kept: the one-line bundle, and the vendor script's own.
    assert (frames[0]["line"], frames[0]["column"]) == (1, bundle.index("new RangeError") + 1)
    assert {f["line"] for f in frames if f["url"] == app} == {1}
    assert (frames[3]["line"], frames[3]["column"]) == at(VENDOR, "visit(carts[i])")


SENTRY_CLI = Path(__file__).resolve().parents[2] / "beacon-js" / "node_modules" / "@sentry" / "cli-linux-x64" / "bin"


def test_the_beacon_finds_a_map_by_the_debug_id_sentry_cli_injected(
    page, site, collector, analytics, demo_project, data_dir, tmp_path
):
    shop = tmp_path / "shop"
    bundle = build(shop)
    quiet = {"SENTRY_LOAD_DOTENV": "0", "SENTRY_DISABLE_UPDATE_CHECK": "1"}
    subprocess.run([str(SENTRY_CLI / "sentry-cli"), "sourcemaps", "inject", str(shop)], check=True, timeout=60,
                   capture_output=True, env={**env_without_vigil(), **quiet})  # fmt: skip
    injected = (shop / "app.js").read_text()
    assert "_sentryDebugIds" in injected
    assert injected != bundle
    # Uploaded under a URL and release the page never uses: only the debug id ties the page's script to its map.
    upload = subprocess.run(
        [sys.executable, "-m", "vigil", "sourcemaps", "upload", "--release", "build-77", "--url-prefix",
         "https://elsewhere.example/", "--collector-url", collector.url, "--data-dir", str(data_dir), str(shop)],
        capture_output=True, text=True, timeout=60, env=env_without_vigil(),
    )  # fmt: skip
    assert upload.returncode == 0, upload.stdout + upload.stderr

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        wait_until(lambda: client.sql("SELECT count(*) FROM source_maps WHERE debug_id <> ''").rows == [[1]],
                   timeout=10, what="the uploaded map stored")  # fmt: skip
        checkout_throws(page, site, collector, demo_project, "/static/app.9f8e.js", injected)
        rows = wait_until(lambda: client.sql("SELECT frames FROM errors").rows, timeout=15, what="the error stored")
    frames = json.loads(rows[0][0])
    app = [f for f in frames if f["url"] == f"{site.url}/static/app.9f8e.js"]
    assert [(f["mapped"], f["source"], f["function"]) for f in app[:2]] == [
        (True, "src/format.ts", "formatPrice"),
        (True, "src/cart.ts", "renderTotal"),
    ]
    assert app[0]["source_line"] == at(SOURCES["format.ts"], "new RangeError")[0]
