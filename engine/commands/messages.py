"""Deliver a message to an instance; buffered if the instance is not waiting for it right now."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine import runtime, services
from engine.commands._base import Command, InstanceRun
from engine.errors import InvalidInput
from engine.models import BufferedMessage


@dataclass(frozen=True)
class DeliverMessage(Command):
    instance_id: int
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    # Refuse instead of buffering when nothing waits (e.g. a late objection).
    require_waiting: bool = False

    event_type: ClassVar[str] = "message_received"


def handle(run: InstanceRun, cmd: DeliverMessage) -> None:
    if not isinstance(cmd.payload, dict):
        raise InvalidInput("a message payload must be a JSON object", field="payload")
    payload = dict(cmd.payload)
    hook = services.get_message_hook(cmd.name)
    if hook is not None:
        payload = hook(run.context, payload)
    waiting = cmd.name in runtime.waiting_message_names(run.workflow)
    if not waiting and cmd.require_waiting:
        raise InvalidInput(f"instance {run.instance.id} is not waiting for message {cmd.name!r}", field="name")
    if waiting:
        run.record(cmd.event_type, {"name": cmd.name, "submitted": cmd.payload, "payload": payload,
                                    "delivered": True})
        runtime.deliver_message(run.workflow, cmd.name, payload)
        run.result = {"delivered": True}
        return
    message = BufferedMessage(instance_id=run.instance.id, name=cmd.name, payload=payload,
                              sender=run.actor.username, received_at=run.now)
    run.session.add(message)
    run.session.flush()
    run.instance.buffered_count += 1
    run.record(cmd.event_type, {"name": cmd.name, "submitted": cmd.payload, "payload": payload, "delivered": False,
                                "buffered_id": message.id})
    run.state_untouched = True
    run.result = {"delivered": False, "buffered_id": message.id}
