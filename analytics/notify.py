"""Notifications delivered: grouped per rule and channel, sent by webhook or e-mail, retried until delivered.

The notifier runs in the analytics process beside the consumer, on its own cursor, and
only ever touches what the evaluation (``analytics/alerts.py``) has committed:

1. **Grouping.** The alerts owed to one channel by one rule wait ``group_wait`` for others,
   then go out together as one message (a storm of 500 new issues is one message). After a
   message, the rule's next one to that channel waits until ``group_interval`` has passed.
   A message is written (``alert_messages``, its alerts pointing at it) before it is sent.
2. **Delivery.** A pending message due is rendered for its channel (``analytics/messages.py``)
   and sent. Delivered, it is ``sent``; refused for good (a webhook's 4xx, a recipient the
   server refuses) it is ``failed`` at once; otherwise it is tried again after ``retry``,
   twice as long each time (at most ``MAX_BACKOFF``), until ``give_up`` after it was due,
   when it is ``failed``.

A message is marked sent after the receiver took it: if the process dies in between, the
message is sent again after the restart, with the same id (the webhook's ``Idempotency-Key``
header and ``id`` field, the e-mail's ``Message-ID``) for the receiver to recognise it. No
alert is ever put into a second message, and an alert fired once is never written twice.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import duckdb
import httpx

from analytics.messages import BODIES, Content, content, email_message, message_key, one_line, report_email
from analytics.store import transaction
from contracts.alerts import Channel
from contracts.projects import Project

log = logging.getLogger("vigil.analytics")

MAX_BACKOFF = timedelta(minutes=15)
MAX_ERROR = 300
WEBHOOK_TIMEOUT = 10.0
#: Messages sent per turn; the rest wait for the next.
BATCH = 20


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
    # Most turns find nothing whose wait is over: one cheap read says so without a transaction every second.
    over = con.execute(
        "SELECT 1 FROM alert_notifications WHERE message_id IS NULL AND created_at <= ? LIMIT 1",
        [now - delivery.group_wait],
    ).fetchall()
    if not over:
        return 0
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


def _send_message(
    channel: Channel | None, message: dict[str, Any], alerts: list[dict[str, Any]], delivery: Delivery
) -> None:
    if channel is None:
        raise SendError(f"project {message['project']} has no channel {message['channel']} any more", permanent=True)
    send(channel, content(message, alerts, delivery.dashboard_url), delivery.smtp)


def _send_report(project: str, day: date, page: str, recipients: str | None, smtp: Smtp) -> None:
    _send_mail(smtp, report_email(project, day.isoformat(), page, smtp.sender,
                                  [r for r in (recipients or "").split(",") if r]))  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _Failure:
    """An attempt that did not go through, and what follows: tried again after ``wait``, or given up."""

    error: str
    given_up: bool
    wait: timedelta
    next_attempt_at: datetime | None

    @property
    def status(self) -> str:
        return "failed" if self.given_up else "pending"

    @property
    def outcome(self) -> str:
        return "failed" if self.given_up else "retried"


def _attempt(
    send: Callable[[], None],
    what: str,
    attempts: int,
    first: datetime,
    clock: Callable[[], datetime],
    delivery: Delivery,
) -> _Failure | None:
    """Try ``send`` once (after ``attempts`` before it, owed since ``first``); None when it went through.

    Otherwise it is tried again after ``retry``, twice as long each time (at most ``MAX_BACKOFF``),
    unless it was refused for good or ``give_up`` has passed since ``first``.
    """
    try:
        send()
    except SendError as e:
        failed = e
    except Exception as e:  # a bug or a surprise of one message must not hold back those behind it
        log.exception("%s", what)
        failed = SendError(f"{type(e).__name__}: {e}")
    else:
        return None
    at = clock()
    wait = min(delivery.retry * 2**attempts, MAX_BACKOFF)
    given_up = failed.permanent or at + wait - first > delivery.give_up
    return _Failure(one_line(str(failed), MAX_ERROR), given_up, wait, None if given_up else at + wait)


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
        sending = functools.partial(_send_message, channel, message, alerts, delivery)
        failure = _attempt(sending, f"alerts: message {message_id}", attempts, created_at, clock or (lambda: now),
                           delivery)  # fmt: skip
        if failure is not None:
            con.execute(
                """UPDATE alert_messages SET attempts = attempts + 1, last_error = ?, status = ?,
                   next_attempt_at = ? WHERE message_id = ?""",
                [failure.error, failure.status, failure.next_attempt_at, message_id],
            )
            outcome[failure.outcome] += 1
            then = " (given up)" if failure.given_up else f" (again in {failure.wait.total_seconds():g} s)"
            log.warning("alerts: message %s to %s: %s%s", message_id, channel_name, failure.error, then)
            continue
        at = clock() if clock else now
        con.execute(
            "UPDATE alert_messages SET attempts = attempts + 1, status = 'sent', sent_at = ?, last_error = NULL, "
            "next_attempt_at = NULL WHERE message_id = ?",
            [at, message_id],
        )
        outcome["sent"] += 1
    return outcome


def deliver_reports(con: duckdb.DuckDBPyConnection, now: datetime, delivery: Delivery) -> dict[str, int]:
    """Mail the daily reports owed (``analytics/report.py``), retried as alert messages are."""
    due = con.execute(
        """SELECT project_id, project, day, report_html, recipients, mail_attempts, made_at FROM daily_reports
           WHERE mail_status = 'pending' AND mail_next_attempt_at <= ? ORDER BY mail_next_attempt_at, day, project_id
           LIMIT ?""",
        [now, BATCH],
    ).fetchall()
    outcome = {"sent": 0, "retried": 0, "failed": 0}
    for project_id, project, day, page, recipients, attempts, made_at in due:
        key = [project_id, day]
        sending = functools.partial(_send_report, project, day, page, recipients, delivery.smtp)
        failure = _attempt(sending, f"reports: the mail of {project} for {day}", attempts, made_at, lambda: now,
                           delivery)  # fmt: skip
        if failure is not None:
            con.execute(
                """UPDATE daily_reports SET mail_attempts = mail_attempts + 1, mail_error = ?, mail_status = ?,
                   mail_next_attempt_at = ? WHERE project_id = ? AND day = ?""",
                [failure.error, failure.status, failure.next_attempt_at, *key],
            )
            outcome[failure.outcome] += 1
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
        if self._thread.ident is not None:  # started (a writer that runs no jobs never starts it)
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
