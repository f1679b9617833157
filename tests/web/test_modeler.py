"""The process owners' modeler (server side) and the deployments API, on both databases:
drafts with conflicts, validate with located problems, the diff, deploy with a note and a changed
base, versions pages, the bundle download/upload round trip, the REST API and bpmnlint."""
from __future__ import annotations

import io
import json
import re
import stat
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.identity import upsert_user
from engine.models import DefinitionVersion, Deployment, ModelerDraft, ProcessVersion
from tests.scenarios.driver import BPMN
from web.api.auth import issue_token
from web.modeler import lint

KEY = "cultivation_report"
FORM = "cultivation_report.schema.json"
XML = (BPMN / "cultivation_report.bpmn").read_text()
SCHEMA = json.loads((BPMN / "forms" / FORM).read_text())


@pytest.fixture
def owners(site):
    """The demo owner, a second process owner, and the app with bpmnlint off (tests of lint turn it on)."""
    site.app.config["BPMNLINT_BIN"] = ""
    with site.engine.db.unit_of_work() as s:
        upsert_user(s, "owner-2", display_name="流程管理员 乙", grants=[("process_owner", "520000")])
    return site


def stored(site) -> tuple[int, int, int]:
    with site.engine.db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (DefinitionVersion, Deployment,
                                                                               ProcessVersion))


def put_draft(client, xml=XML, forms=None, row_version=None, key=KEY):
    return client.put(f"/modeler/api/{key}/draft", json={"xml": xml, "forms": forms or {}, "row_version": row_version})


def renamed(xml: str = XML, name: str = "已登记") -> str:
    return xml.replace('name="已记录"', f'name="{name}"')


def test_the_list_page_shows_processes_versions_and_drafts(owners):
    client = owners.client("owner")
    assert put_draft(owners.client("owner-2")).status_code == 200
    page = client.get("/modeler/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = re.search(r'<tr data-process="cultivation_report">.*?</tr>', html, re.S).group(0)
    assert "培育创建情况报送" in row and "v1" in row and "owner-2" in row
    assert 'name="files"' in html and "部署记录" in html


def test_the_edit_page_gives_the_modeler_its_context(owners):
    put_draft(owners.client("owner-2"))
    page = owners.client("owner").get(f"/modeler/{KEY}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "培育创建情况报送" in html and "owner-2" in html
    assert '<meta name="csrf-token"' in html and "<script>" not in html and " onclick=" not in html
    assert owners.client("owner").get("/modeler/no_such_process").status_code == 404


def test_meta_lists_roles_services_forms_and_functions(owners):
    meta = owners.client("owner").get("/modeler/api/meta").json
    assert {"key": "process_owner", "zh": "流程管理员", "en": "Process owner", "scope_kind": "province"} in meta["roles"]
    service = next(s for s in meta["services"] if s["name"] == "record_cultivation_report")
    assert service["params"] == [{"name": "report", "required": True}]
    assert FORM in meta["forms"] and "review.schema.json" in meta["forms"]
    assert "add_working_days" in meta["script_functions"]


def test_a_draft_is_saved_per_owner_and_a_stale_tab_gets_409(owners):
    me, other_tab = owners.client("owner"), owners.client("owner")
    fresh = me.get(f"/modeler/api/{KEY}/draft").json
    assert fresh["row_version"] is None and fresh["base_version"] == fresh["latest_version"] == 1
    assert fresh["xml"] == XML and fresh["forms"] == {FORM: SCHEMA} and fresh["bpmn_path"] == "cultivation_report.bpmn"

    first = put_draft(me, renamed())
    assert first.status_code == 200 and first.json["row_version"] == 1
    again = put_draft(other_tab, renamed())  # the other tab thought there was no draft
    assert again.status_code == 409 and again.json["error"] == "conflict" and again.json["message"]
    second = put_draft(me, renamed(name="已登记2"), forms={FORM: {**SCHEMA, "title": "新标题"}}, row_version=1)
    assert second.json["row_version"] == 2
    stale = put_draft(other_tab, renamed(), row_version=1)
    assert stale.status_code == 409 and stale.json["reason"] == "stale"

    state = me.get(f"/modeler/api/{KEY}/draft").json
    assert state["row_version"] == 2 and 'name="已登记2"' in state["xml"] and state["forms"][FORM]["title"] == "新标题"
    with owners.engine.db.session() as s:  # only the changed form is kept in the draft
        assert s.scalar(select(ModelerDraft.forms)) == {FORM: {**SCHEMA, "title": "新标题"}}

    others = owners.client("owner-2").get(f"/modeler/api/{KEY}/draft").json["others"]
    assert [o["owner"] for o in others] == ["owner"] and others[0]["updated_at"].startswith("2026-03-02")

    assert me.delete(f"/modeler/api/{KEY}/draft").status_code == 204
    assert me.get(f"/modeler/api/{KEY}/draft").json["row_version"] is None
    gone = put_draft(other_tab, renamed(), row_version=2)
    assert gone.status_code == 409 and gone.json["reason"] == "gone"


def test_a_draft_needs_xml_and_forms_as_objects(owners):
    me = owners.client("owner")
    assert me.put(f"/modeler/api/{KEY}/draft", json={"forms": {}}).status_code == 422
    assert put_draft(me, forms={"../evil.json": {}}).status_code == 422
    assert put_draft(me, forms={FORM: "not an object"}).status_code == 422
    assert me.put(f"/modeler/api/{KEY}/draft", data="xml").status_code == 400


def test_validate_names_file_element_and_line(owners):
    me = owners.client("owner")
    broken = XML.replace('id="record_cultivation_report"', 'id="no_such_service"')
    problems = me.post(f"/modeler/api/{KEY}/validate", json={"xml": broken, "forms": {}}).json["problems"]
    error = next(p for p in problems if p["severity"] == "error")
    assert error["file"] == "cultivation_report.bpmn" and error["element_id"] == "record_report_task"
    assert error["line"] == broken.splitlines().index(next(line for line in broken.splitlines()
                                                            if 'id="record_report_task"' in line)) + 1
    assert "no_such_service" in error["message"]

    bad_form = me.post(f"/modeler/api/{KEY}/validate",
                       json={"xml": XML, "forms": {FORM: {**SCHEMA, "required": "credit_code"}}}).json["problems"]
    assert [p["file"] for p in bad_form if p["severity"] == "error"] == ["forms/cultivation_report.schema.json"]

    fine = me.post(f"/modeler/api/{KEY}/validate", json={"xml": renamed(), "forms": {}}).json["problems"]
    assert [p["severity"] for p in fine] == ["warning"] and fine[0]["message"].startswith("bpmnlint unavailable")


def test_deploy_needs_a_note_and_creates_the_next_version(owners):
    me = owners.client("owner")
    put_draft(me, renamed(), forms={FORM: {**SCHEMA, "title": "报送培育创建情况（新）"}})
    before = stored(owners)
    assert me.post(f"/modeler/api/{KEY}/deploy", json={"note": "  "}).status_code == 422
    assert me.post(f"/modeler/api/{KEY}/deploy", json={"note": "x" * 501}).status_code == 422
    assert stored(owners) == before

    deployed = me.post(f"/modeler/api/{KEY}/deploy", json={"note": "结束事件改名；表单标题"})
    assert deployed.status_code == 201, deployed.json
    body = deployed.json
    assert body["version"] == 2 and body["created"] is True
    changed = [p for p in body["processes"] if p["changed"]]
    assert [(p["key"], p["version"]) for p in changed] == [(KEY, 2)]
    assert me.get(f"/modeler/api/{KEY}/draft").json["row_version"] is None  # the draft is gone
    with owners.engine.db.session() as s:
        log = s.scalar(select(Deployment).order_by(Deployment.id.desc()).limit(1))
        assert (log.source, log.deployed_by, log.note, log.created) == ("modeler", "owner", "结束事件改名；表单标题", True)
        row = s.scalar(select(ProcessVersion).where(ProcessVersion.process_id == KEY, ProcessVersion.number == 2))
        assert row.note == "结束事件改名；表单标题" and row.deployed_by == "owner"
    assert owners.engine.versions()[-1]["version"] == body["definition_version"]

    put_draft(me, renamed())  # the same content as deployed: a no-op, answered 200
    same = me.post(f"/modeler/api/{KEY}/deploy", json={"note": "没有变化"})
    assert same.status_code == 200 and same.json["created"] is False and same.json["version"] == 2
    assert me.post(f"/modeler/api/{KEY}/deploy", json={"note": "再来"}).status_code == 409  # no draft left


def test_deploy_from_a_stale_base_is_refused_until_confirmed(owners):
    a, b = owners.client("owner"), owners.client("owner-2")
    put_draft(a, renamed(name="甲改"))
    put_draft(b, renamed(name="乙改"))
    assert a.post(f"/modeler/api/{KEY}/deploy", json={"note": "甲"}).status_code == 201
    refused = b.post(f"/modeler/api/{KEY}/deploy", json={"note": "乙"})
    assert refused.status_code == 409 and refused.json["error"] == "base_changed"
    assert refused.json["latest_version"] == 2 and refused.json["base_version"] == 1
    assert "2" in refused.json["message"] and "owner" in refused.json["message"]
    diff = b.get(f"/modeler/api/{KEY}/diff?to=draft").json  # what b reviews: from its base to its draft
    assert diff["from"]["version"] == 1 and diff["to"]["draft"] is True and 'name="乙改"' in diff["to"]["xml"]
    latest = b.get(f"/modeler/api/{KEY}/diff?from=2&to=draft").json
    assert 'name="甲改"' in latest["from"]["xml"]
    assert b.post(f"/modeler/api/{KEY}/deploy", json={"note": "乙", "confirm_base": 1}).status_code == 409
    confirmed = b.post(f"/modeler/api/{KEY}/deploy", json={"note": "乙，已看过差异", "confirm_base": 2})
    assert confirmed.status_code == 201 and confirmed.json["version"] == 3


def test_the_diff_lists_changed_forms(owners):
    me = owners.client("owner")
    new_schema = {**SCHEMA, "title": "新标题", "properties": {**SCHEMA["properties"], "remark": {"type": "string"}}}
    put_draft(me, XML, forms={FORM: new_schema})
    diff = me.get(f"/modeler/api/{KEY}/diff").json
    assert diff["from"] == {"version": 1, "xml": XML}
    [change] = diff["forms"]
    assert (change["name"], change["change"]) == (FORM, "changed") and change["after"] == new_schema
    assert {"field": "remark", "change": "added"} in change["fields"]
    assert me.get(f"/modeler/api/{KEY}/diff?to=9").status_code == 404
    assert me.get(f"/modeler/api/{KEY}/diff?to=abc").status_code == 404


def test_form_preview_renders_the_form_as_officials_see_it(owners):
    me = owners.client("owner")
    schema = {"title": "试填", "type": "object", "required": ["opinion"],
              "properties": {"opinion": {"type": "string", "title": "意见", "x-widget": "textarea"},
                             "decision": {"type": "string", "title": "结论",
                                          "oneOf": [{"const": "pass", "title": "通过"}, {"const": "return", "title": "退回"}]}}}
    html = me.post("/modeler/api/form-preview", json={"schema": schema}).json["html"]
    assert '<textarea id="f-opinion" name="opinion"' in html and "意见" in html and 'value="pass"' in html
    refused = me.post("/modeler/api/form-preview", json={"schema": {"type": "object", "required": "opinion"}})
    assert refused.status_code == 422 and refused.json["message"]


def test_versions_pages_show_every_version_and_diff_two(owners):
    me = owners.client("owner")
    put_draft(me, renamed(), forms={FORM: {**SCHEMA, "title": "新标题"}})
    me.post(f"/modeler/api/{KEY}/deploy", json={"note": "第二版说明"})
    page = me.get(f"/modeler/{KEY}/versions").get_data(as_text=True)
    assert "第二版说明" in page and 'data-version="1"' in page and 'data-version="2"' in page
    assert me.get(f"/modeler/{KEY}/versions?a=1&b=2").headers["Location"].endswith(f"/modeler/{KEY}/versions/1/diff/2")
    one = me.get(f"/modeler/{KEY}/versions/1")
    assert one.status_code == 200 and FORM in one.get_data(as_text=True)
    diagram = me.get(f"/modeler/{KEY}/versions/1/diagram.json").json["diagrams"][0]
    assert diagram["xml"] == XML and diagram["process_id"] == KEY
    diff = me.get(f"/modeler/{KEY}/versions/1/diff/2").get_data(as_text=True)
    assert f'data-form="{FORM}"' in diff and 'data-change="changed"' in diff and "data-diff-src=" in diff
    assert me.get(f"/modeler/{KEY}/versions/7").status_code == 404
    assert me.get(f"/modeler/{KEY}/versions/99999999999").status_code == 404


def test_bundle_download_and_upload_round_trip(owners):
    me = owners.client("owner")
    download = me.get(f"/modeler/{KEY}/bundle.zip")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert sorted(archive.namelist()) == ["cultivation_report.bpmn", f"forms/{FORM}"]
    assert archive.read("cultivation_report.bpmn").decode() == XML

    edited = io.BytesIO()
    with zipfile.ZipFile(edited, "w") as out:
        out.writestr("cultivation_report.bpmn", archive.read("cultivation_report.bpmn"))
        out.writestr(f"forms/{FORM}", json.dumps({**SCHEMA, "title": "桌面修改"}, ensure_ascii=False))
    before = stored(owners)
    uploaded = me.post("/modeler/upload", data={"note": "用 Camunda Modeler 修改",
                                                "files": (io.BytesIO(edited.getvalue()), "bundle.zip")},
                       content_type="multipart/form-data")
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)[:500]
    assert stored(owners)[0] == before[0] + 1
    new = zipfile.ZipFile(io.BytesIO(me.get(f"/modeler/{KEY}/bundle.zip").data))
    assert json.loads(new.read(f"forms/{FORM}"))["title"] == "桌面修改"
    assert me.get(f"/modeler/{KEY}/bundle.zip?version=1").data == download.data
    with owners.engine.db.session() as s:
        assert s.scalar(select(Deployment.source).order_by(Deployment.id.desc()).limit(1)) == "upload"

    broken = me.post("/modeler/upload", data={"note": "坏文件", "files": (io.BytesIO(b"<bpmn:definitions"),
                                                                           "cultivation_report.bpmn")},
                     content_type="multipart/form-data")
    assert broken.status_code == 422 and "malformed XML" in broken.get_data(as_text=True)
    no_note = me.post("/modeler/upload", data={"files": (io.BytesIO(edited.getvalue()), "bundle.zip")},
                      content_type="multipart/form-data")
    assert no_note.status_code == 422
    assert stored(owners)[0] == before[0] + 1


def test_owners_use_the_json_endpoints_with_the_csrf_header(owners):
    owners.app.config["WTF_CSRF_ENABLED"] = True
    me = owners.client("owner")
    page = me.get(f"/modeler/{KEY}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert put_draft(me).status_code == 400
    ok = me.put(f"/modeler/api/{KEY}/draft", json={"xml": XML, "forms": {}, "row_version": None},
                headers={"X-CSRFToken": token})
    assert ok.status_code == 200


def test_every_modeler_route_admits_the_process_owner(owners):
    from tests.web.test_permissions import ROUTES, classify

    me = owners.client("owner")
    put_draft(me, renamed())
    for method, url, body, _ in ROUTES:
        if not url.startswith("/modeler"):
            continue
        url = url.replace("{key}", KEY)
        response = me.open(url, method=method, json=body) if "/api/" in url else me.open(url, method=method, data=body)
        assert classify(response) == "A", (method, url, response.status_code)


# --- the REST API ----------------------------------------------------------------------------

@pytest.fixture
def api(owners):
    def headers(username: str) -> dict:
        return {"Authorization": f"Bearer {issue_token(owners.engine, username, name='t')[1]}"}
    return headers


def conforms(body, schema_name: str) -> None:
    """``body`` matches its component schema in the OpenAPI document."""
    from jsonschema import Draft202012Validator

    from web.api.openapi import document

    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document()["components"]}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(body)]
    assert not errors, errors[:5]


def upload(client, headers, files, **form):
    data = {"files": [(io.BytesIO(content), name) for name, content in files], **form}
    return client.post("/api/v1/deployments", data=data, headers=headers, content_type="multipart/form-data")


def test_api_deploys_201_identical_200_problems_422_and_others_403(owners, api):
    client, owner = owners.app.test_client(), api("owner")
    form = json.dumps({**SCHEMA, "title": "接口修改"}, ensure_ascii=False).encode()
    created = upload(client, owner, [(FORM, form)], note="接口部署")
    assert created.status_code == 201, created.json
    assert created.headers["Location"] == f"/api/v1/definitions/{KEY}/versions"
    assert [(p["key"], p["version"]) for p in created.json["processes"] if p["changed"]] == [(KEY, 2)]
    conforms(created.json, "Deployment")
    same = upload(client, owner, [(FORM, form)])
    assert same.status_code == 200 and same.json["created"] is False
    assert next(p for p in same.json["processes"] if p["key"] == KEY)["version"] == 2

    before = stored(owners)
    broken = XML.replace('id="record_cultivation_report"', 'id="no_such_service"').encode()
    refused = upload(client, owner, [("cultivation_report.bpmn", broken), (FORM, form)], note="坏")
    assert refused.status_code == 422 and refused.json["error"] == "deploy_refused"
    [problem] = [p for p in refused.json["problems"] if p["severity"] == "error"]
    assert (problem["file"], problem["element_id"]) == ("cultivation_report.bpmn", "record_report_task")
    assert problem["line"] > 1 and "no_such_service" in problem["message"]
    conforms(refused.json, "Error")
    assert stored(owners) == before

    assert upload(client, owner, [("notes.txt", b"x")]).status_code == 422
    assert upload(client, owner, [(FORM, form)], mode="sideways").status_code == 422
    assert client.post("/api/v1/deployments", json={"files": []}, headers=owner).status_code == 415
    assert upload(client, api("province"), [(FORM, form)]).status_code == 403
    assert upload(client, api("auditor"), [(FORM, form)]).status_code == 403
    assert stored(owners) == before


def test_api_replace_mode_deploys_exactly_the_files(owners, api):
    client, owner = owners.app.test_client(), api("owner")
    files = [("mini.bpmn", (Path("tests/fixtures/mini/mini.bpmn")).read_bytes()),
             ("forms/review.schema.json", Path("tests/fixtures/mini/forms/review.schema.json").read_bytes()),
             ("forms/opinion.schema.json", Path("tests/fixtures/mini/forms/opinion.schema.json").read_bytes())]
    from tests.engine import test_commands  # noqa: F401  (registers the fixture's service)
    replaced = upload(client, owner, files, mode="replace", note="只有 mini")
    assert replaced.status_code == 201, replaced.json
    assert [p["key"] for p in replaced.json["processes"]] == ["mini"]


def test_api_lists_versions_and_serves_a_versions_files(owners, api):
    client, owner = owners.app.test_client(), api("owner")
    upload(client, owner, [(FORM, json.dumps({**SCHEMA, "title": "二"}).encode())], note="第二版")
    listed = client.get(f"/api/v1/definitions/{KEY}/versions", headers=owner)
    assert listed.status_code == 200
    assert [(v["version"], v["note"]) for v in listed.json["items"]] == [(2, "第二版"), (1, None)]
    assert listed.json["items"][0]["instances"] == {"running": 0, "finished": 0}
    conforms(listed.json, "ProcessVersionList")
    one = client.get(f"/api/v1/definitions/{KEY}/versions/1", headers=owner).json
    conforms(one, "ProcessVersionFiles")
    assert {f["path"] for f in one["files"]} == {"cultivation_report.bpmn", f"forms/{FORM}"}
    assert next(f["content"] for f in one["files"] if f["path"].endswith(".bpmn")) == XML
    assert client.get(f"/api/v1/definitions/{KEY}/versions/3", headers=owner).status_code == 404
    assert client.get("/api/v1/definitions/nothing/versions", headers=owner).status_code == 404
    assert client.get(f"/api/v1/definitions/{KEY}/versions", headers=api("province")).status_code == 403


# --- bpmnlint --------------------------------------------------------------------------------

FAKE_REPORT = """
{path}
  record_report_task  error    Element is not connected  no-disconnected
  report_recorded     warning  Element is missing label  label-required
  Process_x#extensionElements  warning  Odd  custom-rule

✖ 3 problems (1 error, 2 warnings)
"""


def fake_bpmnlint(tmp_path, report: str, status: int = 1) -> str:
    """A stand-in CLI printing ``report`` (with {path} the linted file) the way bpmnlint does."""
    script = tmp_path / "bpmnlint"
    script.write_text("#!/bin/sh\nwhile [ $# -gt 1 ]; do shift; done\n"
                      f"cat <<EOF\n{report.replace('{path}', '$1')}\nEOF\nexit {status}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_bpmnlint_problems_are_located_and_errors_refuse_the_deploy(owners, tmp_path):
    me = owners.client("owner")
    owners.app.config.update(BPMNLINT_BIN=fake_bpmnlint(tmp_path, FAKE_REPORT), BPMNLINT_CONFIG=str(tmp_path / "rc"))
    (tmp_path / "rc").write_text("{}")
    problems = me.post(f"/modeler/api/{KEY}/validate", json={"xml": renamed(), "forms": {}}).json["problems"]
    assert [(p["element_id"], p["severity"]) for p in problems] == [
        ("record_report_task", "error"), ("report_recorded", "warning"), ("Process_x", "warning")]
    assert all(p["file"] == "cultivation_report.bpmn" for p in problems)
    assert problems[0]["line"] == 31 and problems[0]["message"] == "bpmnlint no-disconnected: Element is not connected"
    put_draft(me, renamed())
    before = stored(owners)
    refused = me.post(f"/modeler/api/{KEY}/deploy", json={"note": "lint"})
    assert refused.status_code == 422 and len(refused.json["problems"]) == 3 and stored(owners) == before

    clean = fake_bpmnlint(tmp_path, "", status=0)
    owners.app.config["BPMNLINT_BIN"] = clean
    assert me.post(f"/modeler/api/{KEY}/deploy", json={"note": "lint ok"}).status_code == 201


def test_a_missing_or_failing_bpmnlint_is_one_warning_not_a_refusal(owners, tmp_path):
    me = owners.client("owner")
    owners.app.config.update(BPMNLINT_BIN=str(tmp_path / "nowhere"))
    [problem] = me.post(f"/modeler/api/{KEY}/validate", json={"xml": renamed(), "forms": {}}).json["problems"]
    assert problem["severity"] == "warning" and problem["message"].startswith("bpmnlint unavailable")
    (tmp_path / "rc").write_text("{}")
    crashing = tmp_path / "crash"
    crashing.write_text("#!/bin/sh\necho 'Error: Could not parse config' >&2\nexit 1\n")
    crashing.chmod(0o755)
    owners.app.config.update(BPMNLINT_BIN=str(crashing), BPMNLINT_CONFIG=str(tmp_path / "rc"))
    [problem] = me.post(f"/modeler/api/{KEY}/validate", json={"xml": renamed(), "forms": {}}).json["problems"]
    assert problem["severity"] == "warning" and "Could not parse config" in problem["message"]
    put_draft(me, renamed())
    assert me.post(f"/modeler/api/{KEY}/deploy", json={"note": "without lint"}).status_code == 201


REAL_BPMNLINT = lint.BINARY_CANDIDATES[0]


@pytest.mark.skipif(not REAL_BPMNLINT.is_file() or not lint.CONFIG_CANDIDATES[0].is_file(),
                    reason="bpmnlint is not installed (scripts/setup_assets.sh)")
def test_the_real_bpmnlint_finds_a_disconnected_task(owners):
    owners.app.config.pop("BPMNLINT_BIN")
    me = owners.client("owner")
    orphan = XML.replace("</bpmn:process>", '<bpmn:task id="Orphan_1" name="孤立" /></bpmn:process>')
    problems = me.post(f"/modeler/api/{KEY}/validate", json={"xml": orphan, "forms": {}}).json["problems"]
    located = [p for p in problems if p["element_id"] == "Orphan_1"]
    assert located and all(p["file"] == "cultivation_report.bpmn" and p["line"] for p in located)
    assert any("no-disconnected" in p["message"] for p in located)


def test_cli_deploy_records_its_note_in_the_deployment_log(empty_db_url, clock, tmp_path):
    from web.app import create_app

    app = create_app({"database_url": empty_db_url, "upload_dir": str(tmp_path / "up"), "secret_key": "t"})
    app.config["BPMNLINT_BIN"] = ""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["deploy", str(BPMN), "--note", "首次部署", "--by", "owner"])
    assert result.exit_code == 0, result.output
    assert "bpmnlint unavailable" in result.output
    again = runner.invoke(args=["deploy", str(BPMN), "--note", "再次部署", "--json"])
    assert json.loads(again.stdout)["created"] is False
    eng = app.extensions["greenflow"]
    with eng.db.session() as s:
        rows = s.execute(select(Deployment.source, Deployment.note, Deployment.created).order_by(Deployment.id)).all()
    assert rows == [("cli", "首次部署", True), ("cli", "再次部署", False)]
    eng.db.dispose()
