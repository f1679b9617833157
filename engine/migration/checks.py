"""The checks of one instance against a migration, shared by the dry-run and ``MigrateInstance``.

An instance can move when

1. every live element — a ready task, a wait, a running call activity — has a counterpart of the
   same kind in the target (``workflow.check_live``; a removed boundary event is simply dropped);
2. the data it already submitted satisfies the target's forms where those changed (``form_reasons``):
   each recorded submission (``task_completed``'s data, ``instance_started``'s start form) is validated
   against the form its element has in the target;
3. once moved, nothing is left behind (``workflow.unrestorable``), no parallel join waits for a
   branch already passed (``workflow.stalled_joins``), the instance still has something to do, and
   every ready task has a role and a scope in the target (``assignable``).

``move_checked`` runs 1 and 3 on a workflow in memory and raises ``MigrationRefused`` with every
reason; the command then saves the moved workflow, the dry-run throws it away.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterable

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import forms, runtime
from engine.errors import EngineError, InvalidInput
from engine.migration import workflow
from engine.migration.reasons import MigrationRefused, Reason
from engine.migration.diff import VersionDiff
from engine.migration.workflow import Moved
from engine.models import Event
from engine.specs import LoadedVersion

MAX_DETAIL = 300
# A recorded submission: (process id, BPMN id — None for the start form —, the data).
Submission = tuple[str, "str | None", dict]


def _detail(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, EngineError) else str(exc)
    return f"{type(exc).__name__}: {message}"[:MAX_DETAIL]


def move_checked(wf, diff: VersionDiff, *, run_engine: bool) -> Moved:
    """Move ``wf`` to the target in place, or raise MigrationRefused (``wf`` is then to be discarded).

    ``run_engine``: run what the move made ready (a timer already due); the command does, the
    dry-run does not (it calls no service).
    """
    reasons = workflow.check_live(wf, diff)
    if reasons:
        raise MigrationRefused(reasons)
    try:
        moved = workflow.move(wf, diff)
        if run_engine:
            runtime.advance(wf)
    except Exception as exc:  # any failure of the library or a script: this instance stays where it is
        raise MigrationRefused([Reason("failed", detail=_detail(exc), structural=False)]) from exc
    reasons = workflow.unrestorable(wf, diff) + workflow.stalled_joins(wf)
    if not workflow.has_work(wf):
        reasons.append(Reason("stuck"))
    if reasons:
        raise MigrationRefused(reasons)
    return moved


def assignable(ready_tasks: Iterable[Any], new_row) -> list[Reason]:
    """Reasons for ready tasks that get no role or scope in the target: ``new_row(task)`` builds the
    inbox row as the command runner would (``engine.commands.runner._new_human_task``)."""
    reasons = []
    for task in ready_tasks:
        try:
            new_row(task)
        except Exception as exc:  # a scope expression that fails on this instance's data, an unknown role
            spec = task.task_spec
            reasons.append(Reason("task_unassignable", spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                  runtime.task_process_id(task), detail=_detail(exc), structural=False))
    return reasons


# --- forms ---------------------------------------------------------------------------------------------

def _start_event(loaded: LoadedVersion, process_id: str) -> str | None:
    for bpmn_id, task in loaded.meta.get("processes", {}).get(process_id, {}).get("tasks", {}).items():
        if task.get("type") == "startEvent":
            return bpmn_id
    return None


def changed_form_elements(source: LoadedVersion, target: LoadedVersion, diff: VersionDiff) -> set[tuple[str, str]]:
    """(process id, BPMN id) of the source's elements whose form is another in the target."""
    found = set()
    for process_id in diff.processes:
        tasks = source.meta.get("processes", {}).get(process_id, {}).get("tasks", {})
        for bpmn_id, meta in tasks.items():
            if not meta.get("form"):
                continue
            new_id = diff.target_element(process_id, bpmn_id)
            if new_id is None:
                continue
            after = target.form(target.task_meta(process_id, new_id).get("form"))
            if after is not None and after != source.form(meta["form"]):
                found.add((process_id, bpmn_id))
    return found


def form_reasons(submissions: list[Submission], source: LoadedVersion, target: LoadedVersion,
                 diff: VersionDiff, changed: set[tuple[str, str]], validators: dict | None = None) -> list[Reason]:
    """Recorded submissions at elements in ``changed`` that the target's form refuses.

    ``validators`` keeps a JSON Schema validator per form between calls (the dry-run's many instances):
    a valid submission costs one ``is_valid``; only a refused one is validated again for its messages.
    """
    reasons = []
    validators = validators if validators is not None else {}
    for process_id, bpmn_id, data in submissions:
        bpmn_id = bpmn_id or _start_event(source, process_id)
        if bpmn_id is None or (process_id, bpmn_id) not in changed:
            continue
        new_id = diff.target_element(process_id, bpmn_id)
        meta = target.task_meta(process_id, new_id)
        name = meta.get("name") or bpmn_id
        schema = target.form(meta.get("form"))
        if schema is None:
            continue
        if _valid(validators, meta["form"], schema, data):
            continue
        try:
            forms.validate(schema, data, form_name=name)
        except InvalidInput as err:
            listed = "; ".join(f"{field}: {message}" for field, message in err.fields.items())
            reasons.append(Reason("form_invalid", bpmn_id, name, process_id, detail=listed[:MAX_DETAIL],
                                  fields=dict(err.fields), structural=False))
    return reasons


def _valid(validators: dict, form: str, schema: dict, data: Any) -> bool:
    """Does ``data`` satisfy ``schema``? Answers kept per (form, data): submissions often repeat."""
    if not isinstance(data, dict):
        return False
    key = (form, json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))
    if key not in validators:
        validator = validators.get(form)
        if validator is None:
            validator = validators[form] = Draft202012Validator(schema)
        if len(validators) > 10_000:  # a bound on what one dry-run keeps
            validators.clear()
            validators[form] = validator
        validators[key] = validator.is_valid(data)
    return validators[key]


def submissions_of(session: Session, instance_ids: list[int],
                   elements: set[tuple[str, str]]) -> dict[int, list[Submission]]:
    """The recorded submissions of these instances at these elements (start forms included), by instance."""
    found: dict[int, list[Submission]] = defaultdict(list)
    if not elements or not instance_ids:
        return found
    bpmn_ids = sorted({bpmn_id for _, bpmn_id in elements})
    query = (select(Event.instance_id, Event.type, Event.bpmn_id, Event.payload)
             .where(Event.instance_id.in_(instance_ids),
                    ((Event.type == "task_completed") & Event.bpmn_id.in_(bpmn_ids)) | (Event.type == "instance_started"))
             .order_by(Event.instance_id, Event.seq))
    for instance_id, kind, bpmn_id, payload in session.execute(query):
        body = json.loads(payload)
        if kind == "instance_started":
            found[instance_id].append((body.get("process_id", ""), None, dict(body.get("submitted") or {})))
        else:
            found[instance_id].append((body.get("process_id", ""), bpmn_id, dict(body.get("data") or {})))
    return found


__all__ = ["move_checked", "assignable", "form_reasons", "submissions_of", "changed_form_elements", "Submission"]
