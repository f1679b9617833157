"""Incidents: commands that failed inside the engine, kept so an operator can see and retry them.

The failed command was rolled back; the incident is written in its own transaction with
the command (to retry it), the failing task, the error and the traceback, and the
instance is marked ``incident`` until the incident is resolved.
"""
from __future__ import annotations

import traceback as _traceback
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.models import Incident, ProcessInstance

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine
    from engine.commands._base import Command
    from engine.identity import Actor


class IncidentRaised(EngineError):
    """The command failed inside the engine; nothing changed and incident ``incident_id`` records why."""

    code = "incident"
    http_status = 503

    def __init__(self, incident_id: int, instance_id: int | None, cause: BaseException):
        super().__init__(f"the engine could not finish this step; incident #{incident_id} was recorded for an "
                         f"operator ({type(cause).__name__}: {cause})")
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
        incident.status = "open"
        incident.attempts += 1
        incident.task_bpmn_id = _failing_task(exc)
        incident.error = f"{type(exc).__name__}: {exc}"
        incident.traceback = "".join(_traceback.format_exception(exc))
        if instance_id is not None:
            instance = session.get(ProcessInstance, instance_id)
            if instance is not None and instance.status not in ("completed", "cancelled"):
                instance.status = "incident"
        session.flush()
        return incident.id


def has_open(session: Session, instance_id: int) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Incident).where(
        Incident.instance_id == instance_id, Incident.status == "open")))


def list_incidents(session: Session, *, status: str | None = "open") -> list[Incident]:
    query = select(Incident).order_by(Incident.id)
    if status:
        query = query.where(Incident.status == status)
    return list(session.scalars(query))


def resolve(session: Session, incident_id: int, now, *, by: str) -> None:
    incident = session.get(Incident, incident_id)
    if incident is not None and incident.status == "open":
        incident.status = "resolved"
        incident.resolved_at = now
        incident.command = {**incident.command, "resolved_by": by}
