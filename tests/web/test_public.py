"""The public portal (no login): notices and objections, complaints, the lists; on both databases.

The app runs on the test's engine (``app.extensions["greenflow"]``), so the frozen clock
decides what is running, and every request goes through CSRF and the rate limits.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from sqlalchemy import func, select

from engine.models import Attachment, ProcessInstance
from handlers import demo
from handlers.complaints import Complaint
from handlers.notices import objection_access_code
from handlers.receipts import access_code
from handlers.records import Listing, Notice, Objection, Unit
from handlers.uscc import make_uscc
from tests.scenarios.test_complaint_intake import list_unit
from web.app import create_app

OBJECTOR = {"name": "王某", "id_number": "520102199001011234", "organisation": "", "contact": "13800000000",
            "matter": "该企业去年曾发生环境污染事件", "evidence": "照片 3 张"}
REPORTER = {"reporter_name": "李某", "id_number": "520102198805051234", "contact": "13900000000",
            "matter": "能耗数据与实际不符", "evidence": "电费单据"}


@pytest.fixture
def app(green, tmp_path):
    app = create_app({"database_url": green.engine.db.url, "secret_key": "t", "upload_dir": str(tmp_path / "up")})
    app.extensions["greenflow"] = green.engine  # the test's engine and frozen clock
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def post_form(client, path: str, data: dict, **kw):
    return client.post(path, data={**data, "csrf_token": csrf(client, path)}, content_type="multipart/form-data",
                       **kw)


def text(response) -> str:
    return response.get_data(as_text=True)


def notice_of(green, iid: int) -> Notice:
    with green.engine.db.session() as s:
        return s.scalar(select(Notice).where(Notice.instance_id == iid))


def objections(green) -> list[Objection]:
    with green.engine.db.session() as s:
        return list(s.scalars(select(Objection)))


def code_on(page: str) -> str:
    """The access code (查询码) a receipt page shows."""
    return re.search(r'<strong data-testid="access-code">([^<]+)</strong>', page).group(1)


def objection_lookup(client, receipt: str, code: str | None, **extra):
    args = {"receipt": receipt, **({"code": code} if code is not None else {}), **extra}
    return client.get("/public/objections/status", query_string=args)


def complaint_lookup(client, receipt: str, code: str | None, **extra):
    args = {"receipt": receipt, **({"code": code} if code is not None else {}), **extra}
    return client.get("/public/complaints/status", query_string=args)


def wrong(code: str) -> str:
    """Another well-formed code: the same but for its last digit."""
    return code[:-1] + ("0" if code[-1] != "0" else "1")


# --------------------------------------------------------------------------- notices

def test_the_notice_list_shows_a_running_notice_with_its_units_and_period(green, client):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    notice = notice_of(green, iid)
    page = text(client.get("/public/notices"))
    running = page.split("近期结束的公示")[0]
    assert unit.name in running and unit.credit_code in running
    assert "遵义市 红花岗区" in running and "市级" in running and "绿色工厂" in running
    assert (notice.first_day.isoformat(), notice.last_day.isoformat()) == ("2026-03-02", "2026-03-10")
    assert "2026-03-02" in running and "2026-03-10" in running
    assert "遵义市工业和信息化主管部门" in running
    assert f"/public/notices/{notice.id}/objection" in running
    detail = text(client.get(f"/public/notices/{notice.id}"))
    assert unit.name in detail and "公示中" in detail
    assert client.get("/public/notices/9999").status_code == 404


def test_an_ended_notice_moves_to_the_recent_section_and_closes_its_form(green, client):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    notice = notice_of(green, iid)
    green.end_notice()
    page = text(client.get("/public/notices"))
    running, ended = page.split("近期结束的公示")
    assert unit.name not in running and unit.name in ended
    assert f"/public/notices/{notice.id}/objection" not in page
    form = text(client.get(f"/public/notices/{notice.id}/objection"))
    assert "不在公示期内" in form and "第二十条" in form and 'name="matter"' not in form


def test_the_portal_speaks_english_too(green, client):
    green.to_notice()
    page = text(client.get("/public/notices?lang=en"))
    assert "Public notices" in page and "Object" in page


# --------------------------------------------------------------------------- objections

def test_an_objection_during_the_notice_reaches_the_instance(green, client):
    iid = green.to_notice()
    notice = notice_of(green, iid)
    response = post_form(client, f"/public/notices/{notice.id}/objection", OBJECTOR)
    assert response.status_code == 200, text(response)
    [objection] = objections(green)
    assert (objection.notice_id, objection.name, objection.contact) == (notice.id, "王某", "13800000000")
    assert objection.upheld is None
    assert f"YY2026-{objection.id:06d}" in text(response)
    events = green.view(iid)["events"]
    filed = [e for e in events if e["type"] == "objection_filed"]
    assert filed and filed[0]["payload"]["objection_id"] == objection.id
    assert filed[0]["actor"].startswith("public:objection-")
    assert [e["payload"]["delivered"] for e in events if e["type"] == "message_received"] == [True]
    assert green.task(iid, "review_objection").scope == "520300"


def stored_files(tmp_path) -> list[bytes]:
    return [p.read_bytes() for p in (tmp_path / "up").rglob("*") if p.is_file()]


def test_evidence_is_stored_only_once_the_objection_is_accepted(green, client, tmp_path):
    iid = green.to_notice()
    notice = notice_of(green, iid)
    path = f"/public/notices/{notice.id}/objection"
    content = b"%PDF-1.4 evidence"
    refused = post_form(client, path, {**OBJECTOR, "name": "", "evidence_file": (io.BytesIO(content), "照片.pdf")})
    assert refused.status_code == 422 and stored_files(tmp_path) == []
    response = post_form(client, path, {**OBJECTOR, "evidence_file": (io.BytesIO(content), "照片.pdf")})
    assert response.status_code == 200, text(response)
    digest = hashlib.sha256(content).hexdigest()
    assert f"sha256:{digest}" in objections(green)[0].evidence
    assert stored_files(tmp_path) == [content]
    with green.engine.db.session() as s:  # the applicant reads its instance's attachments: not there
        assert s.scalars(select(Attachment).where(Attachment.instance_id == iid)).all() == []


@pytest.mark.parametrize("name,content", [("run.exe", b"MZ..."), ("fake.pdf", b"MZ..."), ("empty.pdf", b"")])
def test_an_evidence_file_of_another_type_is_refused(green, client, tmp_path, name, content):
    notice = notice_of(green, green.to_notice())
    response = post_form(client, f"/public/notices/{notice.id}/objection",
                         {**OBJECTOR, "evidence_file": (io.BytesIO(content), name)})
    assert response.status_code == 422
    assert objections(green) == [] and stored_files(tmp_path) == []


def test_a_late_objection_is_refused_with_the_reason_and_nothing_is_stored(green, client):
    iid = green.to_notice()
    notice = notice_of(green, iid)
    path = f"/public/notices/{notice.id}/objection"
    token = csrf(client, path)
    green.engine.clock.advance(days=15)  # past the last day; the timer has not fired yet
    response = client.post(path, data={**OBJECTOR, "csrf_token": token})
    page = text(response)
    assert response.status_code == 422
    assert "不在公示期内" in page and "第二十条" in page
    assert "该企业去年曾发生环境污染事件" in page  # the input is kept
    assert objections(green) == []
    assert "objection_filed" not in [e["type"] for e in green.view(iid)["events"]]


@pytest.mark.parametrize("override,reason", [({"name": ""}, "异议须实名"), ({"name": "匿名"}, "异议须实名"),
                                             ({"contact": ""}, "联系方式必填"),
                                             ({"id_number": "", "organisation": ""}, "身份证件号码或所在单位")])
def test_an_anonymous_objection_is_refused_with_the_reason_and_nothing_is_stored(green, client, override, reason):
    iid = green.to_notice()
    notice = notice_of(green, iid)
    response = post_form(client, f"/public/notices/{notice.id}/objection", {**OBJECTOR, **override})
    page = text(response)
    assert response.status_code == 422 and reason in page
    assert "该企业去年曾发生环境污染事件" in page
    assert objections(green) == []
    types = [e["type"] for e in green.view(iid)["events"]]
    assert "message_received" not in types and "objection_filed" not in types


def test_a_post_without_the_csrf_token_is_refused(green, client, app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    notice = notice_of(green, green.to_notice())
    assert client.post(f"/public/notices/{notice.id}/objection", data=OBJECTOR).status_code == 400
    assert client.post("/public/complaints/new", data=REPORTER).status_code == 400
    assert objections(green) == []


def test_posting_too_often_is_rate_limited(green, client):
    notice = notice_of(green, green.to_notice())
    path = f"/public/notices/{notice.id}/objection"
    token = csrf(client, path)
    codes = [client.post(path, data={**OBJECTOR, "name": "", "csrf_token": token}).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
    other = client.post(path, data={**OBJECTOR, "csrf_token": token}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 200  # another client is not held back
    assert client.get(path).status_code == 200  # reading the form is not limited


def test_the_objection_status_page_shows_progress_then_the_answer_and_nothing_internal(green, client):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    notice = notice_of(green, iid)
    receipt_page = text(post_form(client, f"/public/notices/{notice.id}/objection", OBJECTOR))
    [objection] = objections(green)
    receipt, code = f"YY2026-{objection.id:06d}", objection_access_code(objection)
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", code) and code_on(receipt_page) == code
    assert "查询码" in receipt_page and "请同时保存受理编号和查询码" in receipt_page
    link = f"/public/objections/status?receipt={receipt}&amp;code={code}"
    assert link in receipt_page
    response = client.get(link.replace("&amp;", "&"))  # the receipt page's link
    page = text(response)
    assert response.status_code == 200 and receipt in page
    assert 'data-status="verifying"' in page and "核实中" in page and "答复内容" not in page
    assert "2026-03-02" in page and unit.name in page and f"/public/notices/{notice.id}" in page
    finding = "内部：调取2025年环境执法记录核实"
    green.step(iid, "review_objection", {"upheld": True, "finding": finding, "reply": "经核实异议成立，已取消拟列入"})
    # answered as soon as it is verified, during the notice (answer_objection)
    page = text(objection_lookup(client, receipt.lower(), code.lower()))
    assert 'data-status="answered"' in page and "已答复" in page and 'data-outcome="upheld"' in page
    reply = re.search(r'<dd data-testid="reply">([^<]+)</dd>', page).group(1)
    assert reply == "经核实异议成立，已取消拟列入"
    for private in (OBJECTOR["name"], OBJECTOR["id_number"], OBJECTOR["contact"], OBJECTOR["matter"],
                    OBJECTOR["evidence"], finding, "city-520300", "objection_reply"):
        assert private not in page
    assert code not in page.split("</form>", 1)[1]  # the code is in the form only, never in the answer
    english = text(objection_lookup(client, receipt, code, lang="en"))
    assert "Objection status" in english and "Answered" in english and "Objection upheld" in english


def test_an_unknown_objection_receipt_is_404_with_a_plain_message(green, client):
    iid = green.to_notice()
    post_form(client, f"/public/notices/{notice_of(green, iid).id}/objection", OBJECTOR)
    [objection] = objections(green)
    code = objection_access_code(objection)
    for unknown in ("YY2026-999999", f"YY2025-{objection.id:06d}", f"JB2026-{objection.id:06d}", "不是编号"):
        response = objection_lookup(client, unknown, code)
        page = text(response)
        assert response.status_code == 404 and "未找到异议受理编号" in page and unknown in page
        assert "或查询码不符" in page
        assert 'data-testid="status"' not in page and OBJECTOR["name"] not in page
    assert client.get("/public/objections/status").status_code == 200  # the empty form


# --------------------------------------------------------------------------- complaints

def complain(client, **fields):
    data = {"subject_kind": "unit", "unit": demo.UNITS[0].credit_code, **REPORTER, **fields}
    return post_form(client, "/public/complaints/new", data)


def complaints(green) -> list[Complaint]:
    with green.engine.db.session() as s:
        return list(s.scalars(select(Complaint).order_by(Complaint.id)))


def complaint_instances(green) -> int:
    with green.engine.db.session() as s:
        return s.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.process_id == "complaint"))


def test_the_complaint_form_lists_the_evaluators(client):
    page = text(client.get("/public/complaints/new"))
    assert "第三十二条" in page and 'value="EV001"' in page and "黔绿评价咨询有限公司" in page


def test_a_complaint_about_a_city_listed_unit_lands_in_its_city_inbox(green, client):
    list_unit(green.engine, demo.UNITS[0], level="city")
    response = complain(client)
    assert response.status_code == 200, text(response)
    [record] = complaints(green)
    assert record.receipt in text(response) and re.fullmatch(r"JB2026-\d{6}", record.receipt)
    assert code_on(text(response)) == record.access_code and "请同时保存受理编号和查询码" in text(response)
    assert f"/public/complaints/status?receipt={record.receipt}&amp;code={record.access_code}" in text(response)
    task = green.task(record.instance_id, "complaint_intake")
    assert (task.role, task.scope, task.status) == ("city_official", "520300", "open")
    city = green.engine.actor("city-520300")
    assert [t["bpmn_id"] for t in green.engine.tasks_for(city)] == ["complaint_intake"]


def test_a_complaint_about_an_evaluator_lands_in_the_province_inbox(green, client):
    response = complain(client, subject_kind="evaluator", unit="", evaluator_id="EV001")
    assert response.status_code == 200, text(response)
    [record] = complaints(green)
    task = green.task(record.instance_id, "complaint_intake")
    assert (task.role, task.scope) == ("province_official", "520000")


def test_a_complaints_evidence_is_attached_to_its_instance(green, client, tmp_path):
    content = b"\x89PNG\r\n\x1a\n picture"
    response = complain(client, subject_kind="evaluator", unit="", evaluator_id="EV001",
                        evidence_file=(io.BytesIO(content), "报告截图.png"))
    assert response.status_code == 200, text(response)
    [record] = complaints(green)
    digest = hashlib.sha256(content).hexdigest()
    assert (record.evidence_file, record.evidence_filename) == (f"sha256:{digest}", "报告截图.png")
    assert stored_files(tmp_path) == [content]
    with green.engine.db.session() as s:
        [attached] = s.scalars(select(Attachment).where(Attachment.instance_id == record.instance_id))
    assert (attached.sha256, attached.field) == (digest, "evidence_file")


def test_a_complaint_about_an_unlisted_unit_is_refused_citing_article_32(green, client):
    response = complain(client, unit=demo.UNITS[3].credit_code)
    page = text(response)
    assert response.status_code == 422 and "第三十二条" in page and "不在绿色制造名单内" in page
    assert REPORTER["matter"] in page
    assert complaints(green) == [] and complaint_instances(green) == 0


@pytest.mark.parametrize("missing", ["reporter_name", "id_number", "contact"])
def test_an_anonymous_complaint_is_refused_at_the_form(green, client, tmp_path, missing):
    list_unit(green.engine, demo.UNITS[0])
    response = complain(client, **{missing: ""}, evidence_file=(io.BytesIO(b"%PDF-1.4"), "证据.pdf"))
    page = text(response)
    assert response.status_code == 422 and "第三十二条" in page and "实名" in page
    assert REPORTER["matter"] in page
    assert complaints(green) == [] and complaint_instances(green) == 0 and stored_files(tmp_path) == []


def test_the_status_page_shows_the_status_and_nothing_internal(green, client):
    list_unit(green.engine, demo.UNITS[0])
    complain(client)
    [record] = complaints(green)
    page = text(complaint_lookup(client, record.receipt, record.access_code))
    assert "已收到" in page and record.receipt in page
    for private in (demo.UNITS[0].name, demo.UNITS[0].credit_code, REPORTER["reporter_name"], REPORTER["contact"],
                    REPORTER["matter"], "520300"):
        assert private not in page
    green.step(record.instance_id, "complaint_intake", {"intake_decision": "accept", "intake_reason": "受理"})
    assert "处理中" in text(complaint_lookup(client, record.receipt, record.access_code))
    unknown = complaint_lookup(client, "JB2026-999999", record.access_code)
    assert unknown.status_code == 404 and "未找到受理编号 JB2026-999999，或查询码不符" in text(unknown)
    assert client.get("/public/complaints/status").status_code == 200


def test_a_closed_complaint_shows_closed(green, client):
    complain(client, subject_kind="evaluator", unit="", evaluator_id="EV001")
    [record] = complaints(green)
    green.step(record.instance_id, "complaint_intake", {"intake_decision": "not_accepted", "intake_reason": "重复举报"})
    page = text(complaint_lookup(client, record.receipt, record.access_code))
    assert "已办结" in page and "重复举报" not in page
    assert "答复内容" in page and "不予受理" in page and "第三十二条" in page  # not accepted: replied too


def test_a_settled_complaint_shows_the_reply_and_nothing_internal(green, client):
    list_unit(green.engine, demo.UNITS[0])
    complain(client)
    [record] = complaints(green)
    green.step(record.instance_id, "complaint_intake", {"intake_decision": "accept", "intake_reason": "受理"})
    page = text(complaint_lookup(client, record.receipt, record.access_code))
    assert "处理中" in page and "答复内容" not in page  # verification under way: no reply yet
    findings = "经调取电费单据核对，能耗数据与申报一致"
    green.step(record.instance_id, "verify_complaint", {"verification_outcome": "unfounded",
                                                        "verification_findings": findings})
    page = text(complaint_lookup(client, record.receipt, record.access_code))
    reply = re.search(r'<dd data-testid="reply">([^<]+)</dd>', page).group(1)
    assert "已办结" in page and "不属实" in reply and "第三十二条" in reply
    assert "2026-03-02" in page  # replied on
    for private in (findings, demo.UNITS[0].name, demo.UNITS[0].credit_code, REPORTER["reporter_name"],
                    REPORTER["contact"], REPORTER["matter"], "520300", "city-520300"):
        assert private not in page
    assert "Reply" in text(complaint_lookup(client, record.receipt, record.access_code, lang="en"))


# --------------------------------------------------------------------------- access codes (查询码)

# How a person may type a code: lower case, without the dash, with spaces, in full-width forms.
def typed_forms(code: str) -> list[str]:
    bare = code.replace("-", "")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    return [code.lower(), bare, f" {bare[:4]} {bare[4:]} ", f"{code[:2]}-{code[2:]}".lower(), full_width]


def not_found_page(page: str, receipt: str) -> str:
    """A 404 page with the receipt as typed taken out: what is left must not depend on the receipt."""
    return page.replace(receipt, "<receipt>")


def test_an_objection_answer_is_shown_only_with_its_access_code(green, client):
    iid = green.to_notice()
    notice = notice_of(green, iid)
    post_form(client, f"/public/notices/{notice.id}/objection", OBJECTOR)
    other = {**OBJECTOR, "name": "赵某", "contact": "zhao@example.cn"}
    post_form(client, f"/public/notices/{notice.id}/objection", other)
    first, second = sorted(objections(green), key=lambda o: o.id)
    receipt, code = f"YY2026-{first.id:06d}", objection_access_code(first)
    assert code != objection_access_code(second)
    reply = "经核实异议不成立，该事件已于2024年整改完毕"
    green.step(iid, "review_objection", {"upheld": False, "finding": "内部", "reply": reply})
    right = objection_lookup(client, receipt, code)
    assert right.status_code == 200 and reply in text(right) and 'data-outcome="rejected"' in text(right)
    for typed in typed_forms(code):
        response = objection_lookup(client, receipt, typed)
        assert response.status_code == 200 and reply in text(response), typed
    unknown = text(objection_lookup(client, "YY2026-999999", wrong(code)))
    for bad in (wrong(code), objection_access_code(second), "", None, code[:-1], code + "0", "不是查询码"):
        response = objection_lookup(client, receipt, bad)
        page = text(response)
        assert response.status_code == 404, bad
        assert "未找到异议受理编号" in page and "或查询码不符" in page
        for answer in (reply, "rejected", "异议不成立", "已答复", "核实中", 'data-testid="status"', notice.unit_name):
            assert answer not in page, (bad, answer)
    # a wrong code and an unknown receipt look the same: nothing tells whether the receipt exists
    assert not_found_page(text(objection_lookup(client, receipt, wrong(code))), receipt) == \
        not_found_page(unknown, "YY2026-999999")


def test_a_complaint_answer_is_shown_only_with_its_access_code(green, client):
    complain(client, subject_kind="evaluator", unit="", evaluator_id="EV001")
    complain(client, subject_kind="evaluator", unit="", evaluator_id="EV001", contact="li@example.cn")
    record, other = complaints(green)
    assert record.access_code != other.access_code
    green.step(record.instance_id, "complaint_intake", {"intake_decision": "not_accepted", "intake_reason": "重复举报"})
    right = complaint_lookup(client, record.receipt, record.access_code)
    reply = re.search(r'<dd data-testid="reply">([^<]+)</dd>', text(right)).group(1)
    assert right.status_code == 200 and "不予受理" in reply and "已办结" in text(right)
    for typed in typed_forms(record.access_code):
        response = complaint_lookup(client, record.receipt, typed)
        assert response.status_code == 200 and reply in text(response), typed
    unknown = text(complaint_lookup(client, "JB2026-999999", wrong(record.access_code)))
    for bad in (wrong(record.access_code), other.access_code, "", None, record.access_code[:-1], "不是查询码"):
        response = complaint_lookup(client, record.receipt, bad)
        page = text(response)
        assert response.status_code == 404, bad
        assert f"未找到受理编号 {record.receipt}，或查询码不符" in page
        for answer in (reply, "已办结", "已收到", "答复日期", 'data-testid="status"', 'data-status='):
            assert answer not in page, (bad, answer)
    assert not_found_page(text(complaint_lookup(client, record.receipt, wrong(record.access_code))),
                          record.receipt) == not_found_page(unknown, "JB2026-999999")


def test_the_access_code_is_of_the_received_time_to_the_microsecond_as_stored(green, client):
    """The code on the receipt page is computed from the row read back from the database; it
    must be the code of the time as it was written (UTC, microseconds) on both databases."""
    list_unit(green.engine, demo.UNITS[0])
    notice = notice_of(green, green.to_notice(demo.UNITS[1]))
    clock = green.engine.clock
    clock.advance(microseconds=123457)
    filed_at = clock.now()
    objection_page = text(post_form(client, f"/public/notices/{notice.id}/objection", OBJECTOR))
    complaint_page = text(complain(client))
    [objection], [record] = objections(green), complaints(green)
    assert objection.received_at == record.received_at == filed_at  # to the microsecond, aware, UTC
    assert objection.received_at.isoformat(timespec="microseconds").endswith(".123457+00:00")
    assert code_on(objection_page) == access_code("objection", objection.id, filed_at, OBJECTOR["contact"])
    assert code_on(complaint_page) == access_code("complaint", record.id, filed_at, REPORTER["contact"])
    assert objection_lookup(client, f"YY2026-{objection.id:06d}", code_on(objection_page)).status_code == 200
    assert complaint_lookup(client, record.receipt, code_on(complaint_page)).status_code == 200
    # a microsecond off is another code
    other = filed_at + dt.timedelta(microseconds=1)
    assert access_code("complaint", record.id, other, REPORTER["contact"]) != record.access_code


# --------------------------------------------------------------------------- lists

def seed_lists(green) -> None:
    """Ten units: 8 in 遵义 (city list, 2025, factories), one provincial in 贵阳, one national park in 安顺."""
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        for n in range(8):
            code = make_uscc(f"91520302MA{n:07d}"[:17])
            s.add(Unit(credit_code=code, name=f"遵义测试{n}号工厂", unit_type="factory", county_code="520302",
                       industry_code="39", created_at=now))
            s.add(Listing(credit_code=code, unit_type="factory", level="city", scope="520300", year=2025,
                          status="listed", listed_at=now))
        for code, name, county, level, scope, utype in (
                (make_uscc("91520103MA0000099"[:17]), "贵阳省级供应链企业", "520103", "province", "520000", "supply_chain"),
                (make_uscc("11520402MA0000098"[:17]), "安顺国家级园区", "520402", "national", "national", "park")):
            s.add(Unit(credit_code=code, name=name, unit_type=utype, county_code=county, created_at=now))
            s.add(Listing(credit_code=code, unit_type=utype, level=level, scope=scope, year=2026, status="listed",
                          listed_at=now))
        removed = make_uscc("91520302MA0000097"[:17])
        s.add(Unit(credit_code=removed, name="已移出企业", unit_type="factory", county_code="520302", created_at=now))
        s.add(Listing(credit_code=removed, unit_type="factory", level="city", scope="520300", year=2025,
                      status="removed", listed_at=now))


def listed_names(client, query: str = "") -> list[str]:
    page = text(client.get(f"/public/lists{query}"))
    return re.findall(r'<tr data-testid="listing">\s*<td>([^<]+)</td>', page)


def test_the_lists_filter_by_level_year_type_and_city(green, client):
    seed_lists(green)
    assert len(listed_names(client)) == 10 and "已移出企业" not in listed_names(client)
    assert listed_names(client, "?level=province") == ["贵阳省级供应链企业"]
    assert listed_names(client, "?level=national") == ["安顺国家级园区"]
    assert set(listed_names(client, "?year=2026")) == {"贵阳省级供应链企业", "安顺国家级园区"}
    assert listed_names(client, "?unit_type=park") == ["安顺国家级园区"]
    assert listed_names(client, "?city=520100") == ["贵阳省级供应链企业"]
    assert len(listed_names(client, "?city=520300")) == 8
    assert listed_names(client, "?level=bogus&year=x&page=-1") == listed_names(client)  # ignored, not an error


def test_a_provincial_unit_counts_as_on_its_city_list(green, client):
    seed_lists(green)
    page = text(client.get("/public/lists?level=city&city=520100"))
    assert "贵阳省级供应链企业" in page and "省级" in page and "视为市级" in page  # 第七条
    assert "第七条" in page


def test_the_lists_search_by_name_or_credit_code(green, client):
    seed_lists(green)
    assert listed_names(client, "?q=国家级") == ["安顺国家级园区"]
    code = make_uscc("91520103MA0000099"[:17])
    assert listed_names(client, f"?q={code.lower()}") == ["贵阳省级供应链企业"]
    assert listed_names(client, "?q=%25") == []  # a LIKE wildcard is searched for, not matched


def test_the_lists_are_paged(green, client):
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        for n in range(25):
            code = make_uscc(f"91520302MA{n:07d}"[:17])
            s.add(Unit(credit_code=code, name=f"分页企业{n:02d}", unit_type="factory", county_code="520302",
                       created_at=now))
            s.add(Listing(credit_code=code, unit_type="factory", level="city", scope="520300", year=2025,
                          status="listed", listed_at=now))
    first = text(client.get("/public/lists"))
    assert "共 25 条" in first and "第 1 / 2 页" in first and 'rel="next"' in first
    assert len(listed_names(client)) == 20
    second = listed_names(client, "?page=2")
    assert second == [f"分页企业{n:02d}" for n in range(20, 25)]
    assert listed_names(client, "?page=99") == second  # past the end: the last page
