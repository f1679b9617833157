"""The notification centre's queries: a user's unread count, pages of their notifications, marking read.

Plain functions over a session; a user only ever sees and marks their own rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.notifications.models import Notification

PAGE_SIZE = 20


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    message_zh: str
    message_en: str
    instance_id: int | None
    task_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None


def unread_count(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.username == username, Notification.read_at.is_(None))) or 0


def page(session: Session, username: str, *, unread_only: bool = False, page_no: int = 1,
         size: int = PAGE_SIZE) -> tuple[list[NotificationView], int]:
    """(the notifications of page ``page_no``, newest first; how many there are in all)."""
    if isinstance(page_no, bool) or not isinstance(page_no, int) or page_no < 1:
        raise InvalidInput("page must be a whole number from 1", field="page")
    where = [Notification.username == username]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    rows = session.scalars(select(Notification).where(*where).order_by(Notification.id.desc())
                           .offset((page_no - 1) * size).limit(size))
    return [_view(n) for n in rows], total


def get(session: Session, username: str, notification_id: int) -> NotificationView | None:
    row = session.get(Notification, notification_id)
    return _view(row) if row is not None and row.username == username else None


def mark_read(session: Session, username: str, notification_id: int, *, now: dt.datetime) -> bool:
    """Mark one of ``username``'s notifications read; False if it is not theirs (or does not exist)."""
    row = session.get(Notification, notification_id)
    if row is None or row.username != username:
        return False
    if row.read_at is None:
        row.read_at = now
    return True


def mark_all_read(session: Session, username: str, *, now: dt.datetime) -> int:
    result = session.execute(update(Notification).where(Notification.username == username,
                                                        Notification.read_at.is_(None)).values(read_at=now))
    return result.rowcount or 0


def _view(n: Notification) -> NotificationView:
    return NotificationView(id=n.id, kind=n.kind, message_zh=n.message_zh, message_en=n.message_en,
                            instance_id=n.instance_id, task_id=n.task_id, created_at=n.created_at, read_at=n.read_at)
