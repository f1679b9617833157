"""The API keeps its contract: Schemathesis against the live OpenAPI document, through the WSGI app.

Schemathesis (pinned in pyproject.toml's test extra) loads ``/api/v1/openapi.json`` from the app
itself (``schemathesis.openapi.from_wsgi``) and runs every phase its engine has — examples,
coverage (boundary and schema-violating values of every parameter and body field), fuzzing and
stateful sequences — with every check enabled: no 5xx, status codes, content types, headers and
bodies as documented, schema-valid requests accepted and schema-violating ones refused, 405 with
``Allow``, authentication enforced. It runs on a demo database (``handlers.demo.seed``: accounts
of every role, applications in every state, the other processes) with the bearer token of one
role per test; a bounded number of examples per operation and a fixed seed, derandomized, so a
run is reproducible. Any failed check, or any answer 500 or above, fails the test with the
requests that reproduce it.

On SQLite every role runs (an applicant, a county official, the province, the operator who
handles incidents, the auditor); on PostgreSQL the province (who reads everything) runs with fewer examples,
to keep the suite's time in bounds (``docs/api.md``).

One check is told about the domain: a body whose ``data`` or ``payload`` is checked against a
deployed form, that names colleagues, or that is a BPMN bundle to deploy, may be schema-valid and
still refused with 422 (the form's own schema, an unknown colleague, the deploy checks): the
OpenAPI document cannot know the forms of every deployed version. Everything else is exact.
"""
from __future__ import annotations

import dataclasses

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.transport import wsgi as schemathesis_wsgi

from handlers import demo
from tests.scenarios.driver import BPMN
from tests.web.test_api import app, as_user, open_task, start  # noqa: F401  (fixtures)
from web.api import auth
from web.app import create_app

SEED = 20260302
ROLES = {"applicant": "ent-u1", "county": "county-520302", "province": "province", "operator": "owner",
         "auditor": "auditor"}
EXAMPLES = {"sqlite": 10, "postgresql": 5}
# Operations whose body is judged by the deployed forms, the org chart or the deploy checks of a
# BPMN bundle, not by the document alone: a schema-valid body may still be 422.
FORM_OPERATIONS = ["startInstance", "deliverMessage", "completeTask", "resolveDelegation", "transferTask",
                   "delegateTask", "ccTask", "createDeployment",
                   # a migration's mapping names elements, and its versions must differ: the deployed diagrams decide
                   "planMigration", "dryRunMigration", "createMigration",
                   # a kept checkpoint statement is judged by its Ed25519 signature, not by its shape
                   "verifyHistoriesAgainstStatement",
                   # since after until is refused (422 naming until): OpenAPI cannot relate two parameters
                   "exportHistories"]
# The checks that must have run, so that a misconfiguration cannot pass by checking nothing.
EXPECTED_CHECKS = {"not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "response_headers_conformance", "positive_data_acceptance",
                   "negative_data_rejection", "unsupported_method", "ignored_auth"}
SOCKET_ONLY = ("max_redirects", "verify", "cert", "proxies")


@dataclasses.dataclass
class Finding:
    operation: str
    check: str
    title: str
    message: str
    request: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.check}] {self.title}: {self.message}\n    {self.request}"


@pytest.fixture
def contract_app(wf_engine, tmp_path, monkeypatch):
    """The app on a demo database (the test's engine and frozen clock), write limits lifted."""
    wf_engine.deploy(BPMN, deployed_by="owner")
    demo.seed(wf_engine, password="contract-test")
    app = create_app({"database_url": wf_engine.db.url, "secret_key": "t", "upload_dir": str(tmp_path / "up")})
    app.extensions["greenflow"].db.dispose()
    app.extensions["greenflow"] = wf_engine
    app.config["API_WRITE_LIMIT"] = "1000000 per minute"
    _send_in_process(monkeypatch)
    return app


def _send_in_process(monkeypatch) -> None:
    """Work around Schemathesis 4.32.5 handing socket-only options to Werkzeug's test client.

    Its ``ignored_auth`` check re-sends a request without credentials through the WSGI transport
    with no session, and then ``max_redirects`` & co. reach ``EnvironBuilder`` (a TypeError).
    """
    send = schemathesis_wsgi.WSGITransport.send

    def send_without_socket_options(self, case, *, session=None, **kwargs):
        if session is None:
            for name in SOCKET_ONLY:
                kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(schemathesis_wsgi.WSGITransport, "send", send_without_socket_options)


def contract_config(token: str, examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {token}"},
        "workers": 1,
        "generation": {"max-examples": examples, "deterministic": True, "database": "none"},
        "checks": {"enabled": True},
        "operations": [{"include-operation-id": FORM_OPERATIONS, "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 422, 429]}}}],
    })


def run_contract(app, token: str, examples: int) -> tuple[list[Finding], set[str], int]:
    """Run every phase; the failures, the names of the checks that ran, and how many requests were sent."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=contract_config(token, examples))
    findings: list[Finding] = []
    ran: set[str] = set()
    requests = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            requests += len(recorder.interactions)
            for case_id, interaction in recorder.interactions.items():
                response = interaction.response
                if response is not None and response.status_code >= 500:
                    findings.append(Finding(recorder.label, "5xx", f"answered {response.status_code}", "",
                                            f"{interaction.request.method} {interaction.request.uri}"))
            for checks in recorder.checks.values():
                for check in checks:
                    ran.add(check.name)
                    if check.status in (Status.FAILURE, Status.ERROR):
                        info = check.failure_info
                        findings.append(Finding(
                            recorder.label, check.name, info.failure.title if info else "the check crashed",
                            info.failure.message.replace("\n", " ")[:300] if info else "",
                            (info.code_sample.splitlines() or [""])[0][:400] if info else ""))
        elif isinstance(event, events.NonFatalError):
            findings.append(Finding(event.label, "error", type(event.value).__name__, str(event.value)[:300], ""))
        elif isinstance(event, events.FatalError):
            raise event.exception
    return findings, ran, requests


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.operation, finding.check, finding.title), finding)
    return list(seen.values())


# Every role on SQLite; on PostgreSQL the province, who reads everything (the suite's time budget).
RUNS = [*(("sqlite", role) for role in ROLES), ("postgresql", "province")]


@pytest.mark.slow
@pytest.mark.parametrize("db_url, role", RUNS, indirect=["db_url"])
def test_the_api_keeps_its_contract(contract_app, wf_engine, db_url, role):
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    _, token = auth.issue_token(wf_engine, ROLES[role], name="contract")
    findings, ran, requests = run_contract(contract_app, token, EXAMPLES[backend])
    unique = _unique(findings)
    assert not findings, f"{len(unique)} contract violation(s) as {ROLES[role]}:\n" + "\n".join(map(str, unique))
    assert EXPECTED_CHECKS <= ran, f"checks that never ran: {sorted(EXPECTED_CHECKS - ran)}"
    assert requests > 500  # every operation was exercised, not just loaded


# --- the mismatches it found, pinned down one by one (both backends) -----------------------------

def test_a_405_names_the_allowed_methods(tmp_path):
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'unused.db'}", "secret_key": "t"})
    client = app.test_client()
    response = client.open("/api/v1/tasks", method="TRACE")
    assert response.status_code == 405 and response.is_json and response.json["error"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    assert "POST" in client.delete("/api/v1/instances").headers["Allow"]
    assert "Allow" in client.put("/public/notices").headers  # the HTML pages keep it too


BAD_QUERIES = [
    ("page=2147483648", "page"), ("page=0", "page"), ("page=", "page"), ("page=%202", "page"),
    ("per_page=101", "per_page"), ("due_by=", "due_by"), ("due_by=20260301", "due_by"),
    ("due_by=2026-W10-1", "due_by"), ("tab=", "tab"), ("sort=", "sort"), ("q=" + "x" * 101, "q"),
    ("county_code=" + "5" * 81, "county_code"),
]


def test_typed_query_parameters_are_exact_and_their_bounds_are_answered(as_user):
    province = as_user("province")
    for query, field in BAD_QUERIES:
        response = province.get(f"/tasks?{query}")
        assert response.status_code == 422 and field in response.json["fields"], (query, response.json)
    assert province.get("/instances?page=2147483647&per_page=100").json["items"] == []
    assert province.get("/tasks?due_by=9999-12-31").status_code == 200
    assert province.get("/tasks?process_id=&q=%20").status_code == 200  # empty text filters mean no filter


EMPTY_REQUIRED = [
    ("transfer", {"to_user": ""}, "to_user"), ("transfer", {"to_user": "   "}, "to_user"),
    ("delegate", {"to_user": ""}, "to_user"), ("cc", {"to_users": ["county-520302-b", " "]}, "to_users"),
    ("comments", {"text": " "}, "text"),
]


def test_empty_required_strings_are_refused_naming_the_field(as_user):
    county = as_user("county-520302")
    task_id = open_task(county, start(as_user("ent-u1")), "review")["id"]
    for action, body, field in EMPTY_REQUIRED:
        response = county.post(f"/tasks/{task_id}/{action}", body)
        assert response.status_code == 422 and field in response.json["fields"], (action, body, response.json)
    response = county.post("/instances", {"process_id": ""})
    assert response.status_code == 422 and "process_id" in response.json["fields"]


def test_scheduled_processes_and_sub_processes_are_not_started_through_the_api(as_user):
    """They used to start and fail inside the engine: 503 and an incident, for anyone, even an applicant."""
    for username in ("province", "ent-u1"):
        api = as_user(username)
        for process_id in ("annual_table_campaign", "review_step", "public_notice", "annual_table_filing"):
            response = api.post("/instances", {"process_id": process_id})
            assert response.status_code == 403 and response.json["error"] == "forbidden", (process_id, response.json)
        assert api.post("/instances", {"process_id": "no_such_process"}).status_code == 404
    assert as_user("province").get("/me").status_code == 200
