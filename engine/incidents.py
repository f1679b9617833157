"""Incidents: commands that failed inside the engine, kept so an operator can see and retry them.

The failed command was rolled back; the incident is written in its own transaction with
the command (to retry it), the failing task, the error and the traceback, and the
instance is marked ``incident`` while an incident of it is open.

An instance's status follows its state: the status ``incident`` means "an open incident of
this instance could still fail again". So after every successful command on an instance in
incident (``settle``), each open incident whose command can no longer run — its task is no
longer open, its timer is gone, the instance finished, or its input is not valid text — is
resolved with a note saying which command superseded it, and the instance becomes
``running`` / ``waiting`` / ``completed`` again unless an incident is still open. Operators
resolve (the cause is fixed, or the command is not needed) or dismiss (nothing to do) an
incident with a note (``resolve`` / ``dismiss``); every closing is an event in the
instance's hash-chained history (``incident_resolved`` / ``incident_dismissed``).
"""
from __future__ import annotations

import datetime as dt
import traceback as _traceback
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from engine import history, text
from engine.clock import isoformat_utc
from engine.errors import Conflict, EngineError, InvalidInput, NotFound
from engine.models import HumanTask, Incident, MessageWait, ProcessInstance, Timer

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine
    from engine.commands._base import Command
    from engine.identity import Actor

OPEN, RESOLVED, DISMISSED = "open", "resolved", "dismissed"
EVENT_TYPES = {RESOLVED: "incident_resolved", DISMISSED: "incident_dismissed"}
MAX_NOTE = 2000
TERMINAL = ("completed", "cancelled")
# Keys of a recorded command that are bookkeeping, not the command's input.
_BOOKKEEPING = ("type", "actor", "resolved_by")


class IncidentRaised(EngineError):
    """The command failed inside the engine; nothing changed and incident ``incident_id`` records why."""

    code = "incident"
    http_status = 503

    def __init__(self, incident_id: int, instance_id: int | None, cause: BaseException):
        super().__init__(f"the engine could not finish this step; incident #{incident_id} was recorded for an "
                         f"operator ({type(cause).__name__}: {text.safe(str(cause))})")
        self.incident_id = incident_id
        self.instance_id = instance_id


def _failing_task(exc: BaseException) -> str | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        task = getattr(exc, "task", None)
        if task is not None:
            return task.task_spec.bpmn_id or task.task_spec.name
        exc = exc.__cause__ or exc.__context__
    return None


def record(engine: "WorkflowEngine", command: "Command", actor: "Actor", instance_id: int | None,
           exc: BaseException, *, existing_id: int | None = None) -> int:
    """Write (or re-open) the incident for a failed command; returns its id."""
    now = engine.clock.now()
    with engine.db.unit_of_work() as session:
        payload = {**command.to_dict(), "actor": actor.username}
        incident = None
        if existing_id is not None:
            incident = session.get(Incident, existing_id)
        if incident is None:
            incident = Incident(instance_id=instance_id, command=payload, created_at=now, attempts=0)
            session.add(incident)
        incident.status = OPEN
        incident.attempts += 1
        incident.resolved_at = incident.resolved_by = incident.note = None
        incident.task_bpmn_id = _failing_task(exc)
        incident.error = text.safe(f"{type(exc).__name__}: {exc}")
        incident.traceback = text.safe("".join(_traceback.format_exception(exc)))
        if instance_id is not None:
            instance = session.get(ProcessInstance, instance_id)
            if instance is not None and instance.status not in TERMINAL:
                instance.status = "incident"
        session.flush()
        return incident.id


def has_open(session: Session, instance_id: int) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Incident).where(
        Incident.instance_id == instance_id, Incident.status == OPEN)))


def list_incidents(session: Session, *, status: str | None = OPEN) -> list[Incident]:
    query = select(Incident).order_by(Incident.id)
    if status:
        query = query.where(Incident.status == status)
    return list(session.scalars(query))


# --- reading -------------------------------------------------------------------------------

_iso = isoformat_utc


def view(incident: Incident, instance: ProcessInstance | None = None) -> dict[str, Any]:
    """An incident as the CLI, the API and the page show it."""
    return {"id": incident.id, "instance_id": incident.instance_id,
            "process_id": instance.process_id if instance is not None else incident.command.get("process_id"),
            "title": instance.title if instance is not None else "",
            "instance_status": instance.status if instance is not None else None,
            "task": incident.task_bpmn_id, "command": incident.command.get("type"),
            "actor": incident.command.get("actor"), "error": incident.error, "status": incident.status,
            "attempts": incident.attempts, "created_at": _iso(incident.created_at),
            "resolved_at": _iso(incident.resolved_at), "resolved_by": incident.resolved_by, "note": incident.note,
            "traceback": incident.traceback}


def page(session: Session, *, status: str | None, offset: int = 0, limit: int = 100) -> tuple[list[dict], int]:
    """Incidents (of ``status``, or all), newest first, with their instances; and how many there are."""
    condition = [Incident.status == status] if status else []
    total = session.scalar(select(func.count()).select_from(Incident).where(*condition)) or 0
    rows = session.execute(select(Incident, ProcessInstance)
                           .outerjoin(ProcessInstance, ProcessInstance.id == Incident.instance_id)
                           .where(*condition).order_by(Incident.id.desc()).offset(offset).limit(limit))
    return [view(incident, instance) for incident, instance in rows], total


# --- the status follows the state ----------------------------------------------------------

def state_status(session: Session, instance: ProcessInstance) -> str:
    """The status the instance's state gives, read from the derived tables (as of its last save)."""
    if instance.status != "incident":
        return instance.status
    iid = instance.id
    if session.scalar(select(exists().where(HumanTask.instance_id == iid, HumanTask.status == OPEN))):
        return "running"
    if session.scalar(select(exists().where(Timer.instance_id == iid))) or session.scalar(
            select(exists().where(MessageWait.instance_id == iid))):
        return "waiting"
    return "running"


def obsolete_reason(session: Session, incident: Incident, status_now: str) -> str | None:
    """Why the incident's command can no longer run (so it cannot fail again), or None if it still can."""
    if status_now in TERMINAL:
        return f"the instance is {status_now}"
    command = incident.command or {}
    found = text.json_problem({k: v for k, v in command.items() if k not in _BOOKKEEPING})
    if found:
        return f"its input {found[0]} {found[1]}, so it can never run"
    task_id = command.get("task_id")
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        task_status = session.scalar(select(HumanTask.status).where(HumanTask.id == task_id))
        if task_status != OPEN:
            return f"task {task_id} is {task_status or 'gone'}"
    if command.get("type") == "FireTimer":
        waiting = session.scalar(select(exists().where(Timer.instance_id == incident.instance_id,
                                                       Timer.task_guid == command.get("task_guid"))))
        if not waiting:
            return "its timer has fired or was cancelled"
    return None


def _close(incident: Incident, *, status: str, now: dt.datetime, by: str, note: str) -> None:
    incident.status = status
    incident.resolved_at = now
    incident.resolved_by = by
    incident.note = note


def _event(instance: ProcessInstance, incident: Incident, *, now: dt.datetime, by: str, how: str) -> dict:
    return history.chain(instance, at=now, actor=by, type=EVENT_TYPES[incident.status], payload={
        "incident_id": incident.id, "command": incident.command.get("type"), "task": incident.task_bpmn_id,
        "how": how, "note": incident.note})


def settle(session: Session, instance: ProcessInstance, *, now: dt.datetime, status_now: str, actor: str,
           command_type: str, resolving: int | None = None, retried_by: str | None = None) -> list[dict]:
    """After a successful command on ``instance``: close the incidents it made obsolete, set the status.

    ``status_now`` is the status of the instance's state after the command. The incident being
    retried (``resolving``) is resolved; any other open incident whose command can no longer run
    is resolved as superseded. Returns the chained history events to write.
    """
    rows = list(session.scalars(select(Incident).where(Incident.instance_id == instance.id,
                                                       Incident.status == OPEN).order_by(Incident.id)))
    if resolving is not None and all(row.id != resolving for row in rows):
        retried = session.get(Incident, resolving)
        if retried is not None and retried.status == OPEN:  # a failed start: it now has an instance
            retried.instance_id = instance.id
            rows.insert(0, retried)
    events = []
    for incident in rows:
        if incident.id == resolving:
            by, how = retried_by or actor, "retry"
            note = f"retried successfully by {by}"
        else:
            reason = obsolete_reason(session, incident, status_now)
            if reason is None:
                continue
            by, how = actor, "superseded"
            note = f"superseded by a later successful command ({command_type} by {actor}): {reason}"
        _close(incident, status=RESOLVED, now=now, by=by, note=note)
        events.append(_event(instance, incident, now=now, by=by, how=how))
    still_open = any(row.status == OPEN for row in rows)
    instance.status = "incident" if still_open and status_now not in TERMINAL else status_now
    return events


# --- operators -----------------------------------------------------------------------------

def _operator_note(note: Any) -> str:
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput("a note is required: say what was done or why nothing is needed", field="note")
    text.check(note, "note")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"note is longer than {MAX_NOTE} characters", field="note")
    return note


def _lock_instance(session: Session, instance_id: int) -> ProcessInstance | None:
    """The instance row, locked like a command locks it (the history chain head lives there)."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    if session.get_bind().dialect.name != "sqlite":  # SQLite holds the write lock since BEGIN IMMEDIATE
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def close(engine: "WorkflowEngine", incident_id: int, *, status: str, note: str, actor: str,
          how: str = "operator") -> dict[str, Any]:
    """Resolve or dismiss an open incident with a note, in the instance's history; returns its view.

    NotFound if there is no such incident, Conflict if it is not open, InvalidInput without a note.
    The instance leaves ``incident`` when no other incident of it is open.
    """
    if status not in EVENT_TYPES:
        raise ValueError(f"an incident is closed as resolved or dismissed, not {status!r}")
    note = _operator_note(note)
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInput("name the operator", field="actor")
    text.check(actor, "actor")
    if not isinstance(incident_id, int) or isinstance(incident_id, bool):
        raise NotFound(f"incident {incident_id!r} not found")
    now = engine.clock.now()
    with engine.db.unit_of_work() as session:
        instance_id = session.scalar(select(Incident.instance_id).where(Incident.id == incident_id))
        instance = _lock_instance(session, instance_id) if instance_id is not None else None
        incident = session.get(Incident, incident_id, populate_existing=True)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.status != OPEN:
            raise Conflict(f"incident {incident_id} is already {incident.status}")
        _close(incident, status=status, now=now, by=actor, note=note)
        if instance is not None:
            history.write(session, [_event(instance, incident, now=now, by=actor, how=how)])
            if instance.status == "incident" and not has_open(session, instance.id):
                instance.status = state_status(session, instance)
        return view(incident, instance)


def resolve(engine: "WorkflowEngine", incident_id: int, note: str, actor: str) -> dict[str, Any]:
    """The cause is fixed, or the failed command is not needed any more."""
    return close(engine, incident_id, status=RESOLVED, note=note, actor=actor)


def dismiss(engine: "WorkflowEngine", incident_id: int, note: str, actor: str) -> dict[str, Any]:
    """Nothing needs to be done about it (e.g. a caller's junk input recorded before it was refused)."""
    return close(engine, incident_id, status=DISMISSED, note=note, actor=actor)
