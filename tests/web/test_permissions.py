"""Every route × six people: anonymous, an applicant, an official of another county, the city,
the province and an auditor. Each cell says what must happen:

    L  sent to log in (302 to /auth/login for pages, 401 for the API)
    D  denied: 403 with a message
    A  allowed: the request passed the permission check (200, 303, or a 4xx about the input)
    R  redirected elsewhere (not to the login page)

The subject is U1's application (红花岗区, 遵义市) waiting for the county's review, a notice
for U6, and a file attached to U1's application. A route missing from the table fails the test.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import Attachment
from handlers import demo
from handlers.list_publication import ListPublication
from handlers.records import Notice, Objection
from web.api.auth import issue_token

PEOPLE = ("anonymous", "ent-u1", "county-520402", "city-520300", "province", "auditor")
PDF = b"%PDF-1.4\n%%EOF\n"
U1 = demo.UNITS[0]
APPLICATION = demo.application_data(U1)

# (method, url template, body, expectation per person in PEOPLE order)
# Templates: {iid} U1's instance, {tid} its county review task, {sha} its file, {nid} U6's notice,
# {otid} the city's 核实异议 task of that notice and {oid} its objection (whose evidence is the file {sha}).
ROUTES = [
    ("GET", "/", None, "RRRRRR"),  # each to the page of their work (the visitor: the notices)
    ("GET", "/favicon.ico", None, "AAAAAA"),
    ("GET", "/healthz", None, "AAAAAA"),
    ("GET", "/auth/login", None, "AAAAAA"),
    ("POST", "/auth/login", {"username": "nobody", "password": "x"}, "LLLLLL"),  # 401: wrong password
    ("POST", "/auth/logout", {}, "LLLLLL"),  # logged out, and sent to the login page
    ("GET", "/auth/password", None, "LAAAAA"),
    ("POST", "/auth/password", {}, "LAAAAA"),  # 422: the fields are empty
    ("GET", "/admin/calendar", None, "LDDDDD"),
    ("POST", "/admin/calendar", {}, "LDDDDD"),
    # incidents: operators (process owners) only; none of the six is one
    ("GET", "/admin/incidents", None, "LDDDDD"),
    ("POST", "/admin/incidents/1/retry", {}, "LDDDDD"),
    ("POST", "/admin/incidents/1/resolve", {"note": "x"}, "LDDDDD"),
    ("POST", "/admin/incidents/1/dismiss", {"note": "x"}, "LDDDDD"),
    ("GET", "/inbox/", None, "LRAAAR"),
    ("POST", "/inbox/bulk", {"task_id": "{tid}"}, "LDRRRD"),  # officials: the engine refuses each row
    ("GET", "/instances/", None, "LAAAAA"),  # a list of what each may read
    ("GET", "/instances/{iid}", None, "LADAAA"),
    ("GET", "/instances/{iid}/diagram.json", None, "LADAAA"),
    ("GET", "/instances/{iid}/files/{sha}", None, "LADAAA"),
    ("GET", "/portal/", None, "LADDDD"),
    ("GET", "/portal/apply", None, "LADDDD"),
    ("POST", "/portal/apply", {}, "LADDDD"),
    ("GET", "/portal/applications/{iid}", None, "LADDDD"),
    ("GET", "/portal/tasks/{tid}", None, "LDDDDD"),  # an applicant's own steps only; {tid} is the county's
    ("POST", "/portal/tasks/{tid}", {}, "LDDDDD"),
    ("GET", "/public/", None, "RRRRRR"),  # to the notices
    ("GET", "/public/notices", None, "AAAAAA"),
    ("GET", "/public/notices/{nid}", None, "AAAAAA"),
    ("GET", "/public/notices/{nid}/objection", None, "AAAAAA"),
    ("POST", "/public/notices/{nid}/objection", {}, "AAAAAA"),
    ("GET", "/public/complaints/new", None, "AAAAAA"),
    ("POST", "/public/complaints/new", {}, "AAAAAA"),
    ("GET", "/public/complaints/status", None, "AAAAAA"),
    ("GET", "/public/objections/status", None, "AAAAAA"),
    ("GET", "/public/lists", None, "AAAAAA"),
    ("GET", "/public/announcements/", None, "AAAAAA"),
    ("GET", "/public/announcements/province/520000/2026", None, "AAAAAA"),
    ("GET", "/processes/", None, "LAAAAA"),  # each sees what it may start (maybe nothing)
    ("GET", "/processes/list_publication/start", None, "LDAAAD"),  # the start hook checks whose list
    ("POST", "/processes/list_publication/start", {}, "LDAAAD"),
    ("GET", "/processes/evaluator_finding/start", None, "LDDDAD"),  # the province only
    ("GET", "/tasks/{tid}", None, "LDDAAA"),
    ("POST", "/tasks/{tid}", {}, "LDDDDD"),  # only the county acts on its review
    ("POST", "/tasks/{tid}/claim", {}, "LDDDDD"),
    ("POST", "/tasks/{tid}/release", {}, "LDDDDD"),
    ("POST", "/tasks/{tid}/delegate", {"to_user": "nobody"}, "LDDDDD"),
    ("POST", "/tasks/{tid}/transfer", {"to_user": "nobody"}, "LDDAAD"),  # supervisors may reassign
    ("POST", "/tasks/{tid}/cc", {"to_users": "nobody"}, "LDDAAD"),
    ("POST", "/tasks/{tid}/urge", {}, "LDDAAD"),  # only supervising departments
    ("POST", "/tasks/{tid}/comment", {"text": ""}, "LDDAAD"),
    # U6 (西秀区, 安顺市): its county reads the city's 核实异议 task; another city does not; never the applicant
    ("GET", "/tasks/{otid}/objections/{oid}/evidence", None, "LDADAA"),
    # 名单事务 (issue 16): notices for the county, city and province; credit records for city and province;
    # the national platform for the province. Notice 3 is 遵义市's own 2026 notice (tests/conftest.py publishes them).
    ("GET", "/records/", None, "LDAAAD"),
    ("GET", "/records/windows", None, "LDAAAD"),
    ("POST", "/records/windows", {}, "LDDAAD"),  # 422: the fields are empty
    ("POST", "/records/windows/3/withdraw", {}, "LDDADD"),  # only 遵义市 withdraws its notice (422: no reason)
    ("GET", "/records/credit", None, "LDDAAD"),
    ("POST", "/records/credit/import", {}, "LDDAAD"),  # 422: no file
    ("POST", "/records/credit/manual", {}, "LDDAAD"),
    ("GET", "/records/interchange", None, "LDDDAD"),
    ("GET", "/records/interchange/export.json", None, "LDDDAD"),
    ("POST", "/records/interchange/national-list", {}, "LDDDAD"),
    # 入园企业 and 现场抽查复核 (issue 16 items 3, 7): park {pk} is 红花岗区's (遵义市) with member {mid} waiting for
    # county-520302 (not one of the six); spot check {scid} is 遵义市's.
    ("GET", "/parks/", None, "LAAAAA"),  # each sees the parks it may read (maybe none)
    ("GET", "/parks/{pk}", None, "LDDAAA"),  # its body, its county, its city, the province, auditors
    ("POST", "/parks/{pk}/members", {}, "LDDDDD"),  # the park's own account only
    ("POST", "/parks/members/{mid}/leave", {}, "LDDDDD"),
    ("POST", "/parks/members/{mid}/decision", {"decision": "confirm"}, "LDDDDD"),  # its county only
    ("GET", "/spot-checks/", None, "LDDAAA"),
    ("GET", "/spot-checks/{scid}", None, "LDDAAA"),  # its city, the province, auditors
    ("GET", "/processes/spot_check/start", None, "LDAAAD"),  # the form for officials; the start hook refuses a county
    # 专家库与评审组 (第十八条, issue 16 item 4): the provincial department only
    ("GET", "/experts/", None, "LDDDAD"),
    ("POST", "/experts/", {}, "LDDDAD"),  # 422: no expert chosen
    ("GET", "/experts/expert", None, "LDDDAD"),
    ("GET", "/experts/panels/{iid}", None, "LDDDAD"),  # 404 for the province: U1's review has no panel yet
    # 审计: integrity, checkpoints, exports, the access log (issue 14) — auditors only. A checkpoint's
    # statement and the public key are 409 while the system has no signing key (greenflow init makes it).
    ("GET", "/audit/verify", None, "LDDDDA"),
    ("POST", "/audit/verify", {}, "LDDDDA"),
    ("GET", "/audit/checkpoints", None, "LDDDDA"),
    ("POST", "/audit/checkpoints", {}, "LDDDDA"),  # takes checkpoint 1 (for the auditor)
    ("GET", "/audit/checkpoints/1.txt", None, "LDDDDA"),
    ("GET", "/audit/checkpoints/public-key.pem", None, "LDDDDA"),
    # 通知中心: every signed-in user reads and marks their own notifications (issue 15; marking one that is
    # not yours is a 404: tests/web/test_notifications.py)
    ("GET", "/notifications/", None, "LAAAAA"),
    ("POST", "/notifications/read-all", {}, "LRRRRR"),  # back to the list
    ("GET", "/audit/export", None, "LDDDDA"),
    ("GET", "/audit/export/download", None, "LDDDDA"),  # 422: no format
    ("GET", "/audit/access-log", None, "LDDDDA"),
    # 审计: the search, an instance's steps and its replay (issue 13) — auditors only
    ("GET", "/audit/", None, "LDDDDA"),
    ("GET", "/audit/instances/{iid}", None, "LDDDDA"),
    ("GET", "/audit/instances/{iid}/diagram.json", None, "LDDDDA"),
    ("POST", "/audit/instances/{iid}/replay", {}, "LDDDDA"),  # 303 back to the page with the result
    # the REST API: the same rules with bearer tokens
    ("GET", "/api/v1/openapi.json", None, "AAAAAA"),
    ("GET", "/api/v1/me", None, "LAAAAA"),
    ("GET", "/api/v1/definitions", None, "LAAAAA"),
    ("GET", "/api/v1/definitions/1/forms/review.schema.json", None, "LAAAAA"),
    ("GET", "/api/v1/instances", None, "LAAAAA"),
    ("POST", "/api/v1/instances", {"process_id": "green_application", "data": APPLICATION}, "LADDDD"),
    ("GET", "/api/v1/instances/{iid}", None, "LADAAA"),
    ("GET", "/api/v1/instances/{iid}/events", None, "LADAAA"),
    ("POST", "/api/v1/instances/{iid}/messages", {"name": "no_such_message", "payload": {}}, "LADAAA"),
    ("GET", "/api/v1/tasks", None, "LAAAAA"),
    ("GET", "/api/v1/tasks/{tid}", None, "LDDAAA"),
    ("POST", "/api/v1/tasks/{tid}/claim", {}, "LDDDDD"),
    ("POST", "/api/v1/tasks/{tid}/release", {}, "LDDDDD"),
    ("POST", "/api/v1/tasks/{tid}/complete", {"data": {}}, "LDDDDD"),
    ("POST", "/api/v1/tasks/{tid}/delegate", {"to_user": "nobody"}, "LDDDDD"),
    ("POST", "/api/v1/tasks/{tid}/resolve", {"data": {}}, "LDDDDD"),
    ("POST", "/api/v1/tasks/{tid}/transfer", {"to_user": "nobody"}, "LDDAAD"),
    ("POST", "/api/v1/tasks/{tid}/cc", {"to_users": ["nobody"]}, "LDDAAD"),
    ("POST", "/api/v1/tasks/{tid}/urge", {}, "LDDAAD"),
    ("POST", "/api/v1/tasks/{tid}/comments", {"text": ""}, "LDDAAD"),
    ("GET", "/api/v1/incidents", None, "LDDDDD"),
    ("GET", "/api/v1/incidents/1", None, "LDDDDD"),
    ("POST", "/api/v1/incidents/1/retry", {}, "LDDDDD"),
    ("POST", "/api/v1/incidents/1/resolve", {"note": "x"}, "LDDDDD"),
    ("POST", "/api/v1/incidents/1/dismiss", {"note": "x"}, "LDDDDD"),
    ("GET", "/api/v1/audit/verify", None, "LDDDDA"),
    ("POST", "/api/v1/audit/verify", {}, "LDDDDA"),  # 422: no statement
    ("GET", "/api/v1/audit/checkpoints", None, "LDDDDA"),
    ("POST", "/api/v1/audit/checkpoints", {}, "LDDDDA"),
    ("GET", "/api/v1/audit/checkpoints/1", None, "LDDDDA"),
    ("GET", "/api/v1/audit/checkpoints/1/statement", None, "LDDDDA"),
    ("GET", "/api/v1/audit/public-key", None, "LDDDDA"),
    ("GET", "/api/v1/audit/export", None, "LDDDDA"),  # 422: no format
    ("GET", "/api/v1/audit/access-log", None, "LDDDDA"),
    ("GET", "/api/v1/audit/instances", None, "LDDDDA"),
    ("GET", "/api/v1/audit/instances/{iid}/steps", None, "LDDDDA"),
    ("POST", "/api/v1/audit/instances/{iid}/replay", {}, "LDDDDA"),
    # the modeler and deployments: process owners only; none of the six is one
    # (tests/web/test_modeler.py checks that the owner passes every one of these)
    ("GET", "/modeler/", None, "LDDDDD"),
    ("GET", "/modeler/cultivation_report", None, "LDDDDD"),
    ("GET", "/modeler/cultivation_report/versions", None, "LDDDDD"),
    ("GET", "/modeler/cultivation_report/versions/1", None, "LDDDDD"),
    ("GET", "/modeler/cultivation_report/versions/1/diagram.json", None, "LDDDDD"),
    ("GET", "/modeler/cultivation_report/versions/1/diff/1", None, "LDDDDD"),
    ("GET", "/modeler/cultivation_report/bundle.zip", None, "LDDDDD"),
    ("POST", "/modeler/upload", {}, "LDDDDD"),
    ("GET", "/modeler/api/meta", None, "LDDDDD"),
    ("GET", "/modeler/api/cultivation_report/draft", None, "LDDDDD"),
    ("PUT", "/modeler/api/cultivation_report/draft", {}, "LDDDDD"),
    ("DELETE", "/modeler/api/cultivation_report/draft", None, "LDDDDD"),
    ("POST", "/modeler/api/cultivation_report/validate", {}, "LDDDDD"),
    ("GET", "/modeler/api/cultivation_report/diff", None, "LDDDDD"),
    ("POST", "/modeler/api/cultivation_report/deploy", {}, "LDDDDD"),
    ("POST", "/modeler/api/form-preview", {}, "LDDDDD"),
    ("POST", "/api/v1/deployments", {}, "LDDDDD"),
    ("GET", "/api/v1/definitions/cultivation_report/versions", None, "LDDDDD"),
    ("GET", "/api/v1/definitions/cultivation_report/versions/1", None, "LDDDDD"),
    # instance migration: process owners only (tests/web/test_migration_web.py checks the owner's side)
    ("GET", "/modeler/cultivation_report/migrate", None, "LDDDDD"),
    ("POST", "/modeler/cultivation_report/migrations", {}, "LDDDDD"),
    ("GET", "/modeler/cultivation_report/migrations", None, "LDDDDD"),
    ("POST", "/modeler/cultivation_report/migrations/cancel", {}, "LDDDDD"),
    ("POST", "/api/v1/migrations/plan", {}, "LDDDDD"),
    ("POST", "/api/v1/migrations/dry-run", {}, "LDDDDD"),
    ("POST", "/api/v1/migrations", {}, "LDDDDD"),
    ("GET", "/api/v1/migrations", None, "LDDDDD"),
    ("GET", "/api/v1/migrations/1", None, "LDDDDD"),
    ("POST", "/api/v1/migrations/1/cancel", {}, "LDDDDD"),
]


@pytest.fixture
def subject(site):
    green, eng = site.scenario, site.engine
    iid = green.apply(U1)
    tid = green.task(iid, "review").id
    notice_instance = green.to_notice(demo.UNITS[5])
    sha = "ab" * 32
    green.object(notice_instance, evidence=f"附件：证据.pdf（sha256:{sha}，{len(PDF)} 字节）")
    otid = green.task(notice_instance, "review_objection").id
    with eng.db.unit_of_work() as s:
        s.add(Attachment(instance_id=iid, sha256=sha, field="report_file", filename="报告.pdf",
                         content_type="application/pdf", size=len(PDF), uploaded_by="ent-u1",
                         uploaded_at=eng.clock.now()))
        nid = s.scalar(select(Notice.id).limit(1))
        oid = s.scalar(select(Objection.id).limit(1))
        s.add(ListPublication(instance_id=iid, level="province", scope="520000", year=2026, status="published",
                              prepared_at=eng.clock.now(), published_at=eng.clock.now(), reference="黔工信〔2026〕1号"))
    folder = site.app.config["GREENFLOW"].upload_dir + f"/{sha[:2]}/{sha[2:4]}"
    import os
    os.makedirs(folder, exist_ok=True)
    with open(f"{folder}/{sha}", "wb") as fh:
        fh.write(PDF)
    tokens = {name: issue_token(eng, name, name="matrix")[1] for name in PEOPLE if name != "anonymous"}
    pk, mid, scid = _park_and_spot_check(eng)
    return {"iid": iid, "tid": tid, "sha": sha, "nid": nid, "otid": otid, "oid": oid, "tokens": tokens,
            "pk": pk, "mid": mid, "scid": scid}


def _park_and_spot_check(eng):
    """A park of 红花岗区 with one member waiting for confirmation, and a spot check of 遵义市 (issue 16)."""
    import datetime as dt

    from handlers.park_members import ParkMember
    from handlers.records import Unit
    from handlers.spot_checks import SpotCheck
    from handlers.uscc import make_uscc

    park = make_uscc("12520302MB0000093")
    now = eng.clock.now()
    with eng.db.unit_of_work() as s:
        s.add(Unit(credit_code=park, name="红花岗经济开发区", unit_type="park", county_code="520302",
                   park_level="provincial", created_at=now))
        member = ParkMember(park_credit_code=park, member_credit_code=U1.credit_code, member_name=U1.name,
                            joined_on=dt.date(2025, 1, 1), status="proposed", proposed_by="ent-park", proposed_at=now)
        check = SpotCheck(instance_id=999999, organiser_role="city_official", organiser_scope="520300",
                          list_level="city", list_scope="520300", unit_type="all", sample_size=1, seed="s",
                          population_size=0, population=[], sample=[], started_by="city-520300", started_at=now)
        s.add_all([member, check])
        s.flush()
        return park, member.id, check.id


def classify(response) -> str:
    assert response.status_code < 500, response.get_data(as_text=True)[:1000]
    if response.status_code == 401 or (response.status_code == 302
                                        and "/auth/login" in response.headers.get("Location", "")):
        return "L"
    if response.status_code == 403:
        return "D"
    if response.status_code in (301, 302, 307, 308):
        return "R"
    assert response.status_code != 404, f"404 for a resource that exists: {response.get_data(as_text=True)[:300]}"
    return "A"


def call(site, subject, person: str, method: str, template: str, body):
    url = template.format(**subject)
    if url.startswith("/api/"):
        client = site.client()
        headers = {} if person == "anonymous" else {"Authorization": f"Bearer {subject['tokens'][person]}"}
        if method == "GET":
            return client.get(url, headers=headers)
        return client.open(url, method=method, json=body, headers=headers)
    client = site.client(None if person == "anonymous" else person)
    if method == "GET":
        return client.get(url)
    form = {k: v.format(**subject) if isinstance(v, str) else v for k, v in (body or {}).items()}
    return client.open(url, method=method, data=form)


# Routes on one user's own rows, which no fixed id can sample for all six people: their permissions
# are tested where those rows are made (nobody opens or marks another's notification).
COVERED_ELSEWHERE = {("notifications.open_one", "POST"),  # tests/web/test_notifications.py
                     ("notifications.read_one", "POST")}


def test_every_route_is_in_the_table(site):
    adapter = site.app.url_map.bind("localhost")
    sample = {"iid": 1, "tid": 1, "sha": "ab" * 32, "nid": 1, "otid": 1, "oid": 1, "pk": "x", "mid": 1, "scid": 1}
    listed = {(adapter.match(t.format(**sample), method=m)[0], m) for m, t, _, _ in ROUTES}
    routes = {(rule.endpoint, method) for rule in site.app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - listed - COVERED_ELSEWHERE == set(), "routes missing from the permission table"


@pytest.mark.parametrize("person", PEOPLE)
def test_permission_matrix(site, subject, person):
    column = PEOPLE.index(person)
    wrong = []
    for method, template, body, expected in ROUTES:
        got = classify(call(site, subject, person, method, template, body))
        if got != expected[column]:
            wrong.append(f"{method} {template}: expected {expected[column]}, got {got}")
    assert not wrong, f"{person}:\n" + "\n".join(wrong)
