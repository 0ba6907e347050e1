"""Alert messages and daily reports rendered: a message's words, then each channel's format (docs/alerts.md).

``content`` turns a message and its alerts into ``Content``: a subject and one line per
alert, with a link to the dashboard. A webhook gets it as JSON in the channel's format
(``BODIES``: Vigil's own, Slack's, Mattermost's), an e-mail address as ``email_message``.
Everything that comes from events is escaped for the format it goes into. The notifier
(``analytics/notify.py``) sends what is rendered here.
"""

from __future__ import annotations

import dataclasses
import email.policy
import html
import json
import re
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlencode

#: Alerts listed in a message's text; the JSON body lists up to ``MAX_JSON_ALERTS``.
MAX_LINES = 20
MAX_JSON_ALERTS = 100
MAX_SUBJECT = 200
#: Headers folded no shorter than RFC 5322's limit: a subject (at most ``MAX_SUBJECT``) stays on one line.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


@dataclasses.dataclass(frozen=True)
class Content:
    """A message's words, before a channel's format: a subject, and one line per alert (text, link)."""

    message_id: int
    project: str
    rule: str
    kind: str
    channel: str
    subject: str
    lines: list[tuple[str, str]]
    more: int
    page: str
    alerts: list[dict[str, Any]]
    total: int


def one_line(text: str, most: int) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= most else text[: most - 1] + "…"


def content(message: dict[str, Any], alerts: list[dict[str, Any]], dashboard_url: str) -> Content:
    base = dashboard_url.rstrip("/")
    project, rule, total = message["project"], message["rule"], len(alerts)
    kind = alerts[0]["kind"] if alerts else ""
    if total == 1:
        subject = f"[{project}] {alerts[0]['title']}"
    else:
        actions = Counter(a["action"] for a in alerts)
        counted = ", ".join(f"{n} {action}" for action, n in sorted(actions.items()))
        what = f"{total} new issues" if kind == "new_issue" else f"{total} alerts ({counted})"
        subject = f"[{project}] {rule}: {what}"
    lines = []
    for alert in alerts[:MAX_LINES]:
        detail = json.loads(alert["detail"] or "{}")
        path = detail.get("path") or "/alerts"
        lines.append((one_line(alert["title"], 500), base + path))
    listed = []
    for alert in alerts[:MAX_JSON_ALERTS]:
        detail = json.loads(alert["detail"] or "{}")
        listed.append(
            {
                "id": alert["alert_id"],
                "action": alert["action"],
                "subject": alert["subject"],
                "title": alert["title"],
                "ts": alert["ts"].isoformat() + "Z",
                "url": base + (detail.get("path") or "/alerts"),
                "detail": detail,
            }
        )
    page = f"{base}/alerts?{urlencode({'project': project})}"
    return Content(
        message["message_id"], project, rule, kind, message["channel"], one_line(subject, MAX_SUBJECT), lines,
        max(total - MAX_LINES, 0), page, listed, total,
    )  # fmt: skip


def message_key(message_id: int) -> str:
    """The id a receiver can tell a message sent twice by (after a crash between sending and noting it)."""
    return f"vigil-message-{message_id}"


def vigil_json(c: Content) -> dict[str, Any]:
    """The documented JSON body (docs/alerts.md)."""
    return {
        "version": 1,
        "id": message_key(c.message_id),
        "project": c.project,
        "rule": c.rule,
        "kind": c.kind,
        "channel": c.channel,
        "title": c.subject,
        "alerts_total": c.total,
        "alerts": c.alerts,
        "url": c.page,
    }


def _slack_escape(text: str) -> str:
    # Slack's control characters: with them escaped, no text can make a link, a mention or <!channel>.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_json(c: Content) -> dict[str, Any]:
    """Slack's incoming-webhook shape: a fallback text and one mrkdwn section."""
    lines = [f"*{_slack_escape(c.subject)}*"]
    lines += [f"• <{quote(url, safe=':/?&=#%')}|{_slack_escape(text)}>" for text, url in c.lines]
    if c.more:
        lines.append(f"… and {c.more} more: <{c.page}|all alerts>")
    return {
        "text": _slack_escape(c.subject),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}}],
    }


def _markdown_escape(text: str) -> str:
    # Every character Markdown gives a meaning is escaped; an @ is kept from mentioning (@channel, @all).
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


def mattermost_json(c: Content) -> dict[str, Any]:
    """Mattermost's incoming-webhook shape: Markdown text under Vigil's name."""
    lines = [f"**{_markdown_escape(c.subject)}**"]
    lines += [f"- [{_markdown_escape(text)}]({quote(url, safe=':/?&=#%')})" for text, url in c.lines]
    if c.more:
        lines.append(f"… and {c.more} more: [all alerts]({c.page})")
    return {"username": "Vigil", "text": "\n".join(lines)}


BODIES: dict[str, Callable[[Content], dict[str, Any]]] = {
    "vigil": vigil_json,
    "slack": slack_json,
    "mattermost": mattermost_json,
}


def email_message(c: Content, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """A text and an HTML part; everything from events escaped in the HTML."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = c.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message_key(c.message_id)}@{sender.rpartition('@')[2] or 'vigil'}>"
    mail["Auto-Submitted"] = "auto-generated"
    text = [c.subject, ""] + [f"- {line}\n  {url}" for line, url in c.lines]
    if c.more:
        text.append(f"… and {c.more} more: {c.page}")
    text += ["", f"Rule {c.rule} of project {c.project}; silence or review it on {c.page}"]
    mail.set_content("\n".join(text))
    items = "".join(f'<li><a href="{html.escape(url)}">{html.escape(line)}</a></li>' for line, url in c.lines)
    more = f'<p>… and {c.more} more: <a href="{html.escape(c.page)}">all alerts</a></p>' if c.more else ""
    mail.add_alternative(
        f'<!doctype html><html><body style="font-family:sans-serif"><h2>{html.escape(c.subject)}</h2>'
        f'<ul>{items}</ul>{more}<p style="color:#666">Rule {html.escape(c.rule)} of project '
        f'{html.escape(c.project)}; <a href="{html.escape(c.page)}">silence or review it</a>.</p></body></html>',
        subtype="html",
    )
    return mail


def report_email(project: str, day: str, page: str, sender: str, recipients: list[str]) -> EmailMessage:
    """A daily report as an e-mail: the page itself as the HTML part, a pointer to it as the text part."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = one_line(f"[{project}] Daily error report for {day}", MAX_SUBJECT)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<vigil-report-{project}-{day}@{sender.rpartition('@')[2] or 'vigil'}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(f"Vigil's daily error report of {project} for {day}: open the HTML part of this message.")
    mail.add_alternative(page, subtype="html")
    return mail
