"""Incidents as the read API takes feedback on them (``POST /v1/incidents/feedback``).

An incident (``analytics/incidents.py``, docs/correlation.md) has one of ``VERDICTS``. A
person who knows better says whether the verdict is right or wrong, with a note; the
analytics service keeps it on the incident and in its activity, beside the verdict it
judged. ``check`` refuses a malformed feedback with one line before anything is changed.
"""

from __future__ import annotations

import msgspec

VERDICTS = ("backend", "network", "third_party", "client", "unknown")
STATUSES = ("open", "closed")
MAX_ACTOR = 100
MAX_NOTE = 1000
MAX_BODY = 4000


class Feedback(msgspec.Struct, forbid_unknown_fields=True):
    incident_id: int
    right: bool  # the verdict is right (true) or wrong (false)
    actor: str
    note: str = ""


class FeedbackError(ValueError):
    """A malformed feedback or an unknown incident; the message is one line (400, or 404)."""


def check(feedback: Feedback) -> Feedback:
    if not 1 <= feedback.incident_id < 2**53:
        raise FeedbackError("incident_id: a positive integer")
    if not 0 < len(feedback.actor) <= MAX_ACTOR or not feedback.actor.isprintable():
        raise FeedbackError(f"actor: who judges, 1 to {MAX_ACTOR} printable characters")
    if len(feedback.note) > MAX_NOTE:
        raise FeedbackError(f"note: at most {MAX_NOTE} characters")
    return feedback


def decode(body: bytes) -> Feedback:
    """The feedback in a request body; raises ``FeedbackError`` for anything but a well-formed one."""
    if len(body) > MAX_BODY:
        raise FeedbackError(f"body longer than {MAX_BODY} bytes")
    try:
        return check(msgspec.json.decode(body, type=Feedback))
    except msgspec.DecodeError as e:
        raise FeedbackError(f'expected {{"incident_id": 1, "right": false, "actor": "…", "note": "…"}}: {e}') from None
