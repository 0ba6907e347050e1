"""A site moves from Sentry to Vigil changing its DSN, its upload step's URL and its token, and nothing else.

Under a real ``vigil up``: the site's build runs @sentry/esbuild-plugin (from npm) with Vigil's
URL and a token from ``vigil token create``; its page runs @sentry/browser, bundled into the
app as a site does, with Vigil's DSN, in Chromium. Two page loads, the second throws from a
click and reports a message. Its API runs @sentry/node with Vigil's DSN and fails too. Vigil
then has the stacks symbolicated (files, lines and the functions' original names), culprits,
the messages grouped by their templates, and the release's crash-free and unhandled-free rates.
(The Python SDK is run against the collector in ``tests/collector/test_sentry.py``.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.projects import load_projects
from contracts.read_api import live_client
from tests.browser import Reply
from tests.helpers import env_without_vigil, wait_until
from tests.vigil.test_up import up  # noqa: F401 (the fixture: vigil up on a data directory)

pytestmark = pytest.mark.browser

MODULES = Path(__file__).resolve().parents[2] / "beacon-js" / "node_modules"
RELEASE = "shop@5.1.0"

APP = """\
import * as Sentry from "@sentry/browser";

Sentry.init({ dsn: window.SENTRY_DSN, attachStacktrace: true });

class Checkout {
  constructor(cart) {
    this.cart = cart;
  }
  total() {
    return this.cart.map((item) => priceOf(item)).reduce((sum, price) => sum + price, 0);
  }
}

function priceOf(item) {
  if (item.price == null) {
    throw new TypeError("price is missing for " + item.sku);
  }
  return item.price;
}

document.getElementById("pay").addEventListener("click", () => {
  document.title = String(new Checkout([{ sku: "a-1", price: 3 }, { sku: "b-2" }]).total());
});
document.getElementById("report").addEventListener("click", () => {
  Sentry.captureMessage(Sentry.parameterize`Payment ${42} failed`);
});
"""
# The site's API on Node, reporting with @sentry/node.
API = """\
import * as Sentry from "@sentry/node";

Sentry.init({ dsn: process.env.SENTRY_DSN, release: "shop-api@5.1.0" });

function loadCart(id) {
  return JSON.parse(`{"id": ${id}, "items": [`);
}

export function handle(id) {
  return loadCart(id);
}

try {
  handle(7);
} catch (error) {
  Sentry.captureException(error);
}
Sentry.captureMessage(Sentry.parameterize`Cart ${7} could not be loaded`);
await Sentry.flush(10000);
"""
# What a site's esbuild build with the Sentry plugin looks like; only url and authToken point at Vigil.
BUILD = """\
import {{ build }} from "{esbuild}";
import {{ sentryEsbuildPlugin }} from "{plugin}";
await build({{
  entryPoints: ["src/app.js"], bundle: true, minify: true, sourcemap: true, outdir: "dist", logLevel: "error",
  plugins: [sentryEsbuildPlugin({{
    url: {url}, authToken: {token}, org: "their-sentry-org", project: "demo",
    release: {{ name: {release} }}, telemetry: false, errorHandler: (e) => {{ throw e; }},
  }})],
}});
"""


def vigil(data_dir: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "vigil", *args, "--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=60, env=env_without_vigil(), check=True)  # fmt: skip
    return done.stdout


@pytest.mark.timeout(240)
def test_changing_the_dsn_the_upload_url_and_the_token_is_all_it_takes(up, data_dir, tmp_path, page, site):  # noqa: F811
    _, ports, _ = up
    collector = f"http://127.0.0.1:{ports['collector']}"
    created = json.loads(vigil(data_dir, "token", "create", "--scope", "sourcemaps", "--project", "demo", "--json"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.js").write_text(APP)
    (tmp_path / "node_modules").symlink_to(MODULES)  # the site's dependencies: @sentry/browser
    (tmp_path / "build.mjs").write_text(BUILD.format(
        esbuild=MODULES / "esbuild" / "lib" / "main.js",
        plugin=MODULES / "@sentry" / "esbuild-plugin" / "dist" / "esm" / "index.mjs",
        url=json.dumps(collector), token=json.dumps(created["token"]), release=json.dumps(RELEASE),
    ))  # fmt: skip
    quiet = {"SENTRY_LOAD_DOTENV": "0", "SENTRY_DISABLE_UPDATE_CHECK": "1", "NODE_ENV": "production"}
    built = subprocess.run(["node", "build.mjs"], cwd=tmp_path, env={**os.environ, **quiet}, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert built.returncode == 0, built.stderr + built.stdout

    (demo,) = load_projects(data_dir).values()
    dsn = collector.replace("http://", f"http://{demo.public_key}@") + f"/{demo.id}"
    site.pages["/assets/app.js"] = Reply((tmp_path / "dist" / "app.js").read_text(),
                                         content_type="application/javascript")  # fmt: skip
    site.pages["/checkout"] = (
        f'<!doctype html><html><body><button id="pay">Pay</button><button id="report">Report</button>'
        f'<script>window.SENTRY_DSN = "{dsn}";</script><script src="/assets/app.js"></script></body></html>'
    )
    with live_client(data_dir) as client:  # type: ignore[union-attr]
        wait_until(lambda: client.sql("SELECT count(*) FROM source_maps WHERE source IS NOT NULL").rows[0][0] >= 1,
                   timeout=20, what="the plugin's upload stored")  # fmt: skip
        page.goto(f"{site.url}/checkout")  # a session without errors
        page.goto(f"{site.url}/checkout")  # and one that throws from a click
        page.click("#pay")
        page.click("#report")
        (tmp_path / "api.mjs").write_text(API)
        subprocess.run(["node", "api.mjs"], cwd=tmp_path, env={**os.environ, "SENTRY_DSN": dsn}, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        rows = wait_until(
            lambda: len(r := client.sql("SELECT error_type, message, frames, culprit, grouping, issue_id, release "
                                        "FROM errors ORDER BY release DESC, error_type DESC").rows) == 4 and r,
            timeout=20, what="the errors and the messages stored",
        )  # fmt: skip
        [error_type, message, frames, culprit, _, _, release], [kind, text, _, _, grouping, issue_id, _] = rows[:2]
        [[api_type, api_message, api_frames, api_culprit, _, _, _], [_, api_text, _, _, _, _, _]] = rows[2:]
        title = client.sql(f"SELECT title FROM issues WHERE issue_id = {int(issue_id)}").rows[0][0]

        def release_health() -> dict[str, object] | None:
            found = client.query("releases", project="demo", since="2000-01-01T00:00:00Z", until="2100-01-01T00:00:00Z")
            rows = [dict(zip(found.columns, r, strict=True)) for r in found.rows]
            return next((r for r in rows if r["release"] == RELEASE and r["sessions"] == 2), None)

        row = wait_until(release_health, timeout=20, what="both sessions counted")

    # The stack, symbolicated: the original file and names, from the minified file and map the plugin uploaded
    # (found by the debug id the SDK sends); the call through Array.map has no map and stays as it came.
    assert (error_type, message, release) == ("TypeError", "price is missing for b-2", RELEASE)
    app = [(f["function"], f["source"]) for f in json.loads(frames) if f["mapped"]][:3]
    assert app == [("priceOf", "../src/app.js"), ("<anonymous>", "../src/app.js"), ("Checkout.total", "../src/app.js")]
    assert culprit.startswith("priceOf")
    # The message: Sentry's synthetic stack kept, titled by its text, grouped by its template.
    assert (kind, text, grouping, title) == ("Message", "Payment 42 failed", "message", "Payment 42 failed")
    # The API's error: Node's frames as the SDK sent them, its own file in-app (the culprit), Node's not.
    assert api_type == "SyntaxError"  # JSON.parse's, whatever Node's wording
    assert api_message
    assert api_culprit.startswith("loadCart")
    assert [f["in_app"] for f in json.loads(api_frames) if f["function"] == "loadCart"] == [True]
    assert api_text == "Cart 7 could not be loaded"
    # Release health as Sentry defines it: two sessions, one ended by an unhandled error (a page never crashes).
    assert (row["sessions"], row["unhandled_sessions"], row["crashed_sessions"]) == (2, 1, 0)
    assert (row["crash_free_sessions"], row["unhandled_free_sessions"]) == (1.0, 0.5)
