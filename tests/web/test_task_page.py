"""The task page: what it shows, the form (errors kept next to fields), and the actions on a task."""
from __future__ import annotations

import io
import re
from urllib.parse import quote

from sqlalchemy import select

from handlers import demo
from handlers.records import Notice
from tests.scenarios.driver import PASS, form_post

U1 = demo.UNITS[0]
COUNTY, COLLEAGUE = f"county-{U1.county}", f"county-{U1.county}-b"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_task_page_shows_header_diagram_timeline_and_form(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    page = site.client(COUNTY).get(f"/tasks/{task.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    header = html[html.index('data-testid="task-header"'):html.index('class="grid"')]
    for expected in (U1.name, "绿色工厂", "市级", "红花岗区", "2026-03-16", "剩 10 个工作日"):
        assert expected in header, expected
    assert f'data-diagram-src="/instances/{iid}/diagram.json"' in html
    assert 'data-event="instance_started"' in html
    assert 'name="decision"' in html and 'data-testid="task-form"' in html
    submitted = html[html.index('data-testid="submitted"'):]  # the application as filed (its start form)
    for expected in ("张经理", "0851-88880000", "1800"):
        assert expected in submitted, expected


def test_diagram_json_marks_finished_and_current_elements(site):
    green = site.scenario
    iid = green.apply(U1)
    data = site.client(COUNTY).get(f"/instances/{iid}/diagram.json").get_json()
    top = data["diagrams"][0]
    assert top["process_id"] == "green_application" and "<bpmn:definitions" in top["xml"]
    assert "eligibility_check" in top["completed"] and top["current"]
    review = next(d for d in data["diagrams"] if d["process_id"] == "review_step")
    assert "review" in review["current"]


def test_a_bad_submission_shows_errors_next_to_the_fields_and_keeps_input(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    client = site.client(COUNTY)
    response = client.post(f"/tasks/{task.id}", data={"decision": "return", "opinion": "材料不全"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    field = re.search(r'<div[^>]*data-field="reason"[^>]*>', html)
    assert field and "invalid" in field.group(0)
    assert "材料不全" in html  # the input is kept
    assert green.task(iid, "review").status == "open"
    response = client.post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "符合要求"})
    assert response.status_code == 302
    assert site.engine.task(task.id)["completed_by"] == COUNTY


def test_stale_form_is_refused(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    version = site.engine.instance(iid)["row_version"]
    response = site.client(COUNTY).post(f"/tasks/{task.id}", data={**PASS, "row_version": str(version - 1)})
    assert response.status_code == 409


def test_a_row_version_that_is_not_a_number_is_refused_not_ignored(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    response = site.client(COUNTY).post(f"/tasks/{task.id}", data={**PASS, "row_version": "abc"})
    assert response.status_code == 400 and "row_version" in response.get_data(as_text=True)
    assert green.task(iid, "review").status == "open"
    api = site.client(COUNTY).post(f"/tasks/{task.id}", data={**PASS, "row_version": "abc"},
                                   headers={"Accept": "application/json"})
    assert api.status_code == 400 and api.get_json()["fields"] == {"row_version": "row_version 应为整数"}


def test_transfer_from_the_task_page(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    client = site.client(COUNTY)
    assert COLLEAGUE in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    response = client.post(f"/tasks/{task.id}/transfer", data={"to_user": COLLEAGUE, "note": "请办理"})
    assert response.status_code == 303
    assert site.engine.task(task.id)["assignee"] == COLLEAGUE
    refused = client.post(f"/tasks/{task.id}/transfer", data={"to_user": "city-520300"})
    assert refused.status_code == 409  # no longer the assignee


def test_transfer_to_someone_outside_the_scope_is_422(site):
    green = site.scenario
    task = green.task(green.apply(U1), "review")
    response = site.client(COUNTY).post(f"/tasks/{task.id}/transfer", data={"to_user": "county-520303"})
    assert response.status_code == 422 and "to_user" in response.get_data(as_text=True)
    assert site.engine.task(task.id)["assignee"] is None


def test_delegate_answers_and_the_delegator_signs_off(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    site.client(COUNTY).post(f"/tasks/{task.id}/delegate", data={"to_user": COLLEAGUE})
    delegate = site.client(COLLEAGUE)
    assert "您是被委派人" in delegate.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert delegate.post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "拟同意"}).status_code == 302
    page = site.client(COUNTY).get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "拟同意" in page and "已按被委派人的拟办意见预填" in page
    assert site.client(COUNTY).post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "拟同意"}).status_code == 302
    assert site.engine.task(task.id)["completed_by"] == COUNTY


def test_urge_comment_and_cc(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    assert site.client(COLLEAGUE).post(f"/tasks/{task.id}/urge", data={"note": "快"}).status_code == 403
    assert site.client("city-520300").post(f"/tasks/{task.id}/urge", data={"note": "请尽快办理"}).status_code == 303
    assert site.client(COUNTY).post(f"/tasks/{task.id}/comment", data={"text": "材料已收到"}).status_code == 303
    assert site.client(COUNTY).post(f"/tasks/{task.id}/comment", data={"text": ""}).status_code == 422
    assert site.client(COUNTY).post(f"/tasks/{task.id}/cc", data={"to_users": ["eco-520300"]}).status_code == 303
    html = site.client("eco-520300").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "请尽快办理" in html and "材料已收到" in html
    assert 'data-testid="task-form"' not in html  # CC'd: read only


def test_other_county_gets_403_and_missing_task_404(site):
    green = site.scenario
    task = green.task(green.apply(U1), "review")
    assert site.client("county-520402").get(f"/tasks/{task.id}").status_code == 403
    assert site.client("county-520402").post(f"/tasks/{task.id}", data=PASS).status_code == 403
    assert site.client(COUNTY).get("/tasks/999999").status_code == 404


def test_upload_is_stored_and_downloadable_only_by_those_who_may_see_it(site):
    green = site.scenario
    client = site.client("ent-u1")
    data = form_post(demo.application_data(U1))
    data["report_file"] = (io.BytesIO(PDF), "评价报告.pdf", "application/pdf")
    response = client.post("/portal/apply", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    iid = int(response.headers["Location"].rsplit("/", 1)[1])
    sha = site.engine.instance(iid)["data"]["application"]["report_file"].removeprefix("sha256:")
    url = f"/instances/{iid}/files/{sha}"
    assert client.get(url).data == PDF
    assert site.client(COUNTY).get(url).data == PDF
    assert site.client("county-520402").get(url).status_code == 403
    assert site.client("ent-u2").get(url).status_code == 403
    assert site.client(COUNTY).get(f"/instances/{iid}/files/{'0' * 64}").status_code == 404
    assert green.task(iid, "review").status == "open"


def test_a_forged_kept_file_hash_is_refused(site, tmp_path):
    """Naming somebody else's file by its hash in the hidden input must not attach it."""
    green = site.scenario
    owner = site.client("ent-u1")
    data = form_post(demo.application_data(U1))
    data["report_file"] = (io.BytesIO(PDF), "报告.pdf", "application/pdf")
    iid = int(owner.post("/portal/apply", data=data, content_type="multipart/form-data")
              .headers["Location"].rsplit("/", 1)[1])
    sha = site.engine.instance(iid)["data"]["application"]["report_file"]
    thief = site.client("ent-u2")
    stolen = form_post(demo.application_data(demo.UNITS[1]))
    stolen["report_file"] = sha
    response = thief.post("/portal/apply", data=stolen)
    assert response.status_code == 422 and 'data-field="report_file"' in response.get_data(as_text=True)
    assert thief.get(f"/instances/{iid}/files/{sha.removeprefix('sha256:')}").status_code == 403


def test_the_annual_table_form_places_a_bad_change_row_error_on_its_field_and_starts_the_recheck(site):
    """第二十八条 through the web: a change row is checked like a change report; a good one starts 变更复核."""
    from tests.scenarios.test_deadlines import TABLE, change_instances, filing_task, list_units, start_campaign

    green = site.scenario
    list_units(green, U1)
    iid = start_campaign(green)
    task = filing_task(green, iid, U1)
    client = site.client(f"ent-{U1.key.lower()}")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-field="changes"' in page and 'name="changes-0-change_kind"' in page  # the repeated group
    form = {key: str(value) for key, value in TABLE.items() if not isinstance(value, dict)}
    form.update({f"main_emissions-{key}": str(value) for key, value in TABLE["main_emissions"].items()})
    form.update({"major_change": "true", "change_note": "股东增资后更名", "changes-0-change_kind": "name",
                 "changes-0-old_value": "某某公司", "changes-0-new_value": "遵义黔北绿色智能科技有限公司",
                 "changes-0-effective_date": "2026-02-20"})
    response = client.post(f"/tasks/{task.id}", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    field = re.search(r'<div[^>]*data-field="changes\.0\.old_value"[^>]*>', html)
    assert field and "invalid" in field.group(0) and "第二十八条" in html
    assert "股东增资后更名" in html and change_instances(green) == []  # input kept, nothing started
    form["changes-0-old_value"] = U1.name
    assert client.post(f"/tasks/{task.id}", data=form).status_code == 302
    [change] = change_instances(green)
    assert green.task(change.id, "change_review").scope == "520300"


def test_the_objection_review_page_shows_the_objection_and_serves_its_evidence_to_officials_only(site):
    """第二十条: the official verifying an objection reads it and its evidence; the applicant never does."""
    green = site.scenario
    iid = green.to_notice(U1)
    with site.engine.db.session() as s:
        notice = s.scalar(select(Notice).where(Notice.instance_id == iid))
    public = site.client()
    response = public.post(f"/public/notices/{notice.id}/objection", content_type="multipart/form-data", data={
        "name": "王某", "id_number": "520102199001011234", "contact": "13800000000",
        "matter": "该企业去年曾发生环境污染事件", "evidence": "照片 1 份", "evidence_file": (io.BytesIO(PDF), "现场照片.pdf")})
    assert response.status_code == 200
    review = green.task(iid, "review_objection")
    city = site.client(demo.user_for(review.role, review.scope))
    html = city.get(f"/tasks/{review.id}").get_data(as_text=True)
    panel = html[html.index('data-testid="objections"'):]
    for expected in ("王某", "13800000000", "该企业去年曾发生环境污染事件", "待核实"):
        assert expected in panel, expected
    link = re.search(r'data-testid="objection-evidence"\s+href="([^"]+)"', panel).group(1)
    download = city.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert quote("现场照片.pdf") in download.headers["Content-Disposition"]  # the name the objector gave
    applicant = site.client(f"ent-{U1.key.lower()}")
    assert applicant.get(f"/tasks/{review.id}").status_code == 403
    assert applicant.get(link).status_code == 403
    assert site.client("county-520103").get(link).status_code == 403  # another county's official
    assert city.get(link.replace("/objections/", "/objections/9")).status_code == 404  # not this instance's
