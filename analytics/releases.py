"""Which release is newer: versions compared as Sentry parses them, the rest by when Vigil first saw them.

A release is ``package@version`` or a bare ``version``
(https://docs.sentry.io/platforms/javascript/configuration/releases/). A version is
``major[.minor[.patch[.revision]]]``, an optional pre-release (``-rc.1``, or letters right
after the numbers as in ``1.0rc1``) and optional build metadata (``+build.45``); the same
grammar as Sentry's release parser. Two releases of the same package with versions compare
by semantic-version precedence (https://semver.org/#spec-item-11): the numbers, then a
release is newer than its own pre-releases, pre-release identifiers compared one by one
(numbers numerically and below words). Build metadata does not count: ``1.2.3+45`` and
``1.2.3+46`` are as new as each other, as are any two releases that are not both versions
of one package (``app@abc123f``, a commit hash, a date); those are ordered by when Vigil
first saw each, the later one newer.

``ReleaseOrder`` remembers first sightings in bounded memory (``releases`` table behind it).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from datetime import datetime

import duckdb

MAX_RELEASE = 200
_RELEASE = re.compile(r"^(@?[^@]+)@(.+?)$")
_VERSION = re.compile(
    r"""^v?(?P<major>[0-9]+)
        (?:\.(?P<minor>[0-9]+))?
        (?:\.(?P<patch>[0-9]+))?
        (?:\.(?P<revision>[0-9]+))?
        (?P<pre>(?:-|[a-zA-Z])[0-9a-zA-Z-]*(?:\.[0-9a-zA-Z-]+)*)?
        (?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$""",
    re.VERBOSE,
)
_HASH = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = {12, 16, 20, 32, 40, 64}

Identifier = tuple[int, int, str]  # (0, number, "") for numbers, (1, 0, word) for words: numbers sort first


@dataclasses.dataclass(frozen=True, order=True)
class Precedence:
    """What orders two versions of one package (build metadata is not part of it)."""

    numbers: tuple[int, int, int, int]
    final: bool  # no pre-release: newer than any of its pre-releases
    pre: tuple[Identifier, ...]


@dataclasses.dataclass(frozen=True)
class Release:
    package: str
    version: Precedence | None  # None: not a version (a hash, a name, a date): ordered by first sighting
    build: str = ""


def _identifier(part: str) -> Identifier:
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


@functools.lru_cache(maxsize=4096)
def parse(release: str) -> Release:
    """``shop@2.0.0-rc.1`` → package ``shop``, version (2, 0, 0, 0) pre-release ``rc.1``."""
    text = release.strip()[:MAX_RELEASE]
    found = _RELEASE.match(text)
    package, raw = (found.group(1), found.group(2)) if found else ("", text)
    if len(raw) in _HASH_LENGTHS and _HASH.match(raw):
        return Release(package, None)  # a commit hash, though it may start with digits
    parts = _VERSION.match(raw)
    if parts is None:
        return Release(package, None)
    numbers = tuple(int(parts.group(name) or 0) for name in ("major", "minor", "patch", "revision"))
    pre = (parts.group("pre") or "").removeprefix("-")
    identifiers = tuple(_identifier(p) for p in pre.split(".")) if pre else ()
    return Release(package, Precedence(numbers, not pre, identifiers), parts.group("build") or "")  # type: ignore[arg-type]


def compare(a: str, b: str) -> int | None:
    """-1, 0 or 1 when both are versions of one package (0: equally new); ``None`` when they cannot be compared."""
    first, second = parse(a), parse(b)
    if first.version is None or second.version is None or first.package != second.package:
        return None
    return (first.version > second.version) - (first.version < second.version)


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
