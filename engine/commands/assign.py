"""Claim and release: who is working on a task. They change no workflow state."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.commands._base import Command, InstanceRun
from engine.commands.complete import open_task_for, refuse_if_personal
from engine.errors import Conflict


@dataclass(frozen=True)
class ClaimTask(Command):
    task_id: int
    event_type: ClassVar[str] = "task_claimed"


@dataclass(frozen=True)
class ReleaseTask(Command):
    task_id: int
    event_type: ClassVar[str] = "task_released"


def handle_claim(run: InstanceRun, cmd: ClaimTask) -> None:
    task = open_task_for(run, cmd.task_id, action="claim")
    if task.assignee and task.assignee != run.actor.username:
        raise Conflict(f"task {cmd.task_id} ({task.name}) is already claimed by {task.assignee}")
    task.assignee = run.actor.username
    run.state_untouched = True
    run.record(cmd.event_type, {"task_id": task.id}, task_guid=task.task_guid, bpmn_id=task.bpmn_id)
    run.result = {"task_id": task.id, "assignee": task.assignee}


def handle_release(run: InstanceRun, cmd: ReleaseTask) -> None:
    task = open_task_for(run, cmd.task_id, action="release")
    if task.assignee != run.actor.username:
        raise Conflict(f"task {cmd.task_id} ({task.name}) is not claimed by {run.actor.username}")
    refuse_if_personal(run, task, "released")
    task.assignee = None
    run.state_untouched = True
    run.record(cmd.event_type, {"task_id": task.id}, task_guid=task.task_guid, bpmn_id=task.bpmn_id)
    run.result = {"task_id": task.id, "assignee": None}
