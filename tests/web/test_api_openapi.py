"""The OpenAPI 3.1 document of /api/v1: complete, self-consistent, and true to the real responses."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from handlers import demo
from tests.web.test_api import COUNTY, app, as_user, open_task, start  # noqa: F401  (fixtures)
from web.api.openapi import document
from web.app import create_app

PREFIX = "/api/v1"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory):
    """An app whose database is never touched: for the routes and the document only."""
    return create_app({"database_url": f"sqlite:///{tmp_path_factory.mktemp('api') / 'unused.db'}",
                       "secret_key": "t"})


def openapi_path(rule: str) -> str:
    """``/api/v1/tasks/<int(max=…):task_id>`` → ``/tasks/{task_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.removeprefix(PREFIX))


def resolve(doc: dict, ref: str):
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_is_served_without_a_token(bare_app):
    response = bare_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json["openapi"] == "3.1.0"
    assert response.json == document()
    assert "贵州省" in response.get_data(as_text=True)


def test_every_route_is_documented_and_nothing_else(bare_app):
    routes = {(openapi_path(rule.rule), method.lower())
              for rule in bare_app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods & METHODS}
    documented = {(path, method) for path, method, _ in operations(document())}
    assert routes == documented


def test_every_reference_resolves():
    doc = document()
    for ref in refs(doc):
        assert ref.startswith("#/") and resolve(doc, ref) is not None, ref


def test_path_parameters_match_the_path_templates():
    doc = document()
    for path, method, operation in operations(doc):
        declared = {p["name"] for p in (resolve(doc, p["$ref"]) if "$ref" in p else p
                                        for p in operation.get("parameters", [])) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)


def test_operations_are_secured_and_document_their_errors():
    doc = document()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {**doc["components"]["securitySchemes"]["bearerAuth"],
                                                                  "type": "http", "scheme": "bearer"}
    ids = [operation["operationId"] for _, _, operation in operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(doc):
        public = operation.get("security") == []
        assert public == (path == "/openapi.json"), path
        responses = operation["responses"]
        if not public:
            assert "401" in responses, (path, method)
        if method == "post":
            assert {"400", "413", "415", "422", "429"} <= set(responses), path
            assert "requestBody" in operation, path
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert resolve(doc, response["$ref"])["content"]["application/json"]["schema"] == \
                    {"$ref": "#/components/schemas/Error"}


def test_the_error_schema_is_error_message_fields():
    error = document()["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message", "fields"]


@pytest.mark.parametrize("name", sorted(document()["components"]["schemas"]))
def test_every_schema_is_valid_json_schema(name):
    Draft202012Validator.check_schema(document()["components"]["schemas"][name])


# --- the real responses match the document (both backends) -------------------------------------

def check(body, schema_name: str) -> None:
    """Validate ``body`` against a component schema of the document."""
    doc = document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_real_responses_match_their_schemas(as_user):  # noqa: F811
    applicant, county = as_user("ent-u1"), as_user(COUNTY)
    started = applicant.post("/instances", {"process_id": "green_application",
                                            "data": demo.application_data(demo.UNITS[0])})
    check(started.json, "Outcome")
    iid = started.json["instance_id"]
    check(applicant.get("/instances").json, "InstanceList")
    check(applicant.get(f"/instances/{iid}").json, "Instance")
    check(applicant.get(f"/instances/{iid}/events").json, "EventList")
    task = open_task(county, iid, "review")
    check(task, "Task")
    check(county.get(f"/tasks/{task['id']}").json, "TaskDetail")
    check(county.get("/tasks?tab=claimable").json, "InboxPage")
    check(county.post(f"/tasks/{task['id']}/claim").json, "Outcome")
    check(county.get("/definitions").json, "VersionList")
    check(county.get("/definitions/1/forms/review.schema.json").json, "Form")
    check(county.get("/me").json, "Me")
    for error in (county.get("/tasks/999"), county.post(f"/tasks/{task['id']}/complete", {"data": {"x": 1}}),
                  county.post("/instances", data=b"{", content_type="application/json")):
        check(error.json, "Error")
    start(applicant, target_level="province")  # a second instance (one running per level, 第十四条): lists stay valid with several items
    check(applicant.get("/instances?per_page=1").json, "InstanceList")
