"""Complete a human task with validated form data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import bindparam, select

from engine import forms, runtime
from engine.commands._base import Command, InstanceRun
from engine.commands.runner import Locate
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted, StaleVersion
from engine.models import HumanTask, ProcessInstance

OUTCOME_KEYS = ("decision", "opinion", "outcome")


@dataclass(frozen=True)
class CompleteTask(Command):
    task_id: int
    data: dict[str, Any] = field(default_factory=dict)
    # Optional optimistic check: the row version the form was rendered from.
    expected_row_version: int | None = None

    event_type: ClassVar[str] = "task_completed"


def locate_task(task_id: int) -> Locate:
    """The instance that owns task ``task_id``, found and locked by the runner in one round trip."""
    if not isinstance(task_id, int) or isinstance(task_id, bool):
        raise NotFound(f"task {task_id!r} not found")
    return Locate(_BY_TASK, f"task {task_id}", params={"task_id": task_id})


_BY_TASK = (select(ProcessInstance).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(HumanTask.id == bindparam("task_id")))


def open_task_for(run: InstanceRun, task_id: int, *, action: str) -> HumanTask:
    """The task row, re-read under the instance lock, checked for state and permission."""
    task = run.session.get(HumanTask, task_id, populate_existing=True)
    if task is None or task.instance_id != run.instance.id:
        raise NotFound(f"task {task_id} not found")
    actor = run.actor
    if not actor.is_system and not actor.holds(task.role, task.scope):
        raise NotPermitted(f"{actor.username} may not {action} task {task_id} ({task.name}): "
                           f"it needs role {task.role} for {task.scope}")
    if task.status != "open":
        who = f" by {task.completed_by}" if task.completed_by else ""
        raise Conflict(f"task {task_id} ({task.name}) was already {task.status}{who}")
    return task


def refuse_if_personal(run: InstanceRun, task: HumanTask, action: str) -> None:
    """A task its diagram gives to one named user (``assignee``: a panel expert's own score, 第十八条)
    stays theirs: it is not released, transferred or delegated (Conflict, nothing changes)."""
    if run.loaded.task_meta(task.process_id, task.bpmn_id).get("assignee"):
        raise Conflict(f"task {task.id} ({task.name}) is for {task.assignee} alone and cannot be {action}")


def handle(run: InstanceRun, cmd: CompleteTask) -> None:
    task = open_task_for(run, cmd.task_id, action="complete")
    if task.owner:
        raise Conflict(f"task {cmd.task_id} ({task.name}) is delegated to {task.assignee}; wait for the answer")
    if task.assignee and task.assignee != run.actor.username:
        raise Conflict(f"task {cmd.task_id} ({task.name}) is claimed by {task.assignee}")
    if cmd.expected_row_version is not None and cmd.expected_row_version != run.instance.row_version:
        raise StaleVersion(f"the instance changed since the form was opened (version {cmd.expected_row_version} → "
                           f"{run.instance.row_version}); reload and try again")
    schema = run.loaded.form(task.form)
    if schema is None and cmd.data:
        raise InvalidInput(f"task {task.name} has no form: it takes no data", field="data")
    data = forms.validate(schema, cmd.data, form_name=task.name)
    run.acted_task_guid = task.task_guid
    run.outcome = next((str(data[k]) for k in OUTCOME_KEYS if k in data), None)
    run.record(cmd.event_type, {"task_id": task.id, "process_id": task.process_id, "name": task.name,
                                "data": data}, task_guid=task.task_guid, bpmn_id=task.bpmn_id)
    runtime.complete_human_task(run.workflow, task.task_guid, data)
    run.result = {"task_id": task.id, "instance_id": run.instance.id}
