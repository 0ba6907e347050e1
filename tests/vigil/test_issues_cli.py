"""``vigil issues`` against a real analytics service: list, triage, and the activity it leaves."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.dashboard.test_issue import issue_of
from tests.dashboard.test_triage import send
from tests.helpers import env_without_vigil


def vigil(data_dir, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "vigil", "issues", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, env=env_without_vigil())  # fmt: skip


def test_list_resolve_ignore_and_the_activity_they_leave(http, collector, analytics, demo_project, data_dir):
    send(http, collector, demo_project, "e1", "shop@1.0")
    issue_id = issue_of(data_dir, "e1")

    listed = vigil(data_dir, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(i["issue_id"], i["status"]) for i in json.loads(listed.stdout)] == [(issue_id, "unresolved")]

    done = vigil(data_dir, "resolve", str(issue_id), "--next-release")
    assert (done.returncode, done.stdout.strip()) == (0, f"#{issue_id}: resolved next release (in shop@1.0)")
    assert vigil(data_dir, "ignore", str(issue_id), "--events", "10").returncode == 0
    activity = json.loads(vigil(data_dir, "activity", str(issue_id), "--json").stdout)
    assert [(a["action"], a["detail"]) for a in activity] == [
        ("ignore", "ignored until 10 more events"), ("resolve_next_release", "resolved in the release after shop@1.0"),
    ]  # fmt: skip
    assert {a["actor"] for a in activity} == {activity[0]["actor"]}
    assert activity[0]["actor"].startswith("cli:")


def test_refused_actions_are_one_line_and_exit_2(analytics, data_dir):
    for args, message in [
        (("merge", "3"), "merge needs at least two different issues"),
        (("reopen", "999"), "no issue 999"),
        (("resolve", "1", "--next-release", "--in-release", "x"), "--next-release or --in-release, not both"),
    ]:
        done = vigil(data_dir, *args)
        assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
        assert message in done.stderr


def test_without_the_analytics_service_it_says_how_to_start_it(data_dir):
    done = vigil(data_dir, "list")
    assert done.returncode == 2
    assert "the analytics service is not running" in done.stderr
