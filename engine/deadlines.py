"""办理时限: due dates, reminders and escalation for user tasks that name a ``deadline``.

A user task with the property ``deadline`` (a name of ``config/deadlines.toml``) is due at 18:00
China time of the N-th working day after it opens, like ``dueInWorkingDays``; on top of that the
worker's deadline watch reminds whoever holds it after ``remind_after`` working days (催办提醒)
and, once it is due and still open, escalates to the department named by ``escalate_to``
(逾期督办), the way ``review_step`` does with its boundary timers. The numbers live in config/ so
that changing a period needs no new diagram; an open task keeps the dates it opened with.

- ``due_at`` gives the due date when a task opens (the command runner), ``track`` keeps the
  task's reminder and escalation times in ``task_deadline`` in the same transaction.
- ``sweep`` (a leader job of the worker) writes the reminder and escalation notifications to the
  outbox, each task once, each in its own transaction; the notification centre and mail deliver
  them (``engine.notifications``).

The engine knows no departments: the domain registers where the policies come from
(``deadline_source``) and who is escalated to (``escalation_target``), as ``handlers.deadlines``
does. Errors: ``policies`` raises ValueError naming the entry and key of a malformed table.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine import calendar
from engine.clock import CHINA
from engine.models import HumanTask, Outbox, ProcessInstance
from engine.notifications.models import TaskDeadline

log = logging.getLogger(__name__)

ESCALATIONS = ("supervisor", "organiser", "returner")


@dataclass(frozen=True)
class Deadline:
    name: str
    zh: str
    en: str
    working_days: int
    remind_after: int | None
    escalate_to: str | None


PolicySource = Callable[[], Mapping[str, Mapping[str, Any]]]
# fn(session, task, how) -> (role, scope) of the department to escalate to, or None for nobody.
EscalationTarget = Callable[[Session, HumanTask, str], "tuple[str, str] | None"]
_SOURCE: list[PolicySource] = []
_TARGET: list[EscalationTarget] = []


def deadline_source(fn: PolicySource) -> PolicySource:
    """Register where the policies come from (``config.deadlines``); the last registration wins."""
    _SOURCE[:] = [fn]
    return fn


def escalation_target(fn: EscalationTarget) -> EscalationTarget:
    """Register ``fn(session, task, how) -> (role, scope) | None`` for escalations."""
    _TARGET[:] = [fn]
    return fn


def _whole(value: object, name: str, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"deadlines.toml [{name}] {key} must be a whole number from {low} to {high}, not {value!r}")
    return value


def policies() -> dict[str, Deadline]:
    """Every policy by name (empty when none is registered). Raises ValueError for a bad entry."""
    if not _SOURCE:
        return {}
    result: dict[str, Deadline] = {}
    for name, entry in _SOURCE[0]().items():
        days = _whole(entry.get("working_days"), name, "working_days", 1, 999)
        remind = entry.get("remind_after")
        if remind is not None:
            remind = _whole(remind, name, "remind_after", 1, max(days - 1, 1))
        how = entry.get("escalate_to")
        if how is not None and how not in ESCALATIONS:
            raise ValueError(f"deadlines.toml [{name}] escalate_to must be one of {', '.join(ESCALATIONS)}, not {how!r}")
        result[name] = Deadline(name=name, zh=str(entry.get("zh") or name), en=str(entry.get("en") or name),
                                working_days=days, remind_after=remind, escalate_to=how)
    return result


def policy(name: str) -> Deadline:
    """The policy ``name``; RuntimeError when there is none (deploy refuses such a diagram)."""
    found = policies().get(name)
    if found is None:
        raise RuntimeError(f"deadline {name!r} is not in config/deadlines.toml")
    return found


def due_at(name: str, opened: dt.datetime) -> dt.datetime:
    """When a task opened at ``opened`` under policy ``name`` is due (raises CalendarYearMissing)."""
    return calendar.working_days_later(opened, policy(name).working_days)


def track(session: Session, now: dt.datetime, opened: list[tuple[int, int, str | None, dt.datetime | None]]) -> None:
    """Keep reminder and escalation times of tasks just opened: (task id, instance id, deadline, due_at)."""
    for task_id, instance_id, name, due in opened:
        if not name or due is None:
            continue
        rule = policy(name)
        remind = calendar.working_days_later(now, rule.remind_after) if rule.remind_after else None
        session.add(TaskDeadline(task_id=task_id, instance_id=instance_id, deadline=name, remind_at=remind,
                                 due_at=due, escalate_to=rule.escalate_to))


# --------------------------------------------------------------------------- the watch

def sweep(db, clock, *, limit: int = 200) -> dict[str, int]:
    """Queue the reminders and escalations that fell due; returns how many of each were queued.

    A reminder still unsent when the task is already due is skipped (the escalation says more).
    Tasks that closed are left alone.
    """
    now = clock.now()
    counts = {"reminders": 0, "escalations": 0}
    with db.session() as session:
        ids = list(session.scalars(
            select(TaskDeadline.task_id).join(HumanTask, HumanTask.id == TaskDeadline.task_id)
            .where(HumanTask.status == "open")
            .where(or_(and_(TaskDeadline.reminded_at.is_(None), TaskDeadline.remind_at <= now),
                       and_(TaskDeadline.escalated_at.is_(None), TaskDeadline.due_at <= now)))
            .order_by(TaskDeadline.task_id).limit(limit)))
    for task_id in ids:
        with db.unit_of_work() as session:
            row = session.scalar(select(TaskDeadline).where(TaskDeadline.task_id == task_id)
                                 .with_for_update(skip_locked=True))
            if row is None:
                continue
            task = session.get(HumanTask, task_id)
            if task is None or task.status != "open":
                row.reminded_at = row.reminded_at or now
                row.escalated_at = row.escalated_at or now
                continue
            rule = policies().get(row.deadline)
            due = row.due_at <= now
            if row.escalated_at is None and due:
                row.reminded_at = row.reminded_at or now
                row.escalated_at = now
                if row.escalate_to and _TARGET:
                    target = _TARGET[0](session, task, row.escalate_to)
                    if target is not None:
                        _queue(session, task, row, rule, "escalation", target, now)
                        counts["escalations"] += 1
            elif row.reminded_at is None and row.remind_at is not None and row.remind_at <= now:
                row.reminded_at = now
                _queue(session, task, row, rule, "reminder", (task.role, task.scope), now)
                counts["reminders"] += 1
    return counts


def _china(when: dt.datetime) -> str:
    local = when.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _queue(session: Session, task: HumanTask, row: TaskDeadline, rule: Deadline | None, kind: str,
           target: tuple[str, str], now: dt.datetime) -> None:
    instance = session.get(ProcessInstance, task.instance_id)
    title = instance.title if instance is not None else ""
    days = rule.working_days if rule else None
    due_zh, due_en = _china(row.due_at), row.due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    period_zh = f"办理时限{days}个工作日，" if days else ""
    period_en = f"{days} working days, " if days else ""
    if kind == "reminder":
        zh = f"「{task.name}」即将到期，请及时办理（{title}；{period_zh}到期时间：{due_zh}）"
        en = f"\"{task.name}\" is due soon; please complete it ({title}; {period_en}due {due_en} China time)"
    elif row.escalate_to == "returner":
        zh = (f"「{task.name}」已超过办理时限仍未完成，请联系申报单位督促办理或依规处理（{title}；{period_zh}"
              f"到期时间：{due_zh}）")
        en = (f"\"{task.name}\" is overdue: please contact the applicant or decide how to proceed ({title}; "
              f"{period_en}due {due_en} China time)")
    else:
        zh = f"「{task.name}」已超过办理时限仍未办结，请督促办理（{title}；{period_zh}到期时间：{due_zh}）"
        en = f"\"{task.name}\" is overdue; please see that it is done ({title}; {period_en}due {due_en} China time)"
    role, scope = target
    payload = {"kind": kind, "role": role, "scope": scope, "message_zh": zh, "message_en": en,
               "instance_id": task.instance_id, "process_id": instance.process_id if instance else None,
               "instance_title": title, "task_name": task.name, "task_id": task.id,
               "due_at": row.due_at.isoformat(), "deadline": row.deadline}
    if kind == "reminder" and task.assignee:
        payload["to"] = task.assignee  # a claimed task: its holder, not everyone of the office
    session.add(Outbox(instance_id=task.instance_id, kind="notification", created_at=now, payload=payload))
