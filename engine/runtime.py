"""The only module that drives SpiffWorkflow workflows.

Everything here works on a workflow object in memory; ``engine.commands`` wraps it in a
transaction. The library reads the wall clock for timers; we point it at our clock so
tests and replay move time for the workflow too.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import clock as _clock
from engine import calendar as _calendar  # noqa: F401  (registers the working-day functions)
from engine import functions as _functions  # noqa: F401  (registers now_iso, add_duration)
from engine.errors import Conflict, NotFound
from engine.sandbox import SandboxScriptEngine


class _ClockDatetime(dt.datetime):
    """``datetime`` whose ``now()`` is our clock; installed into SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        current = _clock.now()
        return current.astimezone(tz) if tz else current.astimezone(_clock.UTC).replace(tzinfo=None)


_timer_module.datetime = _ClockDatetime

SCRIPT_ENGINE = SandboxScriptEngine()


def script_engine() -> SandboxScriptEngine:
    SCRIPT_ENGINE.environment.refresh()
    return SCRIPT_ENGINE


def new_workflow(spec, subprocess_specs, data: dict[str, Any]) -> BpmnWorkflow:
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=SCRIPT_ENGINE)
    wf.task_tree.data.update(data)
    return wf


def attach(wf: BpmnWorkflow) -> BpmnWorkflow:
    """A restored workflow gets a default script engine; give it ours (NOTES §3)."""
    wf.script_engine = SCRIPT_ENGINE
    return wf


MAX_ADVANCE_ROUNDS = 1000


def advance(wf: BpmnWorkflow) -> None:
    """Run engine tasks until only human work and waits remain.

    ``do_engine_steps`` ends by refreshing timers, which can make a due timer READY without
    running it; keep going until no engine task is READY, so nothing is left half-fired.
    """
    wf.refresh_timers()
    for _ in range(MAX_ADVANCE_ROUNDS):
        wf.do_engine_steps()
        # Only a waiting event (timer) can have become READY in that final refresh; the
        # top workflow's event manager holds every waiting event, subprocesses included.
        if not wf.event_manager.tasks or wf.get_next_task(state=TaskState.READY, manual=False) is None:
            return
    raise RuntimeError(f"the workflow did not settle after {MAX_ADVANCE_ROUNDS} rounds (an endless loop?)")


def ready_human_tasks(wf: BpmnWorkflow) -> list:
    return [task for task in walk(wf, TaskState.READY) if task.task_spec.manual]


def find_task(wf: BpmnWorkflow, task_guid: str):
    from uuid import UUID

    try:
        task = wf.get_task_from_id(UUID(task_guid))
    except Exception:  # the library raises its own TaskNotFoundException or returns None
        task = None
    if task is None:
        raise NotFound(f"task {task_guid} is not part of this instance")
    return task


def complete_human_task(wf: BpmnWorkflow, task_guid: str, data: dict[str, Any]) -> None:
    task = find_task(wf, task_guid)
    # Task.run() does not check state (NOTES §10.1): check it ourselves.
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise Conflict(f"task {task.task_spec.bpmn_name or task.task_spec.name} is not waiting for input "
                       f"(state {TaskState.get_name(task.state)})")
    task.data.update(data)
    task.run()
    advance(wf)


def deliver_message(wf: BpmnWorkflow, name: str, payload: dict[str, Any]) -> bool:
    """Deliver a message; False if nothing in the instance waits for it now."""
    if name not in waiting_message_names(wf):
        return False
    try:
        wf.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except WorkflowException:
        return False
    advance(wf)
    return True


def waiting_message_names(wf: BpmnWorkflow) -> set[str]:
    """Names of the messages the instance waits for now (event-based gateways included)."""
    return {w.name for w in waiting_messages(wf)}


@dataclass(frozen=True)
class WaitingTimer:
    task_guid: str
    bpmn_id: str
    due_at: dt.datetime


@dataclass(frozen=True)
class WaitingMessage:
    task_guid: str
    name: str


@dataclass
class Pending:
    """Everything an instance waits on, gathered in one walk of the task tree."""

    human: dict[str, Any]  # task guid -> READY manual task
    timers: list[WaitingTimer]
    messages: list[WaitingMessage]
    # The walk itself: the completed and live tasks in tree order (what ``moment`` reads).
    tasks: list | None = None


_WALKED = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
_MAX_DEPTH = 1000  # as the library's iterator


def walk(wf: BpmnWorkflow, mask: int = _WALKED) -> list:
    """``wf.get_tasks(state=mask)`` for a mask of definite or finished states: the same tasks in the same
    (depth-first) order, sub-processes included, without the library's filtering iterator (several
    times cheaper; every command walks the tree twice)."""
    subprocesses = wf.subprocesses
    found = []
    stack = [(wf.task_tree, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        state = task.state
        if state & mask:
            found.append(task)
        sub = subprocesses.get(task.id) if subprocesses else None
        if depth < _MAX_DEPTH and (sub is not None or (task._children and state >= TaskState.FUTURE)):
            tasks = task.workflow.tasks
            for child_id in reversed(task._children):
                child = tasks.get(child_id)
                if child is not None:
                    push((child, depth + 1))
            if sub is not None:
                push((sub.task_tree, depth + 1))
    return found


def pending(wf: BpmnWorkflow) -> Pending:
    human: dict[str, Any] = {}
    waiting = []
    tasks = walk(wf)
    for task in tasks:
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                human[str(task.id)] = task
        elif task.state == TaskState.WAITING:
            waiting.append(task)
    return Pending(human, waiting_timers(wf, waiting), waiting_messages(wf, waiting), tasks)


def waiting_timers(wf: BpmnWorkflow, waiting: list | None = None) -> list[WaitingTimer]:
    """Every WAITING timer (subprocesses included) with its due time in UTC."""
    timers = []
    for task in waiting if waiting is not None else wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task.internal_data.get("event_value")
        if isinstance(definition, CycleTimerEventDefinition):
            value = value["next"] if value and value["cycles"] != 0 else None
        elif isinstance(definition, MultipleEventDefinition):
            if not any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions):
                value = None
        elif not isinstance(definition, TimerEventDefinition):
            value = None
        if isinstance(value, str):
            due = TimerEventDefinition.get_datetime(value)
            if due.tzinfo is None:
                due = due.replace(tzinfo=_clock.UTC)
            timers.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name,
                                       due.astimezone(_clock.UTC)))
    return timers


def waiting_messages(wf: BpmnWorkflow, waiting: list | None = None) -> list[WaitingMessage]:
    waits = []
    for task in waiting if waiting is not None else wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        definitions = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        for d in definitions:
            if type(d).__name__ == "MessageEventDefinition":
                waits.append(WaitingMessage(str(task.id), d.name))
    return waits


def is_completed_task(task) -> bool:
    return task is not None and task.state == TaskState.COMPLETED


def task_process_id(task) -> str:
    """The id of the (sub)process the task belongs to."""
    return task.workflow.spec.name


def evaluate(task, expression: str) -> Any:
    return SCRIPT_ENGINE.evaluate(task, expression)


def completed_path(wf: BpmnWorkflow) -> list[str]:
    """BPMN ids of finished tasks, for highlighting the diagram."""
    return [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]


def positions(wf: BpmnWorkflow) -> dict[str, dict[str, list[str]]]:
    """Per (sub)process id: BPMN ids of finished elements and of where the instance stands now.

    "current" holds ready and waiting elements (user tasks, timers, message catches, and the
    call activities that contain them), for highlighting the diagram of each process.
    """
    result: dict[str, dict[str, list[str]]] = {}
    for task in wf.get_tasks(state=TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED):
        bpmn_id = task.task_spec.bpmn_id
        if not bpmn_id:
            continue
        entry = result.setdefault(task_process_id(task), {"completed": [], "current": []})
        key = "completed" if task.state == TaskState.COMPLETED else "current"
        if bpmn_id not in entry[key]:
            entry[key].append(bpmn_id)
    return result


def latest_task(wf: BpmnWorkflow):
    """The task that changed last, anywhere in the instance (call activities included)."""
    return max(wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.COMPLETED),
               key=lambda t: t.last_state_change, default=wf.task_tree)


# --- the audit trail (engine.replay) ------------------------------------------------------

_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Moment:
    """Where an instance stands and what data it holds: what the audit trail records per step."""

    data: dict[str, Any]
    done: dict[str, set[str]]  # (sub)process id -> BPMN ids of completed elements
    active: dict[str, set[str]]  # ready user tasks and the call activities holding them
    waiting: dict[str, set[str]]  # timers, message catches, joins waiting for their other branches


def moment(wf: BpmnWorkflow, tasks: list | None = None) -> Moment:
    """The instance now: its process data and the elements completed, active and waiting.

    The process data is the newest value of each key along every path still alive: the data
    of the ready and waiting tasks and, for a branch that arrived at a join still waiting for
    the others (a join holds no data until it fires), of its last completed task; newest last.
    A finished instance's data is the workflow's own. ``tasks``: the instance's completed and live
    tasks in tree order, when the caller walked them already (``Pending.tasks``).
    """
    done: dict[str, set[str]] = {}
    active: dict[str, set[str]] = {}
    waiting: dict[str, set[str]] = {}
    if tasks is None:
        tasks = walk(wf, TaskState.COMPLETED | _LIVE)
    joins = {(id(t.workflow), t.task_spec.name) for t in tasks if t.state == TaskState.WAITING and not t.data}
    sources = []
    for task in tasks:
        bpmn_id = task.task_spec.bpmn_id
        if task.state == TaskState.COMPLETED:
            if bpmn_id:
                done.setdefault(task_process_id(task), set()).add(bpmn_id)
            if joins and any(child.state & (TaskState.WAITING | TaskState.CANCELLED)
                             and (id(child.workflow), child.task_spec.name) in joins for child in task.children):
                sources.append(task)  # this branch waits at a join for the others
            continue
        if bpmn_id:
            target = waiting if task.state == TaskState.WAITING else active
            target.setdefault(task_process_id(task), set()).add(bpmn_id)
        if task.data:
            sources.append(task)
    if wf.is_completed():
        data = dict(wf.data)
    else:
        data = {}
        for task in sorted(sources, key=lambda t: t.last_state_change):
            data.update(task.data)
    return Moment({k: v for k, v in data.items() if not callable(v)}, done, active, waiting)
