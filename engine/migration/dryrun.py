"""The dry-run: for each running instance on the source version, can it move to the target, and if
not, why — reading the database and writing nothing.

Each instance's stored state is read (as JSON, not restored) to find its *position*: the live
elements (ready tasks, waits, running call activities). The first instance at each position (per
pinned definition version) is moved in memory exactly as the command would move it
(``checks.move_checked``, without running engine steps) and its structural verdict kept; every
other instance at that position gets the same verdict, plus what the move computes afresh from its
own data, evaluated on the stored JSON (a changed timer's expression, a changed role or scope:
``positions.recheck``) — or, when the move runs more than that afresh there (a changed pre-script),
or the first one failed on its data otherwise, each instance is moved in memory too. On top, each
instance's recorded form submissions are checked against the target's changed forms. The migration
re-checks every instance when it runs (``MigrateInstance``): positions change meanwhile.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine import calendar, runtime, state
from engine.clock import end_of_china_day, isoformat_utc, start_of_china_day, use_clock
from engine.commands import runner
from engine.commands._base import InstanceRun
from engine.identity import system_actor
from engine.migration import checks, plan as plans
from engine.migration.reasons import MigrationRefused, Reason
from engine.migration import positions
from engine.migration.positions import position_of_state
from engine.migration.diff import VersionDiff
from engine.models import ProcessInstance
from engine.script_budget import script_limits

RUNNING = ("running", "waiting", "incident")
CHUNK = 500
MAX_IDS = 10_000


@dataclass(frozen=True)
class Selection:
    """Which running instances on the source version: all of them, or those matching every given filter."""

    instance_ids: tuple[int, ...] | None = None
    positions: tuple[str, ...] | None = None  # BPMN ids: instances with one of them live
    title: str | None = None  # part of the title or business key
    started_from: dt.date | None = None  # started on or after this China date
    started_to: dt.date | None = None  # started on or before this China date

    def to_dict(self) -> dict[str, Any]:
        return {"instance_ids": list(self.instance_ids) if self.instance_ids is not None else None,
                "positions": list(self.positions) if self.positions is not None else None, "title": self.title,
                "started_from": self.started_from.isoformat() if self.started_from else None,
                "started_to": self.started_to.isoformat() if self.started_to else None}


@dataclass
class InstanceCheck:
    """One instance's answer."""

    instance_id: int
    title: str
    business_key: str | None
    status: str
    definition_version: int
    created_at: dt.datetime
    position: list[dict[str, str]]  # [{process_id, element, name, state}]
    reasons: list[Reason] = field(default_factory=list)

    @property
    def can_migrate(self) -> bool:
        return not self.reasons

    def position_key(self) -> str:
        return " ".join(sorted(f"{p['process_id']}/{p['element']}" for p in self.position))

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "title": self.title, "business_key": self.business_key,
                "status": self.status, "definition_version": self.definition_version,
                "created_at": isoformat_utc(self.created_at), "position": self.position,
                "can_migrate": self.can_migrate, "reasons": [r.to_dict() for r in self.reasons]}


@dataclass
class DryRun:
    """The plan and every selected instance's answer, with the answers grouped by position."""

    plan: plans.Plan
    items: list[InstanceCheck]
    seconds: float
    simulated: int  # how many instances were moved in memory (the others shared a position's verdict)

    @property
    def can(self) -> int:
        return sum(1 for item in self.items if item.can_migrate)

    def positions(self) -> list[dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        for item in self.items:
            group = groups.setdefault(item.position_key(), {"key": item.position_key(), "elements": item.position,
                                                            "total": 0, "can": 0, "reasons": {}})
            group["total"] += 1
            group["can"] += item.can_migrate
            for reason in item.reasons:
                group["reasons"].setdefault(reason.code + (reason.element or ""), reason.to_dict())
        rows = sorted(groups.values(), key=lambda g: (-g["total"], g["key"]))
        return [{**g, "cannot": g["total"] - g["can"], "reasons": list(g["reasons"].values())} for g in rows]

    def summary(self) -> dict[str, int]:
        return {"total": len(self.items), "can": self.can, "cannot": len(self.items) - self.can}

    def to_dict(self, *, items: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"plan": self.plan.to_dict(), "summary": self.summary(), "positions": self.positions(),
                                "seconds": round(self.seconds, 3), "simulated": self.simulated}
        if items:
            body["items"] = [item.to_dict() for item in self.items]
        return body


def dry_run(engine, process_id: str, from_number: int, to_number: int, mapping: Any = None,
            selection: Selection | None = None) -> DryRun:
    """Check every selected running instance of ``process_id`` on version ``from_number`` against
    ``to_number``. NotFound / InvalidInput as ``plan.build``; writes nothing."""
    started = time.perf_counter()
    selection = selection or Selection()
    with engine.db.session() as session, _contexts(engine, session):
        plan = plans.build(session, engine.specs, process_id, from_number, to_number, mapping)
        checker = _Checker(engine, session, plan)
        items = []
        for chunk in _chunks(session, plan, selection):
            items.extend(checker.check_rows(chunk, selection))
    return DryRun(plan, items, time.perf_counter() - started, checker.simulated)


@contextlib.contextmanager
def _contexts(engine, session) -> Iterator[None]:
    """What a command has around it: the engine's clock, script limits and the stored calendar."""
    with use_clock(engine.clock), script_limits(engine.script_limits), \
            calendar.use_calendar(lambda: calendar.load_calendar(session)):
        yield


def selected(session, plan: plans.Plan, selection: Selection) -> Iterator[list[tuple[ProcessInstance, tuple, dict]]]:
    """The selected running instances on the plan's source version, with their positions and stored
    states (as JSON), in chunks."""
    for chunk in _chunks(session, plan, selection):
        found = []
        for row in chunk:
            dct = state.as_json(row.state)
            position = position_of_state(dct, row.process_id)
            if selection.positions and not any(element in selection.positions for _, element, _ in position):
                continue
            found.append((row, position, dct))
        if found:
            yield found


def selected_ids(session, plan: plans.Plan, selection: Selection) -> list[int]:
    """The ids of the selected running instances on the plan's source version (what a job migrates)."""
    if selection.positions:  # where an instance stands is only in its stored state
        return [row.id for chunk in selected(session, plan, selection) for row, _, _ in chunk]
    return list(session.scalars(_query(plan, selection, select(ProcessInstance.id))))


def _query(plan: plans.Plan, selection: Selection, query):
    query = (query.where(ProcessInstance.process_id == plan.process_id, ProcessInstance.status.in_(RUNNING),
                         ProcessInstance.version_id >= plan.source.first_definition_version)
             .order_by(ProcessInstance.id))
    if plan.source.last_definition_version is not None:
        query = query.where(ProcessInstance.version_id <= plan.source.last_definition_version)
    if selection.instance_ids is not None:
        query = query.where(ProcessInstance.id.in_(list(selection.instance_ids)[:MAX_IDS]))
    if selection.title:
        pattern = f"%{selection.title}%"
        query = query.where(ProcessInstance.title.like(pattern) | ProcessInstance.business_key.like(pattern))
    if selection.started_from:
        query = query.where(ProcessInstance.created_at >= start_of_china_day(selection.started_from))
    if selection.started_to:
        query = query.where(ProcessInstance.created_at < end_of_china_day(selection.started_to))
    return query


def _chunks(session, plan: plans.Plan, selection: Selection) -> Iterator[list]:
    query = _query(plan, selection, select(ProcessInstance).options(undefer(ProcessInstance.state)))
    chunk: list = []
    for row in session.scalars(query.execution_options(yield_per=CHUNK)):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk




@dataclass
class _Verdict:
    """What every instance at one position shares: the structural reasons, and what to evaluate on each
    one's own data (None: move each one in memory)."""

    structural: list[Reason]
    checks: list | None


class _Checker:
    """Checks instances against one plan, sharing verdicts between instances at the same position."""

    def __init__(self, engine, session, plan: plans.Plan):
        self.engine, self.session, self.plan = engine, session, plan
        self.target = engine.specs.load(session, plan.target.definition_version)
        self.verdicts: dict[tuple, _Verdict] = {}
        self.diffs: dict[int, tuple[Any, VersionDiff, set]] = {}
        self.simulated = 0
        self.validators: dict = {}  # form name -> JSON Schema validator (checks.form_reasons)
        self.now = engine.clock.now()

    def _source(self, version_id: int):
        """(loaded source version, its diff against the target, its elements whose form changed)."""
        if version_id not in self.diffs:
            source = self.engine.specs.load(self.session, version_id)
            diff = plans.diff_for(source, self.target, self.plan.process_id, self.plan.mapping)
            self.diffs[version_id] = (source, diff, checks.changed_form_elements(source, self.target, diff))
        return self.diffs[version_id]

    def check_rows(self, rows: list, selection: Selection) -> list[InstanceCheck]:
        """Check a chunk of rows, decoding each one's state only while it is checked.

        A decoded state is some 600 small objects; holding a whole chunk's decoded states at once
        let them survive into the collector's oldest generation and set off a full collection every
        few hundred instances, which cost more than everything else together (docs/performance.md).
        """
        changed = set().union(*(self._source(row.version_id)[2] for row in rows)) if rows else set()
        submitted = checks.submissions_of(self.session, [row.id for row in rows], changed)
        checked = []
        for row in rows:
            dct = state.as_json(row.state)
            position = position_of_state(dct, row.process_id)
            if selection.positions and not any(element in selection.positions for _, element, _ in position):
                continue
            checked.append(self._check(row, position, dct, submitted.get(row.id, [])))
        return checked

    def check_chunk(self, found: list[tuple[Any, tuple, dict]]) -> list[InstanceCheck]:
        changed = set().union(*(self._source(row.version_id)[2] for row, _, _ in found)) if found else set()
        submitted = checks.submissions_of(self.session, [row.id for row, _, _ in found], changed)
        return [self._check(row, position, dct, submitted.get(row.id, [])) for row, position, dct in found]

    def _check(self, row, position: tuple, dct: dict, submissions: list) -> InstanceCheck:
        source, diff, changed = self._source(row.version_id)
        key = (row.version_id, position)
        verdict = self.verdicts.get(key)
        if verdict is None or verdict.checks is None:
            reasons = self._simulate(row, source, diff)
            if verdict is None:
                on_data = positions.recheck(diff, position, self.target.task_meta)
                if any(not r.structural for r in reasons) and not on_data:
                    on_data = None  # it failed on its data in a way the expressions do not show: move each
                self.verdicts[key] = _Verdict([r for r in reasons if r.structural], on_data)
        else:
            reasons = verdict.structural + positions.evaluate(verdict.checks, dct, row.process_id, self.engine.roles)
        reasons = reasons + checks.form_reasons(submissions, source, self.target, diff, changed, self.validators)
        return InstanceCheck(row.id, row.title, row.business_key, row.status, row.version_id, row.created_at,
                             _describe(position, diff), reasons)

    def _simulate(self, row, source, diff: VersionDiff) -> list[Reason]:
        """Move the instance in memory as the command would; the reasons it cannot (empty: it can)."""
        self.simulated += 1
        wf = runtime.attach(state.load(row.state, *source.spec(row.process_id)))
        try:
            checks.move_checked(wf, diff, run_engine=False)
        except MigrationRefused as refused:
            return refused.reasons
        run = InstanceRun(session=self.session, instance=ProcessInstance(id=row.id), workflow=wf, loaded=self.target,
                          actor=system_actor("migration"), now=self.now, context=None,
                          known_roles=self.engine.roles)
        return checks.assignable(runtime.ready_human_tasks(wf), lambda task: runner._new_human_task(run, task))


def _describe(position: tuple, diff: VersionDiff) -> list[dict[str, str]]:
    """The live BPMN elements of a position with their names (auxiliary specs left out)."""
    names = diff.source_names()
    return [{"process_id": pid, "element": element, "name": names[(pid, element)], "state": state_name}
            for pid, element, state_name in position if (pid, element) in names]
