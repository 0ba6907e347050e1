"""Alerts in the real analytics process: a notification written before it is sent outlives a crash (SIGKILL) and
goes out once after the restart, and the alert that owed it is not fired again."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from contracts.probes import CheckResult
from contracts.projects import save_item
from tests.analytics.test_incidents import send_probes
from tests.conftest import _service
from tests.helpers import wait_until


def rows(service, name: str) -> list[dict]:
    answer = httpx.get(f"{service.url}/v1/queries/{name}", timeout=5).json()
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


@pytest.mark.timeout(180)
def test_a_pending_notification_outlives_a_crash_and_is_sent_once(
    data_dir, demo_project, redis_url, redis_client, hooks
):
    save_item(data_dir, "demo", "channels", "hook", {"name": "hook", "webhook": hooks.url()})
    save_item(
        data_dir, "demo", "alerts", "home down", {"name": "home down", "when": "check_down", "channels": ["hook"]}
    )
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100", "VIGIL_ANALYTICS_ALERTS_SECONDS": "1",
           "VIGIL_ANALYTICS_ALERT_GROUP_WAIT_SECONDS": "0", "VIGIL_ANALYTICS_ALERT_RETRY_SECONDS": "0.5"}  # fmt: skip
    hooks.always = 503  # the receiver is down: the message waits, retried
    service = _service("analytics", data_dir, env, "/healthz")
    try:
        now = int(datetime.now(UTC).timestamp() * 1000)
        results = [CheckResult(id=f"r{n}", ts=now - 3000 + n * 1000, check="home", check_type="http",
                               target="http://127.0.0.1:9/", status="down", duration_ms=5.0, error="tcp.refused")
                   for n in range(3)]  # fmt: skip
        send_probes(redis_client, "eu", results)
        wait_until(lambda: any(m["attempts"] >= 2 for m in rows(service, "alert_messages")), timeout=30,
                   what="the message tried twice", interval=0.2)  # fmt: skip
        assert service.process is not None
        service.process.kill()  # no goodbye: whatever was in hand is lost, what was written stays
        service.process.wait(10)
    finally:
        service.stop()

    hooks.always = 0
    service = _service("analytics", data_dir, env, "/healthz")
    try:
        wait_until(lambda: hooks.received, timeout=30, what="the message after the restart", interval=0.2)
        evaluated = time.monotonic()
        # Several evaluations and delivery turns later, still one message and one alert.
        wait_until(lambda: time.monotonic() - evaluated > 3, timeout=10, what="three seconds")
        (alert,) = rows(service, "alerts")
        assert (alert["action"], alert["subject"]) == ("fired", "home")
        (message,) = rows(service, "alert_messages")
        assert message["status"] == "sent"
        assert message["attempts"] >= 3
        ((_, headers, body),) = hooks.received
        assert headers["Idempotency-Key"] == body["id"] == f"vigil-message-{message['message_id']}"
        assert body["alerts"][0]["title"].startswith("home down: down in 1 of 1 regions (eu)")
    finally:
        service.stop()
