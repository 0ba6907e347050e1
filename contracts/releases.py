"""Which of two releases is newer, when their names say so: versions compared as Sentry parses them.

A release is ``package@version`` or a bare ``version``
(https://docs.sentry.io/platforms/javascript/configuration/releases/). A version is
``major[.minor[.patch[.revision]]]``, an optional pre-release (``-rc.1``, or letters right
after the numbers as in ``1.0rc1``) and optional build metadata (``+build.45``); the same
grammar as Sentry's release parser. Two releases of the same package with versions compare
by semantic-version precedence (https://semver.org/#spec-item-11): the numbers, then a
release is newer than its own pre-releases, pre-release identifiers compared one by one
(numbers numerically and below words). Build metadata does not count: ``1.2.3+45`` and
``1.2.3+46`` are as new as each other, as are any two releases that are not both versions
of one package (``app@abc123f``, a commit hash, a date); ``compare`` says so with ``None``,
and the caller orders those by when each was first seen (``analytics/releases.py``, the
dashboard's releases page).
"""

from __future__ import annotations

import dataclasses
import functools
import re

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
