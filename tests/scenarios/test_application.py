"""The application and its three-level review, driven through the engine on both databases.

Every step drops the in-process workflow cache first, so each command reloads the
instance from its stored state (save and restore between steps).
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotPermitted, RuleViolation
from engine.identity import upsert_user
from engine.services import _SERVICES
from handlers import demo
from handlers.records import ApplicationRecord, Objection
from handlers.uscc import make_uscc
from tests.scenarios.driver import BUREAUS, NO_OBJECTION, PASS

def event_types(view: dict) -> list[str]:
    return [e["type"] for e in view["events"]]


def test_city_list_path_publishes_the_unit_on_the_city_list(green):
    unit = demo.UNITS[0]
    iid = green.apply(unit)
    assert green.task(iid, "review").scope == "520302"  # county first (第十八条)
    green.step(iid, "review", PASS)
    assert green.task(iid, "review").scope == "520300"  # then its city
    green.step(iid, "review", PASS)
    assert {green.task(iid, b).scope for b in BUREAUS} == {"520300"}  # city bureaus (第十九条)
    green.consult(iid)
    assert green.view(iid)["status"] == "waiting"  # the notice runs (第二十条)
    assert green.end_notice() == 1
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["outcome"] == "listed_city"
    assert green.listings(unit.credit_code) == [("city", "520300", "listed")]
    assert green.record(iid).outcome == "listed_city"
    types = event_types(view)
    for expected in ("instance_started", "eligibility_checked", "notice_opened", "timer_fired", "notice_closed",
                     "instance_completed"):
        assert expected in types
    assert types.count("task_completed") == 6
    assert green.engine.verify_history(iid).ok


def test_tobacco_applicant_is_refused_citing_article_5(green):
    iid = green.apply(demo.UNITS[4])  # industry 16
    view = green.view(iid)
    assert view["status"] == "completed" and view["tasks"] == []
    assert view["data"]["outcome"] == "refused"
    assert "第五条" in view["data"]["outcome_reason"]
    violation = view["data"]["eligibility"]["violations"][0]
    assert violation["article"] == "第五条" and violation["field"] == "industry_code"
    assert green.record(iid).outcome == "refused"


def test_return_for_amendment_twice_then_pass(green):
    unit = demo.UNITS[1]
    iid = green.apply(unit)
    for round_, tce in ((1, 2100.0), (2, 2200.0)):
        green.step(iid, "review", {"decision": "return", "reason": f"第{round_}次：请补充能源数据"})
        amend = green.task(iid, "amend")
        assert (amend.role, amend.scope) == ("applicant", f"unit:{unit.credit_code}")
        green.step(iid, "amend", {"energy_tce": tce, "amend_note": f"已补充（第{round_}次）"})
    assert green.view(iid)["data"]["application"]["energy_tce"] == 2200.0
    green.step(iid, "review", PASS)
    assert green.task(iid, "review").scope == "520100"  # moved on to 贵阳市
    done = [t for t in green.view(iid)["tasks"] if t["bpmn_id"] == "amend"]
    assert [t["completed_by"] for t in done] == ["ent-u2", "ent-u2"]


def test_reject_at_county_ends_with_the_reason(green):
    iid = green.apply(demo.UNITS[8])
    green.step(iid, "review", {"decision": "reject", "reason": "能效未达标"})
    view = green.view(iid)
    assert view["data"]["outcome"] == "rejected" and "能效未达标" in view["data"]["outcome_reason"]


def test_bureau_objection_goes_to_the_city_to_decide(green):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid, {"opinion_eco": {"opinion": "objection", "reason": "2025年有环境违法记录"}})
    decision = green.task(iid, "city_consultation_decision")
    assert (decision.role, decision.scope) == ("city_official", "520300")
    assert green.view(iid)["data"]["consultation_objected"] is True
    green.step(iid, "city_consultation_decision", {"consultation_decision": "reject",
                                                   "consultation_reason": "生态环境部门意见属实（第十九条）"})
    assert green.view(iid)["data"]["outcome"] == "rejected"


def test_bureau_objection_overruled_with_a_reason_proceeds_to_notice(green):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid, {"opinion_tax": {"opinion": "objection", "reason": "欠税"}})
    green.step(iid, "city_consultation_decision", {"consultation_decision": "proceed",
                                                   "consultation_reason": "欠税已于公示前补缴"})
    green.end_notice()
    assert green.view(iid)["data"]["outcome"] == "listed_city"


def test_province_path_with_expert_review_and_site_check(green):
    unit = demo.UNITS[3]
    iid = green.apply(unit, target_level="province")
    green.pass_review(iid)
    green.pass_review(iid)  # the city's recommendation (第二十一条)
    experts = green.panel_tasks(iid)  # a panel of three, each task assigned to its expert (第十八条)
    assert [(t.role, t.scope) for t in experts] == [("expert", "520000")] * 3
    assert len({t.assignee for t in experts}) == 3
    green.panel(iid, [86, 80, 90], site_check=True, opinion="建议现场核实能耗数据")
    assert green.view(iid)["data"]["expert_score"] == 85 and green.view(iid)["data"]["site_check_needed"] is True
    green.step(iid, "site_check", {"site_check_passed": True, "site_check_date": "2026-03-10",
                                   "site_check_notes": "计量器具配备齐全"})
    assert green.task(iid, "review").scope == "520000"
    green.pass_review(iid)
    assert {green.task(iid, b).scope for b in BUREAUS} == {"520000"}
    green.consult(iid)
    green.end_notice()
    view = green.view(iid)
    assert view["data"]["outcome"] == "listed_province"
    assert green.listings(unit.credit_code) == [("province", "520000", "listed")]
    flags = {f["rule"] for f in view["data"]["eligibility"]["flags"]}
    assert "art22_province_needs_city_listing" in flags  # 原则上: flagged to the reviewers, not refused


def _to_national_recommendation(green, unit) -> int:
    iid = green.apply(unit, target_level="national")
    green.pass_review(iid)
    green.pass_review(iid)
    green.panel(iid, [92, 90, 94], opinion="优秀")
    green.pass_review(iid)
    green.consult(iid)
    green.end_notice()
    return iid


def test_national_path_records_miit_result(green):
    unit = demo.UNITS[0]
    iid = _to_national_recommendation(green, unit)
    green.step(iid, "recommend_national", {"national_recommendation": "recommend",
                                           "recommendation_file": "黔工信节〔2026〕1号.pdf"})
    green.step(iid, "record_miit_result", {"miit_result": "listed", "miit_published_on": "2026-11-01",
                                           "miit_notice_ref": "工信厅节函〔2026〕300号"})
    assert green.view(iid)["data"]["outcome"] == "listed_national"
    assert green.listings(unit.credit_code) == [("national", "national", "listed"),
                                                ("province", "520000", "listed")]


def test_national_path_not_recommended_keeps_the_province_listing(green):
    unit = demo.UNITS[0]
    iid = _to_national_recommendation(green, unit)
    green.step(iid, "recommend_national", {"national_recommendation": "not_recommend",
                                           "national_recommendation_reason": "本年度名额已满"})
    assert green.view(iid)["data"]["outcome"] == "not_recommended"
    assert green.listings(unit.credit_code) == [("province", "520000", "listed")]


def test_guian_applicant_skips_the_county_review(green):
    iid = green.apply(demo.UNITS[7])
    assert green.task(iid, "review").scope == "GA0000"
    assert green.task(iid, "review").role == "city_official"


def test_upheld_objection_takes_the_unit_off_the_list(green):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    outcome = green.object(iid)
    assert outcome.result["delivered"] is True
    green.step(iid, "review_objection", {"upheld": True, "finding": "经核实属实", "reply": "异议成立，已取消拟列入"})
    green.end_notice()
    view = green.view(iid)
    assert view["data"]["outcome"] == "removed_after_notice"
    assert green.listings(unit.credit_code) == []
    with green.engine.db.session() as s:
        [objection] = s.scalars(select(Objection)).all()
        assert objection.upheld is True and objection.reply.startswith("异议成立")


def test_objection_after_the_notice_period_is_refused(green):
    iid = green.to_notice(demo.UNITS[0])
    # Published Mon 2026-03-02 09:00: 7 working days end at 24:00 on Tue 03-10 (China) = 03-10 16:00 UTC.
    green.engine.clock.set("2026-03-10T15:59:59+00:00")
    green.object(iid, name="赵某")  # the last second of the notice: accepted
    green.engine.clock.set("2026-03-10T16:00:00+00:00")
    with pytest.raises(RuleViolation) as err:
        green.object(iid)
    assert err.value.article == "第二十条"
    with green.engine.db.session() as s:
        assert [o.name for o in s.scalars(select(Objection))] == ["赵某"]


def test_anonymous_objection_is_refused(green):
    iid = green.to_notice(demo.UNITS[0])
    with pytest.raises(InvalidInput) as err:
        green.object(iid, name="匿名", contact="")
    assert {"name", "contact"} <= set(err.value.fields)


def test_publication_waits_until_every_objection_is_settled(green):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    green.object(iid)
    second = green.object(iid, name="李某", matter="能耗数据与统计数据不符")
    assert second.result["delivered"] is False  # the publisher is busy with the first: buffered
    green.engine.clock.advance(days=10)  # the period ends while the first is being checked
    assert green.engine.fire_due_timers() == 0
    green.step(iid, "review_objection", {"upheld": False, "finding": "不属实", "reply": "经核实不属实"})
    assert green.view(iid)["status"] == "running"  # not published: the second waits
    green.step(iid, "review_objection", {"upheld": False, "finding": "数据一致", "reply": "经核实数据一致"})
    view = green.view(iid)
    assert view["data"]["outcome"] == "listed_city"
    assert view["data"]["notice_result"] == {"upheld": 0, "rejected": 2, "pending": 0}


def test_county_official_of_another_county_cannot_review(green):
    iid = green.apply(demo.UNITS[0])
    with pytest.raises(NotPermitted):
        green.step(iid, "review", PASS, as_user="county-520303")


def test_applicant_cannot_apply_for_another_unit(green):
    data = demo.application_data(demo.UNITS[1])
    with pytest.raises(NotPermitted):
        green.engine.start("green_application", data, actor=demo.applicant(green.engine, demo.UNITS[0]))


@pytest.mark.parametrize("field,value", [
    ("credit_code", "91520302MA0000001X"),  # wrong check digit (GB 32100)
    ("county_code", "110101"),               # not in Guizhou
    ("unit_type", "shop"),
])
def test_bad_start_data_is_refused_naming_the_field(green, field, value):
    data = demo.application_data(demo.UNITS[0], **{field: value})
    with pytest.raises(InvalidInput) as err:
        green.engine.start("green_application", data, actor=demo.applicant(green.engine, demo.UNITS[0]))
    assert field in err.value.fields
    assert green.engine.count_instances() == {}


def test_review_form_needs_a_reason_to_return(green):
    iid = green.apply(demo.UNITS[0])
    with pytest.raises(InvalidInput) as err:
        green.step(iid, "review", {"decision": "return"})
    assert "reason" in err.value.fields


def test_two_county_officials_completing_at_once_one_conflicts(green):
    iid = green.apply(demo.UNITS[0])
    with green.engine.db.unit_of_work() as s:
        upsert_user(s, "county-520302-b", display_name="红花岗区工信局 乙", grants=[("county_official", "520302")])
    task = green.task(iid, "review")
    results, barrier = [], threading.Barrier(2)

    def submit(username):
        actor = green.engine.actor(username)
        barrier.wait()
        try:
            green.engine.complete(task.id, PASS, actor=actor)
            results.append("ok")
        except Conflict:
            results.append("conflict")
        except Exception as exc:
            results.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=submit, args=(u,)) for u in ("county-520302", "county-520302-b")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["conflict", "ok"]
    assert green.task(iid, "review").scope == "520300"  # advanced exactly once


def test_four_bureaus_answering_at_once_never_see_a_lock_error(green):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    tasks = [green.task(iid, b) for b in BUREAUS]
    actors = [green.engine.actor(demo.user_for(t.role, t.scope)) for t in tasks]
    results, barrier = [], threading.Barrier(4)

    def submit(task, actor):
        barrier.wait()
        try:
            green.engine.complete(task.id, NO_OBJECTION, actor=actor)
            results.append("ok")
        except Exception as exc:
            results.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(tasks, actors)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == ["ok"] * 4
    assert green.view(iid)["status"] == "waiting"  # all four joined: the notice runs


def test_failing_listing_service_becomes_an_incident_and_retry_publishes(green, monkeypatch):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    real = _SERVICES["record_listing"]

    def broken(ctx, **kw):
        raise ConnectionError("listing registry unreachable")

    monkeypatch.setitem(_SERVICES, "record_listing", broken)
    green.engine.clock.advance(days=15)
    assert green.engine.fire_due_timers() == 0
    [incident] = green.engine.incidents()
    assert incident["instance_id"] == iid and incident["task"] == "record_listing_city"
    assert "listing registry unreachable" in incident["error"]
    assert green.view(iid)["status"] == "incident"
    assert green.engine.fire_due_timers() == 0  # instances in incident are not retried by the sweep
    monkeypatch.setitem(_SERVICES, "record_listing", real)
    green.engine.retry_incident(incident["id"], operator="ops")
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["outcome"] == "listed_city"
    assert green.listings(unit.credit_code) == [("city", "520300", "listed")]
    assert green.engine.incidents() == []


def test_evaluator_cap_refuses_the_sixteenth_national_evaluation(green):
    # 第三十一条: 15 national evaluations a year per legal representative.
    with green.engine.db.unit_of_work() as s:
        for n in range(15):
            s.add(ApplicationRecord(instance_id=10_000 + n, credit_code=make_uscc(f"91520302MA{9000 + n:07d}"),
                                    unit_type="factory", target_level="national", year=2026,
                                    evaluation_mode="third_party", evaluator_id="EV001", status="open",
                                    submitted_at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)))
    iid = green.apply(demo.UNITS[0], target_level="national", evaluation_mode="third_party", evaluator_id="EV001")
    view = green.view(iid)
    assert view["data"]["outcome"] == "refused"
    assert "第三十一条" in view["data"]["outcome_reason"]


def test_a_notice_reaching_an_unloaded_year_is_an_incident_until_the_year_is_loaded(green):
    from engine import calendar
    from engine.incidents import IncidentRaised
    from tests.conftest import FIXTURES

    green.engine.clock.set("2026-12-14T01:00:00+00:00")  # reviews in mid-December: their 10 working days end in 2026
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.engine.clock.set("2026-12-28T01:00:00+00:00")  # Mon 28 Dec: a 7-working-day notice ends in 2027
    for branch in BUREAUS[:3]:
        green.step(iid, branch, NO_OBJECTION)
    with pytest.raises(IncidentRaised):
        green.step(iid, BUREAUS[3], NO_OBJECTION)
    [incident] = green.engine.incidents()
    assert "calendar for 2027 not loaded" in incident["error"]
    assert green.view(iid)["status"] == "incident"
    with green.engine.db.unit_of_work() as s:
        text = (FIXTURES / "calendar" / "2027.toml").read_text(encoding="utf-8")
        calendar.import_year(s, calendar.parse_year(text), by="operator", now=green.engine.clock.now())
    green.engine.retry_incident(incident["id"], operator="operator")
    view = green.view(iid)
    assert view["status"] == "waiting" and green.engine.incidents() == []
    assert view["data"]["notice"]["last_day"] == "2027-01-06"  # 28–31 Dec, then 4, 5, 6 Jan (1 Jan off)


def test_full_notice_in_working_days_with_an_upheld_and_a_rejected_objection(green):
    unit = demo.UNITS[0]
    iid = green.apply(unit)  # Mon 2026-03-02 09:00 China
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid)
    notice = green.view(iid)["data"]["notice"]
    assert (notice["first_day"], notice["last_day"]) == ("2026-03-02", "2026-03-10")
    green.engine.clock.advance(days=2)
    green.object(iid, name="钱某", matter="厂区噪声扰民")
    green.step(iid, "review_objection", {"upheld": False, "finding": "不属于评价范围", "reply": "经核实不成立"})
    green.engine.clock.advance(days=3)
    green.object(iid, name="孙某", matter="能耗数据造假")
    green.step(iid, "review_objection", {"upheld": True, "finding": "核实属实", "reply": "异议成立"})
    green.engine.clock.set("2026-03-10T15:59:00+00:00")
    assert green.engine.fire_due_timers() == 0  # still the last day of the notice
    green.engine.clock.set("2026-03-10T16:00:01+00:00")
    assert green.engine.fire_due_timers() == 1
    view = green.view(iid)
    assert view["data"]["notice_result"] == {"upheld": 1, "rejected": 1, "pending": 0}
    assert view["data"]["outcome"] == "removed_after_notice"
    assert green.listings(unit.credit_code) == []
