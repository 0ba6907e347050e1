"""Triage: what may be done to issues, as the read API takes it (``POST /v1/issues/actions``).

One request acts on one issue or many (bulk), on behalf of ``actor`` (the dashboard's
logged-in user, or ``cli:<login>`` for ``vigil issues``); the analytics service keeps who
did what and when in the issue's activity log. ``check`` refuses a malformed action with
one line before anything is changed.

    resolve               resolved; an event from a release newer than the issue's last one reopens it
    resolve_next_release  resolved in the release after the project's newest: its events do not reopen it,
                          a newer release's do
    resolve_in_release    resolved in ``release``: events from releases newer than it reopen it
    ignore                ignored forever, or for ``minutes``, or until ``events`` more events or ``users``
                          more users (whichever comes first), then unresolved again
    reopen                unresolved
    merge                 the issues become one: the one named by ``into`` (default: the one with the most
                          events); the others' events move to it and their fingerprints group there from now on
"""

from __future__ import annotations

import msgspec

ACTIONS = ("resolve", "resolve_next_release", "resolve_in_release", "ignore", "reopen", "merge")
#: The status each action leaves an issue in (merge: the ones merged away).
STATUS_AFTER = {
    "resolve": "resolved",
    "resolve_next_release": "resolved_next_release",
    "resolve_in_release": "resolved_in_release",
    "ignore": "ignored",
    "reopen": "unresolved",
    "merge": "merged",
}
MAX_ISSUES = 500
MAX_ACTOR = 100
MAX_RELEASE = 200
MAX_BODY = 20_000
#: Ignore for at most a year; until at most a billion events or users.
MAX_MINUTES = 525_600
MAX_COUNT = 1_000_000_000


class Action(msgspec.Struct, forbid_unknown_fields=True):
    action: str
    issues: list[int]
    actor: str = ""
    release: str = ""  # resolve_in_release
    minutes: int = 0  # ignore: for this long
    events: int = 0  # ignore: until this many more events
    users: int = 0  # ignore: until this many more users
    into: int = 0  # merge: the issue the others join


class ActionError(ValueError):
    """A malformed or impossible action; the message is one line (400, or 404 for an unknown issue)."""


def check(action: Action) -> Action:
    """``action`` if it is well formed; raises ``ActionError`` saying what is wrong otherwise."""
    if action.action not in ACTIONS:
        raise ActionError(f"action must be one of {', '.join(ACTIONS)}; not {action.action[:40]!r}")
    if not 1 <= len(action.issues) <= MAX_ISSUES:
        raise ActionError(f"issues: between 1 and {MAX_ISSUES} issue ids")
    if any(not 1 <= i < 2**53 for i in action.issues):
        raise ActionError("issues: ids are positive integers")
    if not 0 < len(action.actor) <= MAX_ACTOR or not action.actor.isprintable():
        raise ActionError(f"actor: who acts, 1 to {MAX_ACTOR} printable characters")
    if action.action == "resolve_in_release" and not (
        0 < len(action.release) <= MAX_RELEASE and action.release.isprintable()
    ):
        raise ActionError(f"resolve_in_release needs a release (1 to {MAX_RELEASE} printable characters)")
    if action.action != "resolve_in_release" and action.release:
        raise ActionError("release: only for resolve_in_release")
    conditions = {"minutes": (action.minutes, MAX_MINUTES), "events": (action.events, MAX_COUNT),
                  "users": (action.users, MAX_COUNT)}  # fmt: skip
    for name, (value, most) in conditions.items():
        if value and action.action != "ignore":
            raise ActionError(f"{name}: only for ignore")
        if not 0 <= value <= most:
            raise ActionError(f"{name}: between 1 and {most}, or 0 for no such condition")
    if action.action == "merge":
        if len(set(action.issues)) < 2:
            raise ActionError("merge needs at least two different issues")
        if action.into and action.into not in action.issues:
            raise ActionError("into: one of the issues being merged")
    elif action.into:
        raise ActionError("into: only for merge")
    return action


def decode(body: bytes) -> Action:
    """The action in a request body; raises ``ActionError`` for anything but a well-formed one."""
    if len(body) > MAX_BODY:
        raise ActionError(f"body longer than {MAX_BODY} bytes")
    try:
        return check(msgspec.json.decode(body, type=Action))
    except msgspec.DecodeError as e:
        raise ActionError(f'expected {{"action": "resolve", "issues": [1], "actor": "…"}}: {e}') from None
