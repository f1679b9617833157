"""Sending ``mail_message`` rows through SMTP (the standard library's smtplib and email).

Off while no SMTP host is set (``GREENFLOW_SMTP_HOST``; the default, also in the demo). The
worker's leader runs ``deliver_due`` in a background thread of its own, so a slow or dead mail
server never delays a timer, and no command ever waits for mail: commands only wrote the outbox.

- One round opens one SMTP connection and sends up to ``batch`` due messages on it.
- A message that fails is tried again after ``retry_seconds``, then twice as long each time
  (capped at six hours); after ``max_attempts`` it is ``failed`` with the last error, logged,
  and listed by ``greenflow notifications mail --failed`` for operators. A server that cannot
  be reached ends the round (the message tried counts one attempt; the others wait).
- A row is read and updated in short transactions; nothing is held open while talking to
  the server.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select

from engine.notifications.models import MailMessage

log = logging.getLogger(__name__)

MAX_DELAY = dt.timedelta(hours=6)
SECURITY = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class MailSettings:
    host: str = ""
    port: int = 25
    security: str = "none"
    username: str = ""
    password: str = ""
    sender: str = "greenflow@localhost"
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    retry_seconds: int = 60

    @property
    def enabled(self) -> bool:
        return bool(self.host.strip())

    @classmethod
    def from_settings(cls, settings: Any) -> "MailSettings":
        """From ``config.Settings`` (its ``smtp_*`` fields). Raises ValueError for an unknown security."""
        security = (settings.smtp_security or "none").strip().lower()
        if security not in SECURITY:
            raise ValueError(f"GREENFLOW_SMTP_SECURITY must be one of {', '.join(SECURITY)}, not {security!r}")
        return cls(host=settings.smtp_host or "", port=int(settings.smtp_port), security=security,
                   username=settings.smtp_username or "", password=settings.smtp_password or "",
                   sender=settings.smtp_from or "greenflow@localhost",
                   timeout_seconds=float(settings.smtp_timeout_seconds),
                   max_attempts=max(int(settings.smtp_max_attempts), 1), retry_seconds=max(int(settings.smtp_retry_seconds), 1))


def retry_delay(settings: MailSettings, attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: retry_seconds · 2^(attempts−1), capped."""
    return min(dt.timedelta(seconds=settings.retry_seconds * 2 ** max(attempts - 1, 0)), MAX_DELAY)


def build(settings: MailSettings, *, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or "localhost")
    message.set_content(body, charset="utf-8")
    return message


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An open, logged-in SMTP connection (raises OSError / smtplib.SMTPException)."""
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                             context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password)
    return smtp


def deliver_due(db, clock, settings: MailSettings, *, batch: int = 20) -> dict[str, int]:
    """Send the due pending messages (at most ``batch``); returns counts (sent, retry, failed)."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not settings.enabled:
        return counts
    with db.session() as session:
        due = [(m.id, m.to_address, m.subject, m.body) for m in session.scalars(
            select(MailMessage).where(MailMessage.status == "pending", MailMessage.next_attempt_at <= clock.now())
            .order_by(MailMessage.next_attempt_at, MailMessage.id).limit(batch))]
    if not due:
        return counts
    smtp = None
    try:
        for message_id, to, subject, body in due:
            try:
                if smtp is None:
                    smtp = connect(settings)
                smtp.send_message(build(settings, to=to, subject=subject, body=body))
            except (OSError, smtplib.SMTPException) as err:
                counts[_failed(db, clock, settings, message_id, err)] += 1
                if smtp is None or isinstance(err, (OSError, smtplib.SMTPServerDisconnected)):
                    break  # the server is gone: the rest wait for the next round
                continue
            _sent(db, clock, message_id)
            counts["sent"] += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return counts


def _sent(db, clock, message_id: int) -> None:
    with db.unit_of_work() as session:
        row = session.get(MailMessage, message_id)
        row.status, row.sent_at, row.attempts, row.last_error = "sent", clock.now(), row.attempts + 1, None


def _failed(db, clock, settings: MailSettings, message_id: int, err: Exception) -> str:
    with db.unit_of_work() as session:
        row = session.get(MailMessage, message_id)
        row.attempts += 1
        row.last_error = f"{type(err).__name__}: {err}"[:2000]
        if row.attempts >= settings.max_attempts:
            row.status = "failed"
            log.warning("mail %s to %s given up after %d attempts: %s", row.id, row.to_address, row.attempts,
                        row.last_error)
            return "failed"
        row.next_attempt_at = clock.now() + retry_delay(settings, row.attempts)
        log.info("mail %s to %s failed (attempt %d), next at %s: %s", row.id, row.to_address, row.attempts,
                 row.next_attempt_at.isoformat(), row.last_error)
        return "retry"


def retry_now(db, clock, message_ids: list[int] | None = None) -> int:
    """Put failed (or waiting) messages back to be sent at once, attempts reset; returns how many."""
    with db.unit_of_work() as session:
        query = select(MailMessage).where(MailMessage.status.in_(("failed", "pending")))
        if message_ids:
            query = query.where(MailMessage.id.in_(message_ids))
        rows = list(session.scalars(query))
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
        return len(rows)
