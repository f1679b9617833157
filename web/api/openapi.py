"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 description of the API, as plain Python data.

Schemas are JSON Schema 2020-12 (what OpenAPI 3.1 uses). ``tests/web/test_api_openapi.py``
checks that every route of the blueprint is described here and nothing else is, and
validates real responses against these schemas.
"""
from __future__ import annotations

from typing import Any

from engine.inbox import MAX_PER_PAGE, SORTS, TABS
from engine.models import INSTANCE_STATUSES
from web.api import bp

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
OBJECT: Schema = {"type": "object"}
WHEN: Schema = {"type": ["string", "null"], "format": "date-time",
                "description": "ISO 8601 with offset (UTC), null if not yet"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], *, required: list[str] | None = None, extra: bool = True,
            description: str | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties,
                      "required": list(properties) if required is None else required}
    if not extra:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def _page_of(item: str) -> Schema:
    return _object({"items": {"type": "array", "items": _ref(item)}, "total": INTEGER, "page": INTEGER,
                    "per_page": INTEGER, "pages": INTEGER})


NOTE: Schema = {"type": "string", "maxLength": 2000, "description": "A note for the history and the notification"}
TASK_PROPERTIES: dict[str, Schema] = {
    "id": INTEGER, "instance_id": INTEGER, "name": STRING, "bpmn_id": STRING, "process_id": STRING,
    "role": STRING, "scope": STRING, "status": {"enum": ["open", "completed", "cancelled"]},
    "assignee": NULLABLE_STRING, "form": NULLABLE_STRING, "created_at": WHEN, "due_at": WHEN,
    "completed_at": WHEN, "completed_by": NULLABLE_STRING, "outcome": NULLABLE_STRING, "owner": NULLABLE_STRING,
    "draft": {"type": ["object", "null"], "description": "A delegate's proposed answer (hidden from applicants)"},
    "urged_at": WHEN, "urge_count": INTEGER,
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object({
        "error": {"type": "string", "description": "Machine-readable code, e.g. not_found, invalid_input"},
        "message": STRING,
        "fields": {"type": "object", "additionalProperties": STRING,
                   "description": "What is wrong with each named field (empty if none)"},
        "article": {"type": "string", "description": "The article of the regulation a rule violation cites"},
    }, required=["error", "message", "fields"]),
    "Outcome": _object({
        "instance_id": INTEGER, "status": {"enum": list(INSTANCE_STATUSES)}, "row_version": INTEGER,
        "result": {"type": "object", "description": "What the command did (e.g. task_id, assignee, delivered)"},
    }, description="The answer to every command"),
    "InstanceSummary": _object({
        "id": INTEGER, "process_id": STRING, "title": STRING, "status": {"enum": list(INSTANCE_STATUSES)},
        "created_at": WHEN, "summary": {"type": "object", "description": "Facets copied out of the data"},
    }),
    "InstanceList": _page_of("InstanceSummary"),
    "Event": _object({
        "seq": INTEGER, "at": WHEN, "actor": STRING, "type": STRING, "task_guid": NULLABLE_STRING,
        "bpmn_id": NULLABLE_STRING, "payload": OBJECT, "hash": STRING,
        "redacted": {"type": "boolean", "description": "Present (true) when the payload was reduced for an applicant"},
    }, required=["seq", "at", "actor", "type", "task_guid", "bpmn_id", "payload", "hash"]),
    "EventList": _object({"items": {"type": "array", "items": _ref("Event")}}),
    "Task": _object(TASK_PROPERTIES),
    "TaskDetail": _object({**TASK_PROPERTIES, "cc": {"type": "array", "items": STRING}, "version_id": INTEGER}),
    "Instance": _object({
        "id": INTEGER, "process_id": STRING, "version": INTEGER, "title": STRING, "business_key": NULLABLE_STRING,
        "status": {"enum": list(INSTANCE_STATUSES)}, "row_version": INTEGER, "started_by": STRING,
        "created_at": WHEN, "completed_at": WHEN, "data": OBJECT,
        "tasks": {"type": "array", "items": _ref("Task")},
        "timers": {"type": "array", "items": _object({"bpmn_id": STRING, "due_at": WHEN})},
        "completed_path": {"type": "array", "items": STRING},
        "events": {"type": "array", "items": _ref("Event")},
    }, required=["id", "process_id", "version", "title", "status", "row_version", "started_by", "created_at",
                 "completed_at", "data", "tasks", "timers", "events"]),
    "InboxItem": _object({
        "id": INTEGER, "instance_id": INTEGER, "name": STRING, "role": STRING, "scope": STRING, "status": STRING,
        "assignee": NULLABLE_STRING, "owner": NULLABLE_STRING, "created_at": WHEN, "due_at": WHEN,
        "completed_at": WHEN, "outcome": NULLABLE_STRING, "urge_count": INTEGER, "form": NULLABLE_STRING,
        "version": INTEGER, "process_id": STRING, "title": STRING, "summary": OBJECT,
    }),
    "InboxPage": _object({
        "tab": {"enum": list(TABS)}, "items": {"type": "array", "items": _ref("InboxItem")},
        "counts": _object({tab: INTEGER for tab in TABS}), "total": INTEGER, "page": INTEGER,
        "per_page": INTEGER, "pages": INTEGER,
    }),
    "Version": _object({"version": INTEGER, "sha256": STRING, "deployed_by": STRING, "deployed_at": WHEN,
                        "processes": {"type": "array", "items": STRING}}),
    "VersionList": _object({"items": {"type": "array", "items": _ref("Version")}}),
    "Form": _object({"version": INTEGER, "name": STRING,
                     "schema": {"type": "object", "description": "The form's JSON Schema (with x- UI hints)"}}),
    "Me": _object({"username": STRING, "display_name": STRING,
                   "grants": {"type": "array", "items": _object({"role": STRING, "scope": STRING})},
                   "token_id": INTEGER}),
    # Request bodies: unknown keys are refused (422).
    "StartInstance": _object({"process_id": STRING, "data": {"type": "object", "description": "The start form"}},
                             required=["process_id"], extra=False),
    "DeliverMessage": _object({
        "name": {"type": "string", "description": "The message name, e.g. notice_objection"},
        "payload": OBJECT,
        "require_waiting": {"type": "boolean", "default": False,
                            "description": "Refuse (422) instead of buffering when the instance is not waiting"},
    }, required=["name"], extra=False),
    "CompleteTask": _object({
        "data": {"type": "object", "description": "The task's form data (see the task's form)"},
        "expected_row_version": {"type": ["integer", "null"],
                                 "description": "409 stale_version if the instance changed since"},
    }, required=[], extra=False),
    "ToColleague": _object({"to_user": STRING, "note": NOTE}, required=["to_user"], extra=False),
    "ResolveDelegation": _object({"data": OBJECT, "note": NOTE}, required=["data"], extra=False),
    "CcTask": _object({"to_users": {"type": "array", "items": STRING, "minItems": 1}, "note": NOTE},
                      required=["to_users"], extra=False),
    "Note": _object({"note": NOTE}, required=[], extra=False),
    "Comment": _object({"text": {"type": "string", "minLength": 1, "maxLength": 2000}}, extra=False),
    "Empty": _object({}, extra=False, description="No fields; the body may be omitted"),
}

ERRORS: dict[str, tuple[str, str]] = {
    "400": ("BadRequest", "The body is not valid JSON or not a JSON object"),
    "401": ("Unauthorized", "Missing, invalid or revoked token, or a deactivated user"),
    "403": ("Forbidden", "The caller may not see this, or may not do this"),
    "404": ("NotFound", "No such instance, task, version or form"),
    "409": ("Conflict", "The state changed: task already completed, claimed by someone else, stale row version"),
    "413": ("PayloadTooLarge", "The body is larger than the server accepts"),
    "415": ("UnsupportedMediaType", "The body is not application/json"),
    "422": ("Unprocessable", "A field is missing, of the wrong type or breaks a rule; fields names it"),
    "429": ("TooManyRequests", "Too many write requests with this token; wait and retry"),
}

PARAMETERS: dict[str, Schema] = {
    "InstanceId": {"name": "instance_id", "in": "path", "required": True, "schema": {**INTEGER, "minimum": 0}},
    "TaskId": {"name": "task_id", "in": "path", "required": True, "schema": {**INTEGER, "minimum": 0}},
    "Version": {"name": "version", "in": "path", "required": True, "schema": {**INTEGER, "minimum": 0}},
    "FormName": {"name": "name", "in": "path", "required": True, "schema": STRING,
                 "description": "The form file a task names, e.g. review.schema.json"},
    "Page": {"name": "page", "in": "query", "schema": {**INTEGER, "minimum": 1, "default": 1}},
    "PerPage": {"name": "per_page", "in": "query",
                "schema": {**INTEGER, "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20}},
}


def _param(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _json(schema_name: str) -> Schema:
    return {"content": {"application/json": {"schema": _ref(schema_name)}}}


def _operation(operation_id: str, summary: str, tag: str, *, ok: tuple[str, str], errors: list[str],
               parameters: list[Schema] | None = None, body: str | None = None, public: bool = False) -> Schema:
    status, schema = ok
    responses: Schema = {status: {"description": "OK", **_json(schema)}}
    if status == "201":
        responses[status]["description"] = "Created"
        responses[status]["headers"] = {"Location": {"schema": STRING, "description": "URL of the new instance"}}
    codes = errors if public else ["401", *errors]
    for code in sorted(codes):
        responses[code] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
    operation: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": body not in ("Empty", "Note", "CompleteTask"), **_json(body)}
    if public:
        operation["security"] = []
    return operation


READ = ["403", "404"]
WRITE = ["400", "403", "404", "409", "413", "415", "422", "429"]


def _command(operation_id: str, summary: str, body: str) -> Schema:
    return {"post": _operation(operation_id, summary, "tasks", ok=("200", "Outcome"), errors=WRITE,
                               parameters=[_param("TaskId")], body=body)}


PATHS: dict[str, Schema] = {
    "/instances": {
        "get": _operation("listInstances", "Instances the caller may read, newest first", "instances",
                          ok=("200", "InstanceList"), errors=["422"], parameters=[
                              _query("process_id", STRING, "Only this process"),
                              _query("status", {"enum": list(INSTANCE_STATUSES)}, "Only this status"),
                              _param("Page"), _param("PerPage")]),
        "post": _operation("startInstance", "Start a process instance", "instances", ok=("201", "Outcome"),
                           errors=["400", "403", "404", "409", "413", "415", "422", "429"], body="StartInstance"),
    },
    "/instances/{instance_id}": {
        "get": _operation("getInstance", "An instance with its data, tasks, timers and history", "instances",
                          ok=("200", "Instance"), errors=READ, parameters=[_param("InstanceId")]),
    },
    "/instances/{instance_id}/events": {
        "get": _operation("listInstanceEvents", "The instance's hash-chained history", "instances",
                          ok=("200", "EventList"), errors=READ, parameters=[_param("InstanceId")]),
    },
    "/instances/{instance_id}/messages": {
        "post": _operation("deliverMessage", "Deliver a message to an instance the caller may read", "instances",
                           ok=("200", "Outcome"), errors=WRITE, parameters=[_param("InstanceId")],
                           body="DeliverMessage"),
    },
    "/tasks": {
        "get": _operation("listTasks", "The caller's inbox: one tab, filtered and paged, with every tab's count",
                          "tasks", ok=("200", "InboxPage"), errors=["422"], parameters=[
                              _query("tab", {"enum": list(TABS), "default": "todo"},
                                     "todo 待办, claimable 可认领, done 已办, cc 抄送我的, overdue 逾期"),
                              _query("process_id", STRING, "Only this process"),
                              _query("target_level", STRING, "Facet: city, province or national"),
                              _query("unit_type", STRING, "Facet: factory, supply_chain or park"),
                              _query("county_code", STRING, "Facet: the county's division code"),
                              _query("city_code", STRING, "Facet: the city's division code"),
                              _query("q", {"type": "string", "maxLength": 100}, "Search in the instance title"),
                              _query("due_by", {"type": "string", "format": "date"},
                                     "Due at or before the end of this day (China time), YYYY-MM-DD"),
                              _query("sort", {"enum": list(SORTS), "default": "due"}, "Soonest due, or oldest"),
                              _param("Page"), _param("PerPage")]),
    },
    "/tasks/{task_id}": {
        "get": _operation("getTask", "A task and its CCs", "tasks", ok=("200", "TaskDetail"), errors=READ,
                          parameters=[_param("TaskId")]),
    },
    "/tasks/{task_id}/claim": _command("claimTask", "认领: take the task", "Empty"),
    "/tasks/{task_id}/release": _command("releaseTask", "Give a claimed task back", "Empty"),
    "/tasks/{task_id}/complete": _command("completeTask", "Complete the task with its form data", "CompleteTask"),
    "/tasks/{task_id}/transfer": _command("transferTask", "转办: to a colleague with the same role and scope",
                                          "ToColleague"),
    "/tasks/{task_id}/delegate": _command("delegateTask", "委派: a colleague prepares the answer", "ToColleague"),
    "/tasks/{task_id}/resolve": _command("resolveDelegation", "The delegate's proposed answer", "ResolveDelegation"),
    "/tasks/{task_id}/cc": _command("ccTask", "抄送: let colleagues read the task", "CcTask"),
    "/tasks/{task_id}/urge": _command("urgeTask", "催办: a supervisor urges the holder", "Note"),
    "/tasks/{task_id}/comments": _command("commentTask", "Comment on the task", "Comment"),
    "/definitions": {
        "get": _operation("listDefinitions", "Deployed definition versions", "definitions",
                          ok=("200", "VersionList"), errors=[]),
    },
    "/definitions/{version}/forms/{name}": {
        "get": _operation("getForm", "A form's JSON Schema, to build the form", "definitions", ok=("200", "Form"),
                          errors=["404"], parameters=[_param("Version"), _param("FormName")]),
    },
    "/me": {
        "get": _operation("getMe", "The caller and its grants", "me", ok=("200", "Me"), errors=[]),
    },
    "/openapi.json": {
        "get": {"operationId": "getOpenApi", "summary": "This document", "tags": ["meta"], "security": [],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": OBJECT}}}}},
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/api/v1``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "greenflow API — 贵州省绿色制造梯度培育管理平台", "version": "1",
                 "description": "Process instances, the officials' inbox and task commands. Every request but this "
                                "document needs `Authorization: Bearer gf_…` (issued by `greenflow tokens create`). "
                                "Errors are always {error, message, fields}; dates are ISO 8601 with offset."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in ("instances", "tasks", "definitions", "me", "meta")],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "gf_…",
                                               "description": "A token from `greenflow tokens create USER --name N`"}},
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": {name: {"description": description, **_json("Error")}
                          for name, description in ERRORS.values()},
        },
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document (no token needed)."""
    return document()
