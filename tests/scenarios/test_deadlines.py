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
from engine.models import HumanTask, Outbox, Timer
from handlers import demo
from handlers.campaign import NOT_FILED_SOURCE, supervisor_of, supervisor_scope_of
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


def test_a_change_reported_in_the_table_needs_an_explanation(green):
    unit = demo.UNITS[0]
    list_units(green, unit)
    iid = start_campaign(green)
    with pytest.raises(InvalidInput) as err:
        file_table(green, iid, unit, {**TABLE, "major_change": True})
    assert "change_note" in err.value.fields  # 第二十八条
    file_table(green, iid, unit, {**TABLE, "major_change": True, "change_note": "2025年更名"})
    green.step(iid, "review_annual_table", {"decision": "accept"})  # the county's review (第二十四条)
    assert green.view(iid)["status"] == "completed"
