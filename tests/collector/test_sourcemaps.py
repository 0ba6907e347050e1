"""The source map upload endpoint: the secret token only, never from a browser, maps checked and queued."""

from __future__ import annotations

import gzip
import json

from contracts.stream import SOURCEMAPS_STREAM, decode_sourcemap_entry, payloads

MAP = {"version": 3, "sources": ["src/cart.ts"], "names": ["total"], "mappings": "AAAA", "debugId": "d-1"}


def upload(http, collector, project, body: bytes, *, token: str | None = None, **params: str):  # type: ignore[no-untyped-def]
    headers = params.pop("headers", {})  # type: ignore[arg-type]
    return http.post(
        f"{collector.url}/api/{project.id}/sourcemaps",
        params={"release": "shop@1.0", "url": "~/static/app.js", **params},
        content=body,
        headers={"Authorization": f"Bearer {token or project.secret_token}", **headers},
    )


def test_a_map_uploaded_with_the_secret_token_is_queued(http, collector, demo_project, redis_client):
    response = upload(http, collector, demo_project, gzip.compress(json.dumps(MAP).encode()),
                      headers={"Content-Encoding": "gzip"})  # fmt: skip
    assert response.status_code == 201
    size = len(json.dumps(MAP))
    assert response.json() == {
        "release": "shop@1.0", "url": "~/static/app.js", "debug_id": "d-1", "bytes": size, "source_bytes": 0,
    }  # fmt: skip
    ((_, fields),) = redis_client.xrange(SOURCEMAPS_STREAM)
    (raw,) = payloads(fields)
    entry = decode_sourcemap_entry(raw)
    assert (entry.project, entry.release, entry.url, entry.debug_id) == ("demo", "shop@1.0", "~/static/app.js", "d-1")
    assert json.loads(bytes(entry.map)) == MAP


def test_the_minified_file_comes_with_its_map_as_a_second_part(http, collector, demo_project, redis_client):
    bundle = "var shop=(()=>{function t(n){throw new Error(n)}return t})();\n//# sourceMappingURL=app.js.map\n"
    form = http.build_request(
        "POST", "http://x", files={"map": ("app.js.map", json.dumps(MAP)), "source": ("app.js", bundle)}
    )
    response = upload(http, collector, demo_project, gzip.compress(form.read()),
                      headers={"Content-Encoding": "gzip", "Content-Type": form.headers["content-type"]})  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["source_bytes"] == len(bundle)
    ((_, fields),) = redis_client.xrange(SOURCEMAPS_STREAM)
    entry = decode_sourcemap_entry(payloads(fields)[0])
    assert (json.loads(bytes(entry.map)), entry.source) == (MAP, bundle)


def test_a_multipart_upload_needs_its_map_and_nothing_else(http, collector, demo_project, redis_client):
    def send(files: dict[str, tuple[str, str]]):  # type: ignore[no-untyped-def]
        form = http.build_request("POST", "http://x", files=files)
        return upload(
            http, collector, demo_project, form.read(), headers={"Content-Type": form.headers["content-type"]}
        )

    only_source = send({"source": ("app.js", "var a;")})
    stranger = send({"map": ("m", json.dumps(MAP)), "extra": ("x", "1")})
    not_multipart = upload(http, collector, demo_project, b"--x\r\n", headers={"Content-Type": "multipart/form-data"})
    assert [r.status_code for r in (only_source, stranger, not_multipart)] == [400, 400, 400]
    assert only_source.json() == {"error": "a multipart upload needs a file part named map"}
    assert stranger.json() == {"error": "unexpected form field 'extra': send one file part map and one source"}
    assert redis_client.exists(SOURCEMAPS_STREAM) == 0


def test_an_index_map_with_its_sections_inline_is_accepted(http, collector, demo_project, redis_client):
    index = {"version": 3, "sections": [{"offset": {"line": 0, "column": 0}, "map": MAP}]}
    response = upload(http, collector, demo_project, json.dumps(index).encode())
    assert response.status_code == 201, response.text
    ((_, fields),) = redis_client.xrange(SOURCEMAPS_STREAM)
    assert json.loads(bytes(decode_sourcemap_entry(payloads(fields)[0]).map)) == index


def test_a_map_with_a_byte_order_mark_is_queued_without_it(http, collector, demo_project, redis_client):
    response = upload(http, collector, demo_project, b"\xef\xbb\xbf" + json.dumps(MAP).encode())
    assert response.status_code == 201, response.text
    ((_, fields),) = redis_client.xrange(SOURCEMAPS_STREAM)
    # The entry is JSON (a mark inside it would make analytics dead-letter it and the entries grouped with it).
    assert json.loads(bytes(decode_sourcemap_entry(payloads(fields)[0]).map)) == MAP


def test_only_the_secret_token_and_never_from_a_browser(http, collector, demo_project, redis_client):
    body = json.dumps(MAP).encode()
    public_key = upload(http, collector, demo_project, body, token=demo_project.public_key)
    from_browser = upload(http, collector, demo_project, body, headers={"Origin": "https://shop.example"})
    no_header = http.post(f"{collector.url}/api/{demo_project.id}/sourcemaps?release=r&url=u", content=body)
    assert [r.status_code for r in (public_key, from_browser, no_header)] == [403, 403, 403]
    assert from_browser.json() == {"error": "secret tokens are not accepted from browsers"}
    assert redis_client.exists(SOURCEMAPS_STREAM) == 0


def test_bad_uploads_are_refused_with_a_reason(http, collector, demo_project, redis_client):
    body = json.dumps(MAP).encode()
    cases = [
        (upload(http, collector, demo_project, body, release=""), 400),
        (upload(http, collector, demo_project, body, url=""), 400),
        (upload(http, collector, demo_project, b"not json"), 400),
        (upload(http, collector, demo_project, json.dumps({**MAP, "version": 2}).encode()), 400),
        (upload(http, collector, demo_project, json.dumps({"version": 3}).encode()), 400),
        (
            upload(
                http, collector, demo_project, json.dumps({"version": 3, "sections": [{"url": "b.js.map"}]}).encode()
            ),
            400,
        ),  # an index map whose section is another file: not followed
        (upload(http, collector, demo_project, b"x" * 21_000_000), 413),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert "\n" not in response.json()["error"]
    assert redis_client.exists(SOURCEMAPS_STREAM) == 0
