"""Triage from the dashboard: the logged-in user's actions on issues, and their feedback on incidents' verdicts,
sent to the analytics service's read API.

The action names the user as its actor (the activity log shows it). The read API wants the
analytics service's token, which it writes to ``run/analytics.json`` in the data
directory at each start: the dashboard reads it there, so it acts only where it runs next
to the analytics service on the same data directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import flask

from contracts import runfiles
from contracts.alerts import Silence, SilenceError
from contracts.incidents import Feedback, FeedbackError
from contracts.read_api import ReadApiError, ReadClient
from contracts.triage import Action, ActionError
from dashboard import auth
from dashboard.data import SETTINGS_KEY
from dashboard.settings import DashboardSettings

#: The ignore choices offered: label → the action's options.
IGNORE: dict[str, dict[str, int]] = {
    "forever": {},
    "for 1 hour": {"minutes": 60},
    "for 24 hours": {"minutes": 1440},
    "for 7 days": {"minutes": 10080},
    "until 100 more events": {"events": 100},
    "until 10 more users": {"users": 10},
}
LOG_IN = "Log in to act: create a user with `vigil user add NAME`, then log in."
RETRIES = 3


def act(action: str, issues: list[int], **options: object) -> tuple[bool, str]:
    """(done, what to tell the user) for ``action`` on ``issues`` by the logged-in user."""

    def send(read: ReadClient, user: str) -> str:
        answer = read.act(Action(action, issues, actor=user, **options))  # type: ignore[arg-type]
        return _done(action, answer.get("issues", []))

    return _as_user(send, (ActionError,))


def judge(incident_id: int, right: bool, note: str) -> tuple[bool, str]:
    """(done, what to tell the user) for the logged-in user's judgement of an incident's verdict."""

    def send(read: ReadClient, user: str) -> str:
        answer = read.feedback(Feedback(incident_id, right, user, note.strip()))
        return f"Kept: the verdict {answer['verdict'].replace('_', ' ')} is {answer['feedback']}."

    return _as_user(send, (FeedbackError,))


def _as_user(send: Callable[[ReadClient, str], str], refusals: tuple[type[Exception], ...]) -> tuple[bool, str]:
    """Send a change as the logged-in user with the analytics service's token; retried when it collided with
    the service's own writes."""
    user = auth.current_user()
    if user is None:
        return False, LOG_IN
    settings: DashboardSettings = flask.current_app.config[SETTINGS_KEY]
    info = runfiles.read_live(settings.data_dir, "analytics")
    if info is None or not isinstance(info.get("token"), str):
        return False, "The analytics service is not running next to this dashboard: start it with `vigil up`."
    try:
        with ReadClient(settings.analytics_url, token=info["token"]) as read:
            for attempt in range(RETRIES - 1):
                try:
                    return True, send(read, user)
                except ReadApiError as e:
                    if "changed meanwhile" not in str(e):
                        raise
                    time.sleep(0.2 * (attempt + 1))  # the service was writing the same issues or incident
            return True, send(read, user)
    except ReadApiError as e:
        return False, f"Not done: {e}"
    except refusals as e:
        return False, f"Not done: {e}"


def _done(action: str, changed: list[dict[str, object]]) -> str:
    if action == "merge" and changed:
        merged = ", ".join(f"#{i}" for i in changed[0].get("merged", []))  # type: ignore[attr-defined]
        return f"Merged {merged} into #{changed[0]['issue_id']}."
    status = str(changed[0]["status"]).replace("_", " ") if changed else ""
    count = f"{len(changed)} issues" if len(changed) != 1 else f"Issue #{changed[0]['issue_id']}"
    return f"{count}: {status}."


def silence(project: str, rule: str, subject: str, minutes: int, reason: str) -> tuple[bool, str]:
    """(done, what to tell the user) for a silence the logged-in user asks for."""

    def send(read: ReadClient, user: str) -> str:
        made = read.silence(Silence(project, minutes, user, rule, subject.strip(), reason.strip()))
        what = f"rule {made['rule']}" if made["rule"] else f"every rule of {made['project']}"
        return f"Silence {made['silence_id']}: {what} quiet until {str(made['ends_at'])[:16]} UTC."

    return _as_user(send, (SilenceError,))


def end_silence(silence_id: int) -> tuple[bool, str]:
    def send(read: ReadClient, user: str) -> str:
        read.end_silence(silence_id, user)
        return f"Silence {silence_id} ended."

    return _as_user(send, (SilenceError,))
