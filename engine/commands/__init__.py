"""Commands: every state change is one of these, dispatched through ``COMMANDS``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.commands import assign, cancel, collab, complete, messages, migrate, start, timers
from engine.commands._base import Command, InstanceRun
from engine.commands.assign import ClaimTask, ReleaseTask
from engine.commands.cancel import CancelInstance
from engine.commands.collab import CcTask, CommentTask, DelegateTask, ResolveDelegation, TransferTask, UrgeTask
from engine.commands.complete import CompleteTask
from engine.commands.messages import DeliverMessage
from engine.commands.migrate import MigrateInstance
from engine.commands.runner import Locate, Outcome, WorkflowCache
from engine.commands.start import StartInstance
from engine.commands.timers import FireTimer


@dataclass(frozen=True)
class Route:
    """How a command finds its instance, and what it does there."""

    locate: Callable[[Command], "Locate"] | None  # None for commands that create their instance
    handle: Callable[[InstanceRun, Command], None]


COMMANDS: dict[type, Route] = {
    StartInstance: Route(None, start.handle),
    CompleteTask: Route(lambda cmd: complete.locate_task(cmd.task_id), complete.handle),
    ClaimTask: Route(lambda cmd: complete.locate_task(cmd.task_id), assign.handle_claim),
    ReleaseTask: Route(lambda cmd: complete.locate_task(cmd.task_id), assign.handle_release),
    DeliverMessage: Route(lambda cmd: Locate.instance(cmd.instance_id), messages.handle),
    FireTimer: Route(timers.locate, timers.handle),
    CancelInstance: Route(lambda cmd: Locate.instance(cmd.instance_id), cancel.handle),
    TransferTask: Route(lambda cmd: complete.locate_task(cmd.task_id), collab.handle_transfer),
    DelegateTask: Route(lambda cmd: complete.locate_task(cmd.task_id), collab.handle_delegate),
    ResolveDelegation: Route(lambda cmd: complete.locate_task(cmd.task_id), collab.handle_resolve),
    CcTask: Route(lambda cmd: complete.locate_task(cmd.task_id), collab.handle_cc),
    UrgeTask: Route(lambda cmd: complete.locate_task(cmd.task_id), collab.handle_urge),
    CommentTask: Route(lambda cmd: complete.locate_task(cmd.task_id), collab.handle_comment),
    MigrateInstance: Route(lambda cmd: Locate.instance(cmd.instance_id), migrate.handle),
}

BY_NAME: dict[str, type] = {cls.__name__: cls for cls in COMMANDS}


def from_dict(payload: dict) -> Command:
    """Rebuild a command recorded with ``Command.to_dict`` (incident retry)."""
    cls = BY_NAME[payload["type"]]
    fields = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
    return cls(**fields)


__all__ = [
    "COMMANDS", "Command", "StartInstance", "CompleteTask", "ClaimTask", "ReleaseTask", "DeliverMessage",
    "FireTimer", "CancelInstance", "TransferTask", "DelegateTask", "ResolveDelegation", "CcTask", "UrgeTask",
    "CommentTask", "MigrateInstance", "Outcome", "WorkflowCache", "from_dict",
]
