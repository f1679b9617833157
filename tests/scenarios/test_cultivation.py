"""Cultivation targets and cultivated units through the engine, on both databases (第九至十三条、第二十三条).

A county's (city's) cultivation list and plan acknowledged by the city (province); a listed park
reporting the units it cultivates, which lets its province application meet 第二十三条.
The clock starts on Monday 2026-03-02 09:00 China time (conftest.START).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput, NotPermitted, RuleViolation
from engine.identity import upsert_user
from handlers import demo
from handlers.cultivation import CultivationPlan, CultivationReport, CultivationTarget, current_targets
from handlers.records import CultivationRecord, Listing, Unit
from handlers.start import applicant_scope

BAD_CODE = demo.UNITS[0].credit_code[:-1] + ("0" if demo.UNITS[0].credit_code[-1] != "0" else "1")
PARK = demo.DemoUnit("P91", "遵义汇川经济技术开发区", "520303", None, unit_type="park")


def event_types(view: dict) -> list[str]:
    return [e["type"] for e in view["events"]]


def targets(*units, kind="factory") -> list[dict]:
    return [{"credit_code": u.credit_code, "unit_name": u.name, "target_type": kind} for u in units]


def plan(division_code="520302", units=None, **overrides) -> dict:
    return {"year": 2026, "division_code": division_code, "units": units or targets(*demo.UNITS[:2]),
            "plan_text": "2026年培育计划：组织对照GB/T 36132开展诊断，年底前完成节能改造。", **overrides}


# --------------------------------------------------------------------------- cultivation plan (第九条)

def test_a_county_plan_is_acknowledged_by_its_city(green):
    iid = green.engine.start("cultivation_plan", plan(), actor=green.engine.actor("county-520302")).instance_id
    task = green.task(iid, "acknowledge_plan")
    assert (task.role, task.scope) == ("city_official", "520300")  # 红花岗区 → 遵义市
    with green.engine.db.session() as s:
        [row] = s.scalars(select(CultivationPlan)).all()
        assert (row.year, row.scope, row.level, row.status, row.submitted_by) == \
            (2026, "520302", "county", "submitted", "county-520302")
        assert [(t.credit_code, t.target_type, t.added_by, t.plan_id) for t in current_targets(s, 2026, "520302")] == \
            [(u.credit_code, "factory", "county-520302", row.id) for u in demo.UNITS[:2]]

    green.step(iid, "acknowledge_plan", {"opinion": "已收悉，请按季度报送进展"})
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["plan_record"]["status"] == "acknowledged"
    with green.engine.db.session() as s:
        row = s.scalar(select(CultivationPlan))
        assert (row.status, row.acknowledged_by, row.acknowledgement) == \
            ("acknowledged", "city-520300", "已收悉，请按季度报送进展")
    types = event_types(view)
    for expected in ("cultivation_plan_submitted", "cultivation_plan_acknowledged", "instance_completed"):
        assert expected in types, expected
    assert green.engine.verify_history(iid).ok


def test_a_city_plan_is_acknowledged_by_the_province_and_a_new_plan_supersedes_the_old(green):
    city = green.engine.actor("city-520300")
    first = green.engine.start("cultivation_plan", plan("520300"), actor=city).instance_id
    assert (green.task(first, "acknowledge_plan").role, green.task(first, "acknowledge_plan").scope) == \
        ("province_official", "520000")
    second = green.engine.start("cultivation_plan", plan("520300", targets(PARK, kind="park")), actor=city).instance_id
    green.step(second, "acknowledge_plan", {})
    with green.engine.db.session() as s:
        assert [p.status for p in s.scalars(select(CultivationPlan).order_by(CultivationPlan.id))] == \
            ["superseded", "acknowledged"]
        assert [t.credit_code for t in current_targets(s, 2026, "520300")] == [PARK.credit_code]
        assert len(s.scalars(select(CultivationTarget)).all()) == 3  # the superseded list is kept
    assert green.view(second)["data"]["plan_record"]["status"] == "acknowledged"


def test_only_the_division_s_own_department_submits_its_plan(green):
    with pytest.raises(NotPermitted):
        green.engine.start("cultivation_plan", plan("520302"), actor=green.engine.actor("county-520303"))
    with pytest.raises(NotPermitted):  # a city official does not file a county's plan
        green.engine.start("cultivation_plan", plan("520302"), actor=green.engine.actor("city-520300"))


@pytest.mark.parametrize("overrides,field", [
    ({"division_code": "520000"}, "division_code"),  # the province is not a planning level of 第九条
    ({"year": 2024}, "year"),
    ({"units": [{"credit_code": BAD_CODE, "unit_name": "某企业", "target_type": "factory"}]},
     "units.0.credit_code"),  # wrong check character
    ({"units": targets(demo.UNITS[0]) * 2}, "units.1.credit_code"),
    ({"units": [{"credit_code": demo.UNITS[0].credit_code, "unit_name": "某企业", "target_type": "tobacco"}]},
     "units.0.target_type"),
])
def test_a_bad_plan_is_refused_naming_the_field_and_nothing_is_written(green, overrides, field):
    with pytest.raises(InvalidInput) as err:
        green.engine.start("cultivation_plan", plan(**overrides), actor=green.engine.actor("county-520302"))
    assert any(key == field or key.startswith(field) for key in err.value.fields), err.value.fields
    with green.engine.db.session() as s:
        assert s.scalars(select(CultivationPlan)).all() == []


# --------------------------------------------------------------------------- cultivation report (第二十三条)

@pytest.fixture
def park(green):
    """A provincial-level park on the city list of 遵义市, with an applicant account."""
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        s.add(Unit(credit_code=PARK.credit_code, name=PARK.name, unit_type="park", county_code=PARK.county,
                   park_level="provincial", created_at=now))
        s.add(Listing(credit_code=PARK.credit_code, unit_type="park", level="city", scope="520300", year=2025,
                      status="listed", listed_at=now - dt.timedelta(days=300)))
        upsert_user(s, "ent-p91", display_name=PARK.name, grants=[("applicant", applicant_scope(PARK.credit_code))])
    return PARK


def park_application(green, **overrides) -> dict:
    data = demo.application_data(PARK, target_level="province", park_level="provincial", industry_code=None,
                                 **overrides)
    return green.view(green.engine.start("green_application", data, actor=green.engine.actor("ent-p91")).instance_id)


def report(unit=PARK, units=None, **overrides) -> dict:
    return {"credit_code": unit.credit_code, "year": 2026,
            "units": [{"credit_code": u.credit_code, "unit_name": u.name} for u in (units or demo.UNITS[3:6])],
            "note": "园区组织入园企业开展绿色工厂创建", **overrides}


def art23(view: dict) -> list[dict]:
    return [v for v in view["data"]["eligibility"]["violations"] if v["rule"] == "art23_park_needs_green_units"]


def test_three_cultivated_units_let_a_park_meet_article_23_for_the_province_list(green, park):
    before = park_application(green)
    assert before["data"]["outcome"] == "refused" and len(art23(before)) == 1
    assert "第二十三条" in before["data"]["outcome_reason"]

    two = green.engine.start("cultivation_report", report(units=demo.UNITS[3:5]), actor=green.engine.actor("ent-p91"))
    assert green.view(two.instance_id)["data"]["report_result"]["cultivated"] == 2
    assert len(art23(park_application(green))) == 1  # two are not enough

    iid = green.engine.start("cultivation_report", report(), actor=green.engine.actor("ent-p91")).instance_id
    view = green.view(iid)
    assert view["status"] == "completed"
    assert view["data"]["report_result"]["added"] == [demo.UNITS[5].credit_code]
    assert view["data"]["report_result"]["already"] == [u.credit_code for u in demo.UNITS[3:5]]
    assert view["data"]["report_result"]["cultivated"] == 3
    assert "cultivation_reported" in event_types(view) and green.engine.verify_history(iid).ok
    with green.engine.db.session() as s:
        assert sorted((r.park_credit_code, r.unit_credit_code, r.year) for r in s.scalars(select(CultivationRecord))) \
            == sorted((PARK.credit_code, u.credit_code, 2026) for u in demo.UNITS[3:6])
        assert [r.reporter_type for r in s.scalars(select(CultivationReport))] == ["park", "park"]

    after = park_application(green)
    assert art23(after) == [] and after["data"]["eligibility"]["eligible"] is True
    assert green.open_tasks(after["id"]) == ["review"]
    # The records count for their year only (第二十三条: 在申报年度).
    assert len(art23(park_application(green, year=2027))) == 1


def test_only_a_listed_park_or_supply_chain_leader_reports_cultivated_units(green, park):
    factory = demo.UNITS[0]
    with green.engine.db.unit_of_work() as s:
        s.add(Listing(credit_code=factory.credit_code, unit_type="factory", level="city", scope="520300", year=2025,
                      status="listed", listed_at=green.engine.clock.now()))
    with pytest.raises(RuleViolation) as err:
        green.engine.start("cultivation_report", report(factory), actor=green.engine.actor("ent-u1"))
    assert (err.value.article, err.value.field) == ("第二十三条", "credit_code")
    with pytest.raises(NotPermitted):  # only the park's own account reports for it
        green.engine.start("cultivation_report", report(), actor=green.engine.actor("ent-u1"))
    with pytest.raises(InvalidInput) as err:  # a park does not cultivate itself
        green.engine.start("cultivation_report", report(units=[PARK]), actor=green.engine.actor("ent-p91"))
    assert "units.0.credit_code" in err.value.fields
    with green.engine.db.session() as s:
        assert s.scalars(select(CultivationRecord)).all() == []
