"""How officials work a task together without changing the workflow: 转办, 委派, 抄送, 催办, comments.

Each is a command with its own history event; none touches the workflow state, so the
instance never needs to be suspended. Notifications for the people concerned go to the
outbox (kind ``notification``) in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import select

from engine import forms, services
from engine.commands._base import Command, InstanceRun
from engine.commands.complete import open_task_for, refuse_if_personal
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.identity import Actor, load_actor
from engine.models import HumanTask, Outbox, TaskCc

MAX_NOTE = 2000
MAX_CC = 20


@dataclass(frozen=True)
class TransferTask(Command):
    """转办: hand the task to another official with the same role and scope."""

    task_id: int
    to_user: str
    note: str = ""
    event_type: ClassVar[str] = "task_transferred"


@dataclass(frozen=True)
class DelegateTask(Command):
    """委派: a colleague of the same org unit prepares the answer; the task returns for sign-off."""

    task_id: int
    to_user: str
    note: str = ""
    event_type: ClassVar[str] = "task_delegated"


@dataclass(frozen=True)
class ResolveDelegation(Command):
    """The delegate's answer: a proposed form (validated), returned to the delegator."""

    task_id: int
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    event_type: ClassVar[str] = "delegation_resolved"


@dataclass(frozen=True)
class CcTask(Command):
    """抄送: let colleagues read the task and its instance."""

    task_id: int
    to_users: tuple[str, ...] = ()
    note: str = ""
    event_type: ClassVar[str] = "task_cc"


@dataclass(frozen=True)
class UrgeTask(Command):
    """催办: a supervisor urges whoever holds the task."""

    task_id: int
    note: str = ""
    event_type: ClassVar[str] = "task_urged"


@dataclass(frozen=True)
class CommentTask(Command):
    task_id: int
    text: str = ""
    event_type: ClassVar[str] = "comment_added"


# --- checks ----------------------------------------------------------------------------

def _note(text: str, *, field: str = "note", required: bool = False) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{field} must be text", field=field)
    text = text.strip()
    if required and not text:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"{field} is longer than {MAX_NOTE} characters", field=field)
    return text


def _target(run: InstanceRun, username: str, *, field: str) -> Actor:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("name the colleague", field=field)
    try:
        target = load_actor(run.session, username.strip())
    except (NotFound, NotPermitted) as exc:
        raise InvalidInput(f"{username}: {exc.message}", field=field) from exc
    if target.is_system or target.username.startswith("public:"):
        raise InvalidInput(f"{username} is not a colleague", field=field)
    if target.username == run.actor.username:
        raise InvalidInput("choose someone other than yourself", field=field)
    return target


def _task_row(run: InstanceRun, task_id: int) -> HumanTask:
    task = run.session.get(HumanTask, task_id, populate_existing=True)
    if task is None or task.instance_id != run.instance.id:
        raise NotFound(f"task {task_id} not found")
    return task


def may_read(actor: Actor, task: HumanTask, cc_users: set[str]) -> bool:
    """Holders of the task's role and scope, its assignee and delegator, its CCs and supervisors."""
    return (actor.is_system or actor.holds(task.role, task.scope)
            or actor.username in (task.assignee, task.owner, task.completed_by) or actor.username in cc_users
            or services.supervises(actor.grants, task.role, task.scope))


def _notify(run: InstanceRun, task: HumanTask, to: str, kind: str, note: str = "") -> None:
    run.session.add(Outbox(instance_id=run.instance.id, kind="notification", created_at=run.now, payload={
        "to": to, "kind": kind, "task_id": task.id, "task": task.name, "instance_id": run.instance.id,
        "title": run.instance.title, "by": run.actor.username, "note": note}))


def _acting(run: InstanceRun, cmd, task: HumanTask, payload: dict) -> None:
    run.state_untouched = True
    run.record(cmd.event_type, {"task_id": task.id, **payload}, task_guid=task.task_guid, bpmn_id=task.bpmn_id)


# --- handlers --------------------------------------------------------------------------

def handle_transfer(run: InstanceRun, cmd: TransferTask) -> None:
    task = _task_row(run, cmd.task_id)
    supervisor = services.supervises(run.actor.grants, task.role, task.scope)
    if not supervisor:
        task = open_task_for(run, cmd.task_id, action="transfer")
    elif task.status != "open":
        raise Conflict(f"task {task.id} ({task.name}) was already {task.status}")
    if task.owner:
        raise Conflict(f"task {task.id} ({task.name}) is delegated to {task.assignee}; wait for the answer")
    if task.assignee and task.assignee != run.actor.username and not supervisor:
        raise Conflict(f"task {task.id} ({task.name}) is claimed by {task.assignee}")
    refuse_if_personal(run, task, "transferred")
    note = _note(cmd.note)
    target = _target(run, cmd.to_user, field="to_user")
    if not target.holds(task.role, task.scope):
        raise InvalidInput(f"{target.username} does not hold role {task.role} for {task.scope}; "
                           "转办 goes to an official with the same role and scope", field="to_user")
    previous = task.assignee
    task.assignee = target.username
    _acting(run, cmd, task, {"from": previous, "to": target.username, "note": note})
    _notify(run, task, target.username, "transferred", note)
    run.result = {"task_id": task.id, "assignee": task.assignee}


def handle_delegate(run: InstanceRun, cmd: DelegateTask) -> None:
    task = open_task_for(run, cmd.task_id, action="delegate")
    if task.owner:
        raise Conflict(f"task {task.id} ({task.name}) is already delegated to {task.assignee}")
    if task.assignee and task.assignee != run.actor.username:
        raise Conflict(f"task {task.id} ({task.name}) is claimed by {task.assignee}")
    refuse_if_personal(run, task, "delegated")
    note = _note(cmd.note)
    target = _target(run, cmd.to_user, field="to_user")
    if not any(scope == task.scope for _, scope in target.grants):
        raise InvalidInput(f"{target.username} does not belong to {task.scope}; 委派 stays within the org unit",
                           field="to_user")
    task.owner = run.actor.username
    task.assignee = target.username
    _acting(run, cmd, task, {"owner": task.owner, "delegate": target.username, "note": note})
    _notify(run, task, target.username, "delegated", note)
    run.result = {"task_id": task.id, "assignee": task.assignee, "owner": task.owner}


def handle_resolve(run: InstanceRun, cmd: ResolveDelegation) -> None:
    task = _task_row(run, cmd.task_id)
    if task.status != "open":
        raise Conflict(f"task {task.id} ({task.name}) was already {task.status}")
    if not task.owner or task.assignee != run.actor.username:
        raise NotPermitted(f"{run.actor.username} is not the delegate of task {task.id} ({task.name})")
    note = _note(cmd.note)
    data = forms.validate(run.loaded.form(task.form), cmd.data, form_name=task.name) if task.form else {}
    owner, delegate = task.owner, task.assignee
    task.draft = dict(data)
    task.assignee, task.owner = owner, None
    _acting(run, cmd, task, {"delegate": delegate, "owner": owner, "data": data, "note": note})
    _notify(run, task, owner, "delegation_resolved", note)
    run.result = {"task_id": task.id, "assignee": owner}


def handle_cc(run: InstanceRun, cmd: CcTask) -> None:
    task = _task_row(run, cmd.task_id)
    cc_users = set(run.session.scalars(select(TaskCc.username).where(TaskCc.task_id == task.id)))
    if not may_read(run.actor, task, cc_users) or run.actor.username in cc_users - {task.assignee}:
        raise NotPermitted(f"{run.actor.username} may not CC task {task.id} ({task.name})")
    names = [cmd.to_users] if isinstance(cmd.to_users, str) else list(cmd.to_users or ())
    if not names:
        raise InvalidInput("name at least one colleague", field="to_users")
    if len(names) > MAX_CC:
        raise InvalidInput(f"at most {MAX_CC} colleagues at once", field="to_users")
    note = _note(cmd.note)
    added = []
    for name in dict.fromkeys(n.strip() for n in names if isinstance(n, str)):
        target = _target(run, name, field="to_users")
        if target.username in cc_users:
            continue
        run.session.add(TaskCc(task_id=task.id, instance_id=run.instance.id, username=target.username,
                               cc_by=run.actor.username, note=note, created_at=run.now))
        _notify(run, task, target.username, "cc", note)
        added.append(target.username)
    if not added:
        raise Conflict("every colleague named is already CC'd")
    _acting(run, cmd, task, {"to": added, "note": note})
    run.result = {"task_id": task.id, "cc": added}


def handle_urge(run: InstanceRun, cmd: UrgeTask) -> None:
    task = _task_row(run, cmd.task_id)
    if not services.supervises(run.actor.grants, task.role, task.scope):
        raise NotPermitted(f"{run.actor.username} does not supervise {task.role} for {task.scope}: "
                           "only a supervising department may 催办")
    if task.status != "open":
        raise Conflict(f"task {task.id} ({task.name}) was already {task.status}")
    note = _note(cmd.note)
    task.urged_at = run.now
    task.urge_count = (task.urge_count or 0) + 1
    to = task.assignee or f"role:{task.role}@{task.scope}"
    _acting(run, cmd, task, {"to": to, "note": note, "count": task.urge_count})
    _notify(run, task, to, "urged", note)
    run.result = {"task_id": task.id, "urge_count": task.urge_count}


def handle_comment(run: InstanceRun, cmd: CommentTask) -> None:
    task = _task_row(run, cmd.task_id)
    cc_users = set(run.session.scalars(select(TaskCc.username).where(TaskCc.task_id == task.id)))
    if not may_read(run.actor, task, cc_users):
        raise NotPermitted(f"{run.actor.username} may not comment on task {task.id} ({task.name})")
    text = _note(cmd.text, field="text", required=True)
    _acting(run, cmd, task, {"text": text})
    run.result = {"task_id": task.id}
