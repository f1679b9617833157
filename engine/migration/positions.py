"""Where a stored instance stands, and what its live tasks hold, read from its state's JSON.

The dry-run reads every running instance. Restoring one (SpiffWorkflow objects for each of its
tasks) and moving it in memory costs milliseconds; reading its JSON a fraction of that. So the
dry-run moves one instance per *position* (``position_of_state``: its live elements) and, for the
others at that position, evaluates only what the move would compute afresh from each instance's
own data (``Recheck``): a changed timer's expression, a changed role or scope expression. When
the move would run anything else afresh there (a changed pre-script, …), every instance at the
position is moved in memory (``recheck`` returns None).

A task's data is stored as changes against its parent's (SpiffWorkflow's delta encoding), so it is
rebuilt along its ancestors. Like ``workflow``, this module imports SpiffWorkflow
(``tests/test_layering.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                               DurationTimerEventDefinition, TimerEventDefinition)
from SpiffWorkflow.util.task import TaskState

from engine import runtime, state
from engine.migration.reasons import Reason
from engine.migration.diff import KEEPS_STATE, VersionDiff

_LIVE_STATES = {TaskState.READY: "READY", TaskState.WAITING: "WAITING", TaskState.STARTED: "STARTED"}
_REGISTRY = state.FULL_SERIALIZER.registry
# Changes whose effect on a live task is only an expression evaluated again on its data.
_EXPRESSIONS_ONLY = frozenset({"event_definition", "extensions", "lane"})


def position_of_state(dct: dict, process_id: str) -> tuple[tuple[str, str, str], ...]:
    """The live elements of a stored state: (process id, task spec name, state), sorted.

    Task spec names are the BPMN ids; auxiliary specs (``X.BoundaryEventSplit``) are kept too, so
    two instances at the same position get the same answer from every structural check.
    """
    found = set()
    for workflow_id, tasks in _task_maps(dct, process_id):
        for task in tasks.values():
            name = _LIVE_STATES.get(task.get("state"))
            if name:
                found.add((workflow_id, task["task_spec"], name))
    return tuple(sorted(found))


def _task_maps(dct: dict, process_id: str):
    yield process_id, dct.get("tasks", {})
    for sub in dct.get("subprocesses", {}).values():
        yield sub.get("spec", ""), sub.get("tasks", {})


@dataclass(frozen=True)
class Check:
    """One expression of the target to evaluate on a live task's data."""

    process_id: str
    spec_name: str  # the live task's spec (as stored)
    element: str  # the target's BPMN id
    name: str
    kind: str  # "timer" (with ``timer``), "role" or "scope"
    source: str
    timer: Any = None  # the TimerEventDefinition whose value must parse


def recheck(diff: VersionDiff, position: tuple, target_meta) -> list[Check] | None:
    """What to evaluate on each instance at ``position`` (empty: nothing depends on its data);
    None when the move runs more than expressions afresh there (then each instance is moved).

    ``target_meta(process_id, bpmn_id)`` is the target's task properties (``LoadedVersion.task_meta``).
    """
    checks: list[Check] = []
    for process_id, spec_name, state_name in position:
        spec_diff = diff.processes.get(process_id)
        if spec_diff is None:
            return None
        old = next((s for s in spec_diff.alignment if s is not None and s.name == spec_name), None)
        new = spec_diff.alignment.get(old) if old is not None else None
        if new is None:
            continue  # a structural matter: the position's verdict says it
        changes = set(spec_diff.comparisons.get(old, []))
        if not changes - KEEPS_STATE and not changes & {"extensions", "lane"}:
            continue
        if changes - KEEPS_STATE - _EXPRESSIONS_ONLY:
            return None
        name = new.bpmn_name or new.bpmn_id or new.name
        if "event_definition" in changes:
            for timer in _timers(getattr(new, "event_definition", None)):
                checks.append(Check(process_id, spec_name, new.bpmn_id, name, "timer", timer.expression, timer))
        if changes & {"extensions", "lane"} and state_name == "READY" and new.manual:
            meta = target_meta(process_id, new.bpmn_id)
            if meta.get("role_expression") and not meta.get("role"):
                checks.append(Check(process_id, spec_name, new.bpmn_id, name, "role", meta["role_expression"]))
            if meta.get("scope"):
                checks.append(Check(process_id, spec_name, new.bpmn_id, name, "scope", meta["scope"]))
    return checks


def _timers(definition) -> list:
    if isinstance(definition, MultipleEventDefinition):
        return [d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)]
    return [definition] if isinstance(definition, TimerEventDefinition) else []


def evaluate(checks: list[Check], dct: dict, root_process: str, known_roles: set[str] | None) -> list[Reason]:
    """The failures of ``checks`` on the live tasks of one stored state (each a non-structural Reason)."""
    reasons = []
    maps = dict(_task_maps(dct, root_process))
    for check in checks:
        tasks = maps.get(check.process_id, {})
        for task in tasks.values():
            if task["task_spec"] != check.spec_name or task.get("state") not in _LIVE_STATES:
                continue
            try:
                value = runtime.SCRIPT_ENGINE.environment.evaluate(check.source, _data_of(task, tasks))
                problem = _problem(check, value, known_roles)
            except Exception as exc:  # what the move would meet on this instance's data
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                code = "failed" if check.kind == "timer" else "task_unassignable"
                reasons.append(Reason(code, check.element, check.name, check.process_id,
                                      detail=f"{check.source!r}: {problem}"[:300], structural=False))
    return reasons


def _problem(check: Check, value: Any, known_roles: set[str] | None) -> str | None:
    if check.kind == "timer":
        if isinstance(check.timer, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(check.timer, DurationTimerEventDefinition):
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.get_datetime(value)
        return None
    if not isinstance(value, str) or not value:
        return f"gave {value!r}"
    if check.kind == "role" and known_roles is not None and value not in known_roles:
        return f"role {value!r} is not a known role"
    return None


def _data_of(task: dict, tasks: dict) -> dict:
    """A stored task's data: its ancestors' data with each one's changes applied, oldest first."""
    chain = []
    while task is not None:
        chain.append(task)
        task = tasks.get(task["parent"]) if task.get("parent") else None
    data: dict = {}
    for step in reversed(chain):
        if not step.get("parent"):
            data = dict(_REGISTRY.restore(step.get("data") or {}))
            continue
        delta = step.get("delta") or {}
        data.update(_REGISTRY.restore(delta.get("updates") or {}))
        for key in delta.get("deletions") or []:
            data.pop(key, None)
    return data


__all__ = ["position_of_state", "recheck", "evaluate", "Check"]
