"""Changes (第二十八、二十九条) and incidents (第二十六、二十七条) of listed units, through the engine on both databases.

Every step drops the in-process workflow cache first (the driver's ``step``), so each
command reloads the instance from its stored state.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, InvalidInput, NotPermitted, RuleViolation
from engine.models import Outbox, ProcessInstance
from handlers import demo
from handlers.changes import UnitChange
from handlers.divisions import city_of
from handlers.records import Listing, NegativeRecord, Unit
from handlers.removals import MiitReport, PendingRemoval, pending_removals, settle_removal
from handlers.unit_incidents import UnitIncident

U1 = demo.UNITS[0]  # 遵义 红花岗区 520302 → city 520300
U2 = demo.UNITS[1]  # 贵阳 云岩区 520103 → city 520100
NOW = dt.date(2026, 3, 2)  # the frozen clock's China date


def list_unit(engine, unit: demo.DemoUnit, *levels: str) -> None:
    """Put ``unit`` on the lists of ``levels`` directly, as an imported published list would."""
    now = engine.clock.now()
    with engine.db.unit_of_work() as s:
        if s.scalar(select(Unit).where(Unit.credit_code == unit.credit_code)) is None:
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=now))
        for level in levels:
            scope = {"city": city_of(unit.county), "province": "520000", "national": "national"}[level]
            s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level=level, scope=scope, year=2025,
                          status="listed", listed_at=now))


def rows(engine, model, **where):
    with engine.db.session() as s:
        query = select(model).order_by(model.id)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.scalars(query).all()


def count(engine, model) -> int:
    with engine.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def events(view: dict, event_type: str) -> list[dict]:
    return [e["payload"] for e in view["events"] if e["type"] == event_type]


def reports(engine, iid: int) -> list[dict]:
    return [o.payload for o in rows(engine, Outbox, instance_id=iid) if o.payload.get("kind") == "report"]


# --------------------------------------------------------------------------- changes

def report_change(green, unit=U1, *, as_user=None, **fields) -> int:
    data = {"credit_code": unit.credit_code, "change_kind": "name", "old_value": unit.name,
            "new_value": "遵义黔北绿色智能科技有限公司", "effective_date": "2026-02-20",
            "explanation": "股东增资后更名", "evidence": "营业执照（变更后）", **fields}
    actor = green.engine.actor(as_user or f"ent-{unit.key.lower()}")
    return green.engine.start("unit_change", {k: v for k, v in data.items() if v is not None},
                              actor=actor).instance_id


def test_name_change_of_a_city_unit_still_qualifies_updates_the_unit_and_keeps_history(green):
    list_unit(green.engine, U1, "city")
    iid = report_change(green)
    review = green.task(iid, "change_review")
    assert (review.role, review.scope) == ("city_official", "520300")  # its city re-checks (第二十九条)
    assert review.due_at is not None
    green.step(iid, "change_review", {"change_decision": "still_qualifies", "change_opinion": "更名不影响评价结果"})
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["change_outcome"]["decision"] == "still_qualifies"
    assert rows(green.engine, Unit)[0].name == "遵义黔北绿色智能科技有限公司"
    [change] = rows(green.engine, UnitChange)
    assert (change.old_value, change.new_value, change.status) == (U1.name, "遵义黔北绿色智能科技有限公司", "confirmed")
    assert change.decided_by == "city-520300" and change.decided_at == green.engine.clock.now()
    assert change.instance_id == iid and change.effective_date == dt.date(2026, 2, 20)
    assert events(view, "unit_change_reported")[0]["article"] == "第二十八条"
    confirmed = events(view, "unit_change_confirmed")[0]
    assert confirmed["article"] == "第二十九条" and confirmed["old_value"] == U1.name
    assert count(green.engine, PendingRemoval) == 0
    [told] = reports(green.engine, iid)
    assert (told["role"], told["scope"]) == ("applicant", f"unit:{U1.credit_code}") and "第二十九条" in told["message_zh"]
    assert green.engine.verify_history(iid).ok


def test_address_moving_a_provincial_unit_to_another_city_moves_its_city_listing(green):
    list_unit(green.engine, U1, "city", "province")
    iid = report_change(green, change_kind="address", old_value="遵义市红花岗区工业园1号",
                        new_value="贵阳市云岩区高新路8号", new_county_code="520103", explanation="整体搬迁")
    review = green.task(iid, "change_review")
    assert (review.role, review.scope) == ("province_official", "520000")  # highest listing: the province
    assert green.view(iid)["data"]["change"]["hints"][0]["article"] == "第三条"
    green.step(iid, "change_review", {"change_decision": "still_qualifies"})
    assert rows(green.engine, Unit)[0].county_code == "520103"
    assert green.listings(U1.credit_code) == [("city", "520100", "listed"), ("province", "520000", "listed")]
    [change] = rows(green.engine, UnitChange)
    assert (change.old_county_code, change.new_county_code, change.decided_by) == ("520302", "520103", "province")
    moved = events(green.view(iid), "unit_change_confirmed")[0]["listings_moved"]
    assert [(m["old_scope"], m["new_scope"]) for m in moved] == [("520300", "520100")]


def test_city_unit_no_longer_qualifying_is_pending_removal_and_the_province_is_told(green):
    list_unit(green.engine, U1, "city")
    iid = report_change(green, change_kind="business_scope", old_value="电子元器件制造", new_value="卷烟配套",
                        new_industry_code="16", explanation="并购后主营变更")
    assert green.view(iid)["data"]["change"]["hints"][0]["article"] == "第五条"
    with pytest.raises(InvalidInput) as bad:  # a removal needs its reason
        green.step(iid, "change_review", {"change_decision": "no_longer_qualifies"})
    assert "change_reason" in bad.value.fields
    green.step(iid, "change_review", {"change_decision": "no_longer_qualifies", "change_reason": "主营已转为烟草制品业（第五条）"})
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["change_outcome"]["miit_report_needed"] is False
    [pending] = rows(green.engine, PendingRemoval)
    assert (pending.level, pending.scope, pending.article, pending.ground_item) == ("city", "520300", "第二十九条", None)
    assert (pending.source_process, pending.source_instance_id, pending.published_at) == ("unit_change", iid, None)
    assert green.listings(U1.credit_code) == [("city", "520300", "listed")]  # removed only at the next publication
    assert rows(green.engine, Unit)[0].industry_code == "39"  # nothing applied
    assert rows(green.engine, UnitChange)[0].status == "not_qualified"
    told = {(r["role"], r["scope"]) for r in reports(green.engine, iid)}
    assert told == {("province_official", "520000"), ("applicant", f"unit:{U1.credit_code}")}
    assert events(view, "removal_pending")[0]["ground"] == "第二十九条"
    assert events(view, "unit_change_not_qualified")[0]["article"] == "第二十九条"


def test_national_unit_no_longer_qualifying_is_reported_to_miit_by_the_province(green):
    list_unit(green.engine, U1, "city", "province", "national")
    iid = report_change(green, change_kind="boundary", old_value="一期厂区", new_value="并入集团二期厂区",
                        explanation="被并购，组织边界扩大")
    green.step(iid, "change_review", {"change_decision": "no_longer_qualifies", "change_reason": "边界扩大后能效未达标"})
    assert sorted((p.level, p.scope) for p in rows(green.engine, PendingRemoval)) == [
        ("city", "520300"), ("province", "520000")]  # the national list is MIIT's
    task = green.task(iid, "report_change_to_miit")
    assert (task.role, task.scope) == ("province_official", "520000")
    assert reports(green.engine, iid) and all(r["role"] == "applicant" for r in reports(green.engine, iid))
    green.step(iid, "report_change_to_miit", {"miit_report_ref": "黔工信节〔2026〕12号", "miit_reported_on": "2026-03-02"})
    [report] = rows(green.engine, MiitReport)
    assert (report.matter, report.article, report.reference, report.source_instance_id) == (
        "change", "第二十九条", "黔工信节〔2026〕12号", iid)
    assert "国家层面" in report.summary and report.recorded_by == "province"
    view = green.view(iid)
    assert view["status"] == "completed" and events(view, "miit_report_recorded")[0]["article"] == "第二十九条"


def test_an_unlisted_unit_cannot_report_a_change_citing_article_28(green):
    with pytest.raises(RuleViolation) as refused:
        report_change(green, U2)
    assert refused.value.article == "第二十八条" and refused.value.fields.keys() == {"credit_code"}
    assert count(green.engine, ProcessInstance) == 0 and count(green.engine, UnitChange) == 0


def test_a_removed_listing_no_longer_allows_a_change_report(green):
    list_unit(green.engine, U1, "city")
    with green.engine.db.unit_of_work() as s:
        s.scalar(select(Listing)).status = "removed"
    with pytest.raises(RuleViolation):
        report_change(green)


def test_only_the_unit_itself_reports_its_change(green):
    list_unit(green.engine, U1, "city")
    with pytest.raises(NotPermitted):
        report_change(green, U1, as_user="ent-u2")
    assert count(green.engine, UnitChange) == 0


@pytest.mark.parametrize("fields, field", [
    ({"old_value": "别的名称"}, "old_value"),                          # a name change starts from the registered name
    ({"new_value": U1.name}, "new_value"),                              # nothing changed
    ({"effective_date": "2026-04-01"}, "effective_date"),               # 第二十八条: a change that has happened
    ({"effective_date": "20260401"}, "effective_date"),
    ({"new_county_code": "520103"}, "new_county_code"),                 # only an address moves county
    ({"change_kind": "address", "new_county_code": "999999"}, "new_county_code"),
    ({"credit_code": U1.credit_code[:17] + ("1" if U1.credit_code[-1] != "1" else "2")}, "credit_code"),  # check char
    ({"explanation": " "}, "explanation"),
])
def test_bad_change_reports_are_refused_naming_the_field(green, fields, field):
    list_unit(green.engine, U1, "city")
    with pytest.raises(InvalidInput) as bad:
        report_change(green, **fields)
    assert field in bad.value.fields
    assert count(green.engine, UnitChange) == 0 and count(green.engine, ProcessInstance) == 0


def test_the_same_change_is_not_rechecked_twice_at_once(green):
    list_unit(green.engine, U1, "city")
    report_change(green)
    with pytest.raises(Conflict):
        report_change(green)
    assert count(green.engine, UnitChange) == 1


# --------------------------------------------------------------------------- incidents

INCIDENT = {"incident_kind": "production_safety", "incident_level": "level_2", "occurred_on": "2026-02-25",
            "description": "车间爆炸造成3人死亡", "evidence": "应急管理部门事故通报"}


def report_incident(green, unit=U1, *, as_user="county-520302", **fields) -> int:
    data = {"credit_code": unit.credit_code, **INCIDENT, **fields}
    return green.engine.start("unit_incident", {k: v for k, v in data.items() if v is not None},
                              actor=green.engine.actor(as_user)).instance_id


def test_confirmed_incident_of_a_provincial_unit_records_item_3_and_pending_removals(green):
    list_unit(green.engine, U1, "city", "province")
    iid = report_incident(green)
    review = green.task(iid, "incident_review")
    assert (review.role, review.scope) == ("province_official", "520000")
    green.step(iid, "incident_review", {"incident_decision": "confirmed"})
    view = green.view(iid)
    assert view["status"] == "completed" and view["completed_path"][-1] == "incident_confirmed"
    [record] = rows(green.engine, NegativeRecord)
    assert (record.credit_code, record.item, record.occurred_on) == (U1.credit_code, 3, dt.date(2026, 2, 25))
    assert "第二十七条第3项" in record.note and "第二十六条" in record.note
    assert sorted((p.level, p.scope, p.article, p.ground_item) for p in rows(green.engine, PendingRemoval)) == [
        ("city", "520300", "第二十七条", 3), ("province", "520000", "第二十七条", 3)]
    [incident] = rows(green.engine, UnitIncident)
    assert (incident.status, incident.reported_by, incident.decided_by) == ("confirmed", "county-520302", "province")
    assert incident.negative_record_id == record.id
    assert count(green.engine, MiitReport) == 0
    [told] = reports(green.engine, iid)
    assert (told["role"], told["scope"]) == ("county_official", "520302") and "第二十六条" in told["message_zh"]
    assert events(view, "unit_incident_reported")[0]["article"] == "第二十六条"
    assert events(view, "negative_record_added")[0] == {
        "negative_record_id": record.id, "credit_code": U1.credit_code, "item": 3, "occurred_on": "2026-02-25",
        "article": "第二十七条"}
    assert {e["ground"] for e in events(view, "removal_pending")} == {"第二十七条第3项"}


def test_confirmed_incident_of_a_national_unit_is_reported_to_miit(green):
    list_unit(green.engine, U1, "province", "national")
    iid = report_incident(green, as_user="city-520300", incident_kind="environment", incident_level="level_1")
    assert rows(green.engine, UnitIncident)[0].reporter_scope == "520300"
    green.step(iid, "incident_review", {"incident_decision": "confirmed"})
    assert [(p.level, p.scope) for p in rows(green.engine, PendingRemoval)] == [("province", "520000")]
    task = green.task(iid, "report_incident_to_miit")
    assert (task.role, task.scope) == ("province_official", "520000") and task.due_at is not None
    with pytest.raises(InvalidInput) as bad:
        green.step(iid, "report_incident_to_miit", {"miit_report_ref": "黔工信节〔2026〕13号",
                                                    "miit_reported_on": "2026-03-09"})
    assert "miit_reported_on" in bad.value.fields  # not in the future
    green.step(iid, "report_incident_to_miit", {"miit_report_ref": "黔工信节〔2026〕13号",
                                                "miit_reported_on": "2026-03-02", "miit_report_note": "已电话报告"})
    [report] = rows(green.engine, MiitReport)
    assert (report.matter, report.article, report.credit_code) == ("incident", "第二十六条", U1.credit_code)
    assert report.reported_on == NOW and report.note == "已电话报告"
    view = green.view(iid)
    assert view["status"] == "completed" and view["completed_path"][-1] == "incident_reported_to_miit"
    assert events(view, "miit_report_recorded")[0]["reference"] == "黔工信节〔2026〕13号"


def test_incident_not_confirmed_changes_no_record(green):
    list_unit(green.engine, U1, "province")
    iid = report_incident(green, incident_kind="quality")
    with pytest.raises(InvalidInput) as bad:
        green.step(iid, "incident_review", {"incident_decision": "not_confirmed"})
    assert "incident_reason" in bad.value.fields
    green.step(iid, "incident_review", {"incident_decision": "not_confirmed", "incident_reason": "经查为一般质量投诉"})
    assert count(green.engine, NegativeRecord) == 0 and count(green.engine, PendingRemoval) == 0
    [incident] = rows(green.engine, UnitIncident)
    assert (incident.status, incident.decision_reason) == ("not_confirmed", "经查为一般质量投诉")
    view = green.view(iid)
    assert view["completed_path"][-1] == "incident_not_confirmed"
    assert events(view, "unit_incident_decided")[0]["decision"] == "not_confirmed"
    assert "未予确认" in reports(green.engine, iid)[0]["message_zh"]


@pytest.mark.parametrize("levels, fields, field", [
    (("city",), {}, "credit_code"),                                   # a city-only unit: not 第二十六条's
    ((), {}, "credit_code"),                                          # on no list at all
    (("province",), {"incident_kind": "environment", "incident_level": "level_3"}, "incident_level"),  # below Ⅱ级
    (("province",), {"incident_level": "level_4"}, "incident_level"),  # below 重大
])
def test_reports_outside_article_26_are_refused_and_nothing_is_stored(green, levels, fields, field):
    list_unit(green.engine, U1, *levels)
    with pytest.raises(RuleViolation) as refused:
        report_incident(green, **fields)
    assert refused.value.article == "第二十六条" and refused.value.fields.keys() == {field}
    assert count(green.engine, UnitIncident) == 0 and count(green.engine, ProcessInstance) == 0


@pytest.mark.parametrize("user", ["county-520303", "city-520100", "ent-u1"])
def test_only_the_units_county_or_city_department_reports(green, user):
    list_unit(green.engine, U1, "province")
    with pytest.raises(NotPermitted):
        report_incident(green, as_user=user)
    assert count(green.engine, UnitIncident) == 0


@pytest.mark.parametrize("fields, field", [
    ({"occurred_on": "2026-03-03"}, "occurred_on"),
    ({"incident_kind": "cyber"}, "incident_kind"),
    ({"description": "  "}, "description"),
])
def test_bad_incident_reports_name_the_field(green, fields, field):
    list_unit(green.engine, U1, "province")
    with pytest.raises(InvalidInput) as bad:
        report_incident(green, **fields)
    assert field in bad.value.fields


# --------------------------------------------------------------------------- hand-off and consequences

def test_the_publication_takes_over_pending_removals(green):
    list_unit(green.engine, U1, "city", "province")
    iid = report_incident(green)
    green.step(iid, "incident_review", {"incident_decision": "confirmed"})
    with green.engine.db.unit_of_work() as s:
        assert [p.credit_code for p in pending_removals(s, level="city", scope="520300")] == [U1.credit_code]
        [row] = pending_removals(s, level="province", scope="520000")
        settle_removal(s, row, now=green.engine.clock.now(), publication_instance_id=999)
    with green.engine.db.session() as s:
        assert pending_removals(s, level="province", scope="520000") == []
        province = s.scalar(select(Listing).where(Listing.level == "province"))
        assert (province.status, province.removal_ground) == ("removed", "第二十七条第3项")
    assert green.listings(U1.credit_code) == [("city", "520300", "listed"), ("province", "520000", "removed")]


def test_a_confirmed_incident_bars_a_new_application_for_three_years(green):
    list_unit(green.engine, U1, "province")
    iid = report_incident(green)
    green.step(iid, "incident_review", {"incident_decision": "confirmed"})
    app = green.apply(U1, target_level="national")
    view = green.view(app)
    assert view["data"]["outcome"] == "refused"
    assert any(v["article"] == "第二十七条" for v in view["data"]["eligibility"]["violations"])
