"""Which release is newer: by version where ``contracts/releases.py`` can compare the names, else first seen.

Releases that are not both versions of one package are ordered by when Vigil first saw
each, the later one newer. ``ReleaseOrder`` remembers first sightings in bounded memory
(``releases`` table behind it).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from contracts.releases import compare


class ReleaseOrder:
    """Releases' first sightings per project, at most ``cache_entries`` in memory, the ``releases`` table behind."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cache_entries: int = 100_000) -> None:
        self.con = con
        self.limit = max(2, cache_entries)
        self._seen: dict[tuple[int, str], datetime] = {
            (p, r): t
            for p, r, t in reversed(
                con.execute(
                    "SELECT project_id, release, first_seen FROM releases ORDER BY first_seen DESC LIMIT ?",
                    [self.limit],
                ).fetchall()
            )
        }

    def _remember(self, key: tuple[int, str], first_seen: datetime) -> None:
        self._seen.setdefault(key, first_seen)
        if len(self._seen) > self.limit:
            for old in list(self._seen)[: len(self._seen) // 2]:
                del self._seen[old]

    def first_seen(self, project_id: int, release: str, *, remember: bool = True) -> datetime | None:
        """When a release was first seen; ``remember=False`` inside a transaction that may roll back."""
        key = (project_id, release)
        if key not in self._seen:
            rows = self.con.execute(  # fetchall: a result left open would block the batch's next statement
                "SELECT first_seen FROM releases WHERE project_id = ? AND release = ?", [project_id, release]
            ).fetchall()
            if not rows:
                return None
            first: datetime = rows[0][0]
            if not remember:
                return first
            self._remember(key, first)
        return self._seen[key]

    def plan(self, sightings: list[tuple[int, str, datetime]]) -> dict[tuple[int, str], datetime]:
        """The releases of a batch not stored yet, with their first sighting (stored with the batch)."""
        new: dict[tuple[int, str], datetime] = {}
        for project_id, release, ts in sightings:
            key = (project_id, release)
            if key in self._seen:
                continue
            if key not in new and self.first_seen(project_id, release) is not None:
                continue
            new[key] = min(new.get(key, ts), ts)
        return new

    def commit(self, new: dict[tuple[int, str], datetime]) -> None:
        for key, first in new.items():
            self._remember(key, first)

    def newer(self, project_id: int, release: str, than: str) -> bool:
        """Whether ``release`` is newer than ``than``: a release with no name never is, any is newer than none."""
        if not release:
            return False
        if not than:
            return True
        by_version = compare(release, than)
        if by_version:
            return by_version > 0
        # Called while a batch is stored: what its transaction inserted is not remembered until it commits.
        seen = self.first_seen(project_id, release, remember=False), self.first_seen(project_id, than, remember=False)
        return seen[0] is not None and seen[1] is not None and seen[0] > seen[1]
