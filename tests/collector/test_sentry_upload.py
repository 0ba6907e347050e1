"""Source maps uploaded the way Sentry users upload them: the real sentry-cli (3.x, from its npm package) and
Sentry's esbuild plugin (which runs sentry-cli 2.x) driving a real esbuild build, against a real collector and
analytics; then a Sentry event whose frames find their map by debug id alone."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from contracts import runfiles
from contracts.projects import create_project, create_token
from contracts.read_api import ReadClient
from tests.helpers import wait_until

BEACON_JS = Path(__file__).resolve().parent.parent.parent / "beacon-js"
MODULES = BEACON_JS / "node_modules"
SENTRY_CLI = MODULES / "@sentry" / "cli-linux-x64" / "bin" / "sentry-cli"
ESBUILD = MODULES / ".bin" / "esbuild"

APP = """
export function parsePrice(text) {
  const value = Number(text.replace("$", ""));
  if (Number.isNaN(value)) throw new TypeError("not a price: " + text);
  return value;
}
export function cartTotal(lines) {
  return lines.map((line) => parsePrice(line.price) * line.quantity).reduce((a, b) => a + b, 0);
}
try { cartTotal([{ price: "$3", quantity: 2 }, { price: "three", quantity: 1 }]); }
catch (e) { console.log(e.stack); }
"""


def sql(data_dir: Path, statement: str, rows: int) -> list[list[object]]:
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        return wait_until(lambda: len(r := client.sql(statement).rows) == rows and r, timeout=20,
                          what=f"{rows} rows of {statement[:60]}")  # fmt: skip


def cli_env(collector_url: str, token: str, project: str) -> dict[str, str]:
    """Only the URL, the token and the project: what a Sentry user changes (and no .env, no update check)."""
    quiet = {"SENTRY_LOAD_DOTENV": "0", "SENTRY_DISABLE_UPDATE_CHECK": "1"}
    return {**os.environ, "SENTRY_URL": collector_url, "SENTRY_AUTH_TOKEN": token, "SENTRY_PROJECT": project,
            "SENTRY_ORG": "their-sentry-org", **quiet}  # fmt: skip


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """The app bundled and minified by esbuild with its source map, as a site's build leaves it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "cart.js").write_text(APP)
    out = tmp_path / "dist"
    subprocess.run([str(ESBUILD), "src/cart.js", "--bundle", "--minify", "--sourcemap", f"--outfile={out}/app.js",
                    "--log-level=error"], cwd=tmp_path, check=True, timeout=60)  # fmt: skip
    return out


@pytest.mark.timeout(120)
def test_sentry_cli_uploads_a_bundle_and_an_event_finds_its_map_by_debug_id(
    built, http, collector, analytics, data_dir, demo_project
):
    token, _ = create_token(data_dir, "ci", "sourcemaps", (demo_project.name,))
    env = cli_env(collector.url, token, demo_project.name)
    subprocess.run([str(SENTRY_CLI), "sourcemaps", "inject", str(built)], env=env, check=True, timeout=60,
                   capture_output=True)  # fmt: skip
    upload = subprocess.run([str(SENTRY_CLI), "sourcemaps", "upload", "--release", "shop@1.4.2", str(built)],
                            env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert upload.returncode == 0, upload.stderr + upload.stdout
    debug_id = re.search(r"//# debugId=([0-9a-f-]{36})", (built / "app.js").read_text())[1]  # type: ignore[index]

    [[url, release, stored_id, has_source]] = sql(
        data_dir, "SELECT url, release, debug_id, source IS NOT NULL FROM source_maps", 1
    )
    assert (url, release, stored_id, has_source) == ("~/app.js", "shop@1.4.2", debug_id, True)

    # The page serves the bundle elsewhere and runs another release: only the debug id ties the event to its map.
    stack = subprocess.run(["node", str(built / "app.js")], capture_output=True, text=True, check=True, timeout=30)
    line, column = map(int, re.search(r"app\.js:(\d+):(\d+)", stack.stdout).groups())  # type: ignore[union-attr]
    served = "https://cdn.shop.example/assets/app.9f8e7d.js"
    event = {
        "event_id": "d" * 32, "platform": "javascript", "release": "shop@9.9.9",
        "exception": {"values": [{"type": "TypeError", "value": "not a price: three", "stacktrace": {"frames": [
            {"function": "t", "abs_path": served, "lineno": line, "colno": column, "in_app": True}]}}]},
        "debug_meta": {"images": [{"type": "sourcemap", "code_file": served, "debug_id": debug_id.upper()}]},
    }  # fmt: skip
    body = "\n".join([json.dumps({"event_id": event["event_id"]}), json.dumps({"type": "event"}), json.dumps(event)])
    answer = http.post(f"{collector.url}/api/{demo_project.id}/envelope/", content=body,
                       headers={"X-Sentry-Auth": f"Sentry sentry_key={demo_project.public_key}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    [[frames]] = sql(data_dir, "SELECT frames FROM errors", 1)
    [frame] = json.loads(frames)
    assert frame["mapped"] is True
    assert frame["source"].endswith("src/cart.js")
    assert frame["source_line"] == 4  # the throw in parsePrice
    assert "throw new TypeError" in frame["context"]
    # A lone frame has no caller to name it: its name comes from the scopes of the minified file in the bundle.
    assert frame["function"] == "parsePrice"


@pytest.mark.timeout(180)
def test_the_esbuild_plugin_uploads_maps_and_marks_the_release(tmp_path, collector, analytics, data_dir, demo_project):
    token, _ = create_token(data_dir, "web build", "sourcemaps", ())
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "cart.js").write_text(APP)
    script = tmp_path / "build.mjs"
    script.write_text(f"""
      import {{ build }} from "{MODULES / "esbuild" / "lib" / "main.js"}";
      import {{ sentryEsbuildPlugin }} from "{MODULES / "@sentry" / "esbuild-plugin" / "dist" / "esm" / "index.mjs"}";
      await build({{
        entryPoints: ["src/cart.js"], bundle: true, minify: true, sourcemap: true, outdir: "dist", logLevel: "error",
        plugins: [sentryEsbuildPlugin({{
          url: {json.dumps(collector.url)}, authToken: {json.dumps(token)}, org: "their-sentry-org",
          project: {json.dumps(demo_project.name)}, release: {{ name: "shop@2.0.0" }}, telemetry: false,
          errorHandler: (e) => {{ throw e; }},
        }})],
      }});
    """)
    env = {**os.environ, "SENTRY_LOAD_DOTENV": "0", "SENTRY_DISABLE_UPDATE_CHECK": "1", "NODE_ENV": "production"}
    done = subprocess.run(["node", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout

    injected = re.search(r"sentry-dbid-([0-9a-f-]{36})", (tmp_path / "dist" / "cart.js").read_text())
    assert injected is not None
    [[release, debug_id, has_source]] = sql(
        data_dir, "SELECT release, debug_id, source IS NOT NULL FROM source_maps", 1
    )
    assert (release, debug_id, has_source) == ("shop@2.0.0", injected[1], True)
    # releases new, then set-commits (which makes the release again; no git here, so no commits), then finalize.
    [[finalized]] = sql(data_dir, "SELECT count(*) FROM sentry_releases WHERE released IS NOT NULL HAVING count(*) > 0",
                        1)  # fmt: skip
    marks = sql(data_dir, "SELECT DISTINCT release, action, released IS NOT NULL FROM sentry_releases ORDER BY ALL", 2)
    assert (finalized, marks) == (1, [["shop@2.0.0", "created", False], ["shop@2.0.0", "updated", True]])


def test_the_upload_api_refuses_what_it_cannot_trust(http, collector, data_dir, demo_project):
    other = create_project(data_dir, "blog")
    token, _ = create_token(data_dir, "blog only", "sourcemaps", (other.name,))
    api = f"{collector.url}/api/0/organizations/any-org"
    bearer = {"Authorization": f"Bearer {token}"}

    assert http.get(f"{collector.url}/api/0/").json()["auth"] is None
    assert http.get(f"{collector.url}/api/0/", headers=bearer).json()["auth"]["scopes"]
    missing = http.get(f"{api}/chunk-upload/")
    assert (missing.status_code, missing.json()["error"].startswith("a valid API token is required")) == (401, True)
    assert http.get(f"{api}/chunk-upload/", headers={"Authorization": "Bearer sntrys_forged"}).status_code == 401
    options = http.get(f"{api}/chunk-upload/", headers=bearer).json()
    assert (options["hashAlgorithm"], options["compression"], options["url"]) == (
        "sha1", ["gzip"], "/api/0/organizations/any-org/chunk-upload/",
    )  # fmt: skip

    data = b"not really a bundle"
    name = hashlib.sha1(data).hexdigest()
    wrong = http.post(f"{api}/chunk-upload/", headers=bearer, files={"file": ("0" * 40, data)})
    assert (wrong.status_code, "does not match" in wrong.json()["error"]) == (400, True)
    stored = http.post(f"{api}/chunk-upload/", headers=bearer, files={"file_gzip": (name, gzip.compress(data))})
    assert stored.status_code == 200

    ask = {"checksum": name, "chunks": [name, "1" * 40], "projects": [other.name], "version": "blog@1"}
    pending = http.post(f"{api}/artifactbundle/assemble/", headers=bearer, json=ask).json()
    assert (pending["state"], pending["missingChunks"]) == ("not_found", ["1" * 40])
    bad = http.post(f"{api}/artifactbundle/assemble/", headers=bearer, json={**ask, "chunks": [name]}).json()
    assert (bad["state"], bad["detail"]) == ("error", "not an artifact bundle (it does not start with SYSB)")
    foreign = http.post(f"{api}/artifactbundle/assemble/", headers=bearer, json={**ask, "projects": ["demo"]})
    assert (foreign.status_code, foreign.json()) == (403, {"error": "the token may not upload for project 'demo'"})
    unknown = http.post(f"{api}/releases/", headers=bearer, json={"version": "x@1", "projects": ["nope"]})
    assert (unknown.status_code, unknown.json()) == (400, {"error": "no project 'nope' (by name or id)"})
    release = http.post(f"{api}/releases/", headers=bearer, json={"version": "blog@1", "projects": ["blog"]})
    assert release.status_code == 201
    assert release.json()["version"] == "blog@1"
    assert release.json()["dateCreated"].endswith("Z")


def bundle(files: dict[str, tuple[str, bytes, dict[str, str]]]) -> bytes:
    """An artifact bundle as sentry-cli writes one: SYSB, version 2, then a ZIP with manifest.json."""
    out = io.BytesIO()
    out.write(b"SYSB" + (2).to_bytes(4, "little"))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        manifest = {}
        for path, (kind, data, headers) in files.items():
            archive.writestr(f"files/{path}", data)
            manifest[f"files/{path}"] = {"type": kind, "url": f"~/{path}", "headers": headers}
        archive.writestr("manifest.json", json.dumps({"files": manifest}))
    return out.getvalue()


MAP = json.dumps({"version": 3, "sources": ["a.js"], "names": [], "mappings": "AAAA"}).encode()


def test_a_bundle_cannot_multiply_what_it_costs():
    from collector.sentry.bundles import BundleError, unpack

    # Fifty minified files naming one map: read once, but queued fifty times, so counted fifty times.
    shared = MAP + b" " * 20_000
    files = {f"app{n}.js": ("minified_source", b"x()", {"sourcemap": "app.js.map"}) for n in range(50)}
    blob = bundle({**files, "app.js.map": ("source_map", shared, {})})
    assert len(unpack(blob, 10**6, 10**7)) == 50
    with pytest.raises(BundleError, match="larger than 100000 bytes together"):
        unpack(blob, 10**6, 100_000)
    # A member that does not decompress is a bundle error, not a crash.
    paired = {"app.js": ("minified_source", b"y" * 5000, {"sourcemap": "app.js.map"}),
              "app.js.map": ("source_map", MAP, {})}  # fmt: skip
    broken = bytearray(bundle(paired))
    start = broken.index(b"files/app.js") + len(b"files/app.js") + 4
    broken[start : start + 10] = b"\xff" * 10
    with pytest.raises(BundleError):
        unpack(bytes(broken), 10**6, 10**7)


def test_hostile_requests_get_one_line_refusals(http, collector, data_dir, demo_project):
    token, _ = create_token(data_dir, "ci", "sourcemaps", ())
    api = f"{collector.url}/api/0/organizations/o"
    bearer = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: http.get(f"{api}/chunk-upload/", headers=bearer).status_code == 200, timeout=10,
               what="the collector to read the new token")  # fmt: skip

    assert http.post(f"{api}/chunk-upload/", headers=bearer, content=b"x").status_code == 415
    many = {"checksum": "a" * 40, "chunks": ["b" * 40] * 30, "projects": ["demo"]}  # 30 chunks of 8 MiB: > 200 MB
    too_many = http.post(f"{api}/artifactbundle/assemble/", headers=bearer, json=many)
    assert (too_many.status_code, too_many.json()["error"].startswith("at most 24 chunks")) == (400, True)
    odd = http.post(f"{api}/releases/", headers=bearer, json={"version": "v1", "projects": ["²", "9" * 5000]})
    assert (odd.status_code, odd.json()) == (400, {"error": "no project '²' (by name or id)"})
    deep = http.post(f"{api}/artifactbundle/assemble/", headers=bearer, content=b"[" * 100_000)
    assert deep.status_code == 400
    old = {"version": "v1", "projects": ["demo"], "dateStarted": "0001-01-01T00:00:00Z"}
    ancient = http.post(f"{api}/releases/", headers=bearer, json=old)
    assert (ancient.status_code, ancient.json()["error"].startswith("not an RFC 3339 time from 1970 on")) == (400, True)


def test_builds_uploaded_under_one_url_are_each_kept_by_debug_id(http, collector, analytics, data_dir, demo_project):
    """A bundle without a content hash in its name, uploaded by two builds without a release: both maps stay."""
    auth = {"Authorization": f"Bearer {demo_project.secret_token}"}
    upload = f"{collector.url}/api/{demo_project.id}/sourcemaps"
    for debug_id, mapping in (("a" * 8, "AAAA"), ("b" * 8, "AAAA"), ("a" * 8, "AACA")):  # the last replaces the first
        body = json.dumps({"version": 3, "sources": ["x.js"], "names": [], "mappings": mapping, "debugId": debug_id})
        params = {"release": "none", "url": "~/index.js"}
        assert http.post(upload, params=params, headers=auth, content=body).status_code == 201
    # Once the third upload is stored: the first build's map replaced by its own later upload, the second's kept.
    replaced = "SELECT debug_id FROM source_maps WHERE map LIKE '%AACA%' OR debug_id = 'bbbbbbbb' ORDER BY 1"
    assert sql(data_dir, replaced, 2) == [["a" * 8], ["b" * 8]]
    assert sql(data_dir, "SELECT count(*) FROM source_maps", 1) == [[2]]
