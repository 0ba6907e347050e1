"""A request the collector will not take, and the refusals every endpoint shares.

``Refused`` carries the status, a one-line reason, and the outcome its events get
(``collector/outcomes.py``): the ingest endpoints count it, the upload endpoints (source
maps, probe batches) answer it. ``decoded`` undoes a body's ``Content-Encoding`` the same
way for both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.decompress import BadEncoding, TooLarge, UnknownEncoding, decompress

if TYPE_CHECKING:
    from contracts.projects import Project


class Refused(Exception):
    """The request is refused: ``status``, a one-line ``reason``, and the outcome its events get."""

    def __init__(
        self,
        status: int,
        reason: str,
        outcome: str = "invalid",
        why: str = "",
        retry_after: float | None = None,
        events: int = 0,
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.outcome, self.why = status, reason, outcome, why
        self.retry_after, self.events = retry_after, events
        self.project: Project | None = None  # set once the sender is known


def decoded(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` with its ``Content-Encoding`` undone, within ``limit`` bytes; refused with 413, 415 or 400."""
    try:
        return decompress(body, encoding, limit) if encoding else body
    except TooLarge as e:
        raise Refused(413, str(e), "too_large", "body") from None
    except UnknownEncoding as e:
        raise Refused(415, str(e), "invalid", "encoding") from None
    except BadEncoding as e:
        raise Refused(400, str(e), "invalid", "encoding") from None
