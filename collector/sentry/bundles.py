"""Artifact bundles, as sentry-cli and the bundler plugins upload them: opened, checked and taken apart.

A bundle is ``SYSB``, a version, then a ZIP whose offsets count those 8 bytes, holding
``manifest.json`` and the files it lists (``minified_source`` and ``source_map`` entries
with their URL and headers: ``debug-id``, ``sourcemap``). Each member is read at most once
and every byte read is counted against the bundle's bound, as is every file with its map
as it will be queued; a bundle that breaks a bound, or cannot be read, is a
``BundleError`` whose message is one line for the uploader.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from typing import Any
from urllib.parse import urljoin

import msgspec

from collector.sourcemaps import MAX_DEBUG_ID, MAX_URL
from contracts.sourcemaps import BOM, check_map

MAX_FILES = 10_000  # files in one bundle
MAX_MANIFEST = 16 * 1024 * 1024


class BundleError(ValueError):
    """The bundle cannot be used; the message is one line for the uploader."""


def joined(parts: list[bytes], checksum: str, max_map: int, max_total: int) -> list[BundledMap]:
    """The files of the bundle that ``parts`` make, once its size and SHA-1 are checked."""
    if sum(len(p) for p in parts) > max_total:
        raise BundleError(f"the bundle is larger than {max_total} bytes")
    bundle = b"".join(parts)
    if hashlib.sha1(bundle, usedforsecurity=False).hexdigest() != checksum:
        raise BundleError("the chunks joined do not have the bundle's checksum")
    return unpack(bundle, max_map, max_total)


class BundledMap(msgspec.Struct, frozen=True):
    url: str  # the minified file's URL, "~/path" for any origin
    debug_id: str
    map: bytes
    source: str  # the minified file itself, "" when the bundle has only the map


def _headers(entry: dict[str, Any]) -> dict[str, str]:
    headers = entry.get("headers")
    return {str(k).lower(): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}


class _Reader:
    """A bundle's members read at most once each, every byte counted against the bundle's bound."""

    def __init__(self, archive: zipfile.ZipFile, max_total: int) -> None:
        self.archive, self.left = archive, max_total
        self.read: dict[str, bytes] = {}

    def __call__(self, name: str, limit: int) -> bytes:
        if name in self.read:
            return self.read[name]
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise BundleError(f"the manifest names {name[:100]!r}, which the bundle lacks") from None
        limit = min(limit, self.left)
        if info.file_size > limit:
            raise BundleError(f"{name[:100]} is larger than {limit} bytes (or the bundle's files together are)")
        try:
            with self.archive.open(info) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, ValueError) as e:
            raise BundleError(f"{name[:100]} cannot be read: {str(e)[:120]}") from None
        if len(data) > limit:
            raise BundleError(f"{name[:100]} is larger than {limit} bytes (or the bundle's files together are)")
        self.left -= len(data)
        self.read[name] = data
        return data


def unpack(bundle: bytes, max_map: int, max_total: int) -> list[BundledMap]:
    """The minified files of an artifact bundle with their maps (and maps without their file).

    A minified file's map is the one its ``sourcemap`` header points to (relative to the
    file), else the map with its debug id. A map with no minified file is keyed by its own
    URL without ``.map``.
    """
    if not bundle.startswith(b"SYSB"):
        raise BundleError("not an artifact bundle (it does not start with SYSB)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(bundle))  # its offsets count the 8-byte header: open it whole
    except zipfile.BadZipFile as e:
        raise BundleError(f"not an artifact bundle: {e}") from None
    with archive:
        _read = _Reader(archive, max_total + MAX_MANIFEST)
        try:
            manifest = msgspec.json.decode(_read("manifest.json", MAX_MANIFEST))
        except (msgspec.DecodeError, RecursionError) as e:
            raise BundleError(f"manifest.json is not JSON: {e}") from None
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, dict) or len(files) > MAX_FILES:
            raise BundleError(f"manifest.json must list files (at most {MAX_FILES})")
        minified: dict[str, tuple[str, dict[str, str]]] = {}
        maps: dict[str, tuple[str, dict[str, str]]] = {}
        for name, entry in files.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                continue
            kind = entry.get("type")
            if kind == "minified_source":
                minified[entry["url"]] = (name, _headers(entry))
            elif kind == "source_map":
                maps[entry["url"]] = (name, _headers(entry))
        by_debug_id = {h["debug-id"].lower(): url for url, (_, h) in maps.items() if h.get("debug-id")}
        found: list[BundledMap] = []
        used: set[str] = set()
        for url, (name, headers) in minified.items():
            debug_id = headers.get("debug-id", "").lower()[:MAX_DEBUG_ID]
            reference = headers.get("sourcemap") or headers.get("x-sourcemap") or ""
            try:
                map_url = urljoin(url, reference) if reference else ""  # relative to the file, "~/…" or a full URL
            except ValueError:  # e.g. an unclosed "[" in a host
                map_url = ""
            chosen = map_url if map_url in maps else by_debug_id.get(debug_id, "")
            if not chosen or len(url) > MAX_URL:
                continue
            used.add(chosen)
            source = _read(name, max_map).decode("utf-8", errors="replace")
            found.append(BundledMap(url, debug_id or maps[chosen][1].get("debug-id", "").lower()[:MAX_DEBUG_ID],
                                    _checked_map(_read(maps[chosen][0], max_map)), source))  # fmt: skip
        for url, (name, headers) in maps.items():
            if url in used or len(url) > MAX_URL:
                continue
            found.append(BundledMap(url.removesuffix(".map"), headers.get("debug-id", "").lower()[:MAX_DEBUG_ID],
                                    _checked_map(_read(name, max_map)), ""))  # fmt: skip
    # Each file is queued with its map: many files naming one map must not multiply what is queued past the bound.
    if sum(len(f.map) + len(f.source) for f in found) > max_total:
        raise BundleError(f"the bundle's files with their maps are larger than {max_total} bytes together")
    return found


def _checked_map(data: bytes) -> bytes:
    """The map, checked, without a byte order mark before its JSON (it is queued inside a JSON stream entry)."""
    try:
        check_map(data)
    except ValueError as e:
        raise BundleError(f"a map in the bundle: {e}") from None
    return data.removeprefix(BOM)
