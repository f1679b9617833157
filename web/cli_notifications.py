"""``greenflow notifications``: what the mail delivery did, retry what it gave up, deliver now.

Mail is sent by the worker (``greenflow worker`` / ``serve``) when ``GREENFLOW_SMTP_HOST`` is set;
a message that still fails after ``GREENFLOW_SMTP_MAX_ATTEMPTS`` is ``failed`` and stays listed
here until an operator retries it (docs/notifications.md).
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from engine.clock import isoformat_utc
from engine.notifications import fanout, mail
from engine.notifications.models import MAIL_STATUSES, MailMessage
from web.cli import _EngineErrors, _emit, _engine, _settings, json_option


@click.group("notifications", cls=_EngineErrors)
def notifications_group() -> None:
    """Notifications: the mail queue (sent, waiting, given up), retries, delivering now."""


@notifications_group.command("mail")
@click.option("--status", type=click.Choice(MAIL_STATUSES), default=None, help="Only messages in this state.")
@click.option("--failed", "only_failed", is_flag=True, help="Only messages given up (same as --status failed).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many rows.")
@json_option
@with_appcontext
def notifications_mail(status: str | None, only_failed: bool, limit: int, as_json: bool) -> None:
    """The newest mail messages: id, state, attempts, next attempt (UTC), address, subject, last error."""
    status = "failed" if only_failed else status
    with _engine().db.session() as session:
        query = select(MailMessage).order_by(MailMessage.id.desc()).limit(limit)
        if status:
            query = query.where(MailMessage.status == status)
        rows = [{"id": m.id, "status": m.status, "attempts": m.attempts, "to": m.to_address, "subject": m.subject,
                 "next_attempt_at": isoformat_utc(m.next_attempt_at), "sent_at": isoformat_utc(m.sent_at),
                 "last_error": m.last_error} for m in session.scalars(query)]

    def human(items):
        if not items:
            click.echo("no mail messages")
        for r in items:
            when = r["sent_at"] if r["status"] == "sent" else r["next_attempt_at"]
            error = f"  ({r['last_error']})" if r["last_error"] else ""
            click.echo(f"#{r['id']:<6} {r['status']:<8} tries {r['attempts']:<3} {when}  {r['to']}  {r['subject']}{error}")

    _emit(rows, as_json, human)


@notifications_group.command("retry")
@click.argument("message_ids", nargs=-1, type=int)
@with_appcontext
def notifications_retry(message_ids: tuple[int, ...]) -> None:
    """Send failed (or waiting) messages again at the next round, attempts reset; all failed ones if no id."""
    eng = _engine()
    if not message_ids:
        with eng.db.session() as session:
            message_ids = tuple(session.scalars(select(MailMessage.id).where(MailMessage.status == "failed")))
        if not message_ids:
            click.echo("no failed messages")
            return
    count = mail.retry_now(eng.db, eng.clock, list(message_ids))
    click.echo(f"{count} message(s) will be sent at the worker's next round")


@notifications_group.command("deliver")
@json_option
@with_appcontext
def notifications_deliver(as_json: bool) -> None:
    """Fan the outbox out to the notification centre and send due mail now (what the worker does)."""
    eng = _engine()
    settings = mail.MailSettings.from_settings(_settings())
    result = {**fanout.fan_out(eng.db, eng.clock, mail=settings.enabled),
              **mail.deliver_due(eng.db, eng.clock, settings)}
    _emit(result, as_json, lambda r: click.echo(
        f"{r['rows']} outbox row(s): {r['notifications']} notification(s), {r['mails']} mail(s) queued; "
        f"mail {r['sent']} sent, {r['retry']} to retry, {r['failed']} given up"
        + ("" if settings.enabled else " (mail is off: GREENFLOW_SMTP_HOST is not set)")))
