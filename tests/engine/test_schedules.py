"""Scheduled processes (annual campaigns) start once per occurrence, also after downtime, and catch up the
current occurrence on first sight within the start event's ``scheduleCatchUpDays``."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
from sqlalchemy import func, select

from engine import schedules
from engine.clock import CHINA
from engine.errors import DeployError
from engine.identity import system_actor
from engine.models import DefinitionVersion, ProcessInstance, ScheduledStart
from engine.worker import TimerWorker
from tests.conftest import FIXTURES


def started(engine) -> list[dict]:
    with engine.db.session() as s:
        ids = s.scalars(select(ProcessInstance.id).where(ProcessInstance.process_id == "yearly")
                        .order_by(ProcessInstance.id)).all()
    return [engine.instance(i) for i in ids]


def test_an_annual_campaign_starts_once_per_year(wf_engine, clock):
    wf_engine.deploy(FIXTURES / "campaign", deployed_by="owner")
    clock.set("2026-02-27T00:00:00+00:00")
    assert schedules.run_due(wf_engine) == []  # registers the next occurrence
    with wf_engine.db.session() as s:
        assert s.get(ScheduledStart, "yearly").next_at.isoformat() == "2026-03-01T01:00:00+00:00"
    clock.set("2026-03-01T01:00:01+00:00")
    [first] = schedules.run_due(wf_engine)
    assert schedules.run_due(wf_engine) == []  # the same occurrence never starts twice
    [view] = started(wf_engine)
    assert view["id"] == first and view["status"] == "completed"
    assert view["data"]["scheduled_for"] == "2026-03-01T09:00:00+08:00" and view["data"]["opened_year"] == 2026
    with wf_engine.db.session() as s:
        assert s.get(ScheduledStart, "yearly").next_at.isoformat() == "2027-03-01T01:00:00+00:00"


def test_an_occurrence_missed_while_no_worker_ran_starts_when_one_does(wf_engine, clock):
    wf_engine.deploy(FIXTURES / "campaign", deployed_by="owner")
    clock.set("2026-02-01T00:00:00+00:00")
    worker = TimerWorker(wf_engine, name="w")
    worker.tick()
    clock.set("2026-05-20T00:00:00+00:00")  # the worker was down over March 1
    worker.tick()
    assert [v["data"]["scheduled_for"] for v in started(wf_engine)] == ["2026-03-01T09:00:00+08:00"]
    worker.close()


# --------------------------------------------------------------------------- first sight: scheduleCatchUpDays

def campaign_bundle(tmp_path, catch_up: str | None = "44", *, on_script: str | None = None):
    """The yearly fixture with ``scheduleCatchUpDays`` on its start event (and/or on its script task)."""
    target = tmp_path / "campaign"
    shutil.copytree(FIXTURES / "campaign", target)
    path = target / "campaign.bpmn"
    text = path.read_text()
    if catch_up is not None:
        anchor = '<spiffworkflow:property name="schedule"'
        assert anchor in text
        text = text.replace(anchor, f'<spiffworkflow:property name="scheduleCatchUpDays" value="{catch_up}" />\n'
                                    f'          {anchor}', 1)
    if on_script is not None:
        anchor = '<bpmn:scriptTask id="note" name="记录年度">'
        assert anchor in text
        text = text.replace(anchor, anchor + '<bpmn:extensionElements><spiffworkflow:properties>'
                                    f'<spiffworkflow:property name="scheduleCatchUpDays" value="{on_script}" />'
                                    '</spiffworkflow:properties></bpmn:extensionElements>', 1)
    path.write_text(text)
    return target


def registered(engine) -> ScheduledStart:
    with engine.db.session() as s:
        return s.get(ScheduledStart, "yearly")


@pytest.mark.parametrize("now", [
    "2026-03-05T10:00:00+08:00",  # four days after March 1 09:00
    "2026-03-01T09:00:00+08:00",  # the occurrence itself
    "2026-04-14T08:59:59+08:00",  # one second inside 44 days
])
def test_first_sight_inside_the_catch_up_window_starts_this_year_s_occurrence_once(wf_engine, clock, tmp_path, now):
    wf_engine.deploy(campaign_bundle(tmp_path, "44"), deployed_by="owner")
    clock.set(now)
    [first] = schedules.run_due(wf_engine)
    assert schedules.run_due(wf_engine) == []  # a second tick starts nothing
    clock.advance(days=20)
    worker = TimerWorker(wf_engine, name="w")
    worker.tick()  # nor does a later worker tick
    worker.close()
    [view] = started(wf_engine)
    assert view["id"] == first and view["status"] == "completed" and view["started_by"] == "system:scheduler"
    assert view["data"]["scheduled_for"] == "2026-03-01T09:00:00+08:00" and view["data"]["scheduled_year"] == 2026
    row = registered(wf_engine)
    assert row.next_at.isoformat() == "2027-03-01T01:00:00+00:00" and row.last_instance_id == first
    assert row.last_started_at == dt.datetime.fromisoformat(now)


@pytest.mark.parametrize("now", [
    "2026-04-14T09:00:00+08:00",  # exactly 44 days after the occurrence: outside
    "2026-04-20T10:00:00+08:00",  # after the filing deadline
    "2026-02-27T09:00:00+08:00",  # before this year's occurrence; last year's is far outside
])
def test_first_sight_after_the_window_starts_nothing_and_registers_the_next_occurrence(wf_engine, clock, tmp_path,
                                                                                       now):
    wf_engine.deploy(campaign_bundle(tmp_path, "44"), deployed_by="owner")
    clock.set(now)
    assert schedules.run_due(wf_engine) == []
    assert started(wf_engine) == []
    expected = "2026-03-01T01:00:00+00:00" if now.startswith("2026-02") else "2027-03-01T01:00:00+00:00"
    row = registered(wf_engine)
    assert row.next_at.isoformat() == expected and row.last_started_at is None


def test_without_the_property_first_sight_never_catches_up(wf_engine, clock):
    wf_engine.deploy(FIXTURES / "campaign", deployed_by="owner")
    clock.set("2026-03-05T10:00:00+08:00")
    assert schedules.run_due(wf_engine) == [] and started(wf_engine) == []
    assert registered(wf_engine).next_at.isoformat() == "2027-03-01T01:00:00+00:00"


def test_catch_up_is_only_for_first_sight(wf_engine, clock, tmp_path):
    wf_engine.deploy(FIXTURES / "campaign", deployed_by="owner")
    clock.set("2026-03-05T10:00:00+08:00")
    assert schedules.run_due(wf_engine) == []  # seen without the property: 2027 registered
    wf_engine.deploy(campaign_bundle(tmp_path, "44"), deployed_by="owner")
    clock.set("2026-03-06T10:00:00+08:00")
    assert schedules.run_due(wf_engine) == [] and started(wf_engine) == []
    assert registered(wf_engine).next_at.isoformat() == "2027-03-01T01:00:00+00:00"


def test_a_window_longer_than_the_period_starts_only_the_most_recent_occurrence(wf_engine, clock, tmp_path):
    wf_engine.deploy(campaign_bundle(tmp_path, "366"), deployed_by="owner")
    clock.set("2026-03-01T09:00:01+08:00")  # 2025-03-01 09:00 is inside 366 days too
    [first] = schedules.run_due(wf_engine)
    assert schedules.run_due(wf_engine) == []
    assert [v["data"]["scheduled_for"] for v in started(wf_engine)] == ["2026-03-01T09:00:00+08:00"]
    assert registered(wf_engine).next_at.isoformat() == "2027-03-01T01:00:00+00:00"


def test_an_instance_started_by_hand_since_the_occurrence_counts_as_its_start(wf_engine, clock, tmp_path):
    wf_engine.deploy(campaign_bundle(tmp_path, "44"), deployed_by="owner")
    clock.set("2026-03-03T10:00:00+08:00")
    by_hand = wf_engine.start("yearly", {"scheduled_for": "2026-03-01T09:00:00+08:00", "scheduled_year": 2026},
                              actor=system_actor("scheduler")).instance_id
    clock.set("2026-03-05T10:00:00+08:00")
    assert schedules.run_due(wf_engine) == []  # the worker's first tick comes after it
    assert [v["id"] for v in started(wf_engine)] == [by_hand] and wf_engine.incidents() == []
    assert registered(wf_engine).next_at.isoformat() == "2027-03-01T01:00:00+00:00"


@pytest.mark.parametrize("catch_up,on_script,message", [
    ("-1", None, "scheduleCatchUpDays must be a whole number of calendar days from 0 to 366, not '-1'"),
    ("4.5", None, "not '4.5'"),
    ("forty-four", None, "not 'forty-four'"),
    ("", None, "not ''"),
    ("367", None, "not '367'"),
    ("٤٤", None, "not '٤٤'"),  # Arabic-Indic digits are digits to Python, not to us
    (None, "10", "'scheduleCatchUpDays' is only allowed on a timer start event with a 'schedule' property"),
])
def test_a_bad_catch_up_property_is_refused_at_deploy(wf_engine, tmp_path, catch_up, on_script, message):
    with pytest.raises(DeployError) as err:
        wf_engine.deploy(campaign_bundle(tmp_path, catch_up, on_script=on_script), deployed_by="owner")
    [problem] = err.value.problems
    assert problem.file == "campaign.bpmn" and message in problem.message
    assert problem.element == ("note" if on_script else "start") and problem.line
    with wf_engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DefinitionVersion)) == 0


def test_zero_days_is_accepted_and_behaves_as_without_the_property(wf_engine, clock, tmp_path):
    wf_engine.deploy(campaign_bundle(tmp_path, "0"), deployed_by="owner")
    clock.set("2026-03-01T09:00:00+08:00")
    assert schedules.run_due(wf_engine) == []
    assert registered(wf_engine).next_at.isoformat() == "2027-03-01T01:00:00+00:00"


# --------------------------------------------------------------------------- the shipped diagrams

SHIPPED_CATCH_UP = {  # process: (occurrence MM-DD 09:00, catch-up days, deadline: the last day, until 24:00)
    "annual_table_campaign": ("03-01", 44, "04-15"),
    "evaluator_work_report": ("04-01", 28, "04-30"),
    "national_recommendation": ("06-01", 59, "07-31"),
}


def test_the_shipped_schedules_catch_up_only_while_a_day_before_the_deadline_remains(green):
    settings = schedules.schedule_settings(green.engine)
    assert {pid: days for pid, (_, days) in settings.items()} == {
        pid: days for pid, (_, days, _) in SHIPPED_CATCH_UP.items()}
    for pid, (month_day, days, deadline) in SHIPPED_CATCH_UP.items():
        assert settings[pid][0] == f'next_month_day("{month_day}", at="09:00")'
        occurrence = dt.datetime.fromisoformat(f"2026-{month_day}T09:00:00+08:00")
        last_start = occurrence + dt.timedelta(days=days)
        deadline_day = dt.date.fromisoformat(f"2026-{deadline}")
        assert last_start.date() == deadline_day - dt.timedelta(days=1), pid  # the window ends the day before


def test_a_system_first_started_on_march_5_still_opens_this_year_s_annual_table_campaign(green):
    from handlers import demo
    from handlers.records import Listing, Unit

    unit = demo.UNITS[0]
    now = dt.datetime(2026, 3, 5, 10, 0, tzinfo=CHINA)
    green.engine.clock.set(now)
    with green.engine.db.unit_of_work() as s:
        s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                   industry_code=unit.industry, created_at=now))
        s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level="city", scope="520300", year=2025,
                      status="listed", listed_at=now - dt.timedelta(days=100)))
    first_tick = schedules.run_due(green.engine)
    assert [green.view(i)["process_id"] for i in first_tick] == ["annual_table_campaign"]  # the others are not due
    assert schedules.run_due(green.engine) == []
    view = green.view(first_tick[0])
    assert (view["data"]["scheduled_for"], view["data"]["scheduled_year"]) == ("2026-03-01T09:00:00+08:00", 2026)
    assert view["status"] == "running" and green.engine.incidents() == []
    [task] = [t for t in view["tasks"] if t["status"] == "open"]
    assert (task["bpmn_id"], task["scope"]) == ("fill_annual_table", f"unit:{unit.credit_code}")
    with green.engine.db.session() as s:
        rows = {r.process_id: r.next_at.astimezone(CHINA).isoformat() for r in s.scalars(select(ScheduledStart))}
    assert rows == {"annual_table_campaign": "2027-03-01T09:00:00+08:00",
                    "evaluator_work_report": "2026-04-01T09:00:00+08:00",
                    "national_recommendation": "2026-06-01T09:00:00+08:00"}
