"""``vigil issues``, ``vigil incidents``, ``vigil alerts``: the command line's side of triage, correlation, alerts.

Each command goes through the running analytics service's read API (``vigil/issues_cli.py``,
``vigil/incidents_cli.py`` and ``vigil/alerts_cli.py`` do the work); alert rules are read
from ``vigil.toml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.cli_common import BadInput, data_dir_option, friendly, resolve_data_dir


@click.group()
def issues() -> None:
    """List issues and triage them (through the running analytics service)."""


_IDS = click.argument("issue_ids", nargs=-1, required=True, type=click.IntRange(1, 2**53 - 1))


def _act(data_dir: Path | None, name: str, ids: tuple[int, ...], **options: Any) -> None:
    from contracts.triage import Action
    from vigil.issues_cli import act, actor

    act(resolve_data_dir(data_dir), Action(name, list(ids), actor=actor(), **options), click.echo)


@issues.command("list")
@click.option("--status", type=click.Choice(["unresolved", "resolved", "resolved_next_release",
                                             "resolved_in_release", "ignored", "regressed"]))  # fmt: skip
@click.option("--project", help="Only this project.")
@click.option("--hours", type=click.IntRange(1, 24 * 90), default=24, show_default=True, help="Events in the last …")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the issues as JSON.")
@data_dir_option
@friendly
def issues_list(
    status: str | None, project: str | None, hours: int, limit: int, as_json: bool, data_dir: Path | None
) -> None:
    """Issues with events in the last --hours, the most recent first."""
    from datetime import UTC, datetime, timedelta

    from vigil.issues_cli import list_issues

    since = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    list_issues(
        resolve_data_dir(data_dir), click.echo, as_json, status=status, project=project, since=since, limit=limit
    )


@issues.command("resolve")
@_IDS
@click.option("--next-release", is_flag=True, help="Resolved in the release after the project's newest.")
@click.option("--in-release", "release", help="Resolved in this release: only newer releases reopen it.")
@data_dir_option
@friendly
def issues_resolve(issue_ids: tuple[int, ...], next_release: bool, release: str | None, data_dir: Path | None) -> None:
    """Resolve ISSUE_IDS: an event from a newer release reopens them as regressed."""
    if next_release and release:
        raise BadInput("--next-release or --in-release, not both")
    if release:
        _act(data_dir, "resolve_in_release", issue_ids, release=release)
    else:
        _act(data_dir, "resolve_next_release" if next_release else "resolve", issue_ids)


@issues.command("ignore")
@_IDS
@click.option("--minutes", type=click.IntRange(1, 525_600), help="For this long.")
@click.option("--events", type=click.IntRange(1, 10**9), help="Until this many more events.")
@click.option("--users", type=click.IntRange(1, 10**9), help="Until this many more users.")
@data_dir_option
@friendly
def issues_ignore(
    issue_ids: tuple[int, ...], minutes: int | None, events: int | None, users: int | None, data_dir: Path | None
) -> None:
    """Ignore ISSUE_IDS, forever or until the first condition given is met."""
    _act(data_dir, "ignore", issue_ids, minutes=minutes or 0, events=events or 0, users=users or 0)


@issues.command("reopen")
@_IDS
@data_dir_option
@friendly
def issues_reopen(issue_ids: tuple[int, ...], data_dir: Path | None) -> None:
    """Mark ISSUE_IDS unresolved."""
    _act(data_dir, "reopen", issue_ids)


@issues.command("merge")
@_IDS
@click.option("--into", type=click.IntRange(1), help="The issue kept [default: the one with the most events].")
@data_dir_option
@friendly
def issues_merge(issue_ids: tuple[int, ...], into: int | None, data_dir: Path | None) -> None:
    """Merge ISSUE_IDS into one issue: their events, and their later events, go there."""
    _act(data_dir, "merge", issue_ids, into=into or 0)


@issues.command("activity")
@click.argument("issue_id", type=click.IntRange(1, 2**53 - 1))
@click.option("--json", "as_json", is_flag=True, help="Print the activity as JSON.")
@data_dir_option
@friendly
def issues_activity(issue_id: int, as_json: bool, data_dir: Path | None) -> None:
    """Who did what to ISSUE_ID, and when."""
    from vigil.issues_cli import activity

    activity(resolve_data_dir(data_dir), issue_id, click.echo, as_json)


@click.group()
def incidents() -> None:
    """Incidents: spikes of client failures with their verdict (through the running analytics service)."""


@incidents.command("list")
@click.option("--status", type=click.Choice(["open", "closed"]))
@click.option("--project", help="Only this project.")
@click.option("--hours", type=click.IntRange(1, 24 * 400), default=24 * 7, show_default=True, help="In the last …")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the incidents as JSON.")
@data_dir_option
@friendly
def incidents_list(
    status: str | None, project: str | None, hours: int, limit: int, as_json: bool, data_dir: Path | None
) -> None:
    """Incidents during the last --hours, the latest first, with their verdict."""
    from datetime import UTC, datetime, timedelta

    from vigil.incidents_cli import list_incidents

    since = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    list_incidents(
        resolve_data_dir(data_dir),
        click.echo,
        as_json,
        incident_status=status,
        project=project,
        since=since,
        limit=limit,
    )


@incidents.command("show")
@click.argument("incident_id", type=click.IntRange(1, 2**53 - 1))
@click.option("--json", "as_json", is_flag=True, help="Print the incident, its evidence and history as JSON.")
@data_dir_option
@friendly
def incidents_show(incident_id: int, as_json: bool, data_dir: Path | None) -> None:
    """One incident: its verdict, the client signals, the backend's evidence and its history."""
    from vigil.incidents_cli import show

    try:
        show(resolve_data_dir(data_dir), incident_id, click.echo, as_json)
    except LookupError as e:
        raise BadInput(str(e)) from None


@incidents.command("feedback")
@click.argument("incident_id", type=click.IntRange(1, 2**53 - 1))
@click.option("--right/--wrong", required=True, help="Whether the verdict is right.")
@click.option("--note", default="", help="What it really was (kept with the feedback).")
@data_dir_option
@friendly
def incidents_feedback(incident_id: int, right: bool, note: str, data_dir: Path | None) -> None:
    """Say whether INCIDENT_ID's verdict is right; kept on the incident, with who said it."""
    from vigil.incidents_cli import feedback

    feedback(resolve_data_dir(data_dir), incident_id, right, note, click.echo)


@click.group()
def alerts() -> None:
    """Alert rules and channels, what fired and how it was delivered, and silences."""


@alerts.command("rules")
@click.option("--project", help="Only this project.")
@click.option("--kinds", "show_kinds", is_flag=True, help="List the kinds of rule (when = …) and their settings.")
@data_dir_option
@friendly
def alerts_rules(project: str | None, show_kinds: bool, data_dir: Path | None) -> None:
    """Each project's alert rules and the channels they notify, as vigil.toml declares them."""
    from vigil.alerts_cli import kinds, rules

    if show_kinds:
        kinds(click.echo)
        return
    try:
        rules(resolve_data_dir(data_dir), click.echo, project)
    except LookupError as e:
        raise BadInput(str(e)) from None


@alerts.command("history")
@click.option("--project", help="Only this project.")
@click.option("--rule", help="Only this rule.")
@click.option("--hours", type=click.IntRange(1, 24 * 400), default=24, show_default=True, help="In the last …")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
@data_dir_option
@friendly
def alerts_history(
    project: str | None, rule: str | None, hours: int, limit: int, as_json: bool, data_dir: Path | None
) -> None:
    """Alerts fired, resolved or changed in the last --hours, the latest first, and how each channel was told."""
    from datetime import UTC, datetime, timedelta

    from vigil.alerts_cli import history

    since = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    history(resolve_data_dir(data_dir), click.echo, as_json, project=project, rule=rule, since=since, limit=limit)


@alerts.command("silence")
@click.option("--project", required=True, help="The project to keep quiet.")
@click.option("--rule", default="", help="Only this rule (every rule of the project when absent).")
@click.option("--subject", default="", help="Only alerts whose subject or title contains this (any case).")
@click.option("--minutes", type=click.IntRange(1, 90 * 24 * 60), required=True, help="How long, from now.")
@click.option("--reason", default="", help="Why (shown with the silence).")
@data_dir_option
@friendly
def alerts_silence(project: str, rule: str, subject: str, minutes: int, reason: str, data_dir: Path | None) -> None:
    """Keep a project's alerts quiet until --minutes from now: still kept in the history, not sent."""
    from vigil.alerts_cli import silence

    silence(resolve_data_dir(data_dir), click.echo, project=project, rule=rule, subject=subject, minutes=minutes,
            reason=reason)  # fmt: skip


@alerts.command("unsilence")
@click.argument("silence_id", type=click.IntRange(1, 2**53 - 1))
@data_dir_option
@friendly
def alerts_unsilence(silence_id: int, data_dir: Path | None) -> None:
    """End silence SILENCE_ID now."""
    from vigil.alerts_cli import end_silence

    end_silence(resolve_data_dir(data_dir), silence_id, click.echo)


@alerts.command("silences")
@click.option("--project", help="Only this project.")
@click.option(
    "--hours", type=click.IntRange(1, 24 * 400), default=24 * 7, show_default=True, help="Ended in the last …"
)
@click.option("--json", "as_json", is_flag=True, help="Print the silences as JSON.")
@data_dir_option
@friendly
def alerts_silences(project: str | None, hours: int, as_json: bool, data_dir: Path | None) -> None:
    """Silences in force, and those that ended in the last --hours."""
    from datetime import UTC, datetime, timedelta

    from vigil.alerts_cli import silences

    since = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    silences(resolve_data_dir(data_dir), click.echo, as_json, project=project, since=since)


@click.group()
def report() -> None:
    """The daily error report."""


@report.command("daily")
@click.option("--project", required=True, help="The project.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day (in the project's time zone); "
              "yesterday when absent.")  # fmt: skip
@click.option("--format", "form", type=click.Choice(["html", "json"]), default="html", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it to this file (else stdout).")
@data_dir_option
@friendly
def report_daily(project: str, day: Any, form: str, out: Path | None, data_dir: Path | None) -> None:
    """Make a day's error report of --project now: new and top issues, regressions, error rates and crash-free
    sessions against the day before and a week before, Web Vitals, uptime, incidents, what was dropped."""
    from vigil.report_cli import daily

    text = daily(resolve_data_dir(data_dir), project, day.date() if day else None, form)
    if out is None:
        click.echo(text)
        return
    try:
        out.write_text(text)
    except OSError as e:
        raise BadInput(f"--out: cannot write {out}: {e.strerror}") from None
    click.echo(f"wrote {out} ({len(text):,} characters)")
