"""Real-name complaints (实名举报, 第三十二条) driven through the engine on both databases.

The start hook routes the intake to the competent authority by the unit's listings (city
department for a city-listed unit, the province for provincial and national units and for
evaluators) and refuses anonymous complaints and unlisted units without writing anything.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidInput, RuleViolation
from engine.identity import public_actor
from engine.models import ProcessInstance
from handlers import demo
from handlers.complaints import Complaint, complaint_status, normalise_complaint, parse_receipt
from handlers.divisions import city_of
from handlers.records import Listing, Unit

REPORTER = {"reporter_name": "李某", "id_number": "520102198805051234", "contact": "13900000000",
            "matter": "该企业申报材料中的能耗数据与实际不符", "evidence": "电费单据复印件"}
PUBLIC = public_actor("complaint")


def list_unit(engine, unit: demo.DemoUnit = demo.UNITS[0], *, level: str = "city", year: int = 2025) -> None:
    """Put ``unit`` on a list directly, as an imported published list would."""
    scope = {"city": city_of(unit.county), "province": "520000", "national": "national"}[level]
    now = engine.clock.now()
    with engine.db.unit_of_work() as s:
        if s.scalar(select(Unit).where(Unit.credit_code == unit.credit_code)) is None:
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=now))
        s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level=level, scope=scope, year=year,
                      status="listed", listed_at=now))


def file_complaint(green, **fields) -> int:
    data = {"subject_kind": "unit", "unit": demo.UNITS[0].credit_code, **REPORTER, **fields}
    return green.engine.start("complaint", {k: v for k, v in data.items() if v is not None},
                              actor=PUBLIC).instance_id


def record_of(green, iid: int) -> Complaint:
    with green.engine.db.session() as s:
        return s.scalar(select(Complaint).where(Complaint.instance_id == iid))


def counts(green) -> tuple[int, int]:
    with green.engine.db.session() as s:
        return (s.scalar(select(func.count()).select_from(Complaint)),
                s.scalar(select(func.count()).select_from(ProcessInstance).where(
                    ProcessInstance.process_id == "complaint")))


def test_a_city_listed_unit_goes_to_its_city_department(green):
    list_unit(green.engine, demo.UNITS[0], level="city")
    iid = file_complaint(green)
    task = green.task(iid, "complaint_intake")
    assert (task.role, task.scope) == ("city_official", "520300")  # 红花岗区 → 遵义市
    record = record_of(green, iid)
    assert record.status == "received" and record.authority_scope == "520300" and record.listing_level == "city"
    assert parse_receipt(record.receipt) == (2026, record.id) and record.receipt == f"JB2026-{record.id:06d}"
    view = green.view(iid)
    assert view["data"]["complaint_record"]["receipt"] == record.receipt
    assert "complaint_recorded" in [e["type"] for e in view["events"]]


def test_a_unit_listed_by_the_real_application_path_is_found_by_its_full_name(green):
    unit = demo.UNITS[1]  # 贵阳 云岩区
    green.to_notice(unit)
    green.end_notice()
    assert green.listings(unit.credit_code) == [("city", "520100", "listed")]
    iid = file_complaint(green, unit=unit.name)
    task = green.task(iid, "complaint_intake")
    assert (task.role, task.scope) == ("city_official", "520100")
    assert record_of(green, iid).credit_code == unit.credit_code


@pytest.mark.parametrize("levels", [("province",), ("city", "province"), ("city", "province", "national")])
def test_provincial_and_national_units_go_to_the_province(green, levels):
    for level in levels:
        list_unit(green.engine, demo.UNITS[2], level=level)
    iid = file_complaint(green, unit=demo.UNITS[2].credit_code)
    task = green.task(iid, "complaint_intake")
    assert (task.role, task.scope) == ("province_official", "520000")
    assert record_of(green, iid).listing_level == levels[-1]


def test_an_evaluator_goes_to_the_province(green):
    iid = file_complaint(green, subject_kind="evaluator", unit=None, evaluator_id="EV001")
    task = green.task(iid, "complaint_intake")
    assert (task.role, task.scope) == ("province_official", "520000")
    record = record_of(green, iid)
    assert record.subject_kind == "evaluator" and record.evaluator_id == "EV001" and record.credit_code is None


def test_an_unlisted_unit_is_refused_citing_article_32_and_nothing_is_stored(green):
    with pytest.raises(RuleViolation) as refused:
        file_complaint(green, unit=demo.UNITS[3].credit_code)
    assert refused.value.article == "第三十二条" and "不在绿色制造名单内" in refused.value.message
    assert refused.value.fields.keys() == {"unit"}
    assert counts(green) == (0, 0)


def test_a_removed_unit_is_no_longer_on_a_list(green):
    list_unit(green.engine, demo.UNITS[0])
    with green.engine.db.unit_of_work() as s:
        s.scalar(select(Listing)).status = "removed"
    with pytest.raises(RuleViolation):
        file_complaint(green)


@pytest.mark.parametrize("missing", ["reporter_name", "id_number", "contact"])
def test_an_anonymous_complaint_is_refused_citing_article_32(green, missing):
    list_unit(green.engine, demo.UNITS[0])
    with pytest.raises(InvalidInput):  # the start form requires them
        file_complaint(green, **{missing: None})
    with green.engine.db.session() as s, pytest.raises(RuleViolation) as refused:  # the check the portal runs first
        normalise_complaint(s, {"subject_kind": "unit", "unit": demo.UNITS[0].credit_code, **REPORTER, missing: " "})
    assert refused.value.article == "第三十二条" and "实名" in refused.value.message
    assert missing in refused.value.fields
    assert counts(green) == (0, 0)


def test_a_made_up_name_is_refused_by_the_start_hook(green):
    list_unit(green.engine, demo.UNITS[0])
    with pytest.raises(RuleViolation) as refused:
        file_complaint(green, reporter_name="匿名")
    assert refused.value.article == "第三十二条" and refused.value.fields.keys() == {"reporter_name"}
    assert counts(green) == (0, 0)


def test_an_unknown_evaluator_is_refused(green):
    with pytest.raises(InvalidInput) as refused:
        file_complaint(green, subject_kind="evaluator", unit=None, evaluator_id="EV999")
    assert "evaluator_id" in refused.value.fields


def test_intake_accepts_and_the_status_becomes_in_process(green):
    list_unit(green.engine, demo.UNITS[0])
    iid = file_complaint(green)
    filed = record_of(green, iid)
    receipt, code = filed.receipt, filed.access_code
    with green.engine.db.session() as s:
        assert complaint_status(s, receipt, code)["status"] == "received"
    green.step(iid, "complaint_intake", {"intake_decision": "accept", "intake_reason": "属于受理范围，转入核实"})
    view = green.view(iid)
    assert view["status"] == "running" and green.open_tasks(iid) == ["verify_complaint"]  # on to 核实
    record = record_of(green, iid)
    assert (record.status, record.decision, record.decided_by) == ("accepted", "accept", "city-520300")
    with green.engine.db.session() as s:
        status = complaint_status(s, receipt, code)
    assert status["status"] == "accepted" and status["decided_on"].isoformat() == "2026-03-02"
    assert set(status) == {"receipt", "status", "received_on", "decided_on", "reply", "replied_on"}  # nothing internal
    assert status["reply"] is None  # the reply comes once the complaint is settled
    assert green.engine.verify_history(iid).ok


def test_intake_not_accepted_needs_a_reason_and_closes_the_complaint(green):
    iid = file_complaint(green, subject_kind="evaluator", unit=None, evaluator_id="EV001")
    with pytest.raises(InvalidInput):
        green.step(iid, "complaint_intake", {"intake_decision": "not_accepted"})
    green.step(iid, "complaint_intake", {"intake_decision": "not_accepted", "intake_reason": "举报事项与评价报告无关"})
    view = green.view(iid)
    assert view["status"] == "completed" and "complaint_not_accepted" in view["completed_path"]
    record = record_of(green, iid)
    assert record.status == "closed" and record.decision_reason == "举报事项与评价报告无关"


def test_a_wrong_receipt_shows_nothing(green):
    list_unit(green.engine, demo.UNITS[0])
    record = record_of(green, file_complaint(green))
    with green.engine.db.session() as s:
        code = record.access_code
        assert complaint_status(s, f"JB2025-{record.id:06d}", code) is None  # right id, wrong year
        assert complaint_status(s, "JB2026-999999", code) is None
        assert complaint_status(s, "not a receipt", code) is None
        assert complaint_status(s, record.receipt.lower(), code.lower())["receipt"] == record.receipt
        # the right receipt without its code shows nothing either
        for wrong in (None, "", code[:-1], code[:-1] + ("0" if code[-1] != "0" else "1")):
            assert complaint_status(s, record.receipt, wrong) is None
