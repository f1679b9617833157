"""``/api/v1/migrations``: plan, dry-run and run migrations of running instances — process owners only.

- ``POST /migrations/plan`` {process_id, from, to, mapping?}: what changed from version ``from`` to
  ``to`` (elements, forms), with the mapping checked.
- ``POST /migrations/dry-run`` {…, instance_ids?, positions?, title?, only?, page?, per_page?}: every
  selected running instance on ``from`` with ``can_migrate`` and the reasons; reads and writes nothing.
- ``POST /migrations`` {…, all? | instance_ids? | positions?, note?}: a job for the worker; 201.
- ``GET /migrations`` (?process_id), ``GET /migrations/{job_id}`` (?status, page, per_page) and
  ``POST /migrations/{job_id}/cancel``.

A mapping naming an element either version lacks, or the same version twice, is 422 naming the
field; an unknown process or version is 404. Anyone but a process owner gets 403 (docs/migration.md).
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import url_for

from engine.errors import InvalidInput, NotPermitted
from engine.identity import Actor
from engine.migration import dryrun, jobs, plan as plans
from engine.migration.models import ITEM_STATUSES, JOB_STATUSES
from web.api import ID, bp
from web.api.auth import current_actor, writes
from web.api.inputs import MAX_ID, boolean, json_body, obj, query_choice, query_int, query_text, text
from web.extensions import engine

OWNER_ROLES = ("process_owner",)
MAX_PER_PAGE = 500
MAX_IDS = dryrun.MAX_IDS
MAX_POSITIONS = 100
MAX_NOTE = 500
PLAN_FIELDS = {"process_id", "from", "to", "mapping"}
SELECTION_FIELDS = {"instance_ids", "positions", "title"}
ONLY = ("can", "cannot")


def _owner() -> Actor:
    actor = current_actor()
    if not any(actor.has_role(role) for role in OWNER_ROLES):
        raise NotPermitted(f"只有流程管理员可以迁移实例 / only {', '.join(OWNER_ROLES)} may migrate instances")
    return actor


def _number(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None:
        raise InvalidInput(f"{name} is required: a process version number", field=name)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{name} must be a version number from 1 to {MAX_ID}", field=name)
    return value


def _versions(body: Mapping[str, Any]) -> tuple[str, int, int, dict]:
    return (text(body, "process_id", required=True, max_length=120).strip(), _number(body, "from"),
            _number(body, "to"), obj(body, "mapping"))


def _selection(body: Mapping[str, Any]) -> dryrun.Selection:
    ids = body.get("instance_ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > MAX_IDS or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in ids)):
        raise InvalidInput(f"instance_ids must be a list of at most {MAX_IDS} instance numbers", field="instance_ids")
    positions = body.get("positions")
    if positions is not None and (not isinstance(positions, list) or len(positions) > MAX_POSITIONS or not all(
            isinstance(p, str) and p.strip() and len(p) <= 120 for p in positions)):
        raise InvalidInput(f"positions must be a list of at most {MAX_POSITIONS} BPMN ids", field="positions")
    title = text(body, "title", max_length=200).strip() or None
    return dryrun.Selection(instance_ids=tuple(ids) if ids is not None else None,
                            positions=tuple(p.strip() for p in positions) if positions is not None else None,
                            title=title)


@bp.post("/migrations/plan")
@writes  # a POST like every other (one rate bucket per token), though it only reads
def migrations_plan():
    """What changes from one version of a process to another, with the mapping checked."""
    _owner()
    process_id, from_number, to_number, mapping = _versions(json_body(allowed=PLAN_FIELDS))
    with engine().db.session() as session:
        return plans.build(session, engine().specs, process_id, from_number, to_number, mapping).to_dict()


@bp.post("/migrations/dry-run")
@writes
def migrations_dry_run():
    """Every selected running instance on the source version: can it move, and why not (writes nothing)."""
    _owner()
    body = json_body(allowed=PLAN_FIELDS | SELECTION_FIELDS | {"only", "page", "per_page"})
    process_id, from_number, to_number, mapping = _versions(body)
    selection = _selection(body)
    only = body.get("only")
    if only is not None and only not in ONLY:
        raise InvalidInput("only must be can or cannot", field="only")
    page = _page_number(body, "page", 1, MAX_ID)
    per_page = _page_number(body, "per_page", 100, MAX_PER_PAGE)
    result = dryrun.dry_run(engine(), process_id, from_number, to_number, mapping, selection)
    items = [i for i in result.items if only is None or i.can_migrate == (only == "can")]
    shown = items[(page - 1) * per_page:page * per_page]
    return {**result.to_dict(items=False), "items": [i.to_dict() for i in shown], "total": len(items),
            "page": page, "per_page": per_page, "pages": max(1, -(-len(items) // per_page))}


def _page_number(body: Mapping[str, Any], name: str, default: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from 1 to {high}", field=name)
    return value


@bp.post("/migrations")
@writes
def migrations_create():
    """Store a migration job for the selected instances (``all``, ``instance_ids`` or ``positions``)."""
    actor = _owner()
    body = json_body(allowed=PLAN_FIELDS | SELECTION_FIELDS | {"all", "note"})
    process_id, from_number, to_number, mapping = _versions(body)
    selection = _selection(body)
    everything = boolean(body, "all")
    if not everything and not selection.instance_ids and not selection.positions:
        raise InvalidInput("say which instances: all true, instance_ids or positions", field="all")
    note = text(body, "note", max_length=MAX_NOTE).strip() or None
    job = jobs.create_job(engine(), process_id=process_id, from_number=from_number, to_number=to_number,
                          mapping=mapping, selection=selection, created_by=actor.username, note=note)
    return job, 201, {"Location": url_for("api.migration_show", job_id=job["id"])}


@bp.get("/migrations")
def migrations_index():
    """The newest migration jobs (of one process), with their counts per result."""
    _owner()
    return {"items": jobs.jobs_of(engine(), query_text("process_id", max_length=120), limit=100)}


@bp.get(f"/migrations/<{ID}:job_id>")
def migration_show(job_id: int):
    """One job with one page of its per-instance results (``status`` filters them)."""
    _owner()
    status = query_choice("status", ITEM_STATUSES, default=None)
    return jobs.job_view(engine(), job_id, status=status, page=query_int("page", default=1),
                         per_page=query_int("per_page", default=100, high=MAX_PER_PAGE))


@bp.post(f"/migrations/<{ID}:job_id>/cancel")
@writes
def migration_cancel(job_id: int):
    """Stop a job before its next instance; 409 if it already finished."""
    actor = _owner()
    json_body(allowed=set())
    return jobs.cancel_job(engine(), job_id, by=actor.username)


# --- the OpenAPI description (web/api/openapi.py collects it) -------------------------------------

from web.api import openapi as _o  # noqa: E402

_o.TAGS.append("migrations")
_NAME = {"type": "string", "minLength": 1, "maxLength": 120, "pattern": _o.TEXT_PATTERN, "allOf": [_o.NOT_BLANK]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_VERSION_NUMBER = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_REASON = _o._object({
    "code": {"type": "string", "description": "Stable code, e.g. task_removed, form_invalid, join_waits_forever"},
    "element": _o.NULLABLE_STRING, "name": _o.NULLABLE_STRING, "process_id": _o.NULLABLE_STRING,
    "message_zh": _o.STRING, "message_en": _o.STRING,
    "fields": {"type": "object", "additionalProperties": _o.STRING, "description": "form_invalid: each bad field"}},
    description="Why an instance cannot move to the target version")
_POSITION_ELEMENT = _o._object({"process_id": _o.STRING, "element": _o.STRING, "name": _o.STRING,
                                "state": {"enum": ["READY", "WAITING", "STARTED"]}})
_PLAN_BODY = {"process_id": {**_NAME, "description": "The process key, e.g. green_application"},
              "from": {**_VERSION_NUMBER, "description": "The process version the instances are on"},
              "to": {**_VERSION_NUMBER, "description": "The process version to move them to"},
              "mapping": {"type": ["object", "null"], "maxProperties": plans.MAX_MAPPING,
                          "propertyNames": {"minLength": 1, "maxLength": 120, "pattern": _o.TEXT_PATTERN},
                          "additionalProperties": _NAME,
                          "description": "{old BPMN id: new BPMN id}: map an element of the source to one of the "
                                         "same kind and process in the target (422 if either is unknown)"}}
_SELECTION_BODY = {
    "instance_ids": {"type": ["array", "null"], "maxItems": MAX_IDS, "items": _VERSION_NUMBER,
                     "description": "Only these instances"},
    "positions": {"type": ["array", "null"], "maxItems": MAX_POSITIONS, "items": _NAME,
                  "description": "Only instances with one of these BPMN elements live (waiting there)"},
    "title": {**_o.text_schema(200, nullable=True), "description": "Only instances whose title or business key "
                                                                    "contains this"}}
_o.SCHEMAS.update({
    "MigrationReason": _REASON,
    "MigrationVersion": _o._object({"number": _o.INTEGER, "definition_version": _o.INTEGER, "sha256": _o.STRING,
                                    "content_sha256": _o.STRING}),
    "MigrationElement": _o._object({
        "process_id": _o.STRING, "element": _o.NULLABLE_STRING, "name": _o.STRING, "kind": _o.STRING,
        "change": {"enum": ["changed", "added", "removed", "renamed"]}, "target": _o.NULLABLE_STRING,
        "attributes": {"type": "array", "items": _o.STRING}}),
    "MigrationPlan": _o._object({
        "process_id": _o.STRING, "name": _o.STRING, "from": _o._ref("MigrationVersion"),
        "to": _o._ref("MigrationVersion"), "mapping": {"type": "object", "additionalProperties": _o.STRING},
        "elements": {"type": "array", "items": _o._ref("MigrationElement")},
        "unchanged": {"type": "integer", "description": "Elements that map by their id and did not change"},
        "forms": {"type": "array", "items": _o._object({"name": _o.STRING,
                                                        "change": {"enum": ["changed", "added", "removed"]}})}}),
    "MigrationCheck": _o._object({
        "instance_id": _o.INTEGER, "title": _o.STRING, "business_key": _o.NULLABLE_STRING, "status": _o.STRING,
        "definition_version": _o.INTEGER, "created_at": _o.WHEN,
        "position": {"type": "array", "items": _POSITION_ELEMENT}, "can_migrate": {"type": "boolean"},
        "reasons": {"type": "array", "items": _o._ref("MigrationReason")}}),
    "MigrationDryRun": _o._object({
        "plan": _o._ref("MigrationPlan"),
        "summary": _o._object({"total": _o.INTEGER, "can": _o.INTEGER, "cannot": _o.INTEGER}),
        "positions": {"type": "array", "items": _o._object({
            "key": _o.STRING, "elements": {"type": "array", "items": _POSITION_ELEMENT}, "total": _o.INTEGER,
            "can": _o.INTEGER, "cannot": _o.INTEGER,
            "reasons": {"type": "array", "items": _o._ref("MigrationReason")}})},
        "seconds": {"type": "number"}, "simulated": {"type": "integer", "description": "Instances moved in memory"},
        "items": {"type": "array", "items": _o._ref("MigrationCheck")}, "total": _o.INTEGER, "page": _o.INTEGER,
        "per_page": _o.INTEGER, "pages": _o.INTEGER}),
    "MigrationJob": _o._object({
        "id": _o.INTEGER, "process_id": _o.STRING, "from_number": _o.INTEGER, "to_number": _o.INTEGER,
        "to_version": {"type": "integer", "description": "The target definition version"},
        "mapping": {"type": "object", "additionalProperties": _o.STRING}, "selection": _o.OBJECT,
        "note": _o.NULLABLE_STRING, "status": {"enum": list(JOB_STATUSES)}, "created_by": _o.STRING,
        "created_at": _o.WHEN, "started_at": _o.WHEN, "finished_at": _o.WHEN, "cancelled_by": _o.NULLABLE_STRING,
        "cancelled_at": _o.WHEN, "total": _o.INTEGER,
        "counts": _o._object({status: _o.INTEGER for status in ITEM_STATUSES})}),
    "MigrationJobList": _o._object({"items": {"type": "array", "items": _o._ref("MigrationJob")}}),
    "MigrationItem": _o._object({
        "instance_id": _o.INTEGER, "title": _o.STRING, "status": {"enum": list(ITEM_STATUSES)},
        "from_version": _NULLABLE_INT, "version_now": _o.INTEGER,
        "reasons": {"type": "array", "items": _o._ref("MigrationReason")}, "message": _o.NULLABLE_STRING,
        "finished_at": _o.WHEN}),
    "MigrationPlanRequest": _o._object(_PLAN_BODY, required=["process_id", "from", "to"], extra=False),
    "MigrationDryRunRequest": _o._object({
        **_PLAN_BODY, **_SELECTION_BODY, "only": {"enum": [*ONLY, None], "description": "Only those that can / cannot"},
        "page": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID},
        "per_page": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_PER_PAGE}},
        required=["process_id", "from", "to"], extra=False),
    "MigrationJobRequest": _o._object({
        **_PLAN_BODY, **_SELECTION_BODY,
        "all": {"type": ["boolean", "null"], "description": "Every running instance on the source version"},
        "note": _o.text_schema(MAX_NOTE, nullable=True, description="Why (kept with the job)")},
        required=["process_id", "from", "to"], extra=False,
        description="Say which instances: all true, instance_ids or positions (422 otherwise)"),
})
_o.SCHEMAS["MigrationJobDetail"] = _o._object({
    **_o.SCHEMAS["MigrationJob"]["properties"], "items": {"type": "array", "items": _o._ref("MigrationItem")},
    "page": _o.INTEGER, "per_page": _o.INTEGER, "items_total": _o.INTEGER, "pages": _o.INTEGER})
_o.PARAMETERS["MigrationJobId"] = {"name": "job_id", "in": "path", "required": True, "schema": _o.ROW_ID}
_BODY_ERRORS = ["403", "404", "413", "415", "422", "429"]


def _op(operation_id: str, summary: str, ok: tuple[str, str], errors: list[str], **kw) -> dict:
    return _o._operation(operation_id, summary, "migrations", ok=ok, errors=errors, **kw)


_create = _op("createMigration", "Migrate the selected running instances, as a job the worker runs (process owners)",
              ("201", "MigrationJobDetail"), [*_BODY_ERRORS, "409"], body="MigrationJobRequest")
_create["responses"]["201"]["headers"]["Location"]["description"] = "URL of the new job"
_o.PATHS.update({
    "/migrations/plan": {"post": _op("planMigration", "What changes between two versions of a process (process owners)",
                                     ("200", "MigrationPlan"), _BODY_ERRORS, body="MigrationPlanRequest")},
    "/migrations/dry-run": {"post": _op("dryRunMigration", "Which running instances can move, and why not; writes "
                                        "nothing (process owners)", ("200", "MigrationDryRun"), _BODY_ERRORS,
                                        body="MigrationDryRunRequest")},
    "/migrations": {
        "get": _op("listMigrations", "The newest migration jobs (process owners)", ("200", "MigrationJobList"),
                   ["403", "422"], parameters=[_o._query("process_id", _o._filter(120), "Only this process")]),
        "post": _create,
    },
    "/migrations/{job_id}": {
        "get": _op("getMigration", "A migration job with one page of its per-instance results (process owners)",
                   ("200", "MigrationJobDetail"), ["403", "404", "422"], parameters=[
                       _o._param("MigrationJobId"),
                       _o._query("status", {"enum": list(ITEM_STATUSES)}, "Only results of this status"),
                       _o._param("Page"),
                       {"name": "per_page", "in": "query", "schema": {**_o.INTEGER, "minimum": 1,
                                                                      "maximum": MAX_PER_PAGE, "default": 100}}]),
    },
    "/migrations/{job_id}/cancel": {
        "post": _op("cancelMigration", "Stop a job before its next instance (process owners)",
                    ("200", "MigrationJobDetail"), ["403", "404", "409", "413", "415", "422", "429"],
                    parameters=[_o._param("MigrationJobId")], body="Empty"),
    },
})
