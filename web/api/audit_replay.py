"""``/api/v1/audit/instances…``: the auditors' search, an instance's steps, and its replay (issue 13).

- ``GET /audit/instances``: instances the auditor audits, filtered like ``/audit/`` (``process_id``,
  ``unit``, ``official``, ``outcome``, ``from``, ``to``, ``happened``), newest first, paged;
- ``GET /audit/instances/{id}/steps``: every step of its history as it was then (process data and its
  changes, completed / active / waiting elements, open tasks, timers, who acted, in which role and
  scope, from where, on whose delegation, due date and lateness), folded from the stored events;
- ``POST /audit/instances/{id}/replay``: re-execute it on a scratch database and compare every step;
  the run is kept (``replay_run``) and its id returned.

Auditors only (role ``auditor``; a province auditor reads all, a city or county auditor its own
division): anyone else gets 403, written to the access log like every use of these endpoints.
"""
from __future__ import annotations

from flask import request

from engine.errors import NotPermitted
from engine.replay.replayer import record_run, replay
from web import audit_search, audit_steps, vocab
from web.access_log import record_access
from web.api import ID, bp
from web.api import openapi as doc
from web.api.auth import current_actor, writes
from web.api.inputs import json_body
from web.api.outputs import iso
from web.extensions import engine


def _auditor():
    actor = current_actor()
    try:
        audit_search.require_auditor(actor)
    except NotPermitted:
        record_access("audit.api", request.path[:120], result="denied")
        raise
    return actor


def _require(instance_id: int):
    actor = _auditor()
    with engine().db.session() as session:
        try:
            audit_search.require_audited(session, actor, instance_id)
        except NotPermitted:
            record_access("api.audit.steps", f"instance:{instance_id}", result="denied")
            raise
    return actor


@bp.get("/audit/instances")
def audit_instances():
    """Instances the auditor audits, filtered, newest first; ``page`` / ``per_page`` (≤ 100)."""
    actor = _auditor()
    eng = engine()
    query = audit_search.SearchQuery.parse(request.args, per_page_default=20, process_key="process_id")
    with eng.db.session() as session:
        rows, total = audit_search.search(session, actor, query, eng.clock.now())
        items = [{"id": r.id, "process_id": r.process_id, "title": r.title, "status": r.status,
                  "created_at": iso(r.created_at), "summary": r.summary or {}} for r in rows]
    return {"items": items, "total": total, "page": query.page, "per_page": query.per_page,
            "pages": max(1, -(-total // query.per_page))}


@bp.get(f"/audit/instances/<{ID}:instance_id>/steps")
def audit_instance_steps(instance_id: int):
    """Every step of the instance's history, folded from the stored events (nothing is re-executed)."""
    _require(instance_id)
    trail = audit_steps.trail(engine(), instance_id)
    record_access("api.audit.steps", f"instance:{instance_id}", detail={"steps": len(trail.steps)})
    return {"instance_id": instance_id, "process_id": trail.instance.process_id, "title": trail.instance.title,
            "status": trail.instance.status, "has_step_records": trail.has_step_records,
            "steps": [_step(trail, step) for step in trail.steps]}


def _step(trail: audit_steps.AuditTrail, step) -> dict:
    view = step.to_dict()
    view.pop("events")  # the raw events are at /instances/{id}/events; the step names its seq range
    view["event"] = {k: view["event"][k] for k in ("seq", "type", "at", "actor", "bpmn_id", "payload", "hash")}
    view["label"] = audit_steps.step_label(trail, step)
    view["actor_label"] = audit_steps.actor_text(trail, step.actor)
    view["role_label"] = vocab.role_label(step.task.role) if step.task else None
    view["scope_label"] = audit_steps.scope_label(step.task.scope) if step.task else None
    return view


@bp.post(f"/audit/instances/<{ID}:instance_id>/replay")
@writes
def audit_instance_replay(instance_id: int):
    """Re-execute the instance against its record; ``result.matched`` false names the first divergence."""
    json_body(allowed=set())
    actor = _require(instance_id)
    eng = engine()
    result = replay(eng, instance_id)
    run = record_run(eng, [result], by=actor.username, scope=f"instance:{instance_id}")
    record_access("audit.replay", f"instance:{instance_id}", result="ok" if result.matched else "failed",
                  detail={"replay_run": run, "commands": result.commands, "matched": result.matched})
    return {"replay_run": run, "replayed": 1, "diverged": 0 if result.matched else 1, "result": result.to_dict()}


# --- OpenAPI ---------------------------------------------------------------------------------------

_ANY = {"description": "Any JSON value"}
_NAMES = {"type": "object", "additionalProperties": {"type": "array", "items": doc.STRING},
          "description": "(sub)process id -> BPMN ids"}
_TASK = doc._object({
    "task_id": doc.INTEGER, "guid": doc.NULLABLE_STRING, "bpmn_id": doc.NULLABLE_STRING,
    "process_id": doc.NULLABLE_STRING, "name": doc.STRING, "role": doc.STRING, "scope": doc.STRING, "due_at": doc.WHEN,
    "opened_at": doc.WHEN, "status": {"enum": ["open", "completed", "cancelled"]}, "assignee": doc.NULLABLE_STRING,
    "owner": doc.NULLABLE_STRING, "completed_by": doc.NULLABLE_STRING, "completed_at": doc.WHEN,
    "outcome": doc.NULLABLE_STRING, "draft": {"type": ["object", "null"]}, "urge_count": doc.INTEGER,
}, description="A human task as the inbox held it then")
_DIVERGENCE = doc._object({
    "instance_id": doc.INTEGER, "seq": {"type": ["integer", "null"], "description": "The recorded event (null: the "
                                                                                     "stored rows at the end)"},
    "event_type": doc.NULLABLE_STRING, "where": doc.STRING, "recorded": _ANY, "replayed": _ANY, "message": doc.STRING,
}, description="Where a replay first disagreed with the record")
doc.SCHEMAS.update({
    "AuditTask": _TASK,
    "AuditStep": doc._object({
        "index": doc.INTEGER, "seq": doc.INTEGER, "last_seq": doc.INTEGER, "type": doc.STRING, "label": doc.STRING,
        "at": doc.WHEN, "actor": doc.STRING, "actor_label": doc.STRING, "role_label": doc.NULLABLE_STRING,
        "scope_label": doc.NULLABLE_STRING, "event": doc.OBJECT, "data": doc.OBJECT,
        "changes": {"type": "array", "items": doc._object({"key": doc.STRING,
                                                          "kind": {"enum": ["added", "changed", "removed"]},
                                                          "before": _ANY, "after": _ANY})},
        "done": _NAMES, "done_now": _NAMES, "active": _NAMES, "waiting": _NAMES,
        "timers": {"type": "array", "items": {"type": "array", "items": doc.STRING}},
        "messages": {"type": "array", "items": doc.STRING},
        "tasks": {"type": "array", "items": doc._ref("AuditTask")},
        "task": {"anyOf": [doc._ref("AuditTask"), {"type": "null"}]},
        "version_id": {"type": ["integer", "null"]}, "via": {"type": ["object", "null"]},
        "calendar": doc.NULLABLE_STRING, "services": {"type": "array", "items": doc.OBJECT},
        "late": {"type": ["boolean", "null"]}, "late_working_days": {"type": ["integer", "null"]},
        "on_behalf_of": doc.NULLABLE_STRING,
    }, description="The instance right after one command, folded from the stored history"),
    "AuditSteps": doc._object({"instance_id": doc.INTEGER, "process_id": doc.STRING, "title": doc.STRING,
                               "status": doc.STRING, "has_step_records": {"type": "boolean"},
                               "steps": {"type": "array", "items": doc._ref("AuditStep")}}),
    "ReplayDivergence": _DIVERGENCE,
    "ReplayRun": doc._object({
        "replay_run": doc.INTEGER, "replayed": doc.INTEGER, "diverged": doc.INTEGER,
        "result": doc._object({"instance_id": doc.INTEGER, "process_id": doc.STRING, "commands": doc.INTEGER,
                               "events": doc.INTEGER, "matched": {"type": "boolean"}, "seconds": {"type": "number"},
                               "first_divergence": {"anyOf": [doc._ref("ReplayDivergence"), {"type": "null"}]}}),
    }, description="A replay: N replayed, M diverged, and the first divergence"),
})
# A China date, or empty (no bound): the search form sends the empty field as it is.
_DATE_PARAM = {"anyOf": [{"type": "string", "format": "date", "minLength": 10, "maxLength": 10},
                         {"type": "string", "maxLength": 0}]}
doc.PATHS.update({
    "/audit/instances": {
        "get": doc._operation("auditSearchInstances", "Instances the auditor audits (auditors only)", "audit-replay",
                              ok=("200", "InstanceList"), errors=["403", "422"], parameters=[
                                  doc._query("process_id", doc._filter(120), "Only this process"),
                                  doc._query("unit", doc._filter(100), "The unit's name or 统一社会信用代码"),
                                  doc._query("official", doc._filter(100), "An official's name or account who acted"),
                                  doc._query("outcome", {"enum": list(audit_search.OUTCOMES)}, "How it ended"),
                                  doc._query("from", _DATE_PARAM, "Started on or after this China date"),
                                  doc._query("to", _DATE_PARAM, "Started on or before this China date"),
                                  doc._query("happened", {"enum": list(audit_search.HAPPENED)},
                                             "Instances where this happened"),
                                  doc._param("Page"), doc._param("PerPage")]),
    },
    "/audit/instances/{instance_id}/steps": {
        "get": doc._operation("auditInstanceSteps", "Every step of an instance's history as it was then (auditors)",
                              "audit-replay", ok=("200", "AuditSteps"), errors=doc.READ,
                              parameters=[doc._param("InstanceId")]),
    },
    "/audit/instances/{instance_id}/replay": {
        "post": doc._operation("auditReplayInstance", "Re-execute an instance against its record (auditors)",
                               "audit-replay", ok=("200", "ReplayRun"), errors=["400", "403", "404", "413", "415",
                                                                                "422", "429"],
                               parameters=[doc._param("InstanceId")], body="Empty"),
    },
})
doc.TAGS.append("audit-replay")
