"""Fire a due timer. Idempotent: a timer that already fired (row gone) changes nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import bindparam, select

from engine import runtime
from engine.commands._base import Command, InstanceRun
from engine.commands.runner import Locate
from engine.errors import NotFound
from engine.models import ProcessInstance, Timer


@dataclass(frozen=True)
class FireTimer(Command):
    instance_id: int
    task_guid: str
    # Workers set this: skip the timer if another worker holds its instance right now.
    skip_locked: bool = False
    event_type: ClassVar[str] = "timer_fired"


def due_timers(session, now, *, limit: int) -> list[tuple[int, str]]:
    """(instance id, task guid) of timers due strictly before ``now`` (as SpiffWorkflow fires them),
    oldest first; instances in incident wait for an operator. Reads only the ``timer`` table."""
    rows = session.execute(
        select(Timer.instance_id, Timer.task_guid)
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(Timer.due_at < now, ProcessInstance.status != "incident")
        .order_by(Timer.due_at, Timer.id).limit(limit)
    ).all()
    return [(instance_id, guid) for instance_id, guid in rows]


def locate(cmd: FireTimer) -> Locate:
    """The instance of a still-waiting timer; nothing (not an error) once the timer has fired."""
    if not isinstance(cmd.instance_id, int) or not isinstance(cmd.task_guid, str):
        raise NotFound("timer not found")
    return Locate(_BY_TIMER, f"timer {cmd.task_guid}", skip_locked=cmd.skip_locked, missing_ok=True,
                  params={"task_guid": cmd.task_guid, "instance_id": cmd.instance_id})


_BY_TIMER = (select(ProcessInstance).join(Timer, Timer.instance_id == ProcessInstance.id)
             .where(Timer.task_guid == bindparam("task_guid"), ProcessInstance.id == bindparam("instance_id")))


def handle(run: InstanceRun, cmd: FireTimer) -> None:
    timer = run.session.scalar(select(Timer).where(Timer.task_guid == cmd.task_guid,
                                                   Timer.instance_id == run.instance.id))
    if timer is None or timer.due_at >= run.now:  # like the library: due strictly before now
        run.state_untouched = True
        run.result = {"fired": False}
        return
    runtime.advance(run.workflow)
    if any(t.task_guid == cmd.task_guid for t in runtime.waiting_timers(run.workflow)):
        # The library fires a timer only strictly after its due time: not yet, nothing changed.
        run.state_untouched = True
        run.result = {"fired": False}
        return
    run.record(cmd.event_type, {"due_at": timer.due_at.isoformat(), "bpmn_id": timer.bpmn_id},
               task_guid=cmd.task_guid, bpmn_id=timer.bpmn_id)
    run.result = {"fired": True}
