"""The REST API /api/v1 on both backends: tokens, permissions, a whole application, errors."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from engine.models import ApiToken, UserAccount
from handlers import demo
from tests.scenarios.driver import BUREAUS, NO_OBJECTION, OBJECTION, PASS
from web.api import auth
from web.app import create_app

U1, U2, U4 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[3]  # 遵义 红花岗区, 贵阳 云岩区, 毕节 七星关区
COUNTY, COUNTY_B, CITY = "county-520302", "county-520302-b", "city-520300"


class Api:
    """A test client that sends one user's bearer token with every request."""

    def __init__(self, app, token: str):
        self.client = app.test_client()
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, **kw):
        return self.client.get(f"/api/v1{path}", headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, body=None, **kw):
        if body is not None:
            kw.setdefault("json", body)
        return self.client.post(f"/api/v1{path}", headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def app(green):
    """The app on the test database, running on the test's engine (and so on its frozen clock)."""
    app = create_app({"database_url": green.engine.db.url, "secret_key": "t"})
    app.extensions["greenflow"].db.dispose()
    app.extensions["greenflow"] = green.engine
    return app


@pytest.fixture
def as_user(app, green):
    """``as_user("county-520302")``: an Api client with a fresh token of that user."""
    def make(username: str) -> Api:
        _, token = auth.issue_token(green.engine, username, name="tests")
        return Api(app, token)
    return make


def start(api: Api, unit=U1, **overrides) -> int:
    response = api.post("/instances", {"process_id": "green_application",
                                       "data": demo.application_data(unit, **overrides)})
    assert response.status_code == 201, response.json
    return response.json["instance_id"]


def open_task(api: Api, iid: int, bpmn_id: str) -> dict:
    tasks = api.get(f"/instances/{iid}").json["tasks"]
    [task] = [t for t in tasks if t["bpmn_id"] == bpmn_id and t["status"] == "open"]
    return task


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) >= {"error", "message", "fields"} and isinstance(body["fields"], dict)
    if field is not None:
        assert field in body["fields"], body
    return body


# --- tokens ------------------------------------------------------------------------------

def test_a_token_is_prefixed_random_and_only_its_hash_is_stored(green):
    view, token = auth.issue_token(green.engine, "ent-u1", name="ERP 接口")
    _, other = auth.issue_token(green.engine, "ent-u1", name="ERP 接口")
    assert token.startswith("gf_") and len(token) >= 40 and token != other
    with green.engine.db.session() as s:
        row = s.get(ApiToken, view["id"])
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert token not in json.dumps(auth.list_tokens(green.engine))
    assert view["username"] == "ent-u1" and view["revoked_at"] is None


def test_cli_creates_lists_and_revokes_tokens(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["tokens", "create", "ent-u1", "--name", "erp"])
    assert created.exit_code == 0, created.output
    token = created.output.split()[-1]
    api = Api(app, token)
    assert api.get("/me").json["username"] == "ent-u1"
    listed = runner.invoke(args=["tokens", "list", "--json"])
    [row] = json.loads(listed.output)
    assert (row["username"], row["name"], row["revoked_at"]) == ("ent-u1", "erp", None) and row["last_used_at"]
    assert token not in listed.output
    revoked = runner.invoke(args=["tokens", "revoke", str(row["id"])])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert_error(api.get("/me"), 401)
    unknown = runner.invoke(args=["tokens", "create", "nobody", "--name", "x"])
    assert unknown.exit_code == 2 and "no user named" in unknown.output
    assert runner.invoke(args=["tokens", "revoke", "999"]).exit_code == 2


@pytest.mark.parametrize("header", [
    None, "", "Basic ZW50LXUxOnB3", "Bearer", "Bearer gf_not-a-real-token", "Bearer not-prefixed",
    "Bearer gf_" + "x" * 500,
])
def test_requests_without_a_valid_token_are_401(app, header):
    headers = {} if header is None else {"Authorization": header}
    for response in (app.test_client().get("/api/v1/me", headers=headers),
                     app.test_client().post("/api/v1/instances", headers=headers, json={})):
        body = assert_error(response, 401)
        assert body["error"] == "not_authenticated" and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(green, app):
    view, token = auth.issue_token(green.engine, "ent-u1", name="t")
    api = Api(app, token)
    assert api.get("/me").status_code == 200
    auth.revoke_token(green.engine, view["id"])
    assert "revoked" in assert_error(api.get("/me"), 401)["message"]


def test_a_deactivated_user_is_refused(green, as_user):
    api = as_user("county-520302")
    with green.engine.db.unit_of_work() as s:
        s.scalar(select(UserAccount).where(UserAccount.username == "county-520302")).active = False
    assert "deactivated" in assert_error(api.get("/tasks"), 401)["message"]


def test_last_used_is_recorded_at_most_once_a_minute(green, app):
    view, token = auth.issue_token(green.engine, "ent-u1", name="t")
    api = Api(app, token)

    def last_used():
        with green.engine.db.session() as s:
            return s.get(ApiToken, view["id"]).last_used_at

    assert last_used() is None
    api.get("/me")
    first = last_used()
    assert first == green.engine.clock.now()
    green.engine.clock.advance(seconds=30)
    api.get("/me")
    assert last_used() == first
    green.engine.clock.advance(seconds=31)
    api.get("/me")
    assert last_used() == green.engine.clock.now()


def test_me_lists_the_grants(as_user):
    body = as_user(CITY).get("/me").json
    assert body["username"] == CITY and body["display_name"] == "遵义市工信局"
    assert body["grants"] == [{"role": "city_official", "scope": "520300"}]


# --- a whole application ------------------------------------------------------------------

def test_a_whole_application_through_the_api(green, as_user):
    applicant, county, city = as_user("ent-u1"), as_user(COUNTY), as_user(CITY)
    response = applicant.post("/instances", {"process_id": "green_application", "data": demo.application_data(U1)})
    assert response.status_code == 201
    iid = response.json["instance_id"]
    assert response.headers["Location"].endswith(f"/api/v1/instances/{iid}")
    assert applicant.get(response.headers["Location"].removeprefix("http://localhost").removeprefix("/api/v1")) \
        .json["started_by"] == "ent-u1"

    # the county claims the review from its 可认领 tab, and completes it from 待办
    claimable = county.get("/tasks?tab=claimable").json
    [item] = [i for i in claimable["items"] if i["instance_id"] == iid]
    assert claimable["counts"]["claimable"] == 1 and item["summary"]["county_code"] == "520302"
    claimed = county.post(f"/tasks/{item['id']}/claim")
    assert claimed.status_code == 200 and claimed.json["result"]["assignee"] == COUNTY
    assert [i["id"] for i in county.get("/tasks?tab=todo").json["items"]] == [item["id"]]
    row_version = applicant.get(f"/instances/{iid}").json["row_version"]
    done = county.post(f"/tasks/{item['id']}/complete", {"data": PASS, "expected_row_version": row_version})
    assert done.status_code == 200 and done.json["instance_id"] == iid
    assert county.get("/tasks?tab=done").json["items"][0]["outcome"] == "pass"

    # the city, then the four bureaus of 遵义市
    city_task = open_task(city, iid, "review")
    assert city_task["scope"] == "520300"
    assert city.post(f"/tasks/{city_task['id']}/complete", {"data": PASS}).status_code == 200
    for branch in BUREAUS:
        short = branch.removeprefix("opinion_")
        bureau = as_user(f"{short}-520300")
        task = open_task(bureau, iid, branch)
        assert bureau.post(f"/tasks/{task['id']}/complete", {"data": NO_OBJECTION}).status_code == 200
    assert applicant.get(f"/instances/{iid}").json["status"] == "waiting"  # the public notice runs

    # an objection arrives as a message; the city verifies it
    delivered = city.post(f"/instances/{iid}/messages", {"name": "notice_objection", "payload": OBJECTION})
    assert delivered.status_code == 200 and delivered.json["result"]["delivered"] is True
    verify = open_task(city, iid, "review_objection")
    answer = {"upheld": False, "finding": "经核实不属实", "reply": "异议不成立"}
    assert city.post(f"/tasks/{verify['id']}/complete", {"data": answer}).status_code == 200

    # the applicant sees the message, not the objector's identity; the city sees it all
    events = applicant.get(f"/instances/{iid}/events").json["items"]
    [message] = [e for e in events if e["type"] == "message_received"]
    party_view = json.dumps(applicant.get(f"/instances/{iid}").json, ensure_ascii=False)
    assert message["redacted"] and OBJECTION["id_number"] not in party_view and OBJECTION["name"] not in party_view
    assert OBJECTION["matter"] in party_view  # what was objected, not who objected
    assert OBJECTION["id_number"] in json.dumps(city.get(f"/instances/{iid}/events").json)

    green.end_notice()
    view = applicant.get(f"/instances/{iid}").json
    assert view["status"] == "completed" and view["data"]["outcome"] == "listed_city"
    assert [i["id"] for i in applicant.get("/instances").json["items"]] == [iid]
    assert green.engine.verify_history(iid).ok


def test_transfer_delegate_cc_urge_and_comment(green, as_user):
    iid = start(as_user("ent-u1"))
    county, colleague, city = as_user(COUNTY), as_user(COUNTY_B), as_user(CITY)
    task_id = open_task(county, iid, "review")["id"]

    transferred = county.post(f"/tasks/{task_id}/transfer", {"to_user": COUNTY_B, "note": "请你处理"})
    assert transferred.status_code == 200 and transferred.json["result"]["assignee"] == COUNTY_B
    assert_error(county.post(f"/tasks/{task_id}/complete", {"data": PASS}), 409)  # no longer hers
    back = colleague.post(f"/tasks/{task_id}/transfer", {"to_user": COUNTY})
    assert back.json["result"]["assignee"] == COUNTY

    delegated = county.post(f"/tasks/{task_id}/delegate", {"to_user": COUNTY_B, "note": "请拟办"})
    assert delegated.json["result"] == {"task_id": task_id, "assignee": COUNTY_B, "owner": COUNTY}
    assert_error(colleague.post(f"/tasks/{task_id}/resolve", {"data": {"decision": "maybe"}}), 422, "decision")
    resolved = colleague.post(f"/tasks/{task_id}/resolve", {"data": {"decision": "pass", "opinion": "拟同意"},
                                                            "note": "已拟"})
    assert resolved.json["result"]["assignee"] == COUNTY
    assert county.get(f"/tasks/{task_id}").json["draft"] == {"decision": "pass", "opinion": "拟同意"}

    cc = county.post(f"/tasks/{task_id}/cc", {"to_users": ["county-520303"], "note": "供参阅"})
    assert cc.status_code == 200 and cc.json["result"]["cc"] == ["county-520303"]
    reader = as_user("county-520303")
    assert reader.get(f"/tasks/{task_id}").json["cc"] == ["county-520303"]  # a CC may read it
    assert reader.post(f"/tasks/{task_id}/comments", {"text": "已阅，同意县级意见"}).status_code == 200
    assert_error(reader.post(f"/tasks/{task_id}/complete", {"data": PASS}), 403)

    assert_error(colleague.post(f"/tasks/{task_id}/urge", {"note": "快"}), 403)
    urged = city.post(f"/tasks/{task_id}/urge", {"note": "请于本周内办结"})
    assert urged.status_code == 200 and urged.json["result"]["urge_count"] == 1

    types = [e["type"] for e in county.get(f"/instances/{iid}/events").json["items"]]
    for expected in ("task_transferred", "task_delegated", "delegation_resolved", "task_cc", "comment_added",
                     "task_urged"):
        assert expected in types
    # the applicant sees that officials worked on it, not their notes
    party_events = as_user("ent-u1").get(f"/instances/{iid}/events").json["items"]
    assert "已阅" not in json.dumps(party_events, ensure_ascii=False)
    assert county.post(f"/tasks/{task_id}/complete", {"data": PASS}).status_code == 200


def test_claim_and_release(as_user):
    iid = start(as_user("ent-u1"))
    county = as_user(COUNTY)
    task_id = open_task(county, iid, "review")["id"]
    assert county.post(f"/tasks/{task_id}/claim").json["result"]["assignee"] == COUNTY
    assert_error(as_user(COUNTY_B).post(f"/tasks/{task_id}/claim"), 409)
    assert county.post(f"/tasks/{task_id}/release", {}).json["result"]["assignee"] is None
    assert as_user(COUNTY_B).post(f"/tasks/{task_id}/claim").status_code == 200


# --- permissions ----------------------------------------------------------------------------

def test_a_zunyi_county_official_may_not_touch_a_bijie_task(as_user):
    iid = start(as_user("ent-u4"), U4)
    bijie = open_task(as_user("county-520502"), iid, "review")
    zunyi = as_user(COUNTY)
    assert_error(zunyi.get(f"/tasks/{bijie['id']}"), 403)
    assert_error(zunyi.get(f"/instances/{iid}"), 403)
    assert_error(zunyi.post(f"/tasks/{bijie['id']}/claim"), 403)
    assert_error(zunyi.post(f"/tasks/{bijie['id']}/complete", {"data": PASS}), 403)
    assert_error(zunyi.post(f"/tasks/{bijie['id']}/comments", {"text": "?"}), 403)
    assert all(i["instance_id"] != iid for i in zunyi.get("/tasks?tab=claimable").json["items"])
    assert iid not in [i["id"] for i in zunyi.get("/instances").json["items"]]


def test_an_applicant_may_not_read_another_units_instance(as_user):
    iid = start(as_user("ent-u1"))
    other = as_user("ent-u2")
    assert_error(other.get(f"/instances/{iid}"), 403)
    assert_error(other.get(f"/instances/{iid}/events"), 403)
    assert_error(other.post(f"/instances/{iid}/messages", {"name": "notice_objection", "payload": {}}), 403)
    assert_error(other.get(f"/tasks/{open_task(as_user(COUNTY), iid, 'review')['id']}"), 403)
    assert other.get("/instances").json == {"items": [], "total": 0, "page": 1, "per_page": 20, "pages": 1}


def test_an_applicant_may_not_apply_for_another_unit(as_user):
    response = as_user("ent-u1").post("/instances", {"process_id": "green_application",
                                                      "data": demo.application_data(U2)})
    assert_error(response, 403)


def test_the_instance_list_filters_and_pages(as_user):
    applicant = as_user("ent-u1")
    ids = [start(applicant, target_level=level) for level in ("city", "province", "national")]  # one running per level (第十四条)
    province = as_user("province")
    page = province.get("/instances?per_page=2&page=2&process_id=green_application").json
    assert (page["total"], page["pages"], [i["id"] for i in page["items"]]) == (3, 2, [ids[0]])
    assert province.get("/instances?status=completed").json["total"] == 0
    assert province.get("/instances?process_id=nothing").json["items"] == []
    item = province.get("/instances").json["items"][0]
    assert item["title"].startswith("遵义黔北") and item["created_at"].endswith("+00:00")


@pytest.mark.parametrize("query, field", [
    ("/instances?status=lost", "status"), ("/instances?per_page=101", "per_page"), ("/instances?page=0", "page"),
    ("/instances?page=abc", "page"), ("/instances?page=" + "9" * 5000, "page"), ("/tasks?tab=mine", "tab"),
    ("/tasks?sort=name", "sort"), ("/tasks?due_by=2026-13-01", "due_by"), ("/tasks?due_by=", "due_by"),
    ("/tasks?per_page=0", "per_page"), ("/tasks?q=" + "字" * 101, "q"),
])
def test_bad_query_parameters_are_422_naming_them(as_user, query, field):
    assert_error(as_user(COUNTY).get(query), 422, field)


def test_inbox_filters(as_user):
    start(as_user("ent-u1"))
    county = as_user(COUNTY)
    assert county.get("/tasks?tab=claimable&county_code=520302&target_level=city&unit_type=factory"
                      "&process_id=green_application&q=遵义&due_by=2026-12-31&sort=age").json["total"] == 1
    assert county.get("/tasks?tab=claimable&county_code=520303").json["total"] == 0
    assert county.get("/tasks?tab=claimable&due_by=2026-03-01").json["total"] == 0
    item = county.get("/tasks?tab=claimable").json["items"][0]
    assert item["due_at"].endswith("+00:00") and item["form"] == "review.schema.json"


# --- errors -------------------------------------------------------------------------------

def test_missing_things_are_404(as_user):
    api = as_user("province")
    for path in ("/instances/999", "/instances/999/events", "/tasks/999", "/instances/99999999999",
                 "/definitions/1/forms/nothing.json", "/definitions/99/forms/review.schema.json", "/nothing"):
        assert_error(api.get(path), 404)
    for path in ("/tasks/999/claim", "/tasks/99999999999/claim", "/instances/999/messages"):
        assert_error(api.post(path, {"name": "x"} if "messages" in path else None), 404)


def test_completing_twice_is_409(as_user):
    iid = start(as_user("ent-u1"))
    county = as_user(COUNTY)
    task_id = open_task(county, iid, "review")["id"]
    assert county.post(f"/tasks/{task_id}/complete", {"data": PASS}).status_code == 200
    assert assert_error(county.post(f"/tasks/{task_id}/complete", {"data": PASS}), 409)["error"] == "conflict"


def test_a_stale_row_version_is_409(as_user):
    iid = start(as_user("ent-u1"))
    county = as_user(COUNTY)
    task_id = open_task(county, iid, "review")["id"]
    body = county.post(f"/tasks/{task_id}/complete", {"data": PASS, "expected_row_version": 0})
    assert assert_error(body, 409)["error"] == "stale_version"


def test_a_bad_form_is_422_naming_the_fields(as_user):
    iid = start(as_user("ent-u1"))
    county = as_user(COUNTY)
    task_id = open_task(county, iid, "review")["id"]
    assert_error(county.post(f"/tasks/{task_id}/complete", {"data": {"decision": "return"}}), 422, "reason")
    bad_start = as_user("ent-u1").post("/instances", {
        "process_id": "green_application", "data": demo.application_data(U1, credit_code="91520302MA0000001X")})
    assert_error(bad_start, 422, "credit_code")


@pytest.mark.parametrize("action, body, field", [
    ("complete", {"data": "pass"}, "data"),
    ("complete", {"data": [PASS]}, "data"),
    ("complete", {"data": PASS, "expected_row_version": "3"}, "expected_row_version"),
    ("complete", {"data": PASS, "expected_row_version": True}, "expected_row_version"),
    ("complete", {"data": PASS, "extra": 1}, "extra"),
    ("claim", {"force": True}, "force"),
    ("transfer", {"to_user": 5}, "to_user"),
    ("transfer", {"note": "x"}, "to_user"),
    ("transfer", {"to_user": COUNTY_B, "note": ["x"]}, "note"),
    ("delegate", {"to_user": ""}, "to_user"),
    ("resolve", {"note": "no data"}, "data"),
    ("cc", {"to_users": "city-520300"}, "to_users"),
    ("cc", {"to_users": [1, 2]}, "to_users"),
    ("cc", {"to_users": []}, "to_users"),
    ("urge", {"note": 3}, "note"),
    ("comments", {}, "text"),
    ("comments", {"text": {"zh": "x"}}, "text"),
    ("comments", {"text": "x" * 2001}, "text"),
])
def test_fields_of_the_wrong_type_are_422_naming_them(as_user, action, body, field):
    iid = start(as_user("ent-u1"))
    county = as_user(COUNTY)
    task_id = open_task(county, iid, "review")["id"]
    assert_error(county.post(f"/tasks/{task_id}/{action}", body), 422, field)


@pytest.mark.parametrize("body, field", [
    ({"data": {}}, "process_id"), ({"process_id": 7}, "process_id"), ({"process_id": "green_application",
                                                                       "data": "{}"}, "data"),
])
def test_a_bad_start_body_is_422_naming_the_field(as_user, body, field):
    assert_error(as_user("ent-u1").post("/instances", body), 422, field)


def test_a_bad_message_body_is_422_naming_the_field(as_user):
    applicant = as_user("ent-u1")
    iid = start(applicant)
    assert_error(applicant.post(f"/instances/{iid}/messages", {"payload": {}}), 422, "name")
    assert_error(applicant.post(f"/instances/{iid}/messages", {"name": "x", "payload": []}), 422, "payload")
    assert_error(applicant.post(f"/instances/{iid}/messages", {"name": "x", "require_waiting": "yes"}), 422,
                 "require_waiting")
    assert_error(applicant.post(f"/instances/{iid}/messages", {"name": "nothing", "require_waiting": True}), 422,
                 "name")


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"text"', b"{\"a\": NaN}", b"{\"a\": 1e400}",
                                  b"\xff\xfe{}", b"[" * 100_000, b'{"a": 1} trailing'])
def test_malformed_json_is_400(as_user, data):
    response = as_user("ent-u1").post("/instances", data=data, content_type="application/json")
    assert assert_error(response, 400, "body")["error"] == "bad_request"


def test_a_body_that_is_not_json_is_415(as_user):
    response = as_user("ent-u1").post("/instances", data="process_id=x",
                                      content_type="application/x-www-form-urlencoded")
    assert_error(response, 415)


def test_an_oversized_body_is_413(app, as_user):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = as_user("ent-u1").post("/instances", {"process_id": "green_application", "data": {"x": "字" * 2000}})
    assert assert_error(response, 413)["error"] == "request_entity_too_large"


def test_a_wrong_method_is_405_json(as_user):
    assert_error(as_user("ent-u1").client.delete("/api/v1/instances"), 405)


def test_write_requests_are_rate_limited_per_token(app, as_user):
    app.config["API_WRITE_LIMIT"] = "2 per minute"
    applicant, other = as_user("ent-u1"), as_user("ent-u1")
    body = {"process_id": "nothing"}
    assert [applicant.post("/instances", body).status_code for _ in range(2)] == [404, 404]
    assert assert_error(applicant.post("/instances", body), 429)["error"] == "too_many_requests"
    assert applicant.get("/instances").status_code == 200  # reads are not limited
    assert other.post("/instances", body).status_code == 404  # another token has its own budget


# --- reading ------------------------------------------------------------------------------

def test_chinese_is_sent_as_utf8_and_dates_with_offsets(as_user):
    applicant = as_user("ent-u1")
    iid = start(applicant)
    response = applicant.get(f"/instances/{iid}")
    assert response.mimetype == "application/json"
    assert U1.name.encode("utf-8") in response.data and b"\\u" not in response.data
    view = response.json
    assert view["created_at"].endswith("+00:00")
    assert all(e["at"].endswith("+00:00") for e in view["events"])


def test_definitions_and_forms(as_user):
    api = as_user(COUNTY)
    [version] = api.get("/definitions").json["items"]
    assert "green_application" in version["processes"] and version["deployed_at"].endswith("+00:00")
    form = api.get(f"/definitions/{version['version']}/forms/review.schema.json").json
    assert form["schema"]["title"] == "审核" and "decision" in form["schema"]["properties"]


def test_a_task_shows_its_cc_and_form(as_user):
    iid = start(as_user("ent-u1"))
    county = as_user(COUNTY)
    task = county.get(f"/tasks/{open_task(county, iid, 'review')['id']}").json
    assert task["form"] == "review.schema.json" and task["cc"] == [] and task["version_id"] == 1
    # as on the task page: the applicant reads its application, not the officials' task
    assert_error(as_user("ent-u1").get(f"/tasks/{task['id']}"), 403)
    assert as_user("province").get(f"/tasks/{task['id']}").status_code == 200  # an official who reads the instance
