"""Re-execute recorded histories on a scratch database and compare them with the record at every step.

For each command of an instance's history (``engine.replay.steps.groups_of``), in order:

1. the scratch clock is set to the command's recorded time and the calendar it read is installed;
2. the command is rebuilt from its first event (task ids mapped to the scratch database's) and run
   by the ordinary command path (``WorkflowEngine.execute``) as its recorded actor — with a
   ``Playback`` (``engine.replay.playback``) as its outside world: service tasks, the start hook and message hooks return
   what the record says they returned, in order, and a call the record does not have (another
   service, other parameters) is a divergence;
3. the events it records are compared with the recorded ones (``engine.replay.compare``).

At the end the stored instance (its rows: status, human tasks, timers, message waits, and its
serialized state read back) is compared with the replayed one. The first difference is the
instance's ``Divergence``; ``replay_many`` reports "N replayed, M diverged".
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from engine import commands, history, runtime, services
from engine.errors import EngineError
from engine.models import Event, ProcessInstance
from engine.replay import compare, playback
from engine.replay.compare import Difference, IdMap
from engine.replay.playback import Playback
from engine.replay.recording import STEP_EVENT, playing
from engine.replay.scratch import Scratch, ScratchError
from engine.replay.steps import _Fold, groups_of
from engine.services import ServiceContext

MAX_REPORTED = 100


@dataclass(frozen=True)
class Divergence:
    """Where a replay first disagreed with the record."""

    instance_id: int
    seq: int | None  # the recorded event (None: the stored rows at the end)
    event_type: str | None
    where: str
    recorded: Any
    replayed: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ReplayResult:
    """One instance's replay: how many commands ran, and its first divergence (None: it matched)."""

    instance_id: int
    process_id: str
    commands: int
    events: int
    first_divergence: Divergence | None
    seconds: float

    @property
    def matched(self) -> bool:
        return self.first_divergence is None

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "process_id": self.process_id, "commands": self.commands,
                "events": self.events, "matched": self.matched, "seconds": round(self.seconds, 4),
                "first_divergence": self.first_divergence.to_dict() if self.first_divergence else None}


@dataclass(frozen=True)
class ReplayReport:
    """Several replays: the results, the failures keyed by instance, and the one-line summary."""

    results: tuple[ReplayResult, ...]
    seconds: float

    @property
    def replayed(self) -> int:
        return len(self.results)

    @property
    def diverged(self) -> int:
        return sum(not r.matched for r in self.results)

    @property
    def failures(self) -> dict[int, Divergence]:
        return {r.instance_id: r.first_divergence for r in self.results if r.first_divergence is not None}

    def summary(self) -> str:
        return f"{self.replayed} replayed, {self.diverged} diverged"

    def to_dict(self) -> dict[str, Any]:
        return {"replayed": self.replayed, "diverged": self.diverged, "seconds": round(self.seconds, 3),
                "results": [r.to_dict() for r in self.results]}


def replay(engine, instance_id: int) -> ReplayResult:
    """Re-execute one instance against its record; NotFound if there is no such instance."""
    return replay_many(engine, [instance_id]).results[0]


def replay_many(engine, instance_ids: list[int], *, stop_on_first: bool = False) -> ReplayReport:
    """Re-execute instances on one scratch database, in id order; ``stop_on_first`` stops after the
    first that diverges (otherwise every failure is kept, keyed by instance in ``failures``)."""
    began = time.perf_counter()
    scratch = Scratch(engine)
    results = []
    try:
        for instance_id in sorted(instance_ids):
            result = _replay_one(engine, scratch, instance_id)
            results.append(result)
            if stop_on_first and not result.matched:
                break
    finally:
        scratch.dispose()
    return ReplayReport(tuple(results), time.perf_counter() - began)


def record_run(engine, results, *, by: str, scope: str, seconds: float | None = None,
               note: str | None = None) -> int:
    """Keep a replay's findings (``replay_run``): who ran it, when, on what, and every divergence
    (the first ``MAX_REPORTED``); returns the run's id."""
    from engine.replay.models import ReplayRun

    results = list(results.results if isinstance(results, ReplayReport) else results)
    divergences = [r.first_divergence.to_dict() for r in results if r.first_divergence is not None]
    with engine.db.unit_of_work() as session:
        run = ReplayRun(started_at=engine.clock.now(), started_by=by, scope=scope[:120], replayed=len(results),
                        diverged=len(divergences), note=note,
                        seconds=round(seconds if seconds is not None else sum(r.seconds for r in results), 4),
                        report={"divergences": json.loads(json.dumps(divergences[:MAX_REPORTED], default=str))})
        session.add(run)
        session.flush()
        return run.id


def instance_ids(engine, *, since: dt.datetime | None = None) -> list[int]:
    """Every instance (started at or after ``since``), oldest first."""
    with engine.db.session() as session:
        query = select(ProcessInstance.id).order_by(ProcessInstance.id)
        if since is not None:
            query = query.where(ProcessInstance.created_at >= since)
        return list(session.scalars(query))


# --- one instance ------------------------------------------------------------------------------

class _Run:
    """The replay of one instance: the record, the scratch twin, and the id map between them."""

    def __init__(self, engine, scratch: Scratch, instance_id: int):
        from engine.errors import NotFound

        self.engine, self.scratch = engine, scratch
        with engine.db.session() as session:
            self.row = session.get(ProcessInstance, instance_id)
            if self.row is None:
                raise NotFound(f"process instance {instance_id} not found")
            self.events = history.events_of(session, instance_id)
        self.ids = IdMap()
        self.twin: int | None = None
        self.seq = 0  # the twin's last event read so far
        self.done = 0

    def diverged(self, event: dict | None, difference: Difference, message: str) -> Divergence:
        return Divergence(self.row.id, event["seq"] if event else None, event["type"] if event else None,
                          difference.where, difference.recorded, difference.replayed, message)


RETRIES = 3  # a live instance a command moved on while it was replayed is replayed again


def _replay_one(engine, scratch: Scratch, instance_id: int) -> ReplayResult:
    began = time.perf_counter()
    for _ in range(RETRIES):
        run = _Run(engine, scratch, instance_id)
        divergence = _execute(run)
        if divergence is None:
            divergence = _compare_stored(run)
        if divergence is None or _head(engine, instance_id) == run.row.event_seq:
            break
    return ReplayResult(instance_id, run.row.process_id, run.done, len(run.events), divergence,
                        time.perf_counter() - began)


def _head(engine, instance_id: int) -> int | None:
    with engine.db.session() as session:
        return session.scalar(select(ProcessInstance.event_seq).where(ProcessInstance.id == instance_id))


def _execute(run: _Run) -> Divergence | None:
    groups = groups_of(run.events)
    if not any(e["type"] == STEP_EVENT for e in run.events):
        first = run.events[0] if run.events else None
        return run.diverged(first, Difference("history", "no step records", "step records"),
                            "the history was recorded before step records (issue 13): it cannot be re-executed")
    try:
        _prepare(run, groups)
    except ScratchError as err:
        return run.diverged(run.events[0], Difference("scratch", str(err), compare.MISSING), str(err))
    for group in groups:
        first = group[0]
        if first["type"] not in playback.COMMANDS:
            return run.diverged(first, Difference("event", first["type"], compare.MISSING),
                                f"{first['type']} cannot be re-executed by this version of the platform")
        step = next((e for e in group if e["type"] == STEP_EVENT), None)
        try:
            run.scratch.install_calendar((step or {}).get("payload", {}).get("cal"))
        except ScratchError as err:
            return run.diverged(first, Difference("calendar", str(err), compare.MISSING), str(err))
        run.scratch.clock.set(first["at"])
        problem = _run_command(run, group)
        if problem is not None:
            return problem
        run.done += 1
        replayed = _scratch_events(run)
        found = compare.compare_command(group, replayed, run.ids)  # maps the ids the next command needs
        if found is not None:
            event, difference = found
            return run.diverged(event or first, difference,
                                f"the replay of {first['type']} (event {first['seq']}) differs at {difference.where}")
    return None


def _prepare(run: _Run, groups: list[list[dict]]) -> None:
    """The versions and users the record names, copied into the scratch database."""
    versions = {g[0]["payload"].get("version_id") for g in groups if g[0]["type"] == "instance_started"}
    versions |= {g[0]["payload"].get(k) for g in groups if g[0]["type"] == "instance_migrated"
                 for k in ("from_version", "to_version")}
    run.scratch.ensure_versions(v for v in versions if isinstance(v, int))
    run.scratch.ensure_users(_users_named(run, groups))


def _users_named(run: _Run, groups: list[list[dict]]) -> dict[str, set[tuple[str, str]]]:
    """Every user the record names, with the grants it shows them using."""
    fold = _Fold()
    needed: dict[str, set[tuple[str, str]]] = {}
    for group in groups:
        first = group[0]
        payload = first.get("payload") or {}
        needed.setdefault(first["actor"], set())
        row = fold.tasks.get(payload.get("task_id")) if "task_id" in payload else None
        if row is not None and first["type"] not in ("task_cc", "comment_added", "task_urged"):
            needed[first["actor"]].add((row.role, row.scope))
        targets = {"task_transferred": [payload.get("to")], "task_delegated": [payload.get("delegate")],
                   "delegation_resolved": [payload.get("owner")], "task_cc": list(payload.get("to") or [])}
        for user in targets.get(first["type"], []):
            if isinstance(user, str):
                needed.setdefault(user, set())
                if row is not None and first["type"] in ("task_transferred", "task_delegated"):
                    needed[user].add((row.role, row.scope))
        if first["type"] == "instance_started":
            needed[first["actor"]] |= _start_grant(run, payload)
        for event in group:
            fold.apply_task_event(event)
    return needed


def _start_grant(run: _Run, payload: dict) -> set[tuple[str, str]]:
    """The grant a start needed (the start event's role, at its scope evaluated on the data)."""
    with run.scratch.engine.db.session() as session:
        loaded = run.scratch.engine.specs.load(session, payload.get("version_id"))
    meta = loaded.start_meta(run.row.process_id)
    if not meta.get("role"):
        return set()
    scope = None
    if meta.get("scope"):
        try:
            scope = runtime.SCRIPT_ENGINE.environment.evaluate(meta["scope"], dict(payload.get("data") or {}))
        except Exception:  # the start check itself will say what is wrong
            return set()
    return {(meta["role"], scope if isinstance(scope, str) else "*")}


def _scratch_events(run: _Run) -> list[dict]:
    """The events the last replayed command recorded (those after the ones already read)."""
    with run.scratch.db.session() as session:
        rows = session.connection().execute(_NEW_EVENTS, {"twin": run.twin, "after": run.seq}).all()
    if rows:
        run.seq = rows[-1].seq
    return [{"seq": e.seq, "at": history._utc_iso(e.at), "actor": e.actor, "type": e.type, "task_guid": e.task_guid,
             "bpmn_id": e.bpmn_id, "payload": json.loads(e.payload)} for e in rows]


_EVENTS = Event.__table__
_NEW_EVENTS = (select(_EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.type, _EVENTS.c.task_guid,
                      _EVENTS.c.bpmn_id, _EVENTS.c.payload)
               .where(_EVENTS.c.instance_id == bindparam("twin"), _EVENTS.c.seq > bindparam("after"))
               .order_by(_EVENTS.c.seq))


def _run_command(run: _Run, group: list[dict]) -> Divergence | None:
    """Run the command that started ``group`` on the scratch twin; a Divergence if it fails."""
    first = group[0]
    outside = playback.Playback(group, run.row)
    try:
        command = playback.command_for(run, first)
        actor = run.scratch.actor(first["actor"])
        with playing(outside):
            if isinstance(command, commands.StartInstance):
                token = services.current_context.set(ServiceContext(
                    session=None, clock=run.scratch.clock, instance_id=0, actor=first["actor"],
                    process_id=command.process_id, outside=outside))
                try:
                    outcome = run.scratch.engine.execute(command, actor=actor)
                finally:
                    services.current_context.reset(token)
                run.twin = outcome.instance_id
            else:
                run.scratch.engine.execute(command, actor=actor)
    except playback.KeyMissing as err:
        return run.diverged(first, Difference(err.where, err.recorded, compare.MISSING), str(err))
    except Exception as err:  # the replayed command failed: refused, or an incident in the scratch database
        cause = _find(err, playback.Diverged)
        if cause is not None:
            return run.diverged(first, cause.difference, str(cause))
        engine_error = _find(err, EngineError)
        message = engine_error.message if engine_error is not None else f"{type(err).__name__}: {err}"
        return run.diverged(first, Difference("command", "ran", message),
                            f"the replayed {first['type']} failed: {message}")
    if outside.calls:
        left = outside.calls[0]
        return run.diverged(first, Difference("service_called", left.get("op"), compare.MISSING),
                            f"the record has a call of {left.get('op')!r} the replay did not make")
    return None


def _find(err: BaseException | None, kind: type) -> Any:
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, kind):
            return err
        err = err.__cause__ or err.__context__
    return None


# --- the stored instance against the replayed one ----------------------------------------------------

def _compare_stored(run: _Run) -> Divergence | None:
    stored, twin = compare.stored_view(run.engine, run.row.id), compare.stored_view(run.scratch.engine, run.twin, cached=True)
    for key in ("status", "row_version", "completed_at", "buffered_count"):
        if stored[key] != twin[key] and not (key == "status" and stored[key] == "incident"):
            return run.diverged(None, Difference(f"process_instance.{key}", stored[key], twin[key]),
                                f"the stored instance's {key} differs from the replayed one")
    difference = compare.compare_rows(stored["tasks"], twin["tasks"], run.ids)
    if difference is None:
        for key in ("timers", "messages", "snapshot"):
            difference = compare.first_difference(stored[key], twin[key], key)
            if difference is not None:
                break
    if difference is not None:
        return run.diverged(None, difference, f"the stored instance differs from the replayed one at {difference.where}")
    return None


__all__ = ["Divergence", "ReplayResult", "ReplayReport", "Playback", "replay", "replay_many", "instance_ids",
           "record_run"]
