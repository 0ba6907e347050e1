"""``vigil incidents`` against a real analytics service whose correlation job opens an incident from queued events."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts import runfiles
from contracts.projects import Project
from tests.analytics.test_incidents import error, page_views, send, spread
from tests.conftest import Service, _service
from tests.helpers import env_without_vigil, wait_until


def vigil(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil", "incidents", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, env=env_without_vigil())  # fmt: skip


@pytest.fixture
def correlating(data_dir: Path, redis_url: str, demo_project: Project) -> Iterator[Service]:
    """The analytics service testing for anomalies every second."""
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_ANALYTICS_BLOCK_MS": "100", "VIGIL_ANALYTICS_CORRELATION_SECONDS": "1"}
    service = _service("analytics", data_dir, env, "/healthz")
    yield service
    service.stop()


def test_an_incident_listed_shown_and_judged(redis_client, correlating, data_dir):
    now = datetime.now(UTC).replace(tzinfo=None)
    send(redis_client, page_views(now - timedelta(hours=24), now, timedelta(seconds=30)))
    send(
        redis_client,
        [error(t, "ReferenceError", "search is not defined") for t in spread(now - timedelta(minutes=4), 40)],
    )

    def listed() -> list[dict]:
        done = vigil(data_dir, "list", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    (incident,) = wait_until(listed, timeout=30, what="an incident", interval=0.5)
    assert (incident["project"], incident["status"], incident["verdict"]) == ("demo", "open", "client")
    assert incident["summary"] == "ReferenceError spike; nothing watches the backend"

    shown = vigil(data_dir, "show", str(incident["incident_id"]))
    assert shown.returncode == 0, shown.stderr
    assert "Verdict: client (confidence 60%): ReferenceError spike; nothing watches the backend" in shown.stdout
    assert "error rate" in shown.stdout
    assert "opened" in shown.stdout

    judged = vigil(data_dir, "feedback", str(incident["incident_id"]), "--wrong", "--note", "a deploy of the API")
    assert (judged.returncode, judged.stdout.strip()) == (
        0, f"incident {incident['incident_id']}: the verdict client is kept as wrong",
    )  # fmt: skip
    whole = json.loads(vigil(data_dir, "show", str(incident["incident_id"]), "--json").stdout)
    assert (whole["feedback"], whole["feedback_note"]) == ("wrong", "a deploy of the API")
    assert whole["feedback_by"].startswith("cli:")
    assert [a["action"] for a in whole["activity"]][:1] == ["feedback"]


def test_refused_feedback_is_one_line_and_exit_2(correlating, data_dir):
    for args, message in [
        (("feedback", "999", "--right"), "no incident 999"),
        (("show", "999"), "no incident 999"),
        (("feedback", "1", "--right", "--note", "x" * 1001), "note: at most 1000 characters"),
    ]:
        done = vigil(data_dir, *args)
        assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
        assert message in done.stderr


def test_the_feedback_endpoint_needs_the_token_and_a_well_formed_body(http, correlating, data_dir):
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    url, auth = f"{correlating.url}/v1/incidents/feedback", {"Authorization": f"Bearer {info['token']}"}
    body = {"incident_id": 1, "right": True, "actor": "ana"}

    assert http.post(url, json=body).status_code == 401
    assert http.post(url, content=b"{", headers=auth).status_code == 400
    assert http.post(url, json={**body, "colour": "red"}, headers=auth).status_code == 400
    refused = http.post(url, json={**body, "actor": ""}, headers=auth)
    assert (refused.status_code, refused.json()) == (400, {"error": "actor: who judges, 1 to 100 printable characters"})
    assert http.post(url, content=b"x" * 5000, headers=auth).status_code == 413
    unknown = http.post(url, json=body, headers=auth)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no incident 1"})
