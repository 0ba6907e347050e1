"""Notifications delivered: grouped per rule and channel, sent by webhook or e-mail, retried until delivered.

The notifier runs in the analytics process beside the consumer, on its own cursor, and
only ever touches what the evaluation (``analytics/alerts.py``) has committed:

1. **Grouping.** The alerts owed to one channel by one rule wait ``group_wait`` for others,
   then go out together as one message (a storm of 500 new issues is one message). After a
   message, the rule's next one to that channel waits until ``group_interval`` has passed.
   A message is written (``alert_messages``, its alerts pointing at it) before it is sent.
2. **Delivery.** A pending message due is rendered for its channel and sent. Delivered, it
   is ``sent``; refused for good (a webhook's 4xx, a recipient the server refuses) it is
   ``failed`` at once; otherwise it is tried again after ``retry``, twice as long each time
   (at most ``MAX_BACKOFF``), until ``give_up`` after it was due, when it is ``failed``.

A message is marked sent after the receiver took it: if the process dies in between, the
message is sent again after the restart, with the same id (the webhook's ``Idempotency-Key``
header and ``id`` field, the e-mail's ``Message-ID``) for the receiver to recognise it. No
alert is ever put into a second message, and an alert fired once is never written twice.
"""

from __future__ import annotations

import dataclasses
import email.policy
import html
import json
import logging
import re
import smtplib
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlencode

import duckdb
import httpx

from analytics.store import transaction
from contracts.alerts import Channel
from contracts.projects import Project

log = logging.getLogger("vigil.analytics")

MAX_BACKOFF = timedelta(minutes=15)
#: Alerts listed in a message's text; the JSON body lists up to ``MAX_JSON_ALERTS``.
MAX_LINES = 20
MAX_JSON_ALERTS = 100
MAX_SUBJECT = 200
MAX_ERROR = 300
WEBHOOK_TIMEOUT = 10.0
#: Messages sent per turn; the rest wait for the next.
BATCH = 20
#: Headers folded no shorter than RFC 5322's limit: a subject (at most ``MAX_SUBJECT``) stays on one line.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


@dataclasses.dataclass(frozen=True)
class Smtp:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "vigil@localhost"
    ca_file: str = ""
    timeout: float = 20.0


@dataclasses.dataclass(frozen=True)
class Delivery:
    """How messages are grouped, retried and sent."""

    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    retry: timedelta = timedelta(seconds=10)
    give_up: timedelta = timedelta(hours=24)
    dashboard_url: str = "http://127.0.0.1:8471"
    smtp: Smtp = Smtp()


class SendError(Exception):
    """A delivery that did not go through; ``permanent`` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# Grouping.


def group(con: duckdb.DuckDBPyConnection, now: datetime, delivery: Delivery) -> int:
    """Put the alerts whose wait is over into messages, one per rule and channel; returns how many were made."""
    made = 0
    with transaction(con):
        waiting = con.execute(
            """SELECT a.project_id, any_value(a.project), a.rule, n.channel, min(n.created_at), count(*)
               FROM alert_notifications n JOIN alerts a USING (alert_id) WHERE n.message_id IS NULL
               GROUP BY a.project_id, a.rule, n.channel ORDER BY min(n.created_at)"""
        ).fetchall()
        if not waiting:
            return 0
        last = {
            (p, r, c): t
            for p, r, c, t in con.execute(
                "SELECT project_id, rule, channel, max(created_at) FROM alert_messages GROUP BY ALL"
            ).fetchall()
        }
        next_id = int(con.execute("SELECT coalesce(max(message_id), 0) + 1 FROM alert_messages").fetchall()[0][0])
        for project_id, project, rule, channel, first, count in waiting:
            if first > now - delivery.group_wait:
                continue
            previous = last.get((project_id, rule, channel))
            if previous is not None and previous > now - delivery.group_interval:
                continue
            con.execute(
                "INSERT INTO alert_messages VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, NULL)",
                [next_id, project_id, project, rule, channel, count, now, now],
            )
            con.execute(
                """UPDATE alert_notifications SET message_id = ? WHERE message_id IS NULL AND channel = ?
                   AND alert_id IN (SELECT alert_id FROM alerts WHERE project_id = ? AND rule = ?)""",
                [next_id, channel, project_id, rule],
            )
            next_id += 1
            made += 1
    return made


# Rendering.


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


def _one_line(text: str, most: int) -> str:
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
        lines.append((_one_line(alert["title"], 500), base + path))
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
        message["message_id"], project, rule, kind, message["channel"], _one_line(subject, MAX_SUBJECT), lines,
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


# Sending.


def send_webhook(channel: Channel, c: Content) -> None:
    body = json.dumps(BODIES[channel.format](c), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Vigil-Alerts/1",
        "Idempotency-Key": message_key(c.message_id),
    }
    try:
        response = httpx.post(channel.webhook, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        raise SendError(f"webhook: {type(e).__name__}: {e}") from None
    if response.is_success:
        return
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
    raise SendError(f"webhook answered {response.status_code}: {response.text[:120]}", permanent=permanent)


def send_email(smtp: Smtp, channel: Channel, c: Content) -> None:
    _send_mail(smtp, email_message(c, smtp.sender, channel.email))


def _send_mail(smtp: Smtp, mail: EmailMessage) -> None:
    if not smtp.host:
        raise SendError("no SMTP server: set [analytics] smtp_host (VIGIL_ANALYTICS_SMTP_HOST)")
    try:
        context = ssl.create_default_context(cafile=smtp.ca_file or None)
        server: smtplib.SMTP
        if smtp.security == "tls":
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with server:
            if smtp.security == "starttls":
                server.starttls(context=context)
            if smtp.username:
                server.login(smtp.username, smtp.password)
            refused = server.send_message(mail)
        if refused:
            log.warning("e-mail: some recipients refused (the others got it): %s", str(refused)[:MAX_ERROR])
    except smtplib.SMTPRecipientsRefused as e:
        # 4xx is "not now" (greylisting, a full mailbox): tried again; 5xx for every recipient is for good.
        permanent = all(code >= 500 for code, _ in e.recipients.values())
        raise SendError(f"e-mail: every recipient refused: {str(e.recipients)[:200]}", permanent=permanent) from None
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
        raise SendError(f"e-mail: {e.smtp_code} {e.smtp_error!r}"[:MAX_ERROR], permanent=e.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as e:
        raise SendError(f"e-mail: {type(e).__name__}: {e}") from None


def send(channel: Channel, c: Content, smtp: Smtp) -> None:
    if channel.email:
        send_email(smtp, channel, c)
    else:
        send_webhook(channel, c)


def deliver(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    projects: dict[int, Project],
    delivery: Delivery,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, int]:
    """Group what waits, then send the messages due; returns how many were sent, retried and given up."""
    group(con, now, delivery)
    due = con.execute(
        """SELECT message_id, project_id, project, rule, channel, attempts, created_at FROM alert_messages
           WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, message_id LIMIT ?""",
        [now, BATCH],
    ).fetchall()
    outcome = {"sent": 0, "retried": 0, "failed": 0}
    for message_id, project_id, project_name, rule, channel_name, attempts, created_at in due:
        message = {"message_id": message_id, "project": project_name, "rule": rule, "channel": channel_name}
        cursor = con.execute(
            """SELECT a.* FROM alert_notifications n JOIN alerts a USING (alert_id)
               WHERE n.message_id = ? ORDER BY a.alert_id""",
            [message_id],
        )
        columns = [d[0] for d in cursor.description or []]
        alerts = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        project = projects.get(project_id)
        channel = next((c for c in project.channels if c.name == channel_name), None) if project else None
        try:
            if channel is None:
                raise SendError(f"project {project_name} has no channel {channel_name} any more", permanent=True)
            try:
                send(channel, content(message, alerts, delivery.dashboard_url), delivery.smtp)
            except SendError:
                raise
            except Exception as e:  # a bug or a surprise of one message must not hold back those behind it
                log.exception("alerts: message %s", message_id)
                raise SendError(f"{type(e).__name__}: {e}") from None
        except SendError as e:
            at = clock() if clock else now
            error = _one_line(str(e), MAX_ERROR)
            wait = min(delivery.retry * 2**attempts, MAX_BACKOFF)
            given_up = e.permanent or at + wait - created_at > delivery.give_up
            con.execute(
                """UPDATE alert_messages SET attempts = attempts + 1, last_error = ?, status = ?,
                   next_attempt_at = ? WHERE message_id = ?""",
                [error, "failed" if given_up else "pending", None if given_up else at + wait, message_id],
            )
            outcome["failed" if given_up else "retried"] += 1
            log.warning("alerts: message %s to %s: %s%s", message_id, channel_name, error,
                        " (given up)" if given_up else f" (again in {wait.total_seconds():g} s)")  # fmt: skip
            continue
        at = clock() if clock else now
        con.execute(
            "UPDATE alert_messages SET attempts = attempts + 1, status = 'sent', sent_at = ?, last_error = NULL, "
            "next_attempt_at = NULL WHERE message_id = ?",
            [at, message_id],
        )
        outcome["sent"] += 1
    return outcome


def report_email(project: str, day: str, page: str, sender: str, recipients: list[str]) -> EmailMessage:
    """A daily report as an e-mail: the page itself as the HTML part, a pointer to it as the text part."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = _one_line(f"[{project}] Daily error report for {day}", MAX_SUBJECT)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<vigil-report-{project}-{day}@{sender.rpartition('@')[2] or 'vigil'}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(f"Vigil's daily error report of {project} for {day}: open the HTML part of this message.")
    mail.add_alternative(page, subtype="html")
    return mail


def deliver_reports(con: duckdb.DuckDBPyConnection, now: datetime, delivery: Delivery) -> dict[str, int]:
    """Mail the daily reports owed (``analytics/report.py``), retried as alert messages are."""
    due = con.execute(
        """SELECT project_id, project, day, report_html, recipients, mail_attempts, made_at FROM daily_reports
           WHERE mail_status = 'pending' AND mail_next_attempt_at <= ? ORDER BY mail_next_attempt_at LIMIT ?""",
        [now, BATCH],
    ).fetchall()
    outcome = {"sent": 0, "retried": 0, "failed": 0}
    for project_id, project, day, page, recipients, attempts, made_at in due:
        key = [project_id, day]
        try:
            try:
                mail = report_email(project, day.isoformat(), page, delivery.smtp.sender,
                                    [r for r in (recipients or "").split(",") if r])  # fmt: skip
                _send_mail(delivery.smtp, mail)
            except SendError:
                raise
            except Exception as e:
                log.exception("reports: the mail of %s for %s", project, day)
                raise SendError(f"{type(e).__name__}: {e}") from None
        except SendError as e:
            wait = min(delivery.retry * 2**attempts, MAX_BACKOFF)
            given_up = e.permanent or now + wait - made_at > delivery.give_up
            con.execute(
                """UPDATE daily_reports SET mail_attempts = mail_attempts + 1, mail_error = ?, mail_status = ?,
                   mail_next_attempt_at = ? WHERE project_id = ? AND day = ?""",
                [_one_line(str(e), MAX_ERROR), "failed" if given_up else "pending", None if given_up else now + wait,
                 *key],
            )  # fmt: skip
            outcome["failed" if given_up else "retried"] += 1
            continue
        con.execute(
            """UPDATE daily_reports SET mail_attempts = mail_attempts + 1, mail_status = 'sent', mailed_at = ?,
               mail_error = NULL, mail_next_attempt_at = NULL WHERE project_id = ? AND day = ?""",
            [now, *key],
        )
        outcome["sent"] += 1
    return outcome


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Notifier:
    """Delivers in a thread of its own, every ``every`` seconds, until ``stop``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        projects: Callable[[], dict[int, Project]],
        delivery: Delivery,
        every: float = 1.0,
    ) -> None:
        self.con, self.projects, self.delivery, self.every = con, projects, delivery, every
        self.stopping = threading.Event()
        self.last_error = ""
        self._thread = threading.Thread(target=self._run, name="vigil-notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self._turn("alerts", lambda: deliver(self.con, utcnow(), self.projects(), self.delivery, clock=utcnow))
            self._turn("reports", lambda: deliver_reports(self.con, utcnow(), self.delivery))
            self.stopping.wait(self.every)

    def _turn(self, what: str, work: Callable[[], object]) -> None:
        """One delivery turn; whatever it raises is logged, and what is owed stays in the tables for the next."""
        try:
            work()
        except duckdb.Error as e:
            # The evaluation committed meanwhile on the same rows, or the file is busy: the next turn retries.
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("%s: delivery turn failed: %s", what, e)
        except Exception as e:  # never let the thread die
            self.last_error = f"{type(e).__name__}: {e}"
            log.exception("%s: delivery turn failed", what)
