"""Cancel an instance (an administrative act, with a reason)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import delete, update

from engine.commands._base import Command, InstanceRun
from engine.errors import InvalidInput
from engine.models import HumanTask, MessageWait, Timer


@dataclass(frozen=True)
class CancelInstance(Command):
    instance_id: int
    reason: str
    event_type: ClassVar[str] = "instance_cancelled"


def handle(run: InstanceRun, cmd: CancelInstance) -> None:
    if not cmd.reason or not cmd.reason.strip():
        raise InvalidInput("a reason is required to cancel an instance", field="reason")
    run.workflow.cancel()
    s, iid = run.session, run.instance.id
    s.execute(update(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open")
              .values(status="cancelled", completed_at=run.now))
    s.execute(delete(Timer).where(Timer.instance_id == iid))
    s.execute(delete(MessageWait).where(MessageWait.instance_id == iid))
    run.record(cmd.event_type, {"reason": cmd.reason})
    from engine import state

    run.instance.status = "cancelled"
    run.instance.completed_at = run.now
    run.instance.state = state.dump(run.workflow)
    run.instance.row_version += 1
    run.instance.updated_at = run.now
    run.state_untouched = True
