"""Building a ``CheckResult``: one id per run, the start time, up or down."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.probes import CheckResult
from server_probes.config import Check


def started() -> tuple[int, float]:
    """(epoch ms, monotonic seconds) at the start of a run."""
    return int(time.time() * 1000), time.monotonic()


def make_result(
    check: Check, target: str, start: tuple[int, float], error: str, reason: str, **fields: Any
) -> CheckResult:
    duration_ms = fields.pop("duration_ms", None)
    if duration_ms is None:
        duration_ms = (time.monotonic() - start[1]) * 1000
    return CheckResult(
        id=uuid.uuid4().hex,
        ts=start[0],
        check=check.name,
        check_type=check.__struct_config__.tag,  # type: ignore[arg-type]
        target=target[:2048],
        status="down" if error else "up",
        duration_ms=round(min(duration_ms, 86_400_000), 3),
        error=error,
        reason=reason[:2048],
        **fields,
    )


def latency_failure(check: Check, total_ms: float) -> tuple[str, str] | None:
    """``("assert.latency", reason)`` when the run took longer than the check's ``max_latency_ms``."""
    if check.max_latency_ms is not None and total_ms > check.max_latency_ms:
        return "assert.latency", f"took {total_ms:.0f} ms, more than {check.max_latency_ms:g} ms"
    return None


def cert_fields(expires_at: datetime | None, now: datetime | None = None) -> dict[str, Any]:
    if expires_at is None:
        return {}
    now = now or datetime.now(UTC)
    return {
        "cert_expires_at": max(0, int(expires_at.timestamp() * 1000)),
        "cert_days_left": round((expires_at - now).total_seconds() / 86_400, 3),
    }
