"""Deadlines, on both databases: review due dates, reminders and escalation (第十八条), and the
annual dynamic-management table campaign (第二十四条, 第二十七条第7项).

Times are China time (+08:00); the clock starts on Monday 2026-03-02 09:00 (conftest.START)
and the shipped 2026 working-day calendar is loaded.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.clock import CHINA
from engine.errors import InvalidInput, RuleViolation
from engine.identity import system_actor
from engine.models import HumanTask, Outbox, ProcessInstance, Timer
from handlers import demo
from handlers.campaign import NOT_FILED_SOURCE, supervisor_of, supervisor_scope_of
from handlers.changes import UnitChange
from handlers.records import AnnualFiling, Campaign, Listing, NegativeRecord, Unit
from tests.scenarios.driver import PASS


def china(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


def notifications(green) -> list[dict]:
    with green.engine.db.session() as s:
        return [row.payload for row in s.scalars(select(Outbox).where(Outbox.kind == "notification")
                                                   .order_by(Outbox.id))]


def timers(green, iid: int) -> dict[str, dt.datetime]:
    with green.engine.db.session() as s:
        return {t.bpmn_id: t.due_at for t in s.scalars(select(Timer).where(Timer.instance_id == iid))}


def event_types(view: dict) -> list[str]:
    return [e["type"] for e in view["events"]]


# --------------------------------------------------------------------------- review deadlines

@pytest.mark.parametrize("role,scope,expected", [
    ("county_official", "520302", ("city_official", "520300")),      # 红花岗区 → 遵义市
    ("city_official", "520300", ("province_official", "520000")),
    ("city_official", "GA0000", ("province_official", "520000")),     # 贵安新区 has no county level
    ("province_official", "520000", ("province_official", "520000")),  # the top answers to itself
])
def test_an_overdue_review_escalates_one_level_up(role, scope, expected):
    assert (supervisor_of(role), supervisor_scope_of(role, scope)) == expected


def test_a_review_is_due_ten_working_days_after_it_opens(green):
    iid = green.apply(demo.UNITS[0])  # Monday 2026-03-02
    review = green.task(iid, "review")
    assert review.due_at == china(2026, 3, 16, 18, 0)
    assert timers(green, iid) == {"review_reminder": china(2026, 3, 12, 18, 0),   # 8 working days
                                  "review_overdue": china(2026, 3, 16, 18, 0)}   # 10 working days


def test_an_open_review_is_reminded_then_escalated_to_the_supervisor_and_can_still_be_completed(green):
    iid = green.apply(demo.UNITS[0])  # county 520302
    review = green.task(iid, "review")

    green.engine.clock.set(china(2026, 3, 12, 17, 59))
    assert green.engine.fire_due_timers() == 0  # not before the reminder time
    green.engine.clock.set(china(2026, 3, 12, 18, 0, 1))
    assert green.engine.fire_due_timers() == 1
    [reminder] = notifications(green)
    assert (reminder["kind"], reminder["role"], reminder["scope"]) == ("reminder", "county_official", "520302")
    assert reminder["task_name"] == "审核" and "第十八条" in reminder["message_zh"]
    assert "2026年3月16日 18:00" in reminder["message_zh"]
    assert reminder["instance_id"] == iid and reminder["instance_title"].startswith(demo.UNITS[0].name)
    assert green.task(iid, "review").id == review.id  # non-interrupting: the same task stays open

    green.engine.clock.set(china(2026, 3, 16, 18, 0, 1))
    assert green.engine.fire_due_timers() == 1
    escalation = notifications(green)[-1]
    assert (escalation["kind"], escalation["role"], escalation["scope"]) == ("escalation", "city_official", "520300")
    assert green.task(iid, "review").id == review.id
    assert timers(green, iid) == {}  # each fires once

    green.step(iid, "review", PASS)  # late, but the review still counts
    city = green.task(iid, "review")
    assert (city.role, city.scope) == ("city_official", "520300")
    assert city.due_at == china(2026, 3, 30, 18, 0)  # a new round, counted from now (Mon 16 Mar, after 18:00)
    assert set(timers(green, iid)) == {"review_reminder", "review_overdue"}
    types = event_types(green.view(iid))
    assert types.count("notification_queued") == 2 and types.count("timer_fired") == 2
    assert green.engine.verify_history(iid).ok


def test_completing_a_review_in_time_cancels_its_reminders(green):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)  # city: on to the bureaus, no review open
    assert timers(green, iid) == {}
    green.engine.clock.set(china(2026, 3, 20, 9, 0))  # past both reviews' reminder times
    assert green.engine.fire_due_timers() == 0
    assert notifications(green) == []


def test_a_review_returned_for_amendment_restarts_the_clock(green):
    iid = green.apply(demo.UNITS[1])  # 云岩区 520103
    green.engine.clock.set(china(2026, 3, 5, 10, 0))  # Thursday
    green.step(iid, "review", {"decision": "return", "reason": "请补充能源数据"})
    assert timers(green, iid) == {}  # the applicant's amendment has no reminder
    green.engine.clock.set(china(2026, 3, 9, 10, 0))  # Monday
    green.step(iid, "amend", {"energy_tce": 2100.0, "amend_note": "已补充"})
    assert green.task(iid, "review").due_at == china(2026, 3, 23, 18, 0)
    assert timers(green, iid) == {"review_reminder": china(2026, 3, 19, 18, 0),
                                  "review_overdue": china(2026, 3, 23, 18, 0)}


# --------------------------------------------------------------------------- annual campaign

TABLE = {
    "output_value": 52000.0, "energy_tce": 1800.0, "energy_intensity": 0.0346, "water_m3": 120000.0,
    "main_emissions": {"so2_t": 1.2, "nox_t": 3.4, "particulate_t": 0.8, "cod_t": 2.1, "ammonia_nitrogen_t": 0.2},
    "co2_t": 9800.0, "solid_waste_use_rate": 96.5, "renewable_share": 12.0, "land_output": 850.0,
    "major_change": False,
}


def list_units(green, *units, removed=()) -> None:
    """Units on the city list (and some removed from it), as published before the campaign."""
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        for unit, status in [(u, "listed") for u in units] + [(u, "removed") for u in removed]:
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=now))
            s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level="city", scope="520300", year=2025,
                          status=status, listed_at=now - dt.timedelta(days=200)))


def start_campaign(green, year: int = 2026) -> int:
    data = {"scheduled_for": f"{year}-03-01T09:00:00+08:00", "scheduled_year": year}
    return green.engine.start("annual_table_campaign", data, actor=system_actor("scheduler")).instance_id


def filing_task(green, iid: int, unit) -> HumanTask:
    with green.engine.db.session() as s:
        [task] = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open",
                                                   HumanTask.bpmn_id == "fill_annual_table",
                                                   HumanTask.scope == f"unit:{unit.credit_code}")).all()
    return task


def file_table(green, iid: int, unit, table=TABLE):
    task = filing_task(green, iid, unit)
    green.engine.cache.clear()
    return green.engine.complete(task.id, table, actor=demo.applicant(green.engine, unit))


def negative_records(green) -> list[tuple[str, int, dt.date, str]]:
    with green.engine.db.session() as s:
        return [(r.credit_code, r.item, r.occurred_on, r.source) for r in s.scalars(select(NegativeRecord))]


def test_the_shipped_bundle_deploys_with_the_annual_campaign(green):
    [version] = green.engine.versions()
    assert {"annual_table_campaign", "annual_table_filing", "review_step"} <= set(version["processes"])


def test_the_scheduler_opens_the_campaign_on_march_1_at_nine(green):
    from engine import schedules

    list_units(green, demo.UNITS[0])
    green.engine.clock.set(china(2026, 2, 27, 9, 0))
    assert schedules.run_due(green.engine) == []  # registers the next occurrence
    green.engine.clock.set(china(2026, 3, 1, 9, 0, 1))
    [iid] = schedules.run_due(green.engine)
    view = green.view(iid)
    assert view["process_id"] == "annual_table_campaign" and view["started_by"] == "system:scheduler"
    assert (view["data"]["scheduled_for"], view["data"]["scheduled_year"]) == ("2026-03-01T09:00:00+08:00", 2026)
    assert filing_task(green, iid, demo.UNITS[0]).role == "applicant"


def test_a_unit_that_has_not_filed_by_april_15_gets_article_27_item_7(green):
    early, late = demo.UNITS[0], demo.UNITS[1]
    list_units(green, early, late, removed=[demo.UNITS[2]])
    iid = start_campaign(green)
    view = green.view(iid)
    assert [u["credit_code"] for u in view["data"]["units"]] == sorted([early.credit_code, late.credit_code])
    first = filing_task(green, iid, early)
    assert (first.role, first.name, first.due_at) == ("applicant", "填报动态管理表", None)  # the deadline is April 15

    green.engine.clock.set(china(2026, 3, 20, 10, 0))
    file_table(green, iid, early)
    with green.engine.db.session() as s:
        [filing] = s.scalars(select(AnnualFiling)).all()
        assert (filing.year, filing.credit_code, filing.instance_id, filing.schema_version) == \
            (2026, early.credit_code, iid, 1)
        assert filing.indicators["main_emissions"]["nox_t"] == 3.4 and filing.indicators["change_note"] == ""
        assert filing.filed_at == china(2026, 3, 20, 10, 0)

    green.engine.clock.set(china(2026, 4, 8, 9, 0, 1))
    assert green.engine.fire_due_timers() == 1
    [reminder] = notifications(green)  # only the unit that has not filed
    assert (reminder["kind"], reminder["role"], reminder["scope"]) == ("reminder", "applicant",
                                                                       f"unit:{late.credit_code}")
    assert "4月15日" in reminder["message_zh"] and "第二十七条第7项" in reminder["message_zh"]
    assert green.view(iid)["status"] == "running"

    green.engine.clock.set(china(2026, 4, 15, 23, 59))
    assert green.engine.fire_due_timers() == 0  # April 15 still counts
    green.engine.clock.set(china(2026, 4, 16, 0, 0, 1))
    assert green.engine.fire_due_timers() == 1
    view = green.view(iid)
    assert view["status"] == "completed"
    assert negative_records(green) == [(late.credit_code, 7, dt.date(2026, 4, 16), NOT_FILED_SOURCE)]
    assert view["data"]["campaign_result"] == {"year": 2026, "filed": [early.credit_code],
                                               "missing": [late.credit_code], "negative_records": 1}
    assert [t["status"] for t in view["tasks"] if t["scope"] == f"unit:{late.credit_code}"] == ["cancelled"]
    with green.engine.db.session() as s:
        campaign = s.scalar(select(Campaign).where(Campaign.year == 2026))
        assert (campaign.status, campaign.missing, campaign.instance_id) == ("closed", [late.credit_code], iid)
        assert s.scalars(select(Listing.status).where(Listing.credit_code == late.credit_code)).all() == ["listed"]
    types = event_types(view)
    for expected in ("campaign_opened", "annual_table_filed", "notification_queued", "timer_fired", "campaign_closed",
                     "task_cancelled", "instance_completed"):
        assert expected in types, expected
    assert green.engine.verify_history(iid).ok


def test_when_every_unit_files_in_time_the_campaign_closes_without_records(green):
    units = demo.UNITS[:2]
    list_units(green, *units)
    iid = start_campaign(green)
    for unit in units:
        file_table(green, iid, unit)
        green.step(iid, "review_annual_table", {"decision": "accept"})  # the county's review (第二十四条)
    view = green.view(iid)
    assert view["status"] == "completed" and view["timers"] == []
    assert view["data"]["campaign_result"]["missing"] == [] and len(view["data"]["filings"]) == 2
    assert negative_records(green) == [] and notifications(green) == []


def test_a_year_without_listed_units_closes_at_once(green):
    iid = start_campaign(green)
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["campaign_result"]["filed"] == []


def test_a_table_submitted_after_april_15_is_refused_before_the_deadline_timer_runs(green):
    unit = demo.UNITS[0]
    list_units(green, unit)
    iid = start_campaign(green)
    green.engine.clock.set(china(2026, 4, 16, 0, 0, 30))  # the worker has not fired the deadline yet
    with pytest.raises(RuleViolation) as err:
        file_table(green, iid, unit)
    assert err.value.article == "第二十四条"
    assert green.engine.fire_due_timers() >= 1  # the overdue reminder and the deadline, in one catch-up
    assert [r[:2] for r in negative_records(green)] == [(unit.credit_code, 7)]
    assert green.view(iid)["status"] == "completed"
    assert notifications(green) == []  # too late for a reminder


RENAME = {"change_kind": "name", "old_value": demo.UNITS[0].name, "new_value": "遵义黔北绿色智能科技有限公司",
          "effective_date": "2026-02-20"}


def change_instances(green) -> list[ProcessInstance]:
    with green.engine.db.session() as s:
        return s.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "unit_change")
                         .order_by(ProcessInstance.id)).all()


def test_a_change_reported_in_the_table_needs_an_explanation_and_its_items(green):
    unit = demo.UNITS[0]
    list_units(green, unit)
    iid = start_campaign(green)
    with pytest.raises(InvalidInput) as err:
        file_table(green, iid, unit, {**TABLE, "major_change": True})
    assert {"change_note", "changes"} <= set(err.value.fields)  # 第二十八条: explained, item by item
    with pytest.raises(InvalidInput) as err:  # a row is checked as a change report before anything is saved
        file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "2025年更名",
                                      "changes": [{**RENAME, "old_value": "某某公司"}]})
    assert "changes.0.old_value" in err.value.fields and "登记" in err.value.fields["changes.0.old_value"]
    with pytest.raises(InvalidInput) as err:
        file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "更名",
                                      "changes": [{**RENAME, "effective_date": "2026-12-01"}]})
    assert "changes.0.effective_date" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "更名",
                                      "changes": [RENAME, {**RENAME, "new_value": "另一名称"}]})
    assert "changes.1.change_kind" in err.value.fields
    with green.engine.db.session() as s:
        assert s.scalars(select(AnnualFiling)).all() == []  # refused: nothing saved, nothing started
    assert change_instances(green) == []


def test_a_change_explained_in_the_table_is_rechecked_by_its_own_process(green):
    """第二十八条: explained in the table; 第二十九条: the city re-checks, also after the filing period."""
    unit = demo.UNITS[0]
    list_units(green, unit)
    iid = start_campaign(green)
    green.engine.clock.set(china(2026, 3, 20, 10, 0))
    outcome = file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "股东增资后更名",
                                            "changes": [RENAME]})
    assert len(outcome.requested_starts) == 1
    [change] = change_instances(green)
    assert change.business_key.startswith("annual_table:") and change.started_by == f"ent-{unit.key.lower()}"
    review = green.task(change.id, "change_review")
    assert (review.role, review.scope) == ("city_official", "520300")
    with green.engine.db.session() as s:
        [row] = s.scalars(select(UnitChange)).all()
    assert (row.change_kind, row.old_value, row.new_value, row.explanation, row.status) == \
        ("name", unit.name, RENAME["new_value"], "股东增资后更名", "reported")
    view = green.view(iid)
    [requested] = [e["payload"] for e in view["events"] if e["type"] == "process_start_requested"]
    assert requested["process_id"] == "unit_change"
    with green.engine.db.session() as s:
        [request] = s.scalars(select(Outbox).where(Outbox.kind == "start_process")).all()
        assert request.sent_at is not None and request.payload["result"] == {"status": "started",
                                                                              "instance_id": change.id}

    # The table is returned and amended: the same change is not asked for twice.
    green.step(iid, "review_annual_table", {"decision": "return", "reason": "能耗数据有误"})
    green.step(iid, "correct_annual_table", {**TABLE, "energy_tce": 1790.0, "major_change": True,
                                             "change_note": "股东增资后更名", "changes": [RENAME]},
               as_user=f"ent-{unit.key.lower()}")
    assert len(change_instances(green)) == 1

    # The filing period ends (the campaign with it); the re-check goes on and decides.
    green.step(iid, "review_annual_table", {"decision": "accept"})
    green.engine.clock.set(china(2026, 4, 16, 9, 0))
    green.engine.fire_due_timers()
    assert green.view(iid)["status"] == "completed"
    green.step(change.id, "change_review", {"change_decision": "still_qualifies"})
    with green.engine.db.session() as s:
        assert s.scalar(select(Unit.name).where(Unit.credit_code == unit.credit_code)) == RENAME["new_value"]


def test_a_change_already_being_rechecked_is_not_asked_for_again(green):
    unit = demo.UNITS[0]
    list_units(green, unit)
    own = green.engine.start("unit_change", {**RENAME, "credit_code": unit.credit_code, "explanation": "更名"},
                             actor=demo.applicant(green.engine, unit)).instance_id
    iid = start_campaign(green)
    outcome = file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "已另行报告",
                                            "changes": [RENAME]})
    assert outcome.requested_starts == ()
    assert [c.id for c in change_instances(green)] == [own]
    [skipped] = [e["payload"] for e in green.view(iid)["events"] if e["type"] == "unit_change_already_rechecking"]
    assert skipped["instance_id"] == own and skipped["article"] == "第二十九条"


def test_a_requested_start_left_by_a_crash_is_started_by_the_worker_once(green):
    from engine import followups
    from engine.worker import TimerWorker

    unit = demo.UNITS[0]
    list_units(green, unit)
    iid = start_campaign(green)
    def lost(engine, ids):  # the database goes away between the commit and the start
        raise RuntimeError("connection lost")

    real_dispatch = followups.dispatch
    followups.dispatch = lost
    try:  # the filing itself stands: its command committed
        outcome = file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "更名",
                                                "changes": [RENAME]})
    finally:
        followups.dispatch = real_dispatch
    assert len(outcome.requested_starts) == 1 and change_instances(green) == []
    worker = TimerWorker(green.engine, name="w1")
    worker.tick()
    assert change_instances(green) == []  # within the grace period the caller may still be starting it
    green.engine.clock.set(green.engine.clock.now() + dt.timedelta(minutes=2))
    worker.tick()
    worker.tick()
    [change] = change_instances(green)
    assert green.task(change.id, "change_review").scope == "520300"


def test_a_requested_start_the_rules_refuse_is_settled_and_the_requester_told(green):
    from engine import followups

    unit = demo.UNITS[0]
    list_units(green, unit)
    iid = start_campaign(green)
    with green.engine.db.unit_of_work() as s:  # a request for a unit that is on no list: unit_change refuses it
        row = followups.request(s, instance_id=iid, now=green.engine.clock.now(), process_id="unit_change",
                                data={**RENAME, "credit_code": demo.UNITS[1].credit_code, "explanation": "x"},
                                actor=f"ent-{unit.key.lower()}")
        request_id = row.id
    [result] = followups.dispatch(green.engine, [request_id])
    assert result["status"] == "refused" and "第二十八条" in result["message"]
    assert followups.dispatch(green.engine, [request_id]) == []  # settled: never retried
    told = [p for p in notifications(green) if p.get("kind") == "start_refused"]
    assert told and told[0]["to"] == f"ent-{unit.key.lower()}" and "第二十八条" in told[0]["message_zh"]
