"""Tables of the notification centre, mail delivery and deadline watch (migration 0014).

- ``notification``: one row per recipient user of an outbox notification: what the bell counts
  and the centre lists, until the user marks it read.
- ``mail_message``: one e-mail to one address, sent by the worker; retried with back-off and
  given up (``failed``) after a number of attempts, for operators to see.
- ``task_deadline``: a user task opened with a ``deadline`` property (config/deadlines.toml):
  when to remind, when it is due, and whether the reminder and the escalation went out.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

MAIL_STATUSES = ("pending", "sent", "failed")


class Notification(Base):
    """A message for one user (站内通知), from one outbox row."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("outbox_id", "username"),  # a row fanned out twice (a crash) notifies once
        Index("ix_notification_user", "username", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    kind: Mapped[str] = mapped_column(String(40))
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MailMessage(Base):
    """One e-mail to one address; the worker sends it and retries it with back-off."""

    __tablename__ = "mail_message"
    __table_args__ = (
        UniqueConstraint("outbox_id", "to_address"),
        Index("ix_mail_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    username: Mapped[str | None] = mapped_column(String(120))  # None: a member of the public (their contact)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # MAIL_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TaskDeadline(Base):
    """The 办理时限 of one open user task: reminder and escalation times, and whether they went out."""

    __tablename__ = "task_deadline"
    __table_args__ = (
        Index("ix_task_deadline_remind", "reminded_at", "remind_at"),
        Index("ix_task_deadline_due", "escalated_at", "due_at"),
    )

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True, autoincrement=False)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    deadline: Mapped[str] = mapped_column(String(60))  # the name in config/deadlines.toml
    remind_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    escalate_to: Mapped[str | None] = mapped_column(String(20))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
