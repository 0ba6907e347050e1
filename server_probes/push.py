"""Sending spooled batches to the collector: oldest first, one at a time, with backoff.

``POST {collector}/api/{project_id}/probes`` with ``Authorization: Bearer <secret token>``.
A 2xx deletes the batch. 400, 413 and 422 delete it too and count it as refused: the same bytes
would get the same answer. Anything else (network errors, 429, 5xx, and also 401/403/404, which a
fixed token or an upgraded collector cures) leaves it in the spool and waits: exponential backoff
with full jitter (https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/),
never less than the answer's ``Retry-After``. A retried batch keeps its ``batch_id`` and record ids,
so the collector drops what it already has.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable

import httpx
import msgspec

from contracts.probes import ENDPOINT, ProbeBatch
from server_probes.spool import Spool

log = logging.getLogger("vigil.probe.push")

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
RETRY_AFTER_CAP_S = 600.0
REFUSED_FOR_GOOD = {400, 413, 422}


class Sender:
    """Delivers the spool's batches; ``run`` until stopped, or ``drain`` once."""

    def __init__(
        self,
        collector: str,
        project_id: int,
        secret_token: str,
        spool: Spool,
        client: httpx.AsyncClient,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.url = collector.rstrip("/") + ENDPOINT.format(project_id=project_id)
        self.headers = {"Authorization": f"Bearer {secret_token}", "Content-Type": "application/json"}
        self.spool = spool
        self.client = client
        self.jitter = jitter
        self.failures = 0  # consecutive
        self.sent_batches = 0
        self.sent_records = 0
        self.refused_records = 0
        self.wake = asyncio.Event()  # set when a batch is spooled

    async def send_oldest(self) -> float | None:
        """Try the oldest batch: None when the spool is empty, 0 after a delivery, else how long to wait."""
        spooled = self.spool.oldest()
        if spooled is None:
            return None
        try:
            batch = msgspec.json.decode(spooled.data, type=ProbeBatch)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            log.warning("dropping unreadable spooled batch %d: %s", spooled.seq, e)
            self.spool.remove(spooled)
            return 0.0
        batch.sent_at = int(time.time() * 1000)
        try:
            response = await self.client.post(self.url, content=msgspec.json.encode(batch), headers=self.headers)
        except httpx.HTTPError as e:
            return self._failed(f"{type(e).__name__}: {e}", None)
        if response.is_success or response.status_code in REFUSED_FOR_GOOD:
            self.spool.remove(spooled)
            self.failures = 0
            if response.is_success:
                self.sent_batches += 1
                self.sent_records += len(batch.records)
            else:
                self.refused_records += len(batch.records)
                log.error("collector refused a batch for good (%s): %s", response.status_code, response.text[:300])
            return 0.0
        return self._failed(f"HTTP {response.status_code}", response.headers.get("retry-after"))

    def _failed(self, why: str, retry_after: str | None) -> float:
        self.failures += 1
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** (self.failures - 1)) * self.jitter()
        delay = max(delay, parse_retry_after(retry_after))
        log.warning("collector unavailable (%s); %d batches spooled, next try in %.1f s", why, len(self.spool), delay)
        return delay

    async def run(self, stop: asyncio.Event) -> None:
        """Send while there is something to send; wait for new batches, a backoff, or the stop flag."""
        while not stop.is_set():
            delay = await self.send_oldest()
            if delay == 0.0:
                continue
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait())]
            if delay is None:
                waiters.append(asyncio.ensure_future(self.wake.wait()))
            _done, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()

    async def drain(self, deadline: float) -> None:
        """At shutdown: send what can be sent before ``deadline`` (monotonic); the rest stays spooled."""
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            try:
                delay = await asyncio.wait_for(self.send_oldest(), remaining)
            except TimeoutError:
                return
            if delay != 0.0:
                return


def parse_retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3: seconds or an HTTP date); 0 if absent."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_S)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return 0.0
    return min(max(0.0, when - (time.time() if now is None else now)), RETRY_AFTER_CAP_S)
