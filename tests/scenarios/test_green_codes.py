"""The annual table through the engine, on both databases: file → county review (accept / return and
correct / flag abnormal, 第二十四条) → campaign close → enterprise green codes (第二十五条), and no code
for a factory whose falsified data a confirmed complaint established (第二十七条第8项).

The clock starts on Monday 2026-03-02 09:00 China time (conftest.START).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.clock import CHINA
from engine.errors import InvalidInput, NotPermitted
from engine.identity import system_actor
from engine.models import HumanTask
from handlers import demo
from handlers.campaign import NOT_FILED_SOURCE
from handlers.filing_review import FilingCorrection, FilingReview
from handlers.green_codes import GreenCode, code_of
from handlers.records import AnnualFiling, Listing, NegativeRecord, Unit
from handlers.removals import PendingRemoval
from tests.scenarios.test_complaint_intake import PUBLIC, REPORTER
from tests.scenarios.test_complaint_verification import ACCEPT, CONFIRMED

U1, U2, U3, U8 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[2], demo.UNITS[7]  # 红花岗区, 云岩区, 钟山区, 贵安新区
TABLE = {
    "output_value": 52000.0, "energy_tce": 1800.0, "energy_intensity": 0.0346, "water_m3": 120000.0,
    "main_emissions": {"so2_t": 1.2, "nox_t": 3.4, "particulate_t": 0.8, "cod_t": 2.1, "ammonia_nitrogen_t": 0.2},
    "co2_t": 9800.0, "solid_waste_use_rate": 96.5, "renewable_share": 12.0, "land_output": 850.0,
    "major_change": False,
}
BETTER = {**TABLE, "energy_intensity": 0.02, "co2_t": 6000.0, "renewable_share": 30.0, "solid_waste_use_rate": 99.0}


def china(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


def list_factories(green, *units) -> None:
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        for unit in units:
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=now))
            s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level="city", scope="520300",
                          year=2025, status="listed", listed_at=now - dt.timedelta(days=200)))


def start_campaign(green) -> int:
    data = {"scheduled_for": "2026-03-01T09:00:00+08:00", "scheduled_year": 2026}
    return green.engine.start("annual_table_campaign", data, actor=system_actor("scheduler")).instance_id


def open_task(green, iid: int, bpmn_id: str, scope: str) -> HumanTask:
    with green.engine.db.session() as s:
        [task] = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open",
                                                   HumanTask.bpmn_id == bpmn_id, HumanTask.scope == scope)).all()
    return task


def act(green, iid: int, bpmn_id: str, scope: str, data: dict, *, as_user: str | None = None):
    task = open_task(green, iid, bpmn_id, scope)
    green.engine.cache.clear()  # the next command restores the instance from the database
    return green.engine.complete(task.id, data, actor=green.engine.actor(as_user or demo.user_for(task.role, scope)))


def unit_scope(unit) -> str:
    return f"unit:{unit.credit_code}"


def reviews(green) -> dict[str, tuple[str, int, str | None]]:
    with green.engine.db.session() as s:
        return {r.credit_code: (r.status, r.round, r.reason) for r in s.scalars(select(FilingReview))}


def codes(green) -> dict[str, tuple[str | None, str | None, int | None]]:
    with green.engine.db.session() as s:
        return {r.credit_code: (r.code, r.reason, r.rank) for r in s.scalars(select(GreenCode))}


def event_types(view: dict) -> list[str]:
    return [e["type"] for e in view["events"]]


def test_filed_tables_are_reviewed_corrected_flagged_and_coded_when_the_campaign_closes(green):
    list_factories(green, U1, U2, U8)
    iid = start_campaign(green)

    green.engine.clock.set(china(2026, 3, 20, 10, 0))
    act(green, iid, "fill_annual_table", unit_scope(U1), TABLE)
    review = open_task(green, iid, "review_annual_table", "520302")
    assert (review.role, review.name, review.form) == ("county_official", "审核动态管理表",
                                                       "annual_table_review.schema.json")
    assert review.due_at == china(2026, 4, 3, 18, 0)  # 10 working days
    with pytest.raises(NotPermitted):  # another county's department
        act(green, iid, "review_annual_table", "520302", {"decision": "accept"}, as_user="county-520303")
    with pytest.raises(InvalidInput) as err:  # a return needs its reason (第二十四条)
        act(green, iid, "review_annual_table", "520302", {"decision": "return"})
    assert "reason" in err.value.fields
    act(green, iid, "review_annual_table", "520302", {"decision": "return", "reason": "单位产值能耗与能耗总量不一致"})
    assert reviews(green)[U1.credit_code] == ("returned", 1, "单位产值能耗与能耗总量不一致")

    green.engine.clock.set(china(2026, 3, 23, 10, 0))
    correction = open_task(green, iid, "correct_annual_table", unit_scope(U1))
    assert (correction.role, correction.name) == ("applicant", "修改动态管理表")
    act(green, iid, "correct_annual_table", unit_scope(U1), {**BETTER, "energy_intensity": 0.0346})
    assert reviews(green)[U1.credit_code] == ("pending", 2, None)
    act(green, iid, "review_annual_table", "520302", {"decision": "accept", "opinion": "已改正"})

    act(green, iid, "fill_annual_table", unit_scope(U2), TABLE)
    act(green, iid, "review_annual_table", "520103", {"decision": "abnormal", "reason": "取水量较上年增长十倍"})
    act(green, iid, "fill_annual_table", unit_scope(U8), TABLE)
    assert open_task(green, iid, "review_annual_table", "GA0000").role == "city_official"  # 贵安新区: no county
    act(green, iid, "review_annual_table", "GA0000", {"decision": "accept"})

    view = green.view(iid)
    assert view["status"] == "completed" and view["timers"] == []
    assert view["data"]["campaign_result"]["missing"] == []
    assert view["data"]["green_codes"]["cohort"] == 2
    assert view["data"]["green_codes"]["not_coded"] == {"abnormal": [U2.credit_code]}
    assert reviews(green) == {U1.credit_code: ("accepted", 2, None),
                              U2.credit_code: ("abnormal", 1, "取水量较上年增长十倍"),
                              U8.credit_code: ("accepted", 1, None)}
    with green.engine.db.session() as s:
        [fix] = s.scalars(select(FilingCorrection)).all()
        assert (fix.round, fix.previous_indicators["co2_t"], fix.corrected_by) == (1, 9800.0, "ent-u1")
        filing = s.scalar(select(AnnualFiling).where(AnnualFiling.credit_code == U1.credit_code))
        assert (filing.indicators["co2_t"], filing.schema_version) == (6000.0, 1)
        assert filing.filed_at == china(2026, 3, 20, 10, 0)  # the first filing, on time
        decided = s.scalar(select(FilingReview).where(FilingReview.credit_code == U1.credit_code))
        assert (decided.decided_by, decided.opinion) == ("county-520302", "已改正")
        mine = code_of(s, U1.credit_code, 2026)
    # U1 corrected to better data than U8: first of 2 overall and in industry 39 (U8 is 39 too)
    assert codes(green) == {U1.credit_code: ("A", None, 1), U8.credit_code: ("B", None, 2),
                            U2.credit_code: (None, "abnormal", None)}
    assert (mine["rank"], mine["of"], mine["industry_code"], mine["industry_rank"], mine["industry_of"]) == \
        (1, 2, "39", 1, 2)
    types = event_types(view)
    for expected in ("annual_table_filed", "annual_table_review_opened", "annual_table_reviewed",
                     "annual_table_corrected", "campaign_closed", "green_codes_computed", "instance_completed"):
        assert expected in types, expected
    assert types.index("campaign_closed") < types.index("green_codes_computed")
    [computed] = [e for e in view["events"] if e["type"] == "green_codes_computed"]
    assert computed["payload"]["tiers"] == {"A+": 0, "A": 1, "B": 1}
    assert green.engine.verify_history(iid).ok


def test_at_the_deadline_unreviewed_tables_are_coded_and_uncorrected_ones_are_not(green):
    list_factories(green, U1, U2, U3)
    iid = start_campaign(green)
    green.engine.clock.set(china(2026, 4, 1, 10, 0))
    act(green, iid, "fill_annual_table", unit_scope(U1), TABLE)
    act(green, iid, "review_annual_table", "520302", {"decision": "return", "reason": "请补充主要污染物排放量"})
    act(green, iid, "fill_annual_table", unit_scope(U2), TABLE)  # the county does not review it in time
    # U3 never files

    green.engine.clock.set(china(2026, 4, 16, 0, 0, 1))
    green.engine.fire_due_timers()
    view = green.view(iid)
    assert view["status"] == "completed"
    assert {t["bpmn_id"]: t["status"] for t in view["tasks"] if t["status"] == "cancelled"} == {
        "correct_annual_table": "cancelled", "review_annual_table": "cancelled", "fill_annual_table": "cancelled"}
    assert reviews(green) == {U1.credit_code: ("irregular", 1, "请补充主要污染物排放量"),
                              U2.credit_code: ("lapsed", 1, None)}
    assert codes(green) == {U1.credit_code: (None, "irregular", None), U2.credit_code: ("B", None, 1),
                            U3.credit_code: (None, "not_filed", None)}
    with green.engine.db.session() as s:
        assert [(r.credit_code, r.item, r.source) for r in s.scalars(select(NegativeRecord))] == \
            [(U3.credit_code, 7, NOT_FILED_SOURCE)]
        assert code_of(s, U3.credit_code, 2026)["reason_zh"].startswith("未填报")
    settled = [e["payload"] for e in view["events"] if e["type"] == "annual_table_reviews_settled"]
    assert settled == [{"year": 2026, "lapsed": [U2.credit_code], "irregular": [U1.credit_code]}]
    assert view["data"]["green_codes"]["not_coded"] == {"irregular": [U1.credit_code],
                                                        "not_filed": [U3.credit_code]}
    assert green.engine.verify_history(iid).ok


def test_a_factory_a_confirmed_complaint_found_to_have_falsified_data_gets_no_code(green):
    """第三十二条 complaint confirmed → 第二十七条第8项 ground, removal pending → its accepted table gets no code."""
    list_factories(green, U1, U2, U8)
    complaint = green.engine.start("complaint", {"subject_kind": "unit", "unit": U1.credit_code, **REPORTER},
                                   actor=PUBLIC).instance_id
    green.step(complaint, "complaint_intake", ACCEPT)
    green.step(complaint, "verify_complaint", {**CONFIRMED, "measure": "remove"})  # item 8 by default
    with green.engine.db.session() as s:
        assert [(r.credit_code, r.item) for r in s.scalars(select(NegativeRecord))] == [(U1.credit_code, 8)]
        assert [(r.credit_code, r.ground_item, r.published_at) for r in s.scalars(select(PendingRemoval))] == \
            [(U1.credit_code, 8, None)]  # still listed until the next list publication

    iid = start_campaign(green)
    green.engine.clock.set(china(2026, 3, 20, 10, 0))
    for unit, table in ((U1, BETTER), (U2, TABLE), (U8, TABLE)):
        act(green, iid, "fill_annual_table", unit_scope(unit), table)
    for county in ("520302", "520103", "GA0000"):
        act(green, iid, "review_annual_table", county, {"decision": "accept"})

    view = green.view(iid)
    assert view["status"] == "completed"
    assert view["data"]["green_codes"]["cohort"] == 2
    assert view["data"]["green_codes"]["not_coded"] == {"falsified": [U1.credit_code]}
    # U1's better table does not count: U2 and U8 (equal tables) share rank 1 of 2 and the A tier
    assert codes(green) == {U1.credit_code: (None, "falsified", None), U2.credit_code: ("A", None, 1),
                            U8.credit_code: ("A", None, 1)}
    with green.engine.db.session() as s:
        mine = code_of(s, U1.credit_code, 2026)
    assert (mine["code"], mine["of"], mine["reason"]) == (None, 2, "falsified")
    assert "第二十七条第8项" in mine["reason_zh"]
    assert green.engine.verify_history(iid).ok
