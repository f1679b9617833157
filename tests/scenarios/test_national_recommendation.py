"""The province's yearly recommendation to MIIT (第二十一、二十二、二十七条), through the engine on both databases.

The process is started as the scheduler does on June 1 at 09:00 China time; timers fire
through ``fire_due_timers`` after the frozen clock is moved.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput, RuleViolation
from engine.identity import system_actor
from engine.models import HumanTask, Outbox
from handlers import demo
from handlers.national_recommendation import NationalBatch, NationalRecommendation, batch_view
from handlers.records import Listing
from tests.scenarios.test_list_publication import negative, put_on_list

U1, U2, U3, U4, U5, U6, U7 = demo.UNITS[:7]
REF = {"recommendation_ref": "黔工信节〔2026〕20号", "recommendation_file": "推荐文件.pdf"}


def start(green, year: int = 2026) -> int:
    green.engine.clock.set(f"{year}-06-01T09:00:01+08:00")
    data = {"scheduled_for": f"{year}-06-01T09:00:00+08:00", "scheduled_year": year}
    return green.engine.start("national_recommendation", data, actor=system_actor("scheduler")).instance_id


def at(green, when: str) -> int:
    green.engine.clock.set(when)
    fired, total = 1, 0
    while fired:  # one due timer per instance and call: fire until nothing is due
        fired = green.engine.fire_due_timers()
        total += fired
    return total


def notifications(green, iid: int) -> list[dict]:
    with green.engine.db.session() as s:
        return [o.payload for o in s.scalars(select(Outbox).where(Outbox.instance_id == iid).order_by(Outbox.id))]


def events(view: dict, event_type: str) -> list[dict]:
    return [e["payload"] for e in view["events"] if e["type"] == event_type]


@pytest.fixture
def provincial(green):
    """U2, U3, U6 eligible; U7 barred (第二十七条第6项); U1 already national."""
    for unit in (U2, U3, U6, U7, U1):
        put_on_list(green.engine, unit.credit_code, unit.name, unit.county, "province")
    put_on_list(green.engine, U1.credit_code, U1.name, U1.county, "national", year=2025)
    negative(green.engine, U7.credit_code, 6, "2025-09-01", "失信被执行人")


def test_the_scheduler_opens_the_recommendation_on_june_1_at_nine(green):
    from engine import schedules

    green.engine.clock.set("2026-05-31T12:00:00+08:00")
    schedules.run_due(green.engine)  # registers every schedule's next occurrence
    assert all(green.view(i)["process_id"] != "national_recommendation" for i in schedules.run_due(green.engine))
    green.engine.clock.set("2026-06-01T09:00:01+08:00")
    started = [i for i in schedules.run_due(green.engine) if green.view(i)["process_id"] == "national_recommendation"]
    assert len(started) == 1
    assert green.view(started[0])["data"]["scheduled_year"] == 2026


def test_candidates_are_provincial_units_not_yet_national_and_barred_ones_are_marked(green, provincial):
    iid = start(green)
    task = green.task(iid, "select_units")
    assert (task.role, task.scope) == ("province_official", "520000")
    cands = {c["credit_code"]: c["status"] for c in green.view(iid)["data"]["recommendation"]["candidates"]}
    assert cands == {U2.credit_code: "eligible", U3.credit_code: "eligible", U6.credit_code: "eligible",
                     U7.credit_code: "barred"}  # U1 is national already (第二十二条)


def test_recommended_on_time_then_miit_result_creates_national_listings(green, provincial):
    iid = start(green)
    green.engine.clock.set("2026-07-20T10:00:00+08:00")
    green.step(iid, "select_units", {"recommended_units": [U2.credit_code, U3.credit_code], **REF})
    miit = green.task(iid, "record_miit")
    assert (miit.role, miit.scope) == ("province_official", "520000")
    assert green.engine.instance(iid)["timers"] == []  # the deadline and reminders are gone
    green.engine.clock.set("2026-11-10T10:00:00+08:00")
    green.step(iid, "record_miit", {"miit_listed_units": [U2.credit_code], "miit_published_on": "2026-11-05",
                                    "miit_notice_ref": "工信厅节函〔2026〕300号"})
    view = green.view(iid)
    assert view["status"] == "completed"
    assert view["data"]["miit_batch_result"] == {"listed": [U2.credit_code], "not_listed": [U3.credit_code]}
    assert green.listings(U2.credit_code) == [("national", "national", "listed"), ("province", "520000", "listed")]
    assert green.listings(U3.credit_code) == [("province", "520000", "listed")]
    with green.engine.db.session() as s:
        national = s.scalar(select(Listing).where(Listing.credit_code == U2.credit_code, Listing.level == "national"))
        assert national.year == 2026
        statuses = {r.credit_code: (r.status, r.national_listing_id)
                    for r in s.scalars(select(NationalRecommendation))}
        assert statuses == {U2.credit_code: ("listed", national.id), U3.credit_code: ("not_listed", None)}
        assert batch_view(s, 2026)["status"] == "result_recorded"
    [submitted] = events(view, "national_recommendation_submitted")
    assert submitted["article"] == "第二十一条" and submitted["reference"] == "黔工信节〔2026〕20号"
    assert [e["credit_code"] for e in events(view, "listing_recorded")] == [U2.credit_code]
    [result] = events(view, "miit_result_recorded")
    assert result["not_listed"] == [U3.credit_code]
    assert green.engine.verify_history(iid).ok


def test_the_province_is_reminded_on_july_17_and_28_and_may_still_recommend_on_july_31(green, provincial):
    iid = start(green)
    assert at(green, "2026-07-17T08:59:59+08:00") == 0
    assert at(green, "2026-07-17T09:00:01+08:00") == 1
    assert at(green, "2026-07-28T09:00:01+08:00") == 1
    sent = notifications(green, iid)
    assert [(n["kind"], n["role"], n["scope"]) for n in sent] == [("reminder", "province_official", "520000")] * 2
    assert all("7月31日" in n["message_zh"] and "第二十一条" in n["message_zh"] for n in sent)
    green.engine.clock.set("2026-07-31T23:00:00+08:00")
    green.step(iid, "select_units", {"recommended_units": [U6.credit_code], **REF})
    assert green.task(iid, "record_miit")


def test_the_deadline_passing_without_a_selection_closes_the_year_and_escalates(green, provincial):
    iid = start(green)
    at(green, "2026-07-31T23:59:59+08:00")  # both reminders (one command may fire both), not the deadline
    assert [n["kind"] for n in notifications(green, iid)] == ["reminder", "reminder"]
    assert green.task(iid, "select_units")
    assert at(green, "2026-08-01T00:00:01+08:00") == 1
    view = green.view(iid)
    assert view["status"] == "completed"
    with green.engine.db.session() as s:
        assert s.scalar(select(HumanTask.status).where(HumanTask.instance_id == iid,
                                                       HumanTask.bpmn_id == "select_units")) != "open"
        batch = s.scalar(select(NationalBatch))
        assert (batch.status, batch.lapsed_at is not None) == ("lapsed", True)
        assert s.scalars(select(NationalRecommendation)).all() == []
    [lapsed] = events(view, "national_recommendation_lapsed")
    assert lapsed["article"] == "第二十一条" and lapsed["deadline"] == "2026-07-31"
    assert notifications(green, iid)[-1]["kind"] == "escalation"
    assert green.listings(U2.credit_code) == [("province", "520000", "listed")]


def test_an_empty_selection_recommends_nobody(green, provincial):
    iid = start(green)
    green.step(iid, "select_units", {"recommended_units": []})
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["national_selection"]["count"] == 0


@pytest.mark.parametrize("units,error,article,field", [
    ([U7.credit_code], RuleViolation, "第二十七条", "recommended_units"),   # barred: 不得推荐
    ([U1.credit_code], RuleViolation, "第二十一条", "recommended_units"),   # already national
    ([U4.credit_code], RuleViolation, "第二十一条", "recommended_units"),   # not on the provincial list
    ([U2.credit_code, U2.credit_code], InvalidInput, None, "recommended_units"),
])
def test_a_selection_outside_the_eligible_candidates_is_refused(green, provincial, units, error, article, field):
    iid = start(green)
    with pytest.raises(error) as err:
        green.step(iid, "select_units", {"recommended_units": units, **REF})
    assert field in err.value.fields
    if article:
        assert err.value.article == article
    assert green.task(iid, "select_units")
    with green.engine.db.session() as s:
        assert s.scalars(select(NationalRecommendation)).all() == []


def test_a_selection_needs_the_recommendation_document_number(green, provincial):
    iid = start(green)
    with pytest.raises(InvalidInput) as err:
        green.step(iid, "select_units", {"recommended_units": [U2.credit_code]})
    assert "recommendation_ref" in err.value.fields


def test_a_selection_after_july_31_is_refused_even_before_the_timer_runs(green, provincial):
    iid = start(green)
    green.engine.clock.set("2026-08-01T00:00:05+08:00")
    with pytest.raises(RuleViolation) as err:
        green.step(iid, "select_units", {"recommended_units": [U2.credit_code], **REF})
    assert err.value.article == "第二十一条"


def test_miit_can_only_list_recommended_units(green, provincial):
    iid = start(green)
    green.step(iid, "select_units", {"recommended_units": [U2.credit_code], **REF})
    with pytest.raises(InvalidInput) as err:
        green.step(iid, "record_miit", {"miit_listed_units": [U3.credit_code], "miit_published_on": "2026-06-01",
                                        "miit_notice_ref": "工信厅节函〔2026〕300号"})
    assert "miit_listed_units" in err.value.fields
    assert green.listings(U3.credit_code) == [("province", "520000", "listed")]


def test_a_unit_with_an_open_national_application_is_decided_in_its_application(green, provincial):
    from tests.scenarios.test_application import _to_national_recommendation

    green.engine.clock.set("2026-03-02T09:00:00+08:00")
    app = _to_national_recommendation(green, U4)  # 毕节: province path, now at 推荐国家级
    iid = start(green)
    cands = {c["credit_code"]: c for c in green.view(iid)["data"]["recommendation"]["candidates"]}
    assert (cands[U4.credit_code]["status"], cands[U4.credit_code]["stage"]) == ("in_application",
                                                                                "awaiting_recommendation")
    with pytest.raises(InvalidInput):
        green.step(iid, "select_units", {"recommended_units": [U4.credit_code], **REF})
    assert green.task(app, "recommend_national")
