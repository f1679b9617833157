"""``/api/v1/incidents``: commands that failed inside the engine, for operators only.

Operators are the holders of ``web.access.INCIDENT_ROLES`` (the process owner); anyone else
gets 403. An operator lists incidents, retries one (its command runs again as its actor),
or resolves / dismisses one with a note that goes into the instance's history.
"""
from __future__ import annotations

from engine.errors import NotPermitted
from engine.identity import Actor
from engine.models import INCIDENT_STATUSES
from web.access import INCIDENT_ROLES, handles_incidents
from web.api import ID, bp
from web.api.auth import current_actor, writes
from web.api.inputs import json_body, query_choice, query_int, text
from web.api.outputs import outcome_view
from web.extensions import engine

MAX_PER_PAGE = 100
MAX_NOTE = 2000
STATUS_FILTERS = (*INCIDENT_STATUSES, "all")


def _operator() -> Actor:
    actor = current_actor()
    if not handles_incidents(actor):
        raise NotPermitted(f"故障由流程管理员处理 / incidents are handled by: {', '.join(INCIDENT_ROLES)}")
    return actor


@bp.get("/incidents")
def incidents_index():
    """Incidents, newest first: ``status`` open (default), resolved, dismissed or all; paged."""
    _operator()
    status = query_choice("status", STATUS_FILTERS, default="open")
    page = query_int("page", default=1)
    per_page = query_int("per_page", default=20, high=MAX_PER_PAGE)
    items, total = engine().incident_page(status=None if status == "all" else status, page=page, per_page=per_page)
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, -(-total // per_page))}


@bp.get(f"/incidents/<{ID}:incident_id>")
def incident_show(incident_id: int):
    """One incident with its command, error and traceback."""
    _operator()
    return engine().incident(incident_id)


@bp.post(f"/incidents/<{ID}:incident_id>/retry")
@writes
def incident_retry(incident_id: int):
    """Run the failed command again; a command that can no longer run resolves it with a note."""
    actor = _operator()
    json_body(allowed=set())
    outcome = engine().retry_incident(incident_id, operator=actor.username)
    return {"incident": engine().incident(incident_id), "outcome": outcome_view(outcome)}


@bp.post(f"/incidents/<{ID}:incident_id>/resolve")
@writes
def incident_resolve(incident_id: int):
    """Resolve an open incident ``{note}``: the cause is fixed, or its command is not needed."""
    actor = _operator()
    note = text(json_body(allowed={"note"}), "note", required=True, max_length=MAX_NOTE)
    return engine().resolve_incident(incident_id, note=note, operator=actor.username)


@bp.post(f"/incidents/<{ID}:incident_id>/dismiss")
@writes
def incident_dismiss(incident_id: int):
    """Dismiss an open incident ``{note}``: nothing needs to be done about it."""
    actor = _operator()
    note = text(json_body(allowed={"note"}), "note", required=True, max_length=MAX_NOTE)
    return engine().dismiss_incident(incident_id, note=note, operator=actor.username)
