"""办理时限 from config/deadlines.toml: due dates, reminders and escalation of the steps the regulation
leaves without a period (专家评审, 修改申报材料, the bureaus' opinions, …), like the review steps."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import config
from engine import deadlines
from engine import deploy as engine_deploy
from engine.errors import DeployError
from engine.models import Outbox
from engine.notifications import fanout
from engine.notifications.models import Notification, TaskDeadline
from handlers import demo
from tests.scenarios.driver import BPMN, BUREAUS, NO_OBJECTION, PASS

UTC = dt.timezone.utc


def queued(engine, kind: str) -> list[dict]:
    with engine.db.session() as s:
        return [o.payload for o in s.scalars(select(Outbox).where(Outbox.kind == "notification").order_by(Outbox.id))
                if o.payload.get("kind") == kind and o.payload.get("deadline")]


def deadline_of(engine, task_id: int) -> TaskDeadline:
    with engine.db.session() as s:
        return s.get(TaskDeadline, task_id)


def test_every_step_the_issue_names_has_a_deadline_in_config():
    table = config.deadlines()
    meta = engine_deploy.analyse(engine_deploy.read_directory(BPMN), known_roles=config.role_keys()).meta
    named = {(pid, tid): t.get("deadline") for pid, p in meta["processes"].items() for tid, t in p["tasks"].items()}
    expected = {("public_notice", "review_objection"): "objection_verification",
                ("expert_scoring", "expert_score"): "expert_score",  # each panel expert's score (第十八条)
                ("green_application", "panel_staffing"): "panel_staffing",
                ("review_step", "amend"): "amendment",
                ("green_application", "site_check"): "site_check",
                ("green_application", "recommend_national"): "national_recommendation",
                ("green_application", "city_consultation_decision"): "consultation_decision",
                ("green_application", "province_consultation_decision"): "consultation_decision",
                **{("bureau_consultation", branch): "bureau_opinion" for branch in BUREAUS}}
    for key, name in expected.items():
        assert named[key] == name, key
        assert table[name]["working_days"] > table[name].get("remind_after", 0) > 0


def test_expert_scores_are_due_in_working_days_remind_their_expert_then_escalate_once(green):
    engine = green.engine
    iid = green.to_panel(demo.UNITS[3])
    tasks = green.panel_tasks(iid)  # one per drawn expert, assigned to them (第十八条)
    # opened Monday 2026-03-02: 15 working days → Monday 03-23 18:00, reminder after 12 → 03-18 18:00
    for task in tasks:
        assert task.due_at == dt.datetime(2026, 3, 23, 10, 0, tzinfo=UTC)
        assert deadline_of(engine, task.id).remind_at == dt.datetime(2026, 3, 18, 10, 0, tzinfo=UTC)
    assert deadlines.sweep(engine.db, engine.clock) == {"reminders": 0, "escalations": 0}

    engine.clock.set(dt.datetime(2026, 3, 18, 10, 0, 1, tzinfo=UTC))
    assert deadlines.sweep(engine.db, engine.clock) == {"reminders": 3, "escalations": 0}
    reminders = queued(engine, "reminder")
    assert sorted((r["task_id"], r["to"]) for r in reminders) == sorted((t.id, t.assignee) for t in tasks)
    assert {(r["role"], r["scope"]) for r in reminders} == {("expert", "520000")}
    assert all(r["message_zh"].startswith("「专家评分」即将到期，请及时办理") for r in reminders)
    assert "办理时限15个工作日" in reminders[0]["message_zh"] and "2026年3月23日 18:00" in reminders[0]["message_zh"]

    engine.clock.set(dt.datetime(2026, 3, 23, 10, 0, 1, tzinfo=UTC))
    assert deadlines.sweep(engine.db, engine.clock) == {"reminders": 0, "escalations": 3}
    escalations = queued(engine, "escalation")
    assert {(e["role"], e["scope"]) for e in escalations} == {("province_official", "520000")}
    assert "已超过办理时限仍未办结，请督促办理" in escalations[0]["message_zh"]
    assert deadlines.sweep(engine.db, engine.clock) == {"reminders": 0, "escalations": 0}  # once each

    fanout.fan_out(engine.db, engine.clock, mail=False)
    with engine.db.session() as s:
        got = {(n.username, n.kind) for n in s.scalars(select(Notification))}
    # each expert is reminded of their own score only; the province is told of the overdue ones
    assert got == {*((t.assignee, "reminder") for t in tasks), ("province", "escalation"), ("province-b", "escalation")}


def test_an_overdue_amendment_goes_to_the_reviewer_who_returned_it(green):
    engine = green.engine
    unit = demo.UNITS[1]
    iid = green.apply(unit)
    green.step(iid, "review", {"decision": "return", "reason": "请补充能源计量器具配备情况"})
    amend = green.task(iid, "amend")
    assert amend.due_at is not None and deadline_of(engine, amend.id).escalate_to == "returner"

    engine.clock.set(amend.due_at + dt.timedelta(seconds=1))
    # both times have passed (a worker that was down): the escalation says more, the reminder is skipped
    assert deadlines.sweep(engine.db, engine.clock) == {"reminders": 0, "escalations": 1}
    [escalation] = queued(engine, "escalation")
    assert (escalation["role"], escalation["scope"]) == ("county_official", unit.county)
    assert "请联系申报单位督促办理" in escalation["message_zh"]


def test_overdue_bureau_opinions_go_to_the_consulting_department_and_answered_ones_do_not(green):
    engine = green.engine
    unit = demo.UNITS[0]
    iid = green.apply(unit)
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.step(iid, "opinion_eco", NO_OBJECTION)
    due = green.task(iid, "opinion_tax").due_at
    assert due == dt.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # 5 working days (was 5 calendar days)

    engine.clock.set(due + dt.timedelta(seconds=1))
    assert deadlines.sweep(engine.db, engine.clock) == {"reminders": 0, "escalations": 3}
    city = "520300"
    assert {(p["role"], p["scope"]) for p in queued(engine, "escalation")} == {("city_official", city)}
    assert sorted(p["task_name"] for p in queued(engine, "escalation")) == sorted(
        ["应急管理部门意见", "市场监管部门意见", "税务部门意见"])


def test_a_claimed_task_reminds_its_holder_only(green):
    engine = green.engine
    iid = green.to_panel(demo.UNITS[3])
    green.panel(iid, [80, 82, 84], site_check=True)
    task = green.task(iid, "site_check")  # the province's site check, claimed by one of its two officials
    engine.claim(task.id, actor=engine.actor("province-b"))
    engine.clock.set(deadline_of(engine, task.id).remind_at + dt.timedelta(seconds=1))
    deadlines.sweep(engine.db, engine.clock)
    [reminder] = queued(engine, "reminder")
    assert reminder["to"] == "province-b"


@pytest.mark.parametrize("change, message", [
    ('name="deadline" value="site_check"', "unknown deadline 'no_such_period'"),
    ('name="deadline" value="site_check"/><spiffworkflow:property name="dueInWorkingDays" value="3"',
     "remove dueInWorkingDays"),
])
def test_deploy_refuses_an_unknown_deadline_or_a_second_due_date(change, message):
    files = engine_deploy.read_directory(BPMN)
    xml = files["green_application.bpmn"].decode()
    replacement = change.replace("site_check", "no_such_period") if "unknown" in message else change
    files["green_application.bpmn"] = xml.replace('name="deadline" value="site_check"', replacement).encode()
    with pytest.raises(DeployError) as err:
        engine_deploy.analyse(files, known_roles=config.role_keys())
    assert any(message in p.message and p.element == "site_check" for p in err.value.problems)


@pytest.mark.parametrize("entry, message", [
    ({"working_days": 0}, "working_days must be a whole number from 1 to 999"),
    ({"working_days": 5, "remind_after": 5}, "remind_after must be a whole number from 1 to 4"),
    ({"working_days": 5, "escalate_to": "mayor"}, "escalate_to must be one of supervisor, organiser, returner"),
])
def test_a_malformed_deadline_table_names_the_entry_and_key(entry, message):
    previous = deadlines._SOURCE[:]
    deadlines.deadline_source(lambda: {"broken": entry})
    try:
        with pytest.raises(ValueError, match=message):
            deadlines.policies()
    finally:
        deadlines._SOURCE[:] = previous
