"""``/api/v1/instances``: list, start and read process instances, and deliver messages to them."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotPermitted
from engine.identity import Actor
from engine.models import INSTANCE_STATUSES, ProcessInstance
from web.access import require_instance, visible_instances
from web.api import ID, bp
from web.api.auth import current_actor, writes
from web.api.inputs import boolean, json_body, obj, query_choice, query_int, query_text, text
from web.api.outputs import events_for, instance_for, iso, outcome_view
from web.access_log import record_access
from web.extensions import engine

MAX_PER_PAGE = 100


def instance_summary(instance: ProcessInstance) -> dict:
    return {"id": instance.id, "process_id": instance.process_id, "title": instance.title,
            "status": instance.status, "created_at": iso(instance.created_at), "summary": instance.summary or {}}


def list_instances(session: Session, actor: Actor, *, process_id: str | None, status: str | None,
                   page: int, per_page: int) -> tuple[list[dict], int]:
    """One page of the instances ``actor`` may read, newest first, and how many there are in all."""
    conditions = [visible_instances(actor)]
    if process_id:
        conditions.append(ProcessInstance.process_id == process_id)
    if status:
        conditions.append(ProcessInstance.status == status)
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(*conditions)) or 0
    rows = session.scalars(select(ProcessInstance).where(*conditions).order_by(ProcessInstance.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return [instance_summary(row) for row in rows], total


@bp.get("/instances")
def instances_index():
    """Instances the caller may read; filters ``process_id`` and ``status``; ``page`` / ``per_page`` (≤ 100)."""
    process_id = query_text("process_id", max_length=120)
    status = query_choice("status", INSTANCE_STATUSES, default=None)
    page = query_int("page", default=1)
    per_page = query_int("per_page", default=20, high=MAX_PER_PAGE)
    with engine().db.session() as session:
        items, total = list_instances(session, current_actor(), process_id=process_id, status=status,
                                      page=page, per_page=per_page)
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, -(-total // per_page))}


@bp.post("/instances")
@writes
def instances_start():
    """Start a process ``{process_id, data}``; 201 with the new instance's Location."""
    body = json_body(allowed={"process_id", "data"})
    process_id = text(body, "process_id", required=True, max_length=120)
    data = obj(body, "data")
    _require_startable(process_id)
    outcome = engine().start(process_id, data, actor=current_actor())
    location = url_for("api.instance_show", instance_id=outcome.instance_id)
    return outcome_view(outcome), 201, {"Location": location}


@bp.get(f"/instances/<{ID}:instance_id>")
def instance_show(instance_id: int):
    """The instance with its data, tasks, timers and history; 404 if missing, 403 if not the caller's to see."""
    actor = current_actor()
    _require_readable(actor, instance_id)
    record_access("api.instance.view", f"instance:{instance_id}")  # 等保 access log (web/access_log.py)
    return instance_for(actor, engine().instance(instance_id))


@bp.get(f"/instances/<{ID}:instance_id>/events")
def instance_events(instance_id: int):
    """The instance's hash-chained history, oldest first."""
    actor = current_actor()
    _require_readable(actor, instance_id)
    record_access("api.instance.events", f"instance:{instance_id}")
    return {"items": events_for(actor, engine().instance(instance_id)["events"])}


@bp.post(f"/instances/<{ID}:instance_id>/messages")
@writes
def instance_message(instance_id: int):
    """Deliver a message ``{name, payload, require_waiting?}`` to an instance the caller may read."""
    actor = current_actor()
    _require_readable(actor, instance_id)
    body = json_body(allowed={"name", "payload", "require_waiting"})
    name = text(body, "name", required=True, max_length=120)
    payload = obj(body, "payload")
    require_waiting = boolean(body, "require_waiting")
    outcome = engine().deliver(instance_id, name, payload, actor=actor, require_waiting=require_waiting)
    return outcome_view(outcome)


def _require_startable(process_id: str) -> None:
    """403 unless a person starts ``process_id`` with a form (as on the pages): a scheduled process is
    started by the scheduler, a sub-process by its parent's call activity, never by an API caller.

    An unknown process is left to the engine (404).
    """
    eng = engine()
    by_person = eng.started_by_a_person(process_id)
    if by_person is None:  # not executable anywhere: a known embedded/called process is still refused here
        by_person = not any(process_id in version["processes"] for version in eng.versions())
    if not by_person:
        raise NotPermitted(f"{process_id} is not started by a person: the scheduler or its parent process starts it")


def _require_readable(actor: Actor, instance_id: int) -> None:
    """404 if the instance does not exist, 403 if ``actor`` may not read it."""
    with engine().db.session() as session:
        require_instance(session, actor, instance_id)
