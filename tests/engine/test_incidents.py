"""Incidents: a caller's bad text never opens one, the status follows the state, operators close them
with a note in the history (both databases, on the small fixture diagram)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import incidents
from engine.commands import ClaimTask, CommentTask, StartInstance
from engine.errors import Conflict, InvalidInput, InvalidText, NotFound
from engine.incidents import IncidentRaised
from engine.models import Event, Incident, ProcessInstance
from tests.engine.test_commands import APPLICANT, COUNTY, ECO, FAIL, TAX, mini, open_task, start  # noqa: F401


def snapshot(engine, iid: int) -> tuple:
    """What a refused command must leave untouched: row version, status, events, incidents."""
    with engine.db.session() as s:
        row = s.get(ProcessInstance, iid)
        events = s.scalar(select(func.count()).select_from(Event).where(Event.instance_id == iid))
        opened = s.scalar(select(func.count()).select_from(Incident))
        return row.row_version, row.status, events, opened


def status_of(engine, iid: int) -> str:
    with engine.db.session() as s:
        return s.get(ProcessInstance, iid).status


def events_of(engine, iid: int, kind: str) -> list[dict]:
    return [e for e in engine.instance(iid)["events"] if e["type"] == kind]


def legacy_incident(engine, command, actor, iid: int | None, error: BaseException | None = None) -> int:
    """An incident as the engine recorded it before this input was refused at the door."""
    if error is None:
        try:
            "\ud800".encode()
        except UnicodeEncodeError as exc:
            error = exc
    return incidents.record(engine, command, actor, iid, error)


def fail_review(engine) -> tuple[int, int, int]:
    """An instance whose county review failed in its service task: (instance, review task, incident)."""
    iid = start(engine)
    engine.complete(open_task(engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    engine.complete(open_task(engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    review = open_task(engine, iid, "review")
    FAIL["echo"] = True
    with pytest.raises(IncidentRaised) as err:
        engine.complete(review.id, {"decision": "pass"}, actor=COUNTY)
    FAIL["echo"] = False
    assert status_of(engine, iid) == "incident"
    return iid, review.id, err.value.incident_id


# --- a caller's bad text: refused first, nothing written, never an incident ---------------------

@pytest.mark.parametrize("call, field", [
    (lambda e, t: e.comment(t, "\ud800", actor=ECO), "text"),
    (lambda e, t: e.transfer(t, "\udfff", actor=ECO), "to_user"),
    (lambda e, t: e.complete(t, {"\ud800": 1}, actor=ECO), "data.\\ud800"),
    (lambda e, t: e.complete(t, {"opinion": "no_objection", "reason": ["ok", "a\x00b"]}, actor=ECO),
     "data.reason.1"),
    (lambda e, t: e.complete(t, {"opinion": float("nan")}, actor=ECO), "data.opinion"),
    (lambda e, t: e.cc(t, ["\udc80x"], actor=ECO), "to_users.0"),
])
def test_text_that_is_not_valid_is_refused_before_anything_runs(wf_engine, mini, call, field):
    iid = start(wf_engine)
    task = open_task(wf_engine, iid, "eco")
    before = snapshot(wf_engine, iid)
    with pytest.raises(InvalidText) as err:
        call(wf_engine, task.id)
    assert err.value.http_status == 400 and field in err.value.fields
    err.value.message.encode("utf-8")  # the message itself can always be encoded
    assert snapshot(wf_engine, iid) == before
    assert wf_engine.incidents(status=None) == []


def test_a_start_with_bad_text_is_refused_and_opens_nothing(wf_engine, mini):
    with pytest.raises(InvalidText) as err:
        wf_engine.start("mini", {"code": "X1", "county": "520302\ud800", "divisor": 1}, actor=APPLICANT)
    assert "data.county" in err.value.fields
    assert wf_engine.incidents(status=None) == []
    with wf_engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0


# --- the status follows the state ---------------------------------------------------------------

def test_a_later_successful_command_supersedes_the_incident(wf_engine, mini):
    iid, review, incident_id = fail_review(wf_engine)
    # A comment succeeds, but the failed completion could still fail: the instance stays in incident.
    assert wf_engine.comment(review, "正在核实", actor=COUNTY).status == "incident"
    outcome = wf_engine.complete(review, {"decision": "pass"}, actor=COUNTY)  # the service is back
    assert outcome.status == "waiting" and status_of(wf_engine, iid) == "waiting"
    [incident] = wf_engine.incidents(status=None)
    assert incident["id"] == incident_id and incident["status"] == "resolved"
    assert incident["resolved_by"] == "county"
    assert incident["note"].startswith("superseded by a later successful command (CompleteTask by county)")
    assert f"task {review} is completed" in incident["note"]
    [event] = events_of(wf_engine, iid, "incident_resolved")
    assert event["payload"]["how"] == "superseded" and event["payload"]["incident_id"] == incident_id
    assert wf_engine.verify_history(iid).ok


def test_an_incident_whose_input_can_never_run_is_settled_by_the_next_command(wf_engine, mini):
    """The issue's example, recorded before the fix: a comment "\\ud800" stuck the instance."""
    iid = start(wf_engine)
    eco = open_task(wf_engine, iid, "eco")
    incident_id = legacy_incident(wf_engine, CommentTask(task_id=eco.id, text="\ud800"), ECO, iid)
    assert status_of(wf_engine, iid) == "incident"
    outcome = wf_engine.claim(eco.id, actor=ECO)  # touches no workflow state
    assert outcome.status == "running"
    [incident] = wf_engine.incidents(status=None)
    assert incident["id"] == incident_id and incident["status"] == "resolved"
    assert "not valid Unicode text" in incident["note"] and "can never run" in incident["note"]
    assert wf_engine.verify_history(iid).ok


def test_the_instance_stays_in_incident_while_another_incident_is_open(wf_engine, mini):
    iid, review, first = fail_review(wf_engine)
    second = legacy_incident(wf_engine, ClaimTask(task_id=review), COUNTY, iid, RuntimeError("lock service down"))
    wf_engine.dismiss_incident(first, note="误报", operator="ops")
    assert status_of(wf_engine, iid) == "incident"
    view = wf_engine.resolve_incident(second, note="锁服务已恢复", operator="ops")
    assert view["instance_status"] == "running" and status_of(wf_engine, iid) == "running"


# --- retry ---------------------------------------------------------------------------------------

def test_retry_of_a_command_that_can_no_longer_run_resolves_it_with_a_note(wf_engine, mini):
    iid = start(wf_engine)
    eco = open_task(wf_engine, iid, "eco")
    wf_engine.complete(eco.id, {"opinion": "no_objection"}, actor=ECO)
    # Recorded while the completion held the lock: by the time it is written, its task is done.
    incident_id = legacy_incident(wf_engine, ClaimTask(task_id=eco.id), ECO, iid, RuntimeError("timeout"))
    assert status_of(wf_engine, iid) == "incident"
    outcome = wf_engine.retry_incident(incident_id, operator="ops")
    assert outcome.result["ran"] is False and outcome.status == "running"
    [incident] = wf_engine.incidents(status=None)
    assert incident["status"] == "resolved" and incident["resolved_by"] == "ops"
    assert "can no longer run" in incident["note"] and "already completed" in incident["note"]
    [event] = events_of(wf_engine, iid, "incident_resolved")
    assert event["actor"] == "ops" and event["payload"]["how"] == "obsolete"
    assert wf_engine.verify_history(iid).ok
    with pytest.raises(Conflict):
        wf_engine.retry_incident(incident_id, operator="ops")


def test_retry_of_bad_text_recorded_before_the_fix_resolves_it(wf_engine, mini):
    iid = start(wf_engine)
    eco = open_task(wf_engine, iid, "eco")
    incident_id = legacy_incident(wf_engine, CommentTask(task_id=eco.id, text="\ud800"), ECO, iid)
    outcome = wf_engine.retry_incident(incident_id, operator="ops")
    assert outcome.result["ran"] is False and "invalid_text" in outcome.result["note"]
    assert status_of(wf_engine, iid) == "running"
    assert wf_engine.verify_history(iid).ok


def test_a_successful_retry_is_recorded_in_the_history(wf_engine, mini):
    iid, review, incident_id = fail_review(wf_engine)
    assert wf_engine.retry_incident(incident_id, operator="ops").status == "waiting"
    [event] = events_of(wf_engine, iid, "incident_resolved")
    assert event["actor"] == "ops" and event["payload"] == {
        "incident_id": incident_id, "command": "CompleteTask", "task": "svc", "how": "retry",
        "note": "retried successfully by ops"}
    assert wf_engine.verify_history(iid).ok


# --- operators: resolve / dismiss with a note ---------------------------------------------------

def test_resolve_and_dismiss_need_a_note_and_an_open_incident(wf_engine, mini):
    iid, _, incident_id = fail_review(wf_engine)
    before = snapshot(wf_engine, iid)
    for note in ("", "   ", None):
        with pytest.raises(InvalidInput) as err:
            wf_engine.resolve_incident(incident_id, note=note, operator="ops")
        assert "note" in err.value.fields
    with pytest.raises(InvalidText):
        wf_engine.dismiss_incident(incident_id, note="\ud800", operator="ops")
    with pytest.raises(InvalidInput):
        wf_engine.dismiss_incident(incident_id, note="x" * 2001, operator="ops")
    with pytest.raises(NotFound):
        wf_engine.resolve_incident(999, note="x", operator="ops")
    assert snapshot(wf_engine, iid) == before

    view = wf_engine.dismiss_incident(incident_id, note="  已电话告知县局重新提交  ", operator="ops")
    assert view["status"] == "dismissed" and view["note"] == "已电话告知县局重新提交"
    assert view["resolved_by"] == "ops" and view["instance_status"] == "running"
    [event] = events_of(wf_engine, iid, "incident_dismissed")
    assert event["actor"] == "ops" and event["payload"]["note"] == "已电话告知县局重新提交"
    assert event["payload"]["how"] == "operator"
    assert wf_engine.verify_history(iid).ok
    with wf_engine.db.session() as s:
        assert s.get(ProcessInstance, iid).row_version == before[0]  # the state did not change
    with pytest.raises(Conflict):
        wf_engine.resolve_incident(incident_id, note="again", operator="ops")


def test_a_failed_start_is_closed_without_history(wf_engine, mini):
    incident_id = legacy_incident(wf_engine, StartInstance(process_id="mini", data={}), APPLICANT, None,
                                  RuntimeError("spec cache cold"))
    view = wf_engine.resolve_incident(incident_id, note="已重新部署", operator="ops")
    assert view["status"] == "resolved" and view["instance_id"] is None and view["process_id"] == "mini"
