"""From the outbox to people: one ``notification`` row per recipient user, one ``mail_message`` per address.

Commands only write outbox rows (kind ``notification``) in their own transaction; the worker's
leader calls ``fan_out`` on every tick. Each outbox row is settled in its own short transaction:
its recipients get a notification (the bell counts it), those with an e-mail address a mail
when mail is on, and the row's ``sent_at`` is set with the counts in ``payload["delivery"]``.
A row is never fanned out twice (the row is locked and re-checked; notifications are unique per
outbox row and user).

Who gets it, from the payload:
- ``to`` = a username: that user (if active); ``to`` = ``role:<role>@<scope>``: every active
  holder of the role at the scope; ``to`` = an e-mail address (an objector's or reporter's
  contact): a mail only; any other ``to`` (a telephone number): nobody here (the department
  answers by phone);
- otherwise ``role`` + ``scope``: every active holder of the role at the scope.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Outbox, RoleGrant, UserAccount
from engine.notifications import messages
from engine.notifications.models import MailMessage, Notification

KIND = "notification"
EMAIL = re.compile(r"[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[A-Za-z]{2,}")


def is_email(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 254 and EMAIL.fullmatch(value.strip()) is not None


def holders(session: Session, role: str, scope: str) -> list[UserAccount]:
    """Active users granted ``role`` at ``scope``."""
    return list(session.scalars(
        select(UserAccount).join(RoleGrant, RoleGrant.user_id == UserAccount.id)
        .where(RoleGrant.role == role, RoleGrant.scope == scope, UserAccount.active.is_(True))
        .order_by(UserAccount.username)))


def recipients(session: Session, payload: dict[str, Any]) -> tuple[list[UserAccount], list[str]]:
    """(users, bare e-mail addresses) a notification goes to (see the module docstring)."""
    to = payload.get("to")
    if isinstance(to, str) and to:
        if to.startswith("role:"):
            role, _, scope = to.removeprefix("role:").partition("@")
            return holders(session, role, scope), []
        user = session.scalar(select(UserAccount).where(UserAccount.username == to))
        if user is not None:
            return ([user] if user.active else []), []
        return [], ([to.strip()] if is_email(to) else [])
    role, scope = payload.get("role"), payload.get("scope")
    if isinstance(role, str) and isinstance(scope, str):
        return holders(session, role, scope), []
    return [], []


def pending_ids(session: Session, *, limit: int) -> list[int]:
    return list(session.scalars(select(Outbox.id).where(Outbox.kind == KIND, Outbox.sent_at.is_(None))
                                .order_by(Outbox.id).limit(limit)))


def fan_out(db, clock, *, mail: bool, limit: int = 200) -> dict[str, int]:
    """Settle up to ``limit`` unsettled notification rows; returns counts (rows, notifications, mails)."""
    with db.session() as session:
        ids = pending_ids(session, limit=limit)
    counts = {"rows": 0, "notifications": 0, "mails": 0}
    for outbox_id in ids:
        with db.unit_of_work() as session:
            done = settle(session, outbox_id, now=clock.now(), mail=mail)
        if done is not None:
            counts["rows"] += 1
            counts["notifications"] += done[0]
            counts["mails"] += done[1]
    return counts


def settle(session: Session, outbox_id: int, *, now: dt.datetime, mail: bool) -> tuple[int, int] | None:
    """Fan one outbox row out in ``session`` (the caller commits); None if it was settled already."""
    row = session.scalar(select(Outbox).where(Outbox.id == outbox_id).with_for_update(skip_locked=True))
    if row is None or row.kind != KIND or row.sent_at is not None:
        return None
    payload = dict(row.payload or {})
    users, addresses = recipients(session, payload)
    by_name = None
    if payload.get("by"):
        by_name = session.scalar(select(UserAccount.display_name).where(UserAccount.username == payload["by"]))
    zh, en = messages.compose(payload, by_name=by_name)
    kind = str(payload.get("kind") or "notice")[:40]
    instance_id = payload.get("instance_id") if isinstance(payload.get("instance_id"), int) else row.instance_id
    task_id = payload.get("task_id") if isinstance(payload.get("task_id"), int) else None
    subject = messages.subject(payload)
    body = _mail_body(zh)
    mailed = 0
    for user in users:
        session.add(Notification(username=user.username, outbox_id=row.id, kind=kind, message_zh=zh, message_en=en,
                                 instance_id=instance_id, task_id=task_id, created_at=now))
        if mail and is_email(user.email):
            addresses.append(user.email.strip())
    if mail:
        owners = {u.email.strip(): u.username for u in users if is_email(u.email)}
        for address in dict.fromkeys(addresses):  # once per address, in order
            session.add(MailMessage(outbox_id=row.id, username=owners.get(address), to_address=address,
                                    subject=subject, body=body, status="pending", attempts=0,
                                    next_attempt_at=now, created_at=now))
            mailed += 1
    row.sent_at = now
    row.payload = {**payload, "delivery": {"notified": [u.username for u in users], "mails": mailed}}
    return len(users), mailed


def _mail_body(zh: str) -> str:
    return (f"{zh}\n\n"
            "请登录贵州省绿色制造梯度培育管理平台，在“通知”中查看并办理。\n"
            "本邮件由平台自动发送，请勿直接回复。\n")
