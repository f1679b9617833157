"""Replay: re-executing a recorded history on an empty scratch database matches the record at every
step — and a record that was altered, or code that would now act differently, is caught (both databases)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from engine import calendar
from engine.commands import complete as complete_command
from engine.identity import public_actor
from engine.incidents import IncidentRaised
from engine.models import Event, HumanTask
from engine.replay import replay, replay_many, steps_of
from engine.replay.replayer import instance_ids, record_run
from engine.replay.models import ReplayCalendar, ReplayRun
from handlers import demo
from tests.engine.test_commands import COUNTY, ECO, FAIL, TAX, mini, open_task, start  # noqa: F401  (mini: a fixture)
from tests.scenarios.driver import PASS

OBJECTION_UPHELD = {"upheld": True, "finding": "经核实确有2025年环境行政处罚", "reply": "异议成立，取消拟列入"}


def upheld_objection(green) -> int:
    """A city application: returned once, amended, passed, consulted, objected, objection upheld, notice ended."""
    iid = green.apply(demo.UNITS[5])
    green.step(iid, "review", {"decision": "return", "reason": "请补充能源计量器具配备情况"})
    green.step(iid, "amend", {"energy_tce": 1750.0, "amend_note": "已补充计量器具清单"})
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid)
    green.object(iid)
    green.step(iid, "review_objection", OBJECTION_UPHELD)
    green.end_notice()
    return iid


def events(engine, iid: int) -> list[dict]:
    return engine.instance(iid)["events"]


def test_an_application_with_an_upheld_objection_replays_without_divergence(green):
    iid = upheld_objection(green)
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["outcome"] == "removed_after_notice"

    result = replay(green.engine, iid)
    assert result.matched, result.first_divergence
    assert result.commands == 12  # start, 4 reviews and the amendment, 4 bureaus, objection, its review, timer


def test_steps_rebuild_the_data_positions_and_inbox_at_every_step(green):
    iid = upheld_objection(green)
    steps = steps_of(events(green.engine, iid))
    assert [s.type for s in steps][:3] == ["instance_started", "task_completed", "task_completed"]
    # Right after the start: the county's review is open and active in the review sub-process.
    first = steps[0]
    assert [(t.bpmn_id, t.role, t.scope) for t in first.tasks] == [("review", "county_official", "520402")]
    assert "review" in first.active["review_step"] and first.data["application"]["unit_name"] == demo.UNITS[5].name
    # The return: the amendment opens for the applicant; the decision is in the step's data changes.
    returned = steps[1]
    assert [t.bpmn_id for t in returned.tasks] == ["amend"] and returned.task.outcome == "return"
    # During the notice the instance waits for its end (a timer) and for objections (a message).
    objected = next(s for s in steps if s.type == "message_received")
    notice = steps[steps.index(objected) - 1]
    assert notice.timers and notice.messages == ["notice_objection"] and notice.tasks == []
    # The objection arrives, and its review opens.
    assert any(c.key == "objection" and c.kind == "added" for c in objected.changes)
    assert [t.bpmn_id for t in objected.tasks] == ["review_objection"]
    reviewed = steps[steps.index(objected) + 1]
    before, after = objected.data, reviewed.data
    assert len(after["objections"]) == len(before.get("objections") or []) + 1
    assert after["objections"][-1]["upheld"] is True
    # The last step holds the data the instance completed with, and nothing is open any more.
    last = steps[-1]
    assert last.type == "timer_fired" and last.data == green.view(iid)["data"] and last.tasks == []
    assert last.active == {} and last.waiting == {}


def test_late_completions_count_working_days(green):
    iid = green.apply(demo.UNITS[0])
    green.engine.clock.advance(days=30)  # far past the county's due date (10 working days)
    green.step(iid, "review", PASS)
    with green.engine.db.session() as s:
        working = calendar.load_calendar(s)
    steps = steps_of(events(green.engine, iid), calendar=working)
    assert steps[1].late is True and steps[1].late_working_days >= 10
    assert steps[0].late is None


def test_collaboration_commands_replay(green):
    eng = green.engine
    iid = green.apply(demo.UNITS[0])
    task = green.task(iid, "review")
    county, colleague = "county-520302", "county-520302-b"
    eng.claim(task.id, actor=eng.actor(county))
    eng.release(task.id, actor=eng.actor(county))
    eng.cc(task.id, ["city-520300"], actor=eng.actor(county), note="请关注")
    eng.comment(task.id, "材料已核", actor=eng.actor(county))
    eng.transfer(task.id, colleague, actor=eng.actor(county), note="请接办")
    eng.delegate(task.id, county, actor=eng.actor(colleague), note="请拟意见")
    eng.resolve_delegation(task.id, PASS, actor=eng.actor(county), note="拟同意")
    eng.urge(task.id, actor=eng.actor("city-520300"), note="请尽快")
    eng.complete(task.id, PASS, actor=eng.actor(colleague))
    result = replay(eng, iid)
    assert result.matched, result.first_divergence
    assert result.commands == 10
    steps = steps_of(events(eng, iid))
    resolved = next(s for s in steps if s.type == "delegation_resolved")
    assert resolved.on_behalf_of == colleague and resolved.task.owner is None


def test_buffered_messages_services_and_a_retried_incident_replay(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.deliver(iid, "go", {"by": "early"}, actor=COUNTY)  # nothing waits yet: buffered
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    FAIL["echo"] = True
    with pytest.raises(IncidentRaised) as raised:
        wf_engine.complete(open_task(wf_engine, iid, "review").id, {"decision": "pass"}, actor=COUNTY)
    FAIL["echo"] = False
    wf_engine.retry_incident(raised.value.incident_id, operator="owner")
    view = wf_engine.instance(iid)
    assert view["status"] == "completed" and view["data"]["go"] == {"by": "early"}
    result = replay(wf_engine, iid)
    assert result.matched, result.first_divergence
    # The service's result was recorded, and the replay handed it back instead of calling the service.
    [called] = [e["payload"] for e in view["events"] if e["type"] == "service_called"]
    assert called["op"] == "test_echo" and called["result"] == {"value": 2}


def test_a_cancelled_instance_replays(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    from engine.commands import CancelInstance

    wf_engine.execute(CancelInstance(instance_id=iid, reason="申报单位撤回申请"), actor=COUNTY)
    assert replay(wf_engine, iid).matched


# --- what replay catches ------------------------------------------------------------------------------

def _edit_event(engine, iid: int, kind: str, edit, nth: int = 0) -> int:
    with engine.db.unit_of_work() as s:
        event = s.scalars(select(Event).where(Event.instance_id == iid, Event.type == kind)
                          .order_by(Event.seq)).all()[nth]
        payload = json.loads(event.payload)
        edit(payload)
        event.payload = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return event.seq


def test_an_altered_decision_diverges_at_that_event(green):
    iid = upheld_objection(green)
    seq = _edit_event(green.engine, iid, "task_completed", lambda p: p["data"].update(decision="pass"))
    result = replay(green.engine, iid)
    assert not result.matched
    # Passing instead of returning opens the city's review, not the amendment: the first event it opens differs.
    assert result.first_divergence.seq > seq and result.first_divergence.event_type == "task_opened"


def test_altered_step_data_diverges_at_the_step(green):
    iid = upheld_objection(green)

    def edit(payload):
        payload["data"]["set"]["review_opinion"] = "（篡改）"

    seq = _edit_event(green.engine, iid, "step", edit, nth=1)
    result = replay(green.engine, iid)
    assert not result.matched
    assert (result.first_divergence.seq, result.first_divergence.where) == (seq, "payload.data.set.review_opinion")
    assert result.first_divergence.recorded == "（篡改）"


def test_an_altered_service_result_changes_what_the_replay_does(green):
    iid = upheld_objection(green)
    seq = _edit_event(green.engine, iid, "service_called", lambda p: p["result"].update(eligible=False))
    result = replay(green.engine, iid)
    assert not result.matched and result.first_divergence.seq == 1  # refused at once: another path, other calls
    assert seq > 1


def test_results_and_stored_rows_that_disagree_with_the_history_are_caught(green):
    iid = upheld_objection(green)
    with green.engine.db.session() as s:
        nth = [json.loads(e.payload)["op"] for e in s.scalars(select(Event).where(
            Event.instance_id == iid, Event.type == "service_called").order_by(Event.seq))].index("record_outcome")
    _edit_event(green.engine, iid, "service_called", lambda p: p["result"].update(decided_at="2020-01-01"), nth=nth)
    found = replay(green.engine, iid).first_divergence  # every step agrees until the data it completed with
    assert (found.event_type, found.where) == ("instance_completed", "payload.data.outcome_record.decided_at")
    assert found.replayed == "2020-01-01"

    other = green.apply(demo.UNITS[0])
    with green.engine.db.unit_of_work() as s:
        s.scalar(select(HumanTask).where(HumanTask.instance_id == other)).assignee = "county-520302-b"
    found = replay(green.engine, other).first_divergence
    assert found is not None and found.seq is None and found.where.endswith(".assignee")


def test_a_handler_that_now_acts_differently_diverges(green, monkeypatch):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", {"decision": "return", "reason": "补充材料"})
    monkeypatch.setattr(complete_command, "OUTCOME_KEYS", ("outcome",))  # a task's outcome no longer its decision
    result = replay(green.engine, iid)
    assert not result.matched and result.first_divergence.where.endswith(".outcome")


def test_a_history_from_before_step_records_says_so(green):
    iid = green.apply(demo.UNITS[0])
    with green.engine.db.unit_of_work() as s:
        s.execute(delete(Event).where(Event.instance_id == iid, Event.type == "step"))
    result = replay(green.engine, iid)
    assert not result.matched and "before step records" in result.first_divergence.message


def test_replay_counts_working_days_on_the_calendar_the_command_read(green):
    iid = green.apply(demo.UNITS[0])
    with green.engine.db.session() as s:
        assert s.scalars(select(ReplayCalendar)).all()  # the calendar the start read is kept
        year = calendar.load_calendar(s).get_year(2026)
    # 2026 re-imported with one more holiday: the recorded due dates stay right, replay still agrees.
    changed = calendar.CalendarYear(2026, {**year.holidays, __import__("datetime").date(2026, 3, 3): "测试"},
                                    year.workdays, "test")
    with green.engine.db.unit_of_work() as s:
        calendar.import_year(s, changed, by="test")
    assert replay(green.engine, iid).matched


def test_replay_many_reports_n_replayed_m_diverged_and_keeps_the_run(green):
    bad, good = upheld_objection(green), green.apply(demo.UNITS[0])
    _edit_event(green.engine, bad, "task_completed", lambda p: p["data"].update(decision="pass"))
    report = replay_many(green.engine, instance_ids(green.engine))
    assert report.summary() == f"{report.replayed} replayed, 1 diverged" and set(report.failures) == {bad}
    assert report.replayed == 2
    assert replay_many(green.engine, [good, bad], stop_on_first=True).replayed == 1  # in id order: bad first
    run_id = record_run(green.engine, report, by="auditor", scope="all")
    with green.engine.db.session() as s:
        run = s.get(ReplayRun, run_id)
        assert (run.replayed, run.diverged, run.report["divergences"][0]["instance_id"]) == (report.replayed, 1, bad)


def test_a_public_objection_is_replayed_with_what_its_hook_recorded(green):
    iid = green.to_notice(demo.UNITS[0])
    green.engine.deliver(iid, "notice_objection", {"name": "王某", "id_number": "520102199001011234",
                                                   "contact": "13800000000", "matter": "扬尘", "evidence": "照片"},
                         actor=public_actor("objector"))
    recorded = [e for e in events(green.engine, iid) if e["type"] == "message_received"][0]["payload"]
    assert recorded["payload"]["objection_id"]  # the hook filed it and added its id
    assert replay(green.engine, iid).matched
