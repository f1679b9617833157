"""Moving a running workflow to another version: the migration's seam to SpiffWorkflow.

Built on SpiffWorkflow 3.2's ``bpmn.util.diff``: ``WorkflowDiff`` and ``migrate_workflow`` swap a
workflow's specs for those the versions' ``SpecDiff`` aligns (``engine.migration.diff``) and reset its
READY and WAITING tasks, so that what lies ahead of them is predicted again from the new diagram.
On top of that, this module

- checks the instance's live elements — ready tasks, waits, running call activities — and says why
  one cannot move (``check_live``);
- removes finished tasks of elements the new version no longer has (the tree then holds only what
  the new diagram knows, so the state can be restored; their history stays in the event log), and
  completed call activities' sub-processes the new version no longer calls;
- predicts again what follows running call activities (``migrate_workflow`` leaves STARTED tasks);
- drops waiting boundary events the new version removed, and arms those it added to a live task;
- keeps what a reset would lose on elements whose behaviour did not change: a waiting timer's due
  time, a task's data (so an unchanged 7-working-day notice does not restart);
- checks the result: nothing left on an old spec (``unrestorable``), no parallel join waiting for a
  branch the instance already passed (``stalled_joins``), something left to do (``has_work``).

With ``diff`` and ``positions``, one of the three migration modules that import SpiffWorkflow
(``tests/test_layering.py``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Iterator

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.migration.diff import KEEPS_STATE, VersionDiff
from engine.migration.reasons import Reason

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_SPLIT_SUFFIX = ".BoundaryEventSplit"


# --- where an instance stands ---------------------------------------------------------------------

def _workflows(wf) -> Iterator:
    yield wf
    yield from wf.subprocesses.values()


def _tasks(wf, mask: int | None = None) -> Iterator:
    """Every task of the instance (sub-processes included) in ``mask``: a plain walk of the task maps,
    much cheaper than ``get_tasks``' tree iterator when the order does not matter."""
    for workflow in _workflows(wf):
        for task in list(workflow.tasks.values()):
            if mask is None or task.state & mask:
                yield task


def _name(task) -> str:
    return task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name


def _caller(task):
    """The call activity (a task of the parent workflow) that runs ``task``'s sub-process, or None."""
    workflow = task.workflow
    if workflow.parent_task_id is None:
        return None
    return workflow.top_workflow.get_task_from_id(workflow.parent_task_id)


def live_tasks(wf) -> list:
    """Ready and waiting tasks and running activities, sub-processes included."""
    return list(_tasks(wf, LIVE))


# --- checks before moving ---------------------------------------------------------------------------

def check_live(wf, diff: VersionDiff) -> list[Reason]:
    """Why the live elements of ``wf`` cannot move to the target (empty: they can)."""
    reasons: list[Reason] = []
    for task in live_tasks(wf):
        spec = task.task_spec
        if diff.for_workflow(task.workflow) is None:
            caller = _caller(task)
            if caller is not None and not task.workflow.is_completed():
                reasons.append(Reason("called_process_removed", caller.task_spec.bpmn_id, _name(caller),
                                      caller.workflow.spec.name, detail=task.workflow.spec.name))
            continue
        new = diff.aligned(task)
        if new is None:
            if isinstance(spec, BoundaryEvent) and task.state == TaskState.WAITING:
                continue  # a removed reminder or escalation: dropped when the instance moves
            if spec.bpmn_id:
                reasons.append(Reason("task_removed", spec.bpmn_id, _name(task), task.workflow.spec.name))
            else:
                main = spec.name.split(".")[0]
                reasons.append(Reason("structure_changed", main, main, task.workflow.spec.name,
                                      detail=spec.name.partition(".")[2] or spec.name))
            continue
        changes = diff.changes(task)
        if "typename" in changes:
            reasons.append(Reason("type_changed", spec.bpmn_id or spec.name, _name(task), task.workflow.spec.name,
                                  detail=f"{type(spec).__name__} → {type(new).__name__}"))
        elif task.state == TaskState.STARTED and isinstance(spec, SubWorkflowTask) and new.spec != spec.spec:
            reasons.append(Reason("called_process_changed", spec.bpmn_id, _name(task), task.workflow.spec.name,
                                  detail=f"{spec.spec} → {new.spec}"))
        elif task.state == TaskState.STARTED and isinstance(spec, LoopTask) and set(changes) - KEEPS_STATE:
            reasons.append(Reason("multi_instance_changed", spec.bpmn_id, _name(task), task.workflow.spec.name))
    return reasons


# --- moving -------------------------------------------------------------------------------------------

@dataclass
class Moved:
    """What ``move`` did beyond swapping specs."""

    removed: list[str] = field(default_factory=list)  # BPMN ids of finished tasks taken out of the tree
    dropped: list[str] = field(default_factory=list)  # BPMN ids of waiting boundary events dropped
    armed: list[str] = field(default_factory=list)  # BPMN ids of boundary events armed on a live task
    recomputed: list[str] = field(default_factory=list)  # live elements computed afresh from the data


def move(wf, diff: VersionDiff) -> Moved:
    """Put ``wf`` on the target version, in place. ``check_live`` must have found nothing.

    Raises whatever SpiffWorkflow raises when the tree cannot be rebuilt; the caller discards the
    workflow then (the command rolls back, the dry-run reports it).
    """
    moved = Moved()
    kept = _what_resetting_loses(wf, diff, moved)
    _drop_finished_subprocesses(wf, diff, moved)
    for workflow in list(_workflows(wf)):
        spec_diff = diff.for_workflow(workflow)
        new_spec = diff.new_specs[workflow.spec.name]
        _take_out_removed(workflow, spec_diff, moved)
        migrate_workflow(WorkflowDiff(workflow, spec_diff), workflow, new_spec)
        _predict_after_running_activities(workflow)
        _arm_new_boundary_events(workflow, moved)
    wf.subprocess_specs = {name: spec for name, spec in diff.new_specs.items() if name != diff.process_id}
    for task_id, (task_state, data, internal) in kept.items():
        task = wf.get_task_from_id(task_id)
        if task is not None and task.state == task_state:
            task.data, task.internal_data = data, internal
    _refresh_bookkeeping(wf)
    return moved


def _what_resetting_loses(wf, diff: VersionDiff, moved: Moved) -> dict:
    """Data and internal data (a timer's due time) of ready and waiting tasks whose behaviour stays."""
    kept = {}
    for task in _tasks(wf, TaskState.READY | TaskState.WAITING):
        if diff.aligned(task) is None:
            continue
        if KEEPS_STATE.issuperset(diff.changes(task)):
            kept[task.id] = (task.state, copy.deepcopy(task.data), copy.deepcopy(task.internal_data))
        elif task.task_spec.bpmn_id:
            moved.recomputed.append(task.task_spec.bpmn_id)
    return kept


def _drop_finished_subprocesses(wf, diff: VersionDiff, moved: Moved) -> None:
    """Completed sub-processes of a process the target lacks, or that their call activity no longer calls."""
    for task_id, sub in list(wf.subprocesses.items()):
        if sub not in wf.subprocesses.values() or not sub.is_completed():
            continue
        caller = wf.get_task_from_id(task_id)
        if caller is None:
            continue
        new_caller = diff.aligned(caller)
        if diff.for_workflow(sub) is None or new_caller is None or getattr(new_caller, "spec", None) != sub.spec.name:
            wf.delete_subprocess(caller)
            moved.removed.append(sub.spec.name)


def _take_out_removed(workflow, spec_diff, moved: Moved) -> None:
    """Finished tasks and waiting boundary events whose element the target no longer has."""
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks or task.parent is None:
            continue
        if spec_diff.alignment.get(task.task_spec, task.task_spec) is not None:
            continue  # aligned (or a spec SpecDiff never reached: left to migrate_workflow)
        if task.state & FINISHED:
            _splice(workflow, task)
            if task.task_spec.bpmn_id:
                moved.removed.append(task.task_spec.bpmn_id)
        elif isinstance(task.task_spec, BoundaryEvent) and task.state == TaskState.WAITING:
            workflow.top_workflow.event_manager.remove_task(task)
            workflow._remove_task(task.id)
            moved.dropped.append(task.task_spec.bpmn_id)


def _splice(workflow, task) -> None:
    """Take a finished task out of the tree; its children take its place under its parent."""
    parent = task.parent
    at = parent._children.index(task.id)
    children = list(task._children)
    parent._children[at:at + 1] = children
    for child_id in children:
        workflow.tasks[child_id]._parent = parent.id
    task._children = []
    del workflow.tasks[task.id]
    if workflow.last_task is task:
        workflow.last_task = parent


def _predict_after_running_activities(workflow) -> None:
    """``migrate_workflow`` resets READY and WAITING tasks only: predict anew what follows a running
    call activity, from the target's arrows (its old predictions may name removed elements)."""
    for task in [t for t in workflow.tasks.values() if t.state == TaskState.STARTED]:
        if not isinstance(task.task_spec, SubWorkflowTask):
            continue
        for child in list(task.children):
            if child.state & (TaskState.PREDICTED_MASK | TaskState.FUTURE):
                workflow._remove_task(child.id)
        task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.STARTED)


def _arm_new_boundary_events(workflow, moved: Moved) -> None:
    """A live task the target gives boundary events (a new reminder, an escalation) gets them now,
    evaluated on the instance's data; the task itself stays (its id, so its inbox row, claim and due)."""
    for task in [t for t in workflow.tasks.values() if t.state & (TaskState.READY | TaskState.STARTED)]:
        split_spec = workflow.spec.task_specs.get(task.task_spec.name + _SPLIT_SUFFIX)
        if not isinstance(split_spec, BoundaryEventSplit) or isinstance(task.task_spec, BoundaryEvent):
            continue
        split = task.parent
        if split is None or split.task_spec is not split_spec:
            split = _insert_split(workflow, task, split_spec)
        present = {child.task_spec for child in split.children}
        for event_spec in split_spec.outputs:
            if event_spec in present or not isinstance(event_spec, BoundaryEvent):
                continue
            event = Task(workflow, event_spec, split, state=TaskState.WAITING)
            event.thread_id = split.thread_id
            event.data = copy.deepcopy(split.data)
            event_spec._update(event)
            moved.armed.append(event_spec.bpmn_id)


def _insert_split(workflow, task, split_spec):
    """Put a (completed) boundary-event split between a live task and its parent."""
    parent = task.parent
    split = Task(workflow, split_spec, parent, state=TaskState.COMPLETED)  # appended to parent's children
    parent._children.remove(split.id)
    parent._children[parent._children.index(task.id)] = split.id
    split._children = [task.id]
    task._parent = split.id
    split.thread_id = task.thread_id
    split.data = copy.deepcopy(parent.data)
    return split


def _refresh_bookkeeping(wf) -> None:
    """What a restore would rebuild: the waiting catch events, and nothing serialized from before.

    ``engine.state`` keeps each finished task's dict on the task while it stays in memory, keyed on
    its state, time and children, not its spec: a task now on a spec of another name must be
    converted again.
    """
    manager = wf.event_manager
    manager.tasks.clear()
    for task in _tasks(wf, TaskState.WAITING):
        if isinstance(task.task_spec, CatchingEvent):
            manager.add_task(task)
    for workflow in _workflows(wf):
        for task in workflow.tasks.values():
            task.__dict__.pop("_greenflow_dict", None)


# --- checks after moving ---------------------------------------------------------------------------

def stalled_joins(wf) -> list[Reason]:
    """Parallel joins that would wait for ever: an input still missing that nothing alive will reach."""
    reasons = []
    for join in _tasks(wf, TaskState.WAITING):
        spec = join.task_spec
        if not isinstance(spec, ParallelGateway):
            continue
        tasks = list(join.workflow.tasks.values())
        arrived = {t.parent.task_spec for t in tasks
                   if t.task_spec is spec and t.parent is not None and t.parent.state == TaskState.COMPLETED}
        alive = {t.task_spec for t in tasks if t.state & TaskState.NOT_FINISHED_MASK}
        for missing in spec.inputs:
            if missing not in arrived and missing not in alive:
                reasons.append(Reason("join_waits_forever", spec.bpmn_id, _name(join), join.workflow.spec.name,
                                      detail=missing.bpmn_name or missing.bpmn_id or missing.name))
    return reasons


def unrestorable(wf, diff: VersionDiff) -> list[Reason]:
    """Tasks whose spec is not the target's: the stored state could not be read back on the target."""
    reasons = []
    for workflow in _workflows(wf):
        if diff.new_specs.get(workflow.spec.name) is not workflow.spec:
            reasons.append(Reason("structure_changed", None, workflow.spec.name, workflow.spec.name,
                                  detail="sub-process not moved"))
            continue
        for task in workflow.tasks.values():
            if workflow.spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                reasons.append(Reason("structure_changed", task.task_spec.bpmn_id or task.task_spec.name, _name(task),
                                      workflow.spec.name, detail=f"{TaskState.get_name(task.state)} task left behind"))
    return reasons


def has_work(wf) -> bool:
    """Completed, or something to wait for or to run: a task, a timer, a message, an engine step."""
    if wf.is_completed():
        return True
    return any(task.task_spec.manual or task.state == TaskState.READY or isinstance(task.task_spec, CatchingEvent)
               for task in _tasks(wf, TaskState.READY | TaskState.WAITING))


__all__ = ["check_live", "move", "Moved", "stalled_joins", "unrestorable", "has_work", "live_tasks"]
