"""The path of one command (DESIGN.md): lock, load, validate, apply, save, sync, record, commit.

Everything a command changes is written in one transaction. A caller's mistake raises an
``EngineError`` and nothing is written; anything else is rolled back and recorded as an
incident that an operator can retry.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, undefer

from engine import calendar, deadlines, history, incidents, runtime, services, state
from engine.clock import use_clock
from engine.script_budget import script_limits
from engine.commands._base import Command, InstanceRun
from engine.errors import Conflict, EngineError, NotFound
from engine.replay import recording
from engine.identity import Actor
from engine.models import BufferedMessage, HumanTask, MessageWait, Outbox, ProcessInstance, Timer
from engine.services import ServiceContext

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine

OPEN = "open"
MAX_BUFFERED_DELIVERIES = 100

# Statements every command runs, built once (their construction costs more than running them).
_TASKS = HumanTask.__table__
_CLOSE_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("row_id"))
               .values(status=bindparam("status"), completed_at=bindparam("at"), completed_by=bindparam("by"),
                       outcome=bindparam("outcome")))
_INSERT_TASKS = insert(_TASKS).returning(_TASKS.c.id, _TASKS.c.task_guid, sort_by_parameter_order=True)


class WorkflowCache:
    """Deserialized workflows by instance id, valid for one row version.

    A command *takes* its workflow out, so two threads never share one object; it is put
    back only after the commit succeeded, tagged with the row version it belongs to.
    """

    def __init__(self, max_entries: int = 2000):
        self._entries: OrderedDict[int, tuple[int, Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def take(self, instance_id: int, row_version: int) -> tuple[Any, "Derived | None"]:
        """(workflow, derived snapshot) cached for exactly this row version, else (None, None)."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is not None and entry[0] == row_version:
            return entry[1], entry[2]
        return None, None

    def put(self, instance_id: int, row_version: int, workflow, derived: "Derived | None") -> None:
        with self._lock:
            self._entries[instance_id] = (row_version, workflow, derived)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def evict(self, instance_id: int | None) -> None:
        if instance_id is not None:
            with self._lock:
                self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class Locate:
    """How a command finds its instance: a select of ``ProcessInstance`` and what to call it if absent.

    ``query`` is best a statement built once with bind parameters and ``params`` their values: a
    statement object reused keeps its SQLAlchemy cache key, which costs more to compute than the
    query takes to run.
    """

    query: Any
    description: str
    # For workers sharing due timers: skip a row another transaction holds, and treat a row
    # that is gone (already fired) as "nothing to do" instead of NotFound.
    skip_locked: bool = False
    missing_ok: bool = False
    params: dict[str, Any] | None = None

    @classmethod
    def instance(cls, instance_id: int) -> "Locate":
        if not isinstance(instance_id, int) or isinstance(instance_id, bool):
            raise NotFound(f"process instance {instance_id!r} not found")
        return cls(_BY_ID, f"process instance {instance_id}", params={"instance_id": instance_id})


_BY_ID = select(ProcessInstance).where(ProcessInstance.id == bindparam("instance_id"))
_LOCKING: dict[tuple[int, bool, bool], Any] = {}  # (id(query), for_update, skip_locked) -> (query, statement)


def _locking(query, *, for_update: bool, skip_locked: bool):
    """``query`` with the state column loaded and, off SQLite, ``FOR UPDATE``; built once per query object."""
    key = (id(query), for_update, skip_locked)
    entry = _LOCKING.get(key)
    if entry is not None and entry[0] is query:
        return entry[1]
    # The state comes with the row: a command whose workflow is not cached (another process ran the
    # last one) would otherwise pay a second round trip for the deferred column.
    locking = query.options(undefer(ProcessInstance.state))
    if for_update:
        locking = locking.with_for_update(of=ProcessInstance, skip_locked=skip_locked)
    if len(_LOCKING) > 256:  # queries built per call (not module constants): do not grow without end
        _LOCKING.clear()
    _LOCKING[key] = (query, locking)
    return locking


def lock_instance(session: Session, locate: Locate) -> ProcessInstance | None:
    """The instance row, found and locked for the rest of the transaction in one round trip.

    Returns None only for a ``missing_ok`` locate whose row is gone or (``skip_locked``)
    held by another transaction; otherwise a missing row raises NotFound.
    """
    # SQLite holds the write lock since BEGIN IMMEDIATE; elsewhere the row is locked FOR UPDATE.
    query = _locking(locate.query, for_update=session.get_bind().dialect.name != "sqlite",
                     skip_locked=locate.skip_locked)
    instance = session.scalars(query, locate.params).one_or_none()
    if instance is None and not locate.missing_ok:
        raise NotFound(f"{locate.description} not found")
    return instance


@dataclass(frozen=True)
class Outcome:
    """What a command returns to its caller."""

    instance_id: int
    status: str
    row_version: int
    result: dict[str, Any]
    # Outbox ids of process starts the command requested; the engine dispatches them after the commit.
    requested_starts: tuple[int, ...] = ()


def run_on_instance(engine: "WorkflowEngine", command: Command, actor: Actor,
                    locate: Locate, handler: Callable[[InstanceRun, Command], None],
                    *, resolving: int | None = None, retried_by: str | None = None) -> Outcome:
    """Run ``handler`` on the instance that ``locate`` finds, as one transaction."""

    def open_existing(session: Session, now: dt.datetime):
        instance = lock_instance(session, locate)
        if instance is None:
            return None
        if instance.status in ("completed", "cancelled"):
            raise Conflict(f"process instance {instance.id} is {instance.status}")
        loaded = engine.specs.load(session, instance.version_id)
        workflow, derived = engine.cache.take(instance.id, instance.row_version)
        if workflow is None:
            spec, subprocess_specs = loaded.spec(instance.process_id)
            workflow = runtime.attach(state.load(instance.state, spec, subprocess_specs))
        return instance, workflow, loaded, derived

    return _run(engine, command, actor, open_existing, handler, resolving, retried_by, creates=False)


def run_new_instance(engine: "WorkflowEngine", command: Command, actor: Actor,
                     create: Callable[[Session, dt.datetime], tuple[ProcessInstance, Any, Any]],
                     handler: Callable[[InstanceRun, Command], None],
                     *, resolving: int | None = None, retried_by: str | None = None) -> Outcome:
    """Create an instance (``create`` returns row, workflow, loaded version) and run ``handler``."""

    def open_new(session: Session, now: dt.datetime):
        instance, workflow, loaded = create(session, now)
        return instance, workflow, loaded, Derived()

    return _run(engine, command, actor, open_new, handler, resolving, retried_by, creates=True)


def _run(engine, command, actor, open_instance, handler, resolving, retried_by, *, creates: bool) -> Outcome:
    """The transaction around one command; caches the workflow only after a successful commit."""
    instance_id: int | None = None
    with use_clock(engine.clock), script_limits(engine.script_limits):
        now = engine.clock.now()
        # The calendar is loaded on first use, as before; the probe tells the step which one (engine.replay).
        probe = recording.CalendarProbe(lambda: calendar.load_calendar(session))
        try:
            with engine.db.unit_of_work() as session, calendar.use_calendar(probe):
                opened = open_instance(session, now)
                if opened is None:  # nothing to do (a timer already fired, or being fired elsewhere)
                    return Outcome(0, "", 0, {"fired": False, "skipped": True})
                instance, workflow, loaded, derived = opened
                instance_id = instance.id
                run = _new_run(session, instance, workflow, loaded, actor, now, engine)
                run.derived = derived
                _apply(run, command, handler, resolving=resolving, retried_by=retried_by, probe=probe)
                outcome = Outcome(instance.id, instance.status, instance.row_version, run.result,
                                  tuple(run.context.requested_starts))
            engine.cache.put(instance.id, instance.row_version, workflow, run.derived)
            return outcome
        except Exception as exc:
            engine.cache.evict(instance_id)
            # A failed start has no instance any more (rolled back): its incident names none.
            failed_on = None if creates else instance_id
            raise _as_caller_error_or_incident(engine, command, actor, failed_on, exc, resolving) from exc


def _new_run(session, instance, workflow, loaded, actor, now, engine) -> InstanceRun:
    context = ServiceContext(session=session, clock=engine.clock, instance_id=instance.id,
                             actor=actor.username, process_id=instance.process_id)
    return InstanceRun(session=session, instance=instance, workflow=workflow, loaded=loaded, actor=actor,
                       now=now, context=context, known_roles=engine.roles, specs=engine.specs)


def _apply(run: InstanceRun, command: Command, handler, *, resolving: int | None = None,
           retried_by: str | None = None, probe: recording.CalendarProbe | None = None) -> None:
    was_incident = run.instance.status == "incident"
    recording.begin(run, probe)  # the instance before the command, and its outside world (engine.replay)
    token = services.current_context.set(run.context)
    try:
        handler(run, command)
        if not run.state_untouched:
            _deliver_buffered_messages(run)
    finally:
        services.current_context.reset(token)
    _record_service_events(run)
    if not run.state_untouched:
        _save(run)
        _record_service_events(run)
    else:
        recording.record_origin(run)
    if was_incident or resolving is not None:  # the status follows the state (engine/incidents.py)
        status_now = incidents.state_status(run.session, run.instance)
        run.events.extend(incidents.settle(run.session, run.instance, now=run.now, status_now=status_now,
                                           actor=run.actor.username, command_type=type(command).__name__,
                                           resolving=resolving, retried_by=retried_by))
    history.write(run.session, run.events)
    run.events.clear()


def _record_service_events(run: InstanceRun) -> None:
    for event_type, payload in run.context.events:
        run.record(event_type, payload)
    run.context.events.clear()


def _as_caller_error_or_incident(engine, command, actor, instance_id, exc: Exception,
                                 resolving: int | None = None) -> Exception:
    caller_error = _find_engine_error(exc)
    # An EngineError raised by the command itself goes back to the caller. One raised deep inside
    # the workflow (a script or service) is too, when a person acts and can correct the input;
    # when the system acts (a timer), nobody would see it, so it becomes an incident.
    if caller_error is not None and (caller_error is exc or not (actor.is_system or caller_error.becomes_incident)):
        return caller_error
    incident_id = incidents.record(engine, command, actor, instance_id, exc, existing_id=resolving)
    return incidents.IncidentRaised(incident_id, instance_id, exc)


def _find_engine_error(exc: BaseException | None) -> EngineError | None:
    """An EngineError raised on purpose, even if SpiffWorkflow wrapped it (e.g. in a script)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, EngineError) and not isinstance(exc, incidents.IncidentRaised):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


# --- after the handler: messages, derived tables, state ----------------------------------

@dataclass
class Derived:
    """What the derived tables hold for an instance, as of its current row version."""

    open_tasks: dict[str, int] = field(default_factory=dict)  # task guid -> human_task.id
    timers: dict[str, dt.datetime] = field(default_factory=dict)  # task guid -> due_at
    waits: set[tuple[str, str]] = field(default_factory=set)  # (task guid, message name)
    snapshot: Any = None  # the instance as its last step recorded it (engine.replay.recording.Snapshot)


_TIMERS, _WAITS = Timer.__table__, MessageWait.__table__
_READ_OPEN_TASKS = select(_TASKS.c.id, _TASKS.c.task_guid).where(_TASKS.c.instance_id == bindparam("iid"),
                                                                 _TASKS.c.status == OPEN)
_READ_TIMERS = select(_TIMERS.c.task_guid, _TIMERS.c.due_at).where(_TIMERS.c.instance_id == bindparam("iid"))
_READ_WAITS = select(_WAITS.c.task_guid, _WAITS.c.message_name).where(_WAITS.c.instance_id == bindparam("iid"))


def read_derived(session: Session, instance_id: int) -> Derived:
    session.flush()  # what the handler changed through the ORM, before reading with Core
    connection, params = session.connection(), {"iid": instance_id}
    derived = Derived()
    for task_id, guid in connection.execute(_READ_OPEN_TASKS, params):
        derived.open_tasks[guid] = task_id
    for guid, due in connection.execute(_READ_TIMERS, params):
        derived.timers[guid] = due  # UTCDateTime: always aware
    for guid, name in connection.execute(_READ_WAITS, params):
        derived.waits.add((guid, name))
    return derived


def _deliver_buffered_messages(run: InstanceRun) -> None:
    """Deliver messages that arrived while the instance was busy, oldest first."""
    for _ in range(MAX_BUFFERED_DELIVERIES):
        if run.instance.buffered_count <= 0:
            return
        waiting = runtime.waiting_message_names(run.workflow)
        if not waiting:
            return
        message = run.session.scalars(
            select(BufferedMessage)
            .where(BufferedMessage.instance_id == run.instance.id, BufferedMessage.delivered_at.is_(None),
                   BufferedMessage.name.in_(waiting))
            .order_by(BufferedMessage.id)
            .limit(1)
        ).first()
        if message is None:
            return
        runtime.deliver_message(run.workflow, message.name, message.payload)
        message.delivered_at = run.now
        run.instance.buffered_count -= 1
        run.record("message_delivered", {"name": message.name, "payload": message.payload,
                                         "buffered_id": message.id, "sender": message.sender})


def _save(run: InstanceRun) -> None:
    wf, instance, session = run.workflow, run.instance, run.session
    for event in wf.get_events():  # messages nobody inside caught: to the outbox
        session.add(Outbox(instance_id=instance.id, kind="message", created_at=run.now,
                           payload={"name": event.event_definition.name, "payload": event.payload}))
    if run.derived is None:
        run.derived = read_derived(session, instance.id)
    now_pending = runtime.pending(wf)
    _sync_human_tasks(run, now_pending.human)
    _sync_timers(run, now_pending.timers)
    _sync_message_waits(run, now_pending.messages)
    recording.record_step(run, now_pending)  # what changed, for the audit trail and replay (engine.replay)
    if wf.is_completed():
        status = "completed"
    elif now_pending.human:
        status = "running"
    elif now_pending.timers or now_pending.messages:
        status = "waiting"
    else:
        raise RuntimeError("the instance has no open task, timer or message wait but is not completed (stuck)")
    if status == "completed" and instance.status != "completed":
        instance.completed_at = run.now
        run.record("instance_completed", {"data": _public_data(wf.data)})
    instance.status = status
    instance.state = state.dump(wf)
    instance.row_version += 1
    instance.updated_at = run.now


def _public_data(data: dict) -> dict:
    return {k: v for k, v in data.items() if not callable(v)}


def _sync_human_tasks(run: InstanceRun, ready: dict[str, Any]) -> None:
    derived, session = run.derived, run.session
    for guid in [g for g in derived.open_tasks if g not in ready]:
        row_id = derived.open_tasks.pop(guid)
        task = _task_or_none(run.workflow, guid)
        if runtime.is_completed_task(task):
            session.connection().execute(_CLOSE_TASK, {
                "row_id": row_id, "status": "completed", "at": run.now, "by": run.actor.username,
                "outcome": run.outcome if guid == run.acted_task_guid else None})
        else:
            session.connection().execute(_CLOSE_TASK, {"row_id": row_id, "status": "cancelled", "at": run.now,
                                                       "by": None, "outcome": None})
            run.record("task_cancelled", {"task_id": row_id}, task_guid=guid)
    new_rows = [_new_human_task(run, task) for guid, task in ready.items() if guid not in derived.open_tasks]
    if new_rows:
        ids = {guid: id_ for id_, guid in session.connection().execute(_INSERT_TASKS, new_rows)}
        for row in new_rows:
            derived.open_tasks[row["task_guid"]] = ids[row["task_guid"]]
            run.record("task_opened", {"task_id": ids[row["task_guid"]], "name": row["name"], "role": row["role"],
                                       "scope": row["scope"],
                                       "due_at": row["due_at"].isoformat() if row["due_at"] else None},
                       task_guid=row["task_guid"], bpmn_id=row["bpmn_id"])
        # 办理时限 of tasks with a ``deadline`` property: reminder and escalation times (engine.deadlines)
        deadlines.track(session, run.now, [
            (ids[row["task_guid"]], run.instance.id,
             run.loaded.task_meta(row["process_id"], row["bpmn_id"]).get("deadline"), row["due_at"])
            for row in new_rows])


def _new_human_task(run: InstanceRun, task) -> dict:
    process_id = runtime.task_process_id(task)
    bpmn_id = task.task_spec.bpmn_id or task.task_spec.name
    meta = run.loaded.task_meta(process_id, bpmn_id)
    role = meta.get("role")
    if not role and meta.get("role_expression"):
        role = runtime.evaluate(task, meta["role_expression"])
    if not role:
        raise RuntimeError(f"user task {process_id}/{bpmn_id} has no role")
    if run.known_roles is not None and role not in run.known_roles:
        raise RuntimeError(f"user task {process_id}/{bpmn_id}: role {role!r} is not a known role")
    if not meta.get("scope"):
        raise RuntimeError(f"user task {process_id}/{bpmn_id} has no scope expression")
    scope = runtime.evaluate(task, meta["scope"])
    if not isinstance(scope, str) or not scope:
        raise RuntimeError(f"user task {process_id}/{bpmn_id}: scope expression gave {scope!r}, not an org code")
    due_at = task_due_at(meta, run.now)
    # ``assignee``: an expression naming the one user the task is for (a panel expert's own score, 第十八条)
    assignee = runtime.evaluate(task, meta["assignee"]) if meta.get("assignee") else None
    if assignee is not None and (not isinstance(assignee, str) or not assignee):
        raise RuntimeError(f"user task {process_id}/{bpmn_id}: assignee expression gave {assignee!r}, not a username")
    return {"instance_id": run.instance.id, "task_guid": str(task.id), "process_id": process_id, "bpmn_id": bpmn_id,
            "name": meta.get("name") or task.task_spec.bpmn_name or bpmn_id, "role": role, "scope": scope,
            "form": meta.get("form"), "status": OPEN, "created_at": run.now, "due_at": due_at, "assignee": assignee,
            "completed_at": None, "completed_by": None, "outcome": None}


def task_due_at(meta: dict, opened: dt.datetime) -> dt.datetime | None:
    """When a user task opened at ``opened`` is due under its properties (deadline, dueInWorkingDays,
    dueInDays); None without one. Raises CalendarYearMissing for a year not loaded."""
    if meta.get("deadline"):
        return deadlines.due_at(meta["deadline"], opened)
    if meta.get("due_in_working_days"):
        return calendar.working_days_later(opened, int(meta["due_in_working_days"]))
    if meta.get("due_in_days"):
        return opened + dt.timedelta(days=int(meta["due_in_days"]))
    return None


def _task_or_none(wf, guid: str):
    try:
        return runtime.find_task(wf, guid)
    except NotFound:
        return None


def _sync_timers(run: InstanceRun, waiting: list) -> None:
    derived, session, iid = run.derived, run.session, run.instance.id
    current = {t.task_guid: t for t in waiting}
    gone = [g for g in derived.timers if g not in current]
    if gone:
        session.execute(delete(Timer).where(Timer.instance_id == iid, Timer.task_guid.in_(gone)))
        for guid in gone:
            del derived.timers[guid]
    for guid, timer in current.items():
        if guid not in derived.timers:
            session.execute(insert(Timer).values(instance_id=iid, task_guid=guid, bpmn_id=timer.bpmn_id,
                                                 due_at=timer.due_at))
        elif derived.timers[guid] != timer.due_at:
            session.execute(update(Timer).where(Timer.task_guid == guid).values(due_at=timer.due_at))
        derived.timers[guid] = timer.due_at


def _sync_message_waits(run: InstanceRun, waiting: list) -> None:
    derived, session, iid = run.derived, run.session, run.instance.id
    current = {(w.task_guid, w.name) for w in waiting}
    for guid, name in derived.waits - current:
        session.execute(delete(MessageWait).where(MessageWait.instance_id == iid, MessageWait.task_guid == guid,
                                                  MessageWait.message_name == name))
    for guid, name in current - derived.waits:
        session.execute(insert(MessageWait).values(instance_id=iid, task_guid=guid, message_name=name))
    derived.waits = current

