"""``vigil sourcemaps upload``: send every ``.map`` of a build folder to the collector, keyed by release and URL.

The URL of the minified file a map belongs to is ``--url-prefix`` (default ``~/``: that
path on any origin) joined with the map's path in the folder, without ``.map``:
``dist/static/app.js.map`` uploaded from ``dist`` is ``~/static/app.js``. A debug id is
taken from the map (``debugId``) or from the bundle's ``//# debugId=`` comment. The minified
file next to a map (``app.js`` for ``app.js.map``) is uploaded with it: analytics names a
stack's functions by its scopes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import httpx

from contracts.projects import Project, load_projects
from contracts.settings import ConfigError
from vigil.projects_cli import collector_url as running_collector

Echo = Callable[[str], None]
DEBUG_ID_COMMENT = "//# debugId="


class UploadFailed(Exception):
    """At least one map was not accepted; the message says how many."""


def debug_id(map_path: Path, source_map: dict[str, object]) -> str:
    found = source_map.get("debugId") or source_map.get("debug_id")
    if isinstance(found, str):
        return found[:64]
    bundle = map_path.with_suffix("")
    try:
        tail = bundle.read_text(errors="replace")[-500:]
    except OSError:
        return ""
    for line in reversed(tail.splitlines()):
        if line.startswith(DEBUG_ID_COMMENT):
            return line[len(DEBUG_ID_COMMENT) :].strip()[:64]
    return ""


def minified_file(map_path: Path) -> bytes:
    """The minified file a map belongs to, next to it (``app.js`` for ``app.js.map``); ``b""`` when absent."""
    bundle = map_path.with_suffix("")
    try:
        return bundle.read_bytes() if bundle.suffix in {".js", ".mjs", ".cjs"} and bundle.is_file() else b""
    except OSError:
        return b""


def _request(
    http: httpx.Client, url: str, params: dict[str, str], token: str, raw: bytes, minified: bytes
) -> httpx.Request:
    """The upload: the map alone, or the map and its minified file as multipart parts; gzip-compressed."""
    headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}
    if not minified:
        return http.build_request("POST", url, params=params, content=gzip.compress(raw), headers=headers)
    form = http.build_request("POST", url, files={"map": ("map", raw), "source": ("source", minified)})
    headers["Content-Type"] = form.headers["content-type"]
    return http.build_request("POST", url, params=params, content=gzip.compress(form.read()), headers=headers)


def choose_project(data_dir: Path, name: str | None) -> Project:
    projects = list(load_projects(data_dir).values())
    if name is not None:
        for project in projects:
            if project.name == name:
                return project
        raise ConfigError(f"no project named {name!r} in {data_dir / 'vigil.toml'}")
    if len(projects) == 1:
        return projects[0]
    raise ConfigError("several projects: say which with --project NAME")


def upload(
    data_dir: Path,
    directory: Path,
    *,
    release: str,
    url_prefix: str,
    project_name: str | None,
    project_id: int | None,
    token: str | None,
    collector_url: str | None,
    echo: Echo,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Upload every map under ``directory``; returns how many were accepted, or raises ``UploadFailed``."""
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a folder")
    maps = sorted(p for p in directory.rglob("*.map") if p.is_file())
    if not maps:
        raise ConfigError(f"no .map files under {directory}")
    if token is None or project_id is None:
        project = choose_project(data_dir, project_name)
        token, project_id = token or project.secret_token, project_id or project.id
    base = (collector_url or running_collector(data_dir)).rstrip("/")
    prefix = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
    failed = 0
    with httpx.Client(timeout=60, transport=transport) as http:
        for path in maps:
            relative = path.relative_to(directory)
            raw = path.read_bytes()
            try:
                parsed = json.loads(raw)
            except ValueError:
                echo(f"skipped {relative}: not JSON")
                failed += 1
                continue
            url = prefix + relative.with_suffix("").as_posix()
            params = {"release": release, "url": url}
            if found := debug_id(path, parsed if isinstance(parsed, dict) else {}):
                params["debug_id"] = found
            minified = minified_file(path)
            endpoint = f"{base}/api/{project_id}/sourcemaps"
            try:
                response = http.send(_request(http, endpoint, params, token, raw, minified))
                if response.status_code == 413 and minified:  # the minified file is over the bound: the map alone
                    echo(f"{relative}: its minified file is too large to upload ({len(minified)} bytes); "
                         "uploading the map alone (frames are then named by their call sites)")  # fmt: skip
                    minified = b""
                    response = http.send(_request(http, endpoint, params, token, raw, minified))
            except httpx.HTTPError as e:
                raise UploadFailed(f"collector unreachable at {base}: {e}") from None
            if response.status_code == 201:
                with_source = f" with its minified file ({len(minified)} bytes)" if minified else ""
                echo(f"uploaded {relative} as {url} ({len(raw)} bytes){with_source}")
            else:
                failed += 1
                reason = response.json().get("error") if "json" in response.headers.get("content-type", "") else ""
                echo(f"refused {relative}: {response.status_code} {reason or response.text[:200]}")
    if failed:
        raise UploadFailed(f"{failed} of {len(maps)} maps were not uploaded")
    return len(maps)
