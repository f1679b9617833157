"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 description of the API, as plain Python data.

Schemas are JSON Schema 2020-12 (what OpenAPI 3.1 uses). ``tests/web/test_api_openapi.py``
checks that every route of the blueprint is described here and nothing else is, and
validates real responses against these schemas; ``tests/web/test_api_contract.py`` runs
Schemathesis against the served document, so every bound the server enforces (lengths, ranges,
non-blank required strings, valid text, every status it can answer) must be written here too.
"""
from __future__ import annotations

from typing import Any

from engine.inbox import MAX_PER_PAGE, SORTS, TABS
from engine.models import INCIDENT_STATUSES, INSTANCE_STATUSES
from web.api import bp
from web.api.inputs import MAX_ID

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
OBJECT: Schema = {"type": "object"}
WHEN: Schema = {"type": ["string", "null"], "format": "date-time",
                "description": "ISO 8601 with offset (UTC), null if not yet"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
# What the input boundary (``web.inputs_guard``, ``engine.text``) accepts as text: no C0 control
# character but tab, line feed and carriage return (and no lone surrogate, which UTF-8 cannot carry).
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
# A name in the URL path: no control character at all, no DEL, no U+FFFD, no slash.
NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f\\ufffd/]+$"
# A required text: something that is not only white space (the server strips it), and valid text.
NOT_BLANK = {"pattern": "\\S"}


def text_schema(max_length: int, *, required: bool = False, nullable: bool = False,
                description: str | None = None) -> Schema:
    """A string field as ``web.api.inputs.text`` reads it: valid text, at most ``max_length`` characters;
    ``required`` ones must not be empty or blank, optional ones may be null (the same as absent)."""
    schema: Schema = {"type": ["string", "null"] if nullable else "string", "maxLength": max_length,
                      "pattern": TEXT_PATTERN}
    if required:
        schema.update(minLength=1, allOf=[NOT_BLANK])
    if description:
        schema["description"] = description
    return schema


# Any JSON whose strings (values and keys, at any depth) are valid text: the form data and payloads.
JSON_VALUE: Schema = {"description": "Any JSON value; its strings and keys are valid text",
                      "anyOf": [{"type": ["null", "boolean", "number"]}, {"type": "string", "pattern": TEXT_PATTERN},
                                {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
                                {"$ref": "#/components/schemas/JsonObject"}]}
JSON_OBJECT: Schema = {"type": "object", "propertyNames": {"pattern": TEXT_PATTERN},
                       "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}}


def json_object(description: str, *, nullable: bool = False) -> Schema:
    """A free-form JSON object field (null, when ``nullable``, is the same as absent: ``{}``)."""
    ref = {"$ref": "#/components/schemas/JsonObject"}
    if nullable:
        return {"anyOf": [ref, {"type": "null"}], "description": description}
    return {**ref, "description": description}


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


NOTE: Schema = text_schema(2000, nullable=True, description="A note for the history and the notification")
USERNAME: Schema = text_schema(120, required=True, description="A user name, e.g. county-520302-b")
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
    "JsonValue": JSON_VALUE,
    "JsonObject": JSON_OBJECT,
    # Request bodies: unknown keys are refused (422); an optional field sent as null counts as absent.
    "StartInstance": _object({
        "process_id": text_schema(120, required=True, description="The process, e.g. green_application"),
        "data": json_object("The start form (checked against the process's start form: 422 names a field)",
                            nullable=True),
    }, required=["process_id"], extra=False),
    "DeliverMessage": _object({
        "name": text_schema(120, required=True, description="The message name, e.g. notice_objection"),
        "payload": json_object("The message's data", nullable=True),
        "require_waiting": {"type": ["boolean", "null"], "default": False,
                            "description": "Refuse (422) instead of buffering when the instance is not waiting"},
    }, required=["name"], extra=False),
    "CompleteTask": _object({
        "data": json_object("The task's form data (checked against the task's form: 422 names a field)",
                            nullable=True),
        "expected_row_version": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ID,
                                 "description": "409 stale_version if the instance changed since"},
    }, required=[], extra=False),
    "ToColleague": _object({"to_user": USERNAME, "note": NOTE}, required=["to_user"], extra=False),
    "ResolveDelegation": _object({"data": json_object("The proposed form data"), "note": NOTE}, required=["data"],
                                 extra=False),
    "CcTask": _object({"to_users": {"type": "array", "items": USERNAME, "minItems": 1, "maxItems": 100},
                       "note": NOTE}, required=["to_users"], extra=False),
    "Note": _object({"note": NOTE}, required=[], extra=False),
    "Comment": _object({"text": text_schema(2000, required=True)}, extra=False),
    "Empty": _object({}, extra=False, description="No fields; the body may be omitted"),
    "Incident": _object({
        "id": INTEGER, "instance_id": {"type": ["integer", "null"], "description": "null for a failed start"},
        "process_id": NULLABLE_STRING, "title": STRING,
        "instance_status": {"type": ["string", "null"], "description": "The instance's status now"},
        "task": {"type": ["string", "null"], "description": "The failing element (BPMN id), if known"},
        "command": {"type": "string", "description": "The failed command, e.g. CompleteTask, FireTimer"},
        "actor": NULLABLE_STRING, "error": STRING, "status": {"enum": list(INCIDENT_STATUSES)},
        "attempts": INTEGER, "created_at": WHEN, "resolved_at": WHEN,
        "resolved_by": {"type": ["string", "null"], "description": "The operator, or who superseded it"},
        "note": {"type": ["string", "null"], "description": "Why it was resolved or dismissed"},
        "traceback": STRING,
    }),
    "IncidentList": _page_of("Incident"),
    "IncidentNote": _object({"note": text_schema(2000, required=True,
                                                 description="What was done, or why nothing is needed (history)")},
                            extra=False),
    "RetryResult": _object({"incident": _ref("Incident"), "outcome": _ref("Outcome")},
                           description="The incident after the retry, and the command's outcome "
                                       "(result.ran is false when the command could no longer run)"),
}

ERRORS: dict[str, tuple[str, str]] = {
    "400": ("BadRequest", "The body is not valid JSON or not a JSON object (bad_request), or text in the path, "
                          "the query, the body or a form is not valid Unicode text (invalid_text)"),
    "401": ("Unauthorized", "Missing, invalid or revoked token, or a deactivated user"),
    "403": ("Forbidden", "The caller may not see this, or may not do this"),
    "404": ("NotFound", "No such instance, task, version or form"),
    "409": ("Conflict", "The state changed: task already completed, claimed by someone else, stale row version"),
    "413": ("PayloadTooLarge", "The body is larger than the server accepts"),
    "415": ("UnsupportedMediaType", "The body is not application/json"),
    "422": ("Unprocessable", "A field is missing, of the wrong type or breaks a rule; fields names it"),
    "429": ("TooManyRequests", "Too many write requests with this token; wait and retry"),
    "503": ("Incident", "The command failed inside the engine (error: incident): nothing changed, and an incident "
                        "was recorded (or stays open) for an operator"),
}

ROW_ID: Schema = {**INTEGER, "minimum": 0, "maximum": MAX_ID}  # ids are 32-bit integers; larger ones are 404
PARAMETERS: dict[str, Schema] = {
    "InstanceId": {"name": "instance_id", "in": "path", "required": True, "schema": ROW_ID},
    "TaskId": {"name": "task_id", "in": "path", "required": True, "schema": ROW_ID},
    "IncidentId": {"name": "incident_id", "in": "path", "required": True, "schema": ROW_ID},
    "Version": {"name": "version", "in": "path", "required": True, "schema": ROW_ID},
    "FormName": {"name": "name", "in": "path", "required": True, "schema": {**STRING, "pattern": NAME_PATTERN},
                 "description": "The form file a task names, e.g. review.schema.json"},
    "Page": {"name": "page", "in": "query", "schema": {**INTEGER, "minimum": 1, "maximum": MAX_ID, "default": 1}},
    "PerPage": {"name": "per_page", "in": "query",
                "schema": {**INTEGER, "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20}},
}


def _param(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _filter(max_length: int) -> Schema:
    """A text filter of the query string: empty (or only spaces) means no filter."""
    return {"type": "string", "maxLength": max_length, "pattern": TEXT_PATTERN}


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
    # Every request passes the input boundary (400 invalid_text); every one but the public needs a token.
    codes = {"400", *errors} if public else {"400", "401", *errors}
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
WRITE = ["400", "403", "404", "409", "413", "415", "422", "429", "503"]


def _command(operation_id: str, summary: str, body: str) -> Schema:
    return {"post": _operation(operation_id, summary, "tasks", ok=("200", "Outcome"), errors=WRITE,
                               parameters=[_param("TaskId")], body=body)}


PATHS: dict[str, Schema] = {
    "/instances": {
        "get": _operation("listInstances", "Instances the caller may read, newest first", "instances",
                          ok=("200", "InstanceList"), errors=["422"], parameters=[
                              _query("process_id", _filter(120), "Only this process"),
                              _query("status", {"enum": list(INSTANCE_STATUSES)}, "Only this status"),
                              _param("Page"), _param("PerPage")]),
        "post": _operation("startInstance", "Start a process instance (one a person starts with a form: "
                           "403 for scheduled processes and sub-processes)", "instances", ok=("201", "Outcome"),
                           errors=WRITE, body="StartInstance"),
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
                              _query("process_id", _filter(120), "Only this process"),
                              _query("target_level", _filter(80), "Facet: city, province or national"),
                              _query("unit_type", _filter(80), "Facet: factory, supply_chain or park"),
                              _query("county_code", _filter(80), "Facet: the county's division code"),
                              _query("city_code", _filter(80), "Facet: the city's division code"),
                              _query("q", _filter(100), "Search in the instance title"),
                              _query("due_by", {"type": "string", "format": "date", "minLength": 10, "maxLength": 10},
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
    "/incidents": {
        "get": _operation("listIncidents", "Incidents, newest first (operators: process owners)", "incidents",
                          ok=("200", "IncidentList"), errors=["403", "422"], parameters=[
                              _query("status", {"enum": [*INCIDENT_STATUSES, "all"], "default": "open"},
                                     "open (default), resolved, dismissed or all"),
                              _param("Page"), _param("PerPage")]),
    },
    "/incidents/{incident_id}": {
        "get": _operation("getIncident", "An incident with its command, error and traceback", "incidents",
                          ok=("200", "Incident"), errors=READ, parameters=[_param("IncidentId")]),
    },
    "/incidents/{incident_id}/retry": {
        "post": _operation("retryIncident", "Run the failed command again (resolves it, also when it can no "
                           "longer run)", "incidents", ok=("200", "RetryResult"), errors=[*WRITE, "503"],
                           parameters=[_param("IncidentId")], body="Empty"),
    },
    "/incidents/{incident_id}/resolve": {
        "post": _operation("resolveIncident", "Resolve an open incident with a note", "incidents",
                           ok=("200", "Incident"), errors=WRITE, parameters=[_param("IncidentId")],
                           body="IncidentNote"),
    },
    "/incidents/{incident_id}/dismiss": {
        "post": _operation("dismissIncident", "Dismiss an open incident with a note", "incidents",
                           ok=("200", "Incident"), errors=WRITE, parameters=[_param("IncidentId")],
                           body="IncidentNote"),
    },
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


# --- deployments and process versions (process owners only; web/api/deployments.py, docs/modeler.md) ---

PROCESS_KEY: Schema = {"type": "string", "maxLength": 120, "pattern": NAME_PATTERN,
                       "description": "A process key (the BPMN process id), e.g. green_application"}
PARAMETERS.update({
    "ProcessKey": {"name": "key", "in": "path", "required": True, "schema": PROCESS_KEY},
    "ProcessVersionNumber": {"name": "number", "in": "path", "required": True,
                             "schema": {**INTEGER, "minimum": 0, "maximum": MAX_ID},
                             "description": "The process's version number (1, 2, …)"},
})
INSTANCE_COUNTS: Schema = _object({"running": INTEGER, "finished": INTEGER},
                                  description="Instances started on this version: not finished / completed or cancelled")
SCHEMAS.update({
    "DeployProblem": _object({
        "file": STRING, "element_id": NULLABLE_STRING, "line": {"type": ["integer", "null"]}, "message": STRING,
        "severity": {"enum": ["error", "warning"], "description": "Errors refuse the bundle; warnings do not"},
    }, description="One problem of a bundle, naming the file, the element id and the line"),
    "DeployedProcess": _object({"key": STRING, "name": STRING, "version": {"type": ["integer", "null"]},
                                "changed": {"type": "boolean", "description": "It got a new version in this deploy"}}),
    "Deployment": _object({
        "definition_version": INTEGER, "created": {"type": "boolean", "description": "false: identical content"},
        "bundle_sha256": STRING, "deployment_id": INTEGER,
        "processes": {"type": "array", "items": _ref("DeployedProcess")},
        "warnings": {"type": "array", "items": _ref("DeployProblem")},
    }),
    "ProcessVersion": _object({
        "version": INTEGER, "note": NULLABLE_STRING, "deployed_by": STRING, "deployed_at": WHEN,
        "definition_version": INTEGER, "content_sha256": STRING, "instances": INSTANCE_COUNTS,
    }),
    "ProcessVersionList": _object({"key": STRING, "name": STRING,
                                   "items": {"type": "array", "items": _ref("ProcessVersion")}}),
    "ProcessVersionFiles": _object({
        "key": STRING, "name": STRING, "version": INTEGER, "note": NULLABLE_STRING, "deployed_by": STRING,
        "deployed_at": WHEN, "definition_version": INTEGER, "content_sha256": STRING, "instances": INSTANCE_COUNTS,
        "bpmn_path": STRING,
        "files": {"type": "array", "items": _object({"path": STRING, "encoding": {"enum": ["utf-8", "base64"]},
                                                     "content": STRING})},
    }),
    "DeploymentUpload": _object({
        "files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"},
                  "description": "One part per .bpmn / .dmn / form .json file, or a .zip of them"},
        "note": text_schema(500, description="The change note, kept with the new versions and the deployment log"),
        "mode": {"enum": ["overlay", "replace"], "default": "overlay",
                 "description": "overlay: over the newest bundle (same path replaces, a new path adds); "
                                "replace: exactly the uploaded files"},
    }, required=["files"], extra=False),
})
# A refused bundle is a 422 deploy_refused error that lists every problem (nothing is stored).
SCHEMAS["Error"]["properties"]["problems"] = {
    "type": "array", "items": _ref("DeployProblem"),
    "description": "deploy_refused: every problem of the bundle, each naming file, element id and line"}
_DEPLOYED = {"description": "", "content": {"application/json": {"schema": _ref("Deployment")}}}
_deploy_operation = _operation("createDeployment", "Deploy .bpmn and form files as the next version (process owners)",
                               "deployments", ok=("201", "Deployment"),
                               errors=["400", "403", "409", "413", "415", "422", "429"])
_deploy_operation["responses"]["201"]["description"] = "A new version was stored"
_deploy_operation["responses"]["201"]["headers"] = {
    "Location": {"schema": STRING, "description": "The versions of a process that changed"}}
_deploy_operation["responses"]["200"] = {**_DEPLOYED, "description": "Identical content: the existing versions"}
_deploy_operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
    "schema": _ref("DeploymentUpload"),
    "encoding": {"files": {"contentType": "application/octet-stream"}}}}}
PATHS.update({
    "/deployments": {"post": _deploy_operation},
    "/definitions/{key}/versions": {
        "get": _operation("listProcessVersions", "Every version of one process, newest first (process owners)",
                          "deployments", ok=("200", "ProcessVersionList"), errors=READ,
                          parameters=[_param("ProcessKey")]),
    },
    "/definitions/{key}/versions/{number}": {
        "get": _operation("getProcessVersion", "One version of a process with its .bpmn and forms (process owners)",
                          "deployments", ok=("200", "ProcessVersionFiles"), errors=READ,
                          parameters=[_param("ProcessKey"), _param("ProcessVersionNumber")]),
    },
})


# Route modules with their own area (web/api/audit_*.py, migrations.py) append their tag here and
# add their paths and schemas to PATHS and SCHEMAS when they are imported.
TAGS: list[str] = ["instances", "tasks", "incidents", "definitions", "deployments", "me", "meta"]


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
        "tags": [{"name": name} for name in TAGS],
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
