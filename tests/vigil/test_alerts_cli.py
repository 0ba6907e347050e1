"""``vigil alerts`` against a real analytics service evaluating a rule every second and posting to a real receiver."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from contracts.probes import CheckResult
from contracts.projects import save_item
from tests.analytics.test_incidents import send_probes
from tests.conftest import _service
from tests.helpers import env_without_vigil, wait_until


def vigil(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil", "alerts", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, env=env_without_vigil())  # fmt: skip


def test_rules_history_and_silences_on_the_command_line(data_dir, demo_project, redis_url, redis_client, hooks):
    save_item(data_dir, "demo", "channels", "chat", {"name": "chat", "webhook": hooks.url("/secret-token"),
                                                     "format": "mattermost"})  # fmt: skip
    save_item(
        data_dir, "demo", "alerts", "home down", {"name": "home down", "when": "check_down", "channels": ["chat"]}
    )
    rules = vigil(data_dir, "rules")
    assert rules.returncode == 0, rules.stderr
    assert "home down" in rules.stdout
    assert f"webhook to 127.0.0.1:{hooks.port} (mattermost)" in rules.stdout
    assert "secret-token" not in rules.stdout  # a webhook's path may be its secret
    assert "slo_burn" in vigil(data_dir, "rules", "--kinds").stdout

    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100", "VIGIL_ANALYTICS_ALERTS_SECONDS": "1",
           "VIGIL_ANALYTICS_ALERT_GROUP_WAIT_SECONDS": "0"}  # fmt: skip
    service = _service("analytics", data_dir, env, "/healthz")
    try:
        now = int(datetime.now(UTC).timestamp() * 1000)
        send_probes(redis_client, "eu", [CheckResult(id=f"r{n}", ts=now - 3000 + n * 1000, check="home",
                                                     check_type="http", target="http://127.0.0.1:9/", status="down",
                                                     duration_ms=5.0) for n in range(3)])  # fmt: skip
        wait_until(lambda: hooks.received, timeout=30, what="the alert posted", interval=0.2)
        shown = vigil(data_dir, "history")
        assert shown.returncode == 0, shown.stderr
        assert "home down: down in 1 of 1 regions (eu)" in shown.stdout
        assert "chat: sent" in shown.stdout

        made = vigil(data_dir, "silence", "--project", "demo", "--rule", "home down", "--minutes", "30",
                     "--reason", "maintenance")  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith("silence 1: rule home down of demo quiet until ")
        listed = json.loads(vigil(data_dir, "silences", "--json").stdout)
        assert [(s["silence_id"], s["active"], s["reason"]) for s in listed] == [(1, True, "maintenance")]
        assert listed[0]["created_by"].startswith("cli:")

        unknown = vigil(data_dir, "silence", "--project", "demo", "--rule", "nope", "--minutes", "5")
        assert (unknown.returncode, unknown.stderr) == (2, "vigil: error: project 'demo' has no alert rule 'nope'\n")
        assert vigil(data_dir, "unsilence", "1").stdout == "silence 1 ended\n"
        again = vigil(data_dir, "unsilence", "1")
        assert (again.returncode, again.stderr) == (2, "vigil: error: silence 1 is already over\n")
    finally:
        service.stop()
