"""The beacon's scripts, served by the collector so a page needs only one origin: ``/beacon.js`` and ``/loader.js``.

They are read once at start from ``beacon-js/dist`` (built by ``make setup``), with a
strong ETag, so browsers revalidate cheaply after the five-minute cache expires.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from collector.responses import error

log = logging.getLogger("vigil.collector")

DIST = Path(__file__).resolve().parent.parent / "beacon-js" / "dist"
#: URL path → built file.
FILES = {"/beacon.js": "vigil.js", "/loader.js": "loader.js"}


class Script:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def load_scripts(dist: Path = DIST) -> dict[str, Script]:
    """The built scripts that exist; a missing one is logged and answers 404."""
    scripts = {}
    for path, name in FILES.items():
        try:
            scripts[path] = Script((dist / name).read_bytes())
        except FileNotFoundError:
            log.warning("%s is missing: GET %s answers 404 until `make setup` builds it", dist / name, path)
    return scripts


async def serve_script(request: Request) -> Response:
    """``GET /beacon.js`` and ``GET /loader.js``: cacheable for five minutes, loadable from any origin."""
    script: Script | None = request.state.vigil.scripts.get(request.url.path)
    if script is None:
        return error(404, "beacon not built: run `make setup`")
    headers = {
        "Cache-Control": "public, max-age=300",
        "Access-Control-Allow-Origin": "*",
        "ETag": script.etag,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == script.etag:
        return Response(status_code=304, headers=headers)
    return Response(script.body, media_type="application/javascript", headers=headers)
