"""Who may submit an application, and when (第十四条), and the July-31 hold of the national step (第二十一条).

The ``green`` fixture publishes every level's notice for 2026 and 2027 (tests/conftest.py); the
window tests withdraw the province's 2026 notice and publish a narrower one of their own.  The
clock starts on Monday 2026-03-02 09:00 China time.
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from engine.commands import CancelInstance
from engine.errors import Conflict, InvalidInput, NotPermitted, RuleViolation
from engine.identity import system_actor
from engine.models import ProcessInstance
from handlers import demo
from handlers.application_windows import ApplicationWindow, open_windows, publish_window, withdraw_window
from handlers.records import ApplicationRecord
from tests.scenarios.driver import PASS

U1, U2, U4 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[3]


def instances(green) -> int:
    with green.engine.db.session() as s:
        return s.scalar(select(func.count()).select_from(ProcessInstance))


# --------------------------------------------------------------------------- one running application (item 6)

def test_a_second_running_application_is_refused_naming_the_running_one(green):
    first = green.apply(U1)
    before = instances(green)
    with pytest.raises(RuleViolation) as err:
        green.apply(U1)
    assert (err.value.article, err.value.field) == ("第十四条", "target_level")
    assert f"#{first}" in err.value.message and "审核" in err.value.message  # the running one and its step
    assert "第十四条" in err.value.message
    assert instances(green) == before  # nothing written


def test_other_levels_years_and_units_may_run_side_by_side(green):
    green.apply(U1)
    green.apply(U1, target_level="province")
    green.apply(U1, year=2027)
    green.apply(U2)
    with green.engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApplicationRecord)) == 4


def test_a_decided_application_no_longer_blocks_a_new_one(green):
    first = green.apply(U1)
    green.step(first, "review", {"decision": "reject", "reason": "能效未达标"})
    assert green.record(first).status == "decided"
    second = green.apply(U1)
    assert green.view(second)["status"] == "running"


def test_a_cancelled_application_no_longer_blocks_a_new_one(green):
    first = green.apply(U1)
    green.engine.execute(CancelInstance(instance_id=first, reason="申报单位撤回申报"),
                         actor=system_actor("operator"))
    assert green.view(green.apply(U1))["status"] == "running"


def test_a_refused_application_does_not_block_either(green):
    refused = green.apply(demo.UNITS[4])  # tobacco: 不予受理 (第五条)
    assert green.view(refused)["data"]["outcome"] == "refused"
    green.apply(demo.UNITS[4], target_level="city", unit_name="遵义汇川卷烟配套有限公司（更正）")  # refused again, no block


def test_another_unit_learns_nothing_about_a_running_application(green):
    green.apply(U1)
    data = demo.application_data(U1)
    with pytest.raises(NotPermitted):
        green.engine.start("green_application", data, actor=green.engine.actor("ent-u2"))


def test_two_submissions_at_once_start_one_application(green):
    data = demo.application_data(U1)
    outcomes: list[object] = []

    def submit():
        try:
            outcomes.append(green.engine.start("green_application", dict(data), actor=green.engine.actor("ent-u1")))
        except RuleViolation as err:
            outcomes.append(err)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, RuleViolation) for o in outcomes) == 2
    with green.engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApplicationRecord)) == 1


# --------------------------------------------------------------------------- application windows (item 5)

@pytest.fixture
def narrow(green):
    """The province's 2026 notice replaced by one open 2026-03-10 to 2026-03-31 for factories only."""
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        old = s.scalar(select(ApplicationWindow.id).where(ApplicationWindow.level == "province",
                                                          ApplicationWindow.year == 2026))
        withdraw_window(s, old, actor="province", reason="调整申报时间", now=now)
        made = publish_window(s, {"level": "province", "year": 2026, "opens_on": "2026-03-10",
                                  "closes_on": "2026-03-31", "unit_types": ["factory"],
                                  "title": "2026年度省级绿色工厂申报通知", "notice_ref": "黔工信节〔2026〕8号",
                                  "guide_version": "2026年版"}, actor="province", now=now)
    return made


def test_an_application_before_the_window_opens_is_refused_citing_article_14(green, narrow):
    before = instances(green)
    with pytest.raises(RuleViolation) as err:
        green.apply(U4, target_level="province")
    assert err.value.article == "第十四条" and "2026-03-10至2026-03-31" in err.value.message
    assert instances(green) == before
    green.apply(U4)  # the city's notice is open: its list is not concerned


def test_inside_the_window_it_is_accepted_and_after_it_refused(green, narrow):
    green.engine.clock.set("2026-03-10T00:00:00+08:00")
    iid = green.apply(U4, target_level="province")
    assert green.task(iid, "review").scope == demo.UNITS[3].county
    green.engine.clock.set("2026-03-31T23:59:59+08:00")
    green.apply(U2, target_level="province")  # the last second of the last day
    green.engine.clock.set("2026-04-01T00:00:00+08:00")
    with pytest.raises(RuleViolation) as err:
        green.apply(U1, target_level="province")
    assert err.value.article == "第十四条" and "今天是2026-04-01" in err.value.message


def test_a_unit_type_the_notice_does_not_accept_is_refused(green, narrow):
    green.engine.clock.set("2026-03-12T10:00:00+08:00")
    with pytest.raises(RuleViolation) as err:
        green.apply(U4, target_level="province", unit_type="supply_chain")
    assert err.value.article == "第十四条" and "不受理绿色供应链管理企业" in err.value.message


def test_without_any_notice_of_the_year_nothing_is_accepted(green):
    with pytest.raises(RuleViolation) as err:
        green.apply(U1, year=2028)
    assert err.value.article == "第十四条" and "尚未发布2028年度市级" in err.value.message


def test_amending_after_the_window_closed_is_not_a_new_application(green, narrow):
    green.engine.clock.set("2026-03-30T10:00:00+08:00")
    iid = green.apply(U4, target_level="province")
    green.step(iid, "review", {"decision": "return", "reason": "请补充能源数据"})
    green.engine.clock.set("2026-04-08T10:00:00+08:00")
    green.step(iid, "amend", {"energy_tce": 1900.0, "amend_note": "已补充"})
    assert green.open_tasks(iid) == ["review"]


def test_publishing_is_for_the_department_of_the_level(green):
    now = green.engine.clock.now()
    notice = {"level": "province", "year": 2027, "opens_on": "2027-03-01", "closes_on": "2027-03-31",
              "unit_types": ["factory"], "title": "通知", "notice_ref": "黔工信节〔2027〕1号", "guide_version": "2027年版"}
    with green.engine.db.unit_of_work() as s:
        with pytest.raises(NotPermitted):
            publish_window(s, notice, actor="city-520300", now=now)
        with pytest.raises(NotPermitted):
            publish_window(s, {**notice, "level": "city", "scope": "520100"}, actor="city-520300", now=now)
        with pytest.raises(Conflict):  # the fixture's 2027 notice covers the whole year
            publish_window(s, notice, actor="province", now=now)


@pytest.mark.parametrize("overrides, field", [
    ({"level": "county"}, "level"), ({"level": "city", "scope": "520302"}, "scope"), ({"year": "明年"}, "year"),
    ({"opens_on": "2027/03/01"}, "opens_on"), ({"closes_on": "2027-02-01"}, "closes_on"),
    ({"opens_on": "2025-01-01"}, "opens_on"), ({"unit_types": []}, "unit_types"), ({"unit_types": ["farm"]}, "unit_types"),
    ({"title": " "}, "title"), ({"notice_ref": ""}, "notice_ref"), ({"guide_version": "v" * 101}, "guide_version"),
])
def test_a_bad_notice_is_refused_naming_the_field(green, overrides, field):
    notice = {"level": "province", "year": 2027, "opens_on": "2027-03-01", "closes_on": "2027-03-31",
              "unit_types": ["factory"], "title": "通知", "notice_ref": "黔工信节〔2027〕1号", "guide_version": "2027年版"}
    with green.engine.db.unit_of_work() as s:
        with pytest.raises(InvalidInput) as err:
            publish_window(s, {**notice, **overrides}, actor="province", now=green.engine.clock.now())
    assert field in err.value.fields


def test_the_portal_list_shows_open_and_coming_notices_only(green, narrow):
    with green.engine.db.session() as s:
        shown = open_windows(s, dt.date(2026, 3, 2))
    province = [w for w in shown if w["level"] == "province" and w["year"] == 2026]
    assert [(w["notice_ref"], w["state"]) for w in province] == [("黔工信节〔2026〕8号", "upcoming")]
    # the fixture opens 2027's notices already; a withdrawn notice is not shown
    assert {(w["year"], w["state"]) for w in shown if w["level"] == "city"} == {(2026, "open"), (2027, "open")}
    assert "黔工信节〔2026〕3号" not in {w["notice_ref"] for w in shown}


# --------------------------------------------------------------------------- 第二十一条 inside an application

def _at_recommendation(green, unit=U1) -> int:
    iid = green.apply(unit, target_level="national")
    green.pass_review(iid)
    green.pass_review(iid)
    green.panel(iid, [92, 90, 94], opinion="优秀")  # the province's expert panel (第十八条)
    green.pass_review(iid)
    green.consult(iid)
    green.end_notice()
    assert green.open_tasks(iid) == ["recommend_national"]
    return iid


def test_a_recommendation_after_july_31_is_refused_citing_article_21(green):
    iid = _at_recommendation(green)
    green.engine.clock.set("2026-08-01T00:00:00+08:00")  # the boundary timer has not fired yet
    with pytest.raises(RuleViolation) as err:
        green.step(iid, "recommend_national", {"national_recommendation": "recommend",
                                               "recommendation_file": "推荐文件.pdf"})
    assert (err.value.article, err.value.field) == ("第二十一条", "national_recommendation")
    assert green.open_tasks(iid) == ["recommend_national"]  # nothing written
    green.step(iid, "recommend_national", {"national_recommendation": "not_recommend",
                                           "national_recommendation_reason": "推荐期已过"})
    assert green.view(iid)["data"]["outcome"] == "not_recommended"


def test_july_31_ends_the_step_and_the_unit_stays_provincial(green):
    iid = _at_recommendation(green)
    green.engine.clock.set("2026-07-31T23:59:59+08:00")
    assert green.engine.fire_due_timers() == 0
    green.engine.clock.set("2026-08-01T00:00:01+08:00")
    assert green.fire_all() >= 1
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["outcome"] == "not_recommended"
    assert "第二十一条" in view["data"]["outcome_reason"] and "7月31日" in view["data"]["outcome_reason"]
    assert green.listings(U1.credit_code) == [("province", "520000", "listed")]
    assert green.record(iid).outcome == "not_recommended"


def test_a_recommendation_on_july_31_goes_to_miit(green):
    iid = _at_recommendation(green)
    green.engine.clock.set("2026-07-31T18:00:00+08:00")
    green.step(iid, "recommend_national", {"national_recommendation": "recommend",
                                           "recommendation_file": "推荐文件.pdf"})
    assert green.open_tasks(iid) == ["record_miit_result"]
    assert green.view(iid)["data"]["national_deadline_check"] == {"deadline": "2026-07-31"}
