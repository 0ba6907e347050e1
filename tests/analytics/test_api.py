"""The read API of a real analytics service, fed through a real collector."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from contracts import runfiles
from contracts.read_api import ReadApiError, ReadClient, Refused
from tests.collector.test_routes import batch, post
from tests.helpers import env_without_vigil, wait_until


def test_events_posted_to_the_collector_become_queryable(http, collector, analytics, demo_project, data_dir):
    for n in range(3):
        body = batch(batch_id=f"b{n}")
        body["events"][0]["event_id"] = f"e{n}"  # type: ignore[index]
        assert post(http, collector, demo_project, body).status_code == 202

    with ReadClient(analytics.url) as client:
        result = wait_until(
            lambda: (r := client.query("projects")).rows and r.rows[0][1] == 3 and r, timeout=10, what="3 stored errors"
        )
        assert result.rows[0][:2] == ["demo", 3]

    health = http.get(f"{analytics.url}/healthz").json()
    assert (health["status"], health["committed_rows"], health["dead_entries"]) == ("ok", 3, 0)


def test_named_queries_are_listed_and_checked(http, analytics):
    listed = http.get(f"{analytics.url}/v1/queries").json()
    assert {q["name"] for q in listed["queries"]} == {
        "projects", "totals", "events_per_minute", "errors_by_type", "top_messages", "issues", "issue", "issue_events",
        "event_counts", "event_counts_by", "issue_events_per_minute", "vitals_percentiles",
        "checks", "check_history", "check_reachability", "check_uptime", "agents", "not_stored",
        "issue_breakdown", "issue_event", "issue_activity", "error_facets", "releases",
        "incidents", "incident", "incident_activity", "failures_per_minute", "vitals_per_minute",
        "check_results_per_minute", "host_metrics_per_minute",
        "alerts", "alert_messages", "alerts_firing", "silences", "daily_reports", "daily_report",
        "vitals_pages", "vitals_trend", "vitals_histogram", "vitals_breakdown", "vitals_attribution", "vitals_phases",
        "vitals_releases", "vitals_summary", "audience_facets",
        "traffic_totals", "traffic_trend", "traffic_pages", "traffic_by",
        "network_targets", "network_trend", "network_pages", "resource_failures_by_url", "slow_requests",
        "hosts_now", "host_series", "errors_by_project", "check_phases", "csp_violations", "page_load_phases",
    }  # fmt: skip
    bad = http.get(f"{analytics.url}/v1/queries/top_messages", params={"limit": "x"})
    unknown = http.get(f"{analytics.url}/v1/queries/drop_everything")
    assert (bad.status_code, bad.json()) == (400, {"error": "limit: expected an integer, got 'x'"})
    assert unknown.status_code == 404


def test_sql_needs_the_token_from_the_run_file(http, analytics, data_dir):
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    assert info["url"] == analytics.url
    assert (runfiles.run_file(data_dir, "analytics").stat().st_mode & 0o777) == 0o600

    refused = http.post(f"{analytics.url}/v1/sql", json={"sql": "SELECT 1"})
    assert refused.status_code == 401

    with ReadClient(analytics.url, token=info["token"]) as client:
        assert client.sql("SELECT 40 + 2 AS answer").rows == [[42]]
        with pytest.raises(ReadApiError, match=r"^only SELECT is allowed here, not DELETE$"):
            client.sql("DELETE FROM errors")

    garbage = http.post(
        f"{analytics.url}/v1/sql", content=b"\x00not json", headers={"Authorization": f"Bearer {info['token']}"}
    )
    assert garbage.status_code == 400
    huge = http.post(
        f"{analytics.url}/v1/sql",
        content=json.dumps({"sql": "x" * 200_000}),
        headers={"Authorization": f"Bearer {info['token']}"},
    )
    assert huge.status_code == 413


def test_sql_through_the_running_service_cannot_write_or_read_files(http, collector, analytics, demo_project, data_dir):
    """The statements that once went through: each refused with 400, and nothing changes."""
    body = batch(batch_id="b1")
    body["events"][0]["ts"] = body["sent_at"] = int(time.time() * 1000)  # type: ignore[index]
    assert post(http, collector, demo_project, body).status_code == 202
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(analytics.url, token=info["token"]) as client:
        wait_until(lambda: client.query("issues").rows, timeout=10, what="an issue")
        state = "SELECT (SELECT list(message) FROM errors), (SELECT list(issue_id) FROM issues)"
        before = client.sql(state).rows
        for statement in (
            "WITH d AS (DELETE FROM issues WHERE issue_id = 1 RETURNING issue_id) SELECT * FROM d",
            "WITH u AS (UPDATE errors SET message = 'x' WHERE true RETURNING 1) SELECT count(*) FROM u",
            "SELECT * FROM read_csv('/etc/passwd')",
            f"SELECT * FROM read_text('{data_dir / 'vigil.toml'}')",
            "SELECT * FROM glob('/root/*')",
            "SELECT * FROM read_csv('https://example.invalid/x.csv')",
            "SELECT * FROM checkpoint()",
            "CALL checkpoint()",
        ):
            with pytest.raises(Refused):
                client.sql(statement)
        assert client.sql(state).rows == before
        # The issue index still agrees with the table: a new event of the same issue joins it.
        again = batch(batch_id="b2")
        again["events"][0]["event_id"] = "e2"  # type: ignore[index]
        again["events"][0]["ts"] = again["sent_at"] = int(time.time() * 1000)  # type: ignore[index]
        assert post(http, collector, demo_project, again).status_code == 202
        issues = wait_until(
            lambda: (r := client.query("issues")).rows and r.rows[0][8] == 2 and r, timeout=10, what="2"
        )
        assert len(issues.rows) == 1


def test_vigil_sql_exits_2_with_one_line_for_refused_sql_through_the_service(analytics, data_dir):
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "sql", "SELECT * FROM read_text('/etc/hostname')", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60, env=env_without_vigil(),
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (2, "vigil: error: the table function read_text() is not allowed here\n")


def test_the_run_file_is_removed_at_stop(analytics, data_dir):
    assert runfiles.read_live(data_dir, "analytics") is not None
    analytics.stop()
    assert not runfiles.run_file(data_dir, "analytics").exists()


def test_what_the_collector_refused_is_counted_in_the_outcomes_table(
    http, data_dir, demo_project, redis_url, analytics
):
    from tests.conftest import _service

    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_OUTCOMES_FLUSH_SECONDS": "0.2"}
    collector = _service("collector", data_dir, env, "/healthz")
    try:
        assert post(http, collector, demo_project, batch()).status_code == 202
        assert post(http, collector, demo_project, b"{nope").status_code == 400
        assert post(http, collector, demo_project, batch(), key="wrong").status_code == 403
        info = runfiles.read_live(data_dir, "analytics")
        assert info is not None
        with ReadClient(info["url"], token=info["token"]) as client:
            statement = "SELECT project, outcome, reason, unit, sum(count)::INT FROM outcomes GROUP BY ALL ORDER BY ALL"
            rows = wait_until(lambda: len(r := client.sql(statement).rows) == 3 and r, timeout=10, what="3 outcomes")
    finally:
        collector.stop()
    assert rows == [
        ["", "forbidden", "unknown_key", "request", 1],
        ["demo", "accepted", "events", "event", 1],
        ["demo", "invalid", "malformed", "request", 1],
    ]


def test_issues_are_listed_and_their_status_changed_through_the_api(http, collector, analytics, demo_project, data_dir):
    for n in range(2):
        body = batch(batch_id=f"b{n}")
        body["events"][0]["event_id"] = f"e{n}"  # type: ignore[index]
        body["events"][0]["ts"] = body["sent_at"] = int(time.time() * 1000)  # type: ignore[index]
        assert post(http, collector, demo_project, body).status_code == 202
    with ReadClient(analytics.url) as client:
        issues = wait_until(
            lambda: (r := client.query("issues")).rows and r.rows[0][8] == 2 and r, timeout=10, what="2"
        )
    (issue,) = [dict(zip(issues.columns, row, strict=True)) for row in issues.rows]
    assert (issue["title"], issue["status"], issue["events_in_range"], issue["sessions"]) == (
        "TypeError: boom", "unresolved", 2, 0,
    )  # fmt: skip

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    url = f"{analytics.url}/v1/issues/actions"
    auth = {"Authorization": f"Bearer {info['token']}"}

    def action(name: str, *ids: int, **more: object) -> dict[str, object]:
        return {"action": name, "issues": list(ids), "actor": "ana", **more}

    assert http.post(url, json=action("resolve", issue["issue_id"])).status_code == 401
    refused = http.post(url, json=action("fix", issue["issue_id"]), headers=auth)
    assert (refused.status_code, refused.json()["error"]) == (400, "action must be one of resolve, "
        "resolve_next_release, resolve_in_release, ignore, reopen, merge; not 'fix'")  # fmt: skip
    assert http.post(url, json={**action("ignore", 1), "color": "red"}, headers=auth).status_code == 400
    assert http.post(url, content=b"{", headers=auth).status_code == 400
    assert http.post(url, json=action("ignore", 999), headers=auth).status_code == 404
    changed = http.post(url, json=action("resolve_in_release", issue["issue_id"], release="shop@9"), headers=auth)
    assert (changed.status_code, changed.json()) == (
        200, {"issues": [{"issue_id": issue["issue_id"], "status": "resolved_in_release",
                          "resolved_in_release": "shop@9"}]},
    )  # fmt: skip
    with ReadClient(analytics.url) as client:
        detail = client.query("issue", issue_id=issue["issue_id"])
        assert dict(zip(detail.columns, detail.rows[0], strict=True))["status"] == "resolved_in_release"
        (latest, _) = client.query("issue_events", issue_id=issue["issue_id"]).rows
        assert latest[0] == "e1"
