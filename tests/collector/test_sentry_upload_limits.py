"""The upload API's limits that need a small bundle bound: a token's chunk budget, and one assembly at a time."""

from __future__ import annotations

import hashlib

import pytest

from contracts.projects import create_token


@pytest.fixture
def collector_env() -> dict[str, str]:
    return {"VIGIL_COLLECTOR_MAX_BUNDLE_BYTES": "2048"}  # so a token may keep 4,096 bytes of chunks waiting


def test_a_token_cannot_park_more_chunks_than_two_bundles(http, collector, data_dir, demo_project, redis_client):
    token, kept = create_token(data_dir, "ci", "sourcemaps", ())
    api = f"{collector.url}/api/0/organizations/o"
    bearer = {"Authorization": f"Bearer {token}"}
    answers = []
    for n in range(3):
        data = bytes([n]) * 1500
        answers.append(http.post(f"{api}/chunk-upload/", headers=bearer,
                                 files={"file": (hashlib.sha1(data).hexdigest(), data)}))  # fmt: skip
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"].startswith("this token has 4096 bytes of chunks waiting")
    assert answers[2].headers["Retry-After"] == "60"
    assert int(redis_client.get(f"vigil:chunk-bytes:{kept.id}")) == 3000  # the refused chunk not counted

    # A bundle another collector is assembling already is "assembling", not assembled twice.
    first = hashlib.sha1(bytes([0]) * 1500).hexdigest()
    redis_client.set(f"vigil:assembling:vigil:assembled:{first}:{demo_project.id}:r1", b"1", ex=60)
    ask = {"checksum": first, "chunks": [first], "projects": [demo_project.name], "version": "r1"}
    answer = http.post(f"{api}/artifactbundle/assemble/", headers=bearer, json=ask).json()
    assert (answer["state"], answer["missingChunks"]) == ("assembling", [])
