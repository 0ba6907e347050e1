"""``vigil sourcemaps upload`` against a collector with a small upload bound: a minified file over it is left out."""

from __future__ import annotations

import json

import pytest

from contracts.stream import SOURCEMAPS_STREAM, decode_sourcemap_entry, payloads
from tests.vigil.test_sourcemaps_cli import vigil


@pytest.fixture
def collector_env() -> dict[str, str]:
    return {"VIGIL_COLLECTOR_MAX_SOURCEMAP_BYTES": "4096"}


def test_a_minified_file_over_the_bound_is_left_out_and_its_map_uploaded(
    tmp_path, data_dir, collector, demo_project, redis_client
):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "app.js").write_text("var a=1;" * 1000)  # 8,000 bytes: over the bound
    (dist / "app.js.map").write_text(json.dumps({"version": 3, "sources": ["src/app.ts"], "mappings": "AAAA"}))
    done = vigil("sourcemaps", "upload", "--release", "r1", "--collector-url", collector.url,
                 "--data-dir", str(data_dir), str(dist))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "app.js.map: its minified file is too large to upload (8000 bytes); uploading the map alone "
        "(frames are then named by their call sites)",
        f"uploaded app.js.map as ~/app.js ({(dist / 'app.js.map').stat().st_size} bytes)",
    ]
    ((_, fields),) = redis_client.xrange(SOURCEMAPS_STREAM)
    entry = decode_sourcemap_entry(payloads(fields)[0])
    assert (entry.url, entry.source) == ("~/app.js", "")
