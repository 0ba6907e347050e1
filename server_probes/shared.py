"""The check list shared by every region: fetched from the collector, validated, cached next to the spool.

With ``[agent] checks_from_collector = true`` the agent asks ``GET {collector}/api/{project_id}/probes/config``
(the project's secret token as ``Authorization: Bearer``) for a TOML file holding only ``[[checks]]``, and
validates it like its own file (``config.parse_shared_checks``), naming the URL where an error names the file.

Every valid answer is also written, atomically, to ``shared-checks.toml`` in the spool directory, so an
agent that starts while the collector is away runs the last good list. The body is bounded
(``MAX_BYTES``, as the collector's own bound) and so is the whole fetch (``FETCH_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
from pathlib import Path

import httpx

from contracts.settings import ConfigError
from server_probes.config import AgentConfig, Check, parse_shared_checks

log = logging.getLogger("vigil.probe.shared")

CONFIG_ENDPOINT = "/api/{project_id}/probes/config"
MAX_BYTES = 1_000_000
FETCH_TIMEOUT_S = 10.0
RETRY_BASE_S = 1.0
RETRY_CAP_S = 60.0
CACHE_NAME = "shared-checks.toml"


class FetchFailed(Exception):
    """The collector did not hand over a check list (unreachable, timed out, or not a 200); one line."""


class SharedChecks:
    """Fetches the project's shared checks; ``start`` for the first list, ``fetch`` to refresh."""

    def __init__(
        self, agent: AgentConfig, spool_dir: Path, client: httpx.AsyncClient, environ: dict[str, str] | None = None
    ) -> None:
        self.url = agent.collector.rstrip("/") + CONFIG_ENDPOINT.format(project_id=agent.project_id)
        self.headers = {"Authorization": f"Bearer {agent.secret_token}", "Accept": "application/toml"}
        self.cache = spool_dir / CACHE_NAME
        self.client = client
        self.environ = environ
        self.retry_cap = min(RETRY_CAP_S, agent.checks_refresh_interval)
        self._cached_text: str | None = None

    async def fetch(self) -> tuple[Check, ...]:
        """The collector's current list, validated and cached; ``FetchFailed`` or ``ConfigError`` (invalid)."""
        try:
            text = await asyncio.wait_for(self._get(), FETCH_TIMEOUT_S)
        except TimeoutError:
            raise FetchFailed(f"{self.url}: no answer within {FETCH_TIMEOUT_S:g} s") from None
        except httpx.HTTPError as e:
            raise FetchFailed(f"{self.url}: {type(e).__name__}: {e}") from None
        checks = parse_shared_checks(text, self.url, self.environ)
        self._save(text)
        return checks

    async def _get(self) -> str:
        async with self.client.stream("GET", self.url, headers=self.headers, timeout=FETCH_TIMEOUT_S) as response:
            if response.status_code != 200:
                raise FetchFailed(f"{self.url}: HTTP {response.status_code}{_reason(await _head(response))}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise ConfigError(f"{self.url}: larger than {MAX_BYTES} bytes ({declared})")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise ConfigError(f"{self.url}: larger than {MAX_BYTES} bytes")
        try:
            return body.decode()
        except UnicodeDecodeError as e:
            raise ConfigError(f"{self.url}: not UTF-8: {e}") from None

    async def first(self) -> tuple[Check, ...] | None:
        """At start: the collector's list, else the cached copy, else None (then ``retry``).

        An invalid list from the collector raises ``ConfigError``: the agent refuses to start on it.
        """
        try:
            return await self.fetch()
        except FetchFailed as e:
            cached = self.load_cache()
            if cached is not None:
                log.warning("cannot fetch the shared checks (%s); running the cached copy %s", e, self.cache)
            else:
                wait = self._backoff(1)
                log.warning("cannot fetch the shared checks (%s), none cached; next try within %.1f s", e, wait)
            return cached

    async def retry(self, stop: asyncio.Event) -> tuple[Check, ...]:
        """After ``first`` found nothing: fetch with backoff until a list arrives; () once the stop flag is set."""
        failures = 1
        while True:
            # Half to all of the backoff, so agents restarted together do not all ask at once.
            delay = self._backoff(failures) * random.uniform(0.5, 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return ()
            try:
                return await self.fetch()
            except FetchFailed as e:
                failures += 1
                log.warning("cannot fetch the shared checks (%s); next try within %.1f s", e, self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        """1 s doubling after each consecutive failure, capped by ``RETRY_CAP_S`` and the refresh interval."""
        return min(self.retry_cap, RETRY_BASE_S * 2.0 ** (failures - 1))

    def load_cache(self) -> tuple[Check, ...] | None:
        """The last good list from this collector and project, validated again (the environment may differ)."""
        try:
            first, _, text = self.cache.read_text().partition("\n")
        except (OSError, UnicodeDecodeError):
            return None
        if first != _header(self.url):  # fetched from another collector or project
            return None
        try:
            checks = parse_shared_checks(text, str(self.cache), self.environ)
        except ConfigError as e:
            log.warning("ignoring the cached shared checks: %s", e)
            return None
        self._cached_text = text
        return checks

    def _save(self, text: str) -> None:
        """Keep ``text`` as the last good copy: a temporary file, fsync'd, renamed over the old one."""
        if text == self._cached_text:
            return
        tmp = self.cache.with_name(self.cache.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the file may hold literal tokens
            with os.fdopen(fd, "w") as f:
                f.write(_header(self.url) + "\n" + text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.cache)
        except OSError as e:
            log.warning("cannot cache the shared checks in %s: %s", self.cache, e)
            return
        self._cached_text = text


def _header(url: str) -> str:
    return f"# vigil probe: the shared checks from {url}"


async def _head(response: httpx.Response, limit: int = 1000) -> bytes:
    """The start of an error answer, without reading an unbounded body."""
    head = bytearray()
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= limit:
            break
    return bytes(head[:limit])


def _reason(body: bytes) -> str:
    """The collector's one-line ``{"error": …}``, if that is what it answered."""
    try:
        reason = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return ""
    return f": {' '.join(str(reason).split())[:300]}" if reason else ""
