"""Move one running instance to another definition version (docs/migration.md).

``MigrateInstance`` goes through the ordinary command path (``engine.commands.runner``): the
instance row is locked, its workflow loaded on the version it pins; the handler checks it against
the target as it stands now (not as a dry-run saw it), moves it (``engine.migration.checks``), puts
the instance on the target version and adjusts its open inbox rows; the runner then saves the
state, re-derives the inbox, timer and message tables, and appends the events to the hash chain.

The events, in order: ``instance_migrated`` {from_version, to_version, from_sha256, to_sha256,
process_version_from, process_version_to, content_sha256_from, content_sha256_to, process_id,
mapping, job_id, removed, dropped, armed, recomputed}; then one ``task_migrated`` per open task whose
row changed {task_id, changes: {field: [before, after]}, …the row as it now is}; then the runner's
(``task_opened``/``task_cancelled`` if the move opened or closed any, ``step``).

Open tasks keep their row — id, claim, due date, CCs — when the target keeps their element. Their
name, form and BPMN id follow the target; when the target gives the task another role or scope the
claim (and a delegation) is released, since whoever held it may not hold the new grant; when it
gives the task another due rule (``deadline``, ``dueInWorkingDays``, ``dueInDays``) the due date is
counted again from when the task opened, and so are its reminder and escalation.

A refusal (``MigrationRefused``, 409) or any error leaves the instance exactly as it was. With a
``job_id`` the job's row for this instance is marked ``migrated`` in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import select, update

from engine import calendar, deadlines, runtime
from engine.clock import isoformat_utc
from engine.commands import runner
from engine.commands._base import Command, InstanceRun
from engine.errors import NotFound
from engine.migration import checks, plan
from engine.migration.models import MigrationItem
from engine.migration.reasons import MigrationRefused, Reason
from engine.models import DefinitionVersion, HumanTask, ProcessVersion
from engine.notifications.models import TaskDeadline

_ROW_FIELDS = ("process_id", "bpmn_id", "name", "form", "role", "scope")
_DUE_RULE = ("deadline", "due_in_working_days", "due_in_days")


@dataclass(frozen=True)
class MigrateInstance(Command):
    instance_id: int
    to_version: int  # the target definition version
    mapping: dict[str, str] = field(default_factory=dict)  # {old BPMN id: new BPMN id}
    job_id: int | None = None  # the migration job this belongs to, if any

    event_type: ClassVar[str] = "instance_migrated"


def handle(run: InstanceRun, cmd: MigrateInstance) -> None:
    instance, session = run.instance, run.session
    if not isinstance(cmd.to_version, int) or isinstance(cmd.to_version, bool):
        raise NotFound(f"definition version {cmd.to_version!r} not found")
    if cmd.to_version == instance.version_id:
        raise MigrationRefused([Reason("already_on_target")])
    source, target = run.loaded, run.specs.load(session, cmd.to_version)
    mapping = plan.check_mapping(cmd.mapping, source, target, instance.process_id)
    diff = plan.diff_for(source, target, instance.process_id, mapping)

    changed = diff.memo.get("forms")
    if changed is None:
        changed = diff.memo["forms"] = checks.changed_form_elements(source, target, diff)
    submitted = checks.submissions_of(session, [instance.id], changed).get(instance.id, [])
    refused = checks.form_reasons(submitted, source, target, diff, changed)
    if refused:
        raise MigrationRefused(refused)
    moved = checks.move_checked(run.workflow, diff, run_engine=True)

    run.loaded = target  # from here on the instance is on the target: its rows are derived from it
    from_version, instance.version_id = instance.version_id, cmd.to_version
    rows: dict[str, dict] = {}  # task guid -> its inbox row as the target makes it
    refused = checks.assignable(runtime.ready_human_tasks(run.workflow),
                                lambda task: rows.setdefault(str(task.id), runner._new_human_task(run, task)))
    if refused:
        raise MigrationRefused(refused)
    run.record(cmd.event_type, {
        "process_id": instance.process_id, "from_version": from_version, "to_version": cmd.to_version,
        **_hashes(session, diff, instance.process_id, from_version, cmd.to_version),
        "mapping": dict(mapping), "job_id": cmd.job_id, "removed": sorted(set(moved.removed)),
        "dropped": moved.dropped, "armed": moved.armed, "recomputed": moved.recomputed})
    _follow_open_tasks(run, source, rows)
    if cmd.job_id is not None:
        session.execute(update(MigrationItem).where(MigrationItem.job_id == cmd.job_id,
                                                    MigrationItem.instance_id == instance.id)
                        .values(status="migrated", from_version=from_version, reasons=[], message=None,
                                finished_at=run.now))
    run.result = {"instance_id": instance.id, "from_version": from_version, "to_version": cmd.to_version}


def _hashes(session, diff, process_id: str, from_version: int, to_version: int) -> dict:
    """Both bundles' SHA-256 and, where the process versions are known, their numbers and content hashes
    (kept with the pair's diff: versions never change)."""
    if "hashes" in diff.memo:
        return diff.memo["hashes"]
    result = diff.memo["hashes"] = {}
    for side, version_id in (("from", from_version), ("to", to_version)):
        sha = session.scalar(select(DefinitionVersion.sha256).where(DefinitionVersion.id == version_id))
        number, content = session.execute(
            select(ProcessVersion.number, ProcessVersion.content_sha256)
            .where(ProcessVersion.process_id == process_id, ProcessVersion.definition_version_id <= version_id)
            .order_by(ProcessVersion.number.desc()).limit(1)).first() or (None, None)
        result.update({f"{side}_sha256": sha, f"process_version_{side}": number, f"content_sha256_{side}": content})
    return result


def _follow_open_tasks(run: InstanceRun, source, fresh_rows: dict[str, dict]) -> None:
    """Open inbox rows whose task is still ready: name, form, BPMN id, role, scope and due date as
    the target says (``fresh_rows``: the rows the target makes, by task guid); the claim stays unless
    the role or scope changed."""
    if run.derived is None:
        run.derived = runner.read_derived(run.session, run.instance.id)
    kept = [row_id for guid, row_id in run.derived.open_tasks.items() if guid in fresh_rows]  # others: the sync closes
    rows = run.session.scalars(select(HumanTask).where(HumanTask.id.in_(kept)).order_by(HumanTask.id)) if kept else []
    for row in rows:
        guid, fresh = row.task_guid, fresh_rows[row.task_guid]
        changes = {key: [getattr(row, key), fresh[key]] for key in _ROW_FIELDS if getattr(row, key) != fresh[key]}
        old_meta = source.task_meta(row.process_id, row.bpmn_id)
        new_meta = run.loaded.task_meta(fresh["process_id"], fresh["bpmn_id"])
        due_rule_changed = [old_meta.get(k) for k in _DUE_RULE] != [new_meta.get(k) for k in _DUE_RULE]
        if due_rule_changed:
            due = runner.task_due_at(new_meta, row.created_at)
            if due != row.due_at:
                changes["due_at"] = [isoformat_utc(row.due_at), isoformat_utc(due)]
                row.due_at = due
            _follow_deadline(run, row, new_meta.get("deadline"))
        if "role" in changes or "scope" in changes:
            for key in ("assignee", "owner"):
                if getattr(row, key):
                    changes[key] = [getattr(row, key), None]
                    setattr(row, key, None)
        if not changes:
            continue
        for key in _ROW_FIELDS:
            setattr(row, key, fresh[key])
        run.record("task_migrated", {"task_id": row.id, "changes": changes, "name": row.name, "role": row.role,
                                     "scope": row.scope, "form": row.form, "assignee": row.assignee,
                                     "due_at": isoformat_utc(row.due_at)},
                   task_guid=guid, bpmn_id=row.bpmn_id)


def _follow_deadline(run: InstanceRun, row: HumanTask, name: str | None) -> None:
    """The task's reminder and escalation (engine.deadlines) under its new due rule, counted from when it
    opened; what was already sent stays sent."""
    tracked = run.session.get(TaskDeadline, row.id)
    if not name or row.due_at is None:
        if tracked is not None:
            run.session.delete(tracked)
        return
    if tracked is None:
        deadlines.track(run.session, row.created_at, [(row.id, run.instance.id, name, row.due_at)])
        return
    rule = deadlines.policy(name)
    tracked.deadline, tracked.due_at, tracked.escalate_to = name, row.due_at, rule.escalate_to
    tracked.remind_at = calendar.working_days_later(row.created_at, rule.remind_after) if rule.remind_after else None
