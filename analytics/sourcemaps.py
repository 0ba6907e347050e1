"""Source maps for symbolication: read from the ``source_maps`` table, forgotten when replaced.

The symbolication cache (``analytics/enrich/symbolicate.py``) asks for a map by release
and URL (or debug id), and gets it with the minified file when that was uploaded too; its
release key here is ``"<project id>\\0<release>"``, so projects never share
maps. Uploads arrive on the stream like everything else; after the batch holding one is
committed, the cached copy of the map it replaces is dropped.
"""

from __future__ import annotations

import duckdb

from analytics.enrich.maps import MapFiles
from analytics.enrich.symbolicate import ANY_RELEASE, DEBUG_ID, MapLoader
from analytics.events import Rows
from analytics.tables import SOURCE_MAPS

_COLUMNS = {name: i for i, name in enumerate(SOURCE_MAPS.names)}


def source_map_loader(con: duckdb.DuckDBPyConnection) -> MapLoader:
    """Reads a map for (``"<project id>\\0<release>"``, URL) on the consumer's connection (its thread)."""

    def load(release_key: str, url: str) -> MapFiles | None:
        project, _, release = release_key.partition("\x00")
        if not project.isdigit():
            return None
        if url.startswith(DEBUG_ID):  # whatever the release and URL it was uploaded under; the latest upload
            row = con.execute(
                "SELECT map, source FROM source_maps WHERE project_id = ? AND debug_id = ? "
                "ORDER BY uploaded_at DESC LIMIT 1",
                [int(project), url.removeprefix(DEBUG_ID).lower()],
            ).fetchone()
        else:
            row = con.execute(
                "SELECT map, source FROM source_maps WHERE project_id = ? AND release = ? AND url = ? "
                "ORDER BY uploaded_at DESC LIMIT 1",  # a rebuild of the release under another debug id: the latest
                [int(project), release, url],
            ).fetchone()
        return MapFiles(row[0].encode(), (row[1] or "").encode()) if row else None

    return load


def replaced_maps(rows: Rows) -> list[tuple[str, str]]:
    """The cache keys (release key, URL) of the maps a committed batch stored, replacing any cached copy; a map with a
    debug id also under that id, for every release."""
    keys = []
    for row in rows.get("source_maps", []):
        keys.append((f"{row[_COLUMNS['project_id']]}\x00{row[_COLUMNS['release']]}", row[_COLUMNS["url"]]))
        if row[_COLUMNS["debug_id"]]:
            keys.append((ANY_RELEASE, f"{DEBUG_ID}{row[_COLUMNS['debug_id']]}"))
    return keys
