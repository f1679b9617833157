"""Fire a due timer. Idempotent: a timer that already fired (row gone) changes nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select

from engine import runtime
from engine.commands._base import Command, InstanceRun
from engine.models import Timer


@dataclass(frozen=True)
class FireTimer(Command):
    instance_id: int
    task_guid: str
    event_type: ClassVar[str] = "timer_fired"


def handle(run: InstanceRun, cmd: FireTimer) -> None:
    timer = run.session.scalar(select(Timer).where(Timer.task_guid == cmd.task_guid,
                                                   Timer.instance_id == run.instance.id))
    due = timer.due_at if timer is not None else None
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=run.now.tzinfo)
    if timer is None or due > run.now:
        run.state_untouched = True
        run.result = {"fired": False}
        return
    run.record(cmd.event_type, {"due_at": due.isoformat(), "bpmn_id": timer.bpmn_id},
               task_guid=cmd.task_guid, bpmn_id=timer.bpmn_id)
    runtime.advance(run.workflow)
    run.result = {"fired": True}
