"""``vigil sourcemaps upload`` against a real collector and analytics service."""

from __future__ import annotations

import json
import subprocess
import sys

from contracts import runfiles
from contracts.read_api import ReadClient
from tests.helpers import env_without_vigil, wait_until


def build(tmp_path):  # type: ignore[no-untyped-def]
    dist = tmp_path / "dist"
    (dist / "static").mkdir(parents=True)
    (dist / "static" / "app.js").write_text("console.log(1)\n//# sourceMappingURL=app.js.map\n//# debugId=abc-123\n")
    (dist / "static" / "app.js.map").write_text(
        json.dumps({"version": 3, "sources": ["src/app.ts"], "mappings": "AAAA"})
    )
    (dist / "vendor.js.map").write_text(
        json.dumps({"version": 3, "sources": ["v.js"], "mappings": "AAAA", "debugId": "v-9"})
    )
    return dist


def vigil(*args: str):  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "vigil", *args], capture_output=True, text=True, timeout=60,
                          env=env_without_vigil())  # fmt: skip


def test_every_map_of_a_build_is_uploaded_and_stored(tmp_path, data_dir, collector, analytics, demo_project):
    dist = build(tmp_path)
    done = vigil("sourcemaps", "upload", "--release", "shop@2.0", "--url-prefix", "https://shop.example/",
                 "--collector-url", collector.url, "--data-dir", str(data_dir), str(dist))  # fmt: skip
    assert done.returncode == 0, done.stderr
    sizes = [(dist / "static" / "app.js.map").stat().st_size, (dist / "vendor.js.map").stat().st_size]
    bundle = (dist / "static" / "app.js").read_text()
    assert done.stdout.splitlines() == [
        f"uploaded static/app.js.map as https://shop.example/static/app.js ({sizes[0]} bytes)"
        f" with its minified file ({len(bundle)} bytes)",
        f"uploaded vendor.js.map as https://shop.example/vendor.js ({sizes[1]} bytes)",
    ]
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        rows = wait_until(
            lambda: len(r := client.sql("SELECT release, url, debug_id, source FROM source_maps ORDER BY url").rows)
            == 2 and r,
            timeout=10, what="2 stored maps",
        )  # fmt: skip
    # The minified file next to a map goes with it (its scopes name functions); vendor.js has none here.
    assert rows == [
        ["shop@2.0", "https://shop.example/static/app.js", "abc-123", bundle],
        ["shop@2.0", "https://shop.example/vendor.js", "v-9", None],
    ]


def test_a_refused_upload_exits_1_and_says_why(tmp_path, data_dir, collector, demo_project):
    done = vigil("sourcemaps", "upload", "--release", "r", "--token", "wrong", "--project-id", str(demo_project.id),
                 "--collector-url", collector.url, "--data-dir", str(data_dir), str(build(tmp_path)))  # fmt: skip
    assert done.returncode == 1
    assert "refused static/app.js.map: 403 unknown project or secret token" in done.stdout
    assert done.stderr == "vigil: error: 2 of 2 maps were not uploaded\n"


def test_an_empty_folder_is_a_usage_error(tmp_path, data_dir):
    (tmp_path / "empty").mkdir()
    done = vigil("sourcemaps", "upload", "--release", "r", "--data-dir", str(data_dir), str(tmp_path / "empty"))
    assert (done.returncode, done.stderr) == (2, f"vigil: error: no .map files under {tmp_path / 'empty'}\n")
