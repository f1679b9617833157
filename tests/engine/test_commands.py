"""The path of one command, on the small fixture diagram (both databases)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, InvalidInput, NotPermitted
from engine.identity import Actor, upsert_user
from engine.incidents import IncidentRaised
from engine.models import BufferedMessage, HumanTask, ProcessInstance
from engine.services import script_function, service_task
from tests.conftest import FIXTURES

FAIL = {"echo": False, "bonus": False}


@script_function("test_bonus")
def _bonus():
    if FAIL["bonus"]:
        raise LookupError("bonus table not loaded")
    return 0


@service_task("test_echo")
def _echo(ctx, *, value):
    if FAIL["echo"]:
        raise RuntimeError("the echo service is down")
    ctx.record("echoed", value=value)
    return {"value": value}


def actor(username, *grants):
    return Actor(username=username, grants=frozenset(grants))


APPLICANT = actor("ent", ("applicant", "unit:X1"))
ECO = actor("eco", ("bureau_eco", "520302"))
TAX = actor("tax", ("bureau_tax", "520302"))
COUNTY = actor("county", ("county_official", "520302"))
COUNTY2 = actor("county2", ("county_official", "520302"))
OTHER_COUNTY = actor("zunyi", ("county_official", "520303"))


@pytest.fixture
def mini(wf_engine):
    FAIL["echo"] = FAIL["bonus"] = False
    result = wf_engine.deploy(FIXTURES / "mini", deployed_by="owner")
    with wf_engine.db.unit_of_work() as s:
        for a in (APPLICANT, ECO, TAX, COUNTY, COUNTY2, OTHER_COUNTY):
            upsert_user(s, a.username, display_name=a.username, grants=list(a.grants))
    return result


def start(engine):
    return engine.start("mini", {"code": "X1", "county": "520302", "divisor": 1}, actor=APPLICANT).instance_id


def open_task(engine, instance_id, bpmn_id):
    with engine.db.session() as s:
        return s.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id,
                                                HumanTask.status == "open"))


def test_deploying_identical_content_is_a_no_op(wf_engine, mini):
    again = wf_engine.deploy(FIXTURES / "mini", deployed_by="owner")
    assert mini.created and not again.created
    assert again.version_id == mini.version_id


def test_parallel_tasks_get_role_scope_and_due_date(wf_engine, mini, clock):
    iid = start(wf_engine)
    eco, tax = open_task(wf_engine, iid, "eco"), open_task(wf_engine, iid, "tax")
    assert (eco.role, eco.scope) == ("bureau_eco", "520302")
    assert (tax.role, tax.scope) == ("bureau_tax", "520302")
    assert eco.due_at is not None and tax.due_at is None
    assert eco.due_at.replace(tzinfo=None) == (clock.now().replace(tzinfo=None) + __import__("datetime").timedelta(days=5))


def test_full_run_with_message_and_hash_chain(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    outcome = wf_engine.complete(open_task(wf_engine, iid, "review").id, {"decision": "pass"}, actor=COUNTY)
    assert outcome.status == "waiting"
    wf_engine.deliver(iid, "go", {"by": "test"}, actor=COUNTY)
    view = wf_engine.instance(iid)
    assert view["status"] == "completed"
    assert view["data"]["echo"] == {"value": 2} and view["data"]["go"] == {"by": "test"}
    types = [e["type"] for e in view["events"]]
    assert types[0] == "instance_started"
    assert types.count("task_completed") == 3 and "echoed" in types and types[-1] == "instance_completed"
    completed = [e for e in view["events"] if e["type"] == "task_completed"]
    assert completed[-1]["actor"] == "county" and completed[-1]["payload"]["data"] == {"decision": "pass"}
    assert wf_engine.verify_history(iid).ok


def test_tampering_with_an_event_breaks_the_chain(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "objection", "reason": "x"}, actor=ECO)
    from engine.models import Event

    with wf_engine.db.unit_of_work() as s:
        event = s.scalar(select(Event).where(Event.instance_id == iid, Event.type == "task_completed"))
        event.payload = event.payload.replace("objection", "no_objection")
    check = wf_engine.verify_history(iid)
    assert not check.ok and check.first_bad_seq == event.seq


def test_bad_form_data_names_the_field_and_changes_nothing(wf_engine, mini):
    iid = start(wf_engine)
    task = open_task(wf_engine, iid, "eco")
    with wf_engine.db.session() as s:
        before = s.get(ProcessInstance, iid).row_version
    with pytest.raises(InvalidInput) as err:
        wf_engine.complete(task.id, {"opinion": "maybe"}, actor=ECO)
    assert "opinion" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        wf_engine.complete(task.id, {"opinion": "no_objection", "extra": 1}, actor=ECO)
    with wf_engine.db.session() as s:
        assert s.get(ProcessInstance, iid).row_version == before
        assert s.get(HumanTask, task.id).status == "open"


def test_official_of_another_county_may_not_complete(wf_engine, mini):
    iid = start(wf_engine)
    with pytest.raises(NotPermitted):
        wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=OTHER_COUNTY)


def test_second_completion_of_one_task_is_a_conflict(wf_engine, mini):
    iid = start(wf_engine)
    task = open_task(wf_engine, iid, "eco")
    wf_engine.complete(task.id, {"opinion": "no_objection"}, actor=ECO)
    with pytest.raises(Conflict, match="already completed by eco"):
        wf_engine.complete(task.id, {"opinion": "no_objection"}, actor=ECO)


def test_two_officials_completing_at_once_one_wins(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    task = open_task(wf_engine, iid, "review")
    results, barrier = [], threading.Barrier(2)

    def submit(who):
        barrier.wait()
        try:
            wf_engine.complete(task.id, {"decision": "pass"}, actor=who)
            results.append("ok")
        except Conflict as exc:
            results.append(f"conflict: {exc}")
        except Exception as exc:  # anything else is a failure of the test
            results.append(f"error: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=submit, args=(a,)) for a in (COUNTY, COUNTY2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(r.split(":")[0] for r in results) == ["conflict", "ok"], results


def test_parallel_bureaus_submitting_at_once_never_see_a_lock_error(wf_engine, mini):
    iid = start(wf_engine)
    eco, tax = open_task(wf_engine, iid, "eco"), open_task(wf_engine, iid, "tax")
    results, barrier = [], threading.Barrier(2)

    def submit(task, who):
        barrier.wait()
        try:
            wf_engine.complete(task.id, {"opinion": "no_objection"}, actor=who)
            results.append("ok")
        except Exception as exc:
            results.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=submit, args=a) for a in ((eco, ECO), (tax, TAX))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == ["ok", "ok"]
    assert open_task(wf_engine, iid, "review") is not None


def test_failing_service_becomes_an_incident_and_retry_resolves_it(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    review = open_task(wf_engine, iid, "review")
    FAIL["echo"] = True
    with pytest.raises(IncidentRaised) as err:
        wf_engine.complete(review.id, {"decision": "pass"}, actor=COUNTY)
    [incident] = wf_engine.incidents()
    assert incident["id"] == err.value.incident_id and incident["instance_id"] == iid
    assert incident["task"] == "svc" and "echo service is down" in incident["error"]
    assert "Traceback" in incident["traceback"]
    with wf_engine.db.session() as s:
        assert s.get(ProcessInstance, iid).status == "incident"
        assert s.get(HumanTask, review.id).status == "open"  # rolled back
    with pytest.raises(IncidentRaised):
        wf_engine.retry_incident(incident["id"], operator="ops")
    assert wf_engine.incidents()[0]["attempts"] == 2
    FAIL["echo"] = False
    wf_engine.retry_incident(incident["id"], operator="ops")
    assert wf_engine.incidents() == []
    view = wf_engine.instance(iid)
    assert view["status"] == "waiting"
    assert [t["completed_by"] for t in view["tasks"] if t["bpmn_id"] == "review"] == ["county"]


def test_message_arriving_early_is_buffered_then_delivered(wf_engine, mini):
    iid = start(wf_engine)
    outcome = wf_engine.deliver(iid, "go", {"early": True}, actor=COUNTY)
    assert outcome.result["delivered"] is False
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    wf_engine.complete(open_task(wf_engine, iid, "review").id, {"decision": "pass"}, actor=COUNTY)
    view = wf_engine.instance(iid)
    assert view["status"] == "completed" and view["data"]["go"] == {"early": True}
    with wf_engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(BufferedMessage)
                        .where(BufferedMessage.delivered_at.is_(None))) == 0


def test_state_survives_a_cold_cache(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.cache.clear()
    wf_engine.specs = type(wf_engine.specs)()
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    assert open_task(wf_engine, iid, "review") is not None


def test_only_the_applicant_of_the_unit_may_start(wf_engine, mini):
    with pytest.raises(NotPermitted):
        wf_engine.start("mini", {"code": "OTHER", "county": "520302", "divisor": 1}, actor=APPLICANT)


def test_failing_script_task_becomes_an_incident_and_retry_resolves_it(wf_engine, mini):
    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    review = open_task(wf_engine, iid, "review")
    FAIL["bonus"] = True
    with pytest.raises(IncidentRaised):
        wf_engine.complete(review.id, {"decision": "pass"}, actor=COUNTY)
    [incident] = wf_engine.incidents()
    assert incident["task"] == "calc" and "bonus table not loaded" in incident["error"]
    assert incident["command"] == "CompleteTask"
    FAIL["bonus"] = False
    outcome = wf_engine.retry_incident(incident["id"], operator="ops")
    assert outcome.status == "waiting"
    events = wf_engine.instance(iid)["events"]
    assert [e["actor"] for e in events if e["type"] == "task_completed"][-1] == "county"
    assert wf_engine.verify_history(iid).ok


def test_cached_serialization_equals_a_fresh_one(wf_engine, mini):
    from engine import state

    iid = start(wf_engine)
    wf_engine.complete(open_task(wf_engine, iid, "eco").id, {"opinion": "no_objection"}, actor=ECO)
    wf_engine.complete(open_task(wf_engine, iid, "tax").id, {"opinion": "no_objection"}, actor=TAX)
    with wf_engine.db.session() as s:
        row = s.get(ProcessInstance, iid)
        workflow, _ = wf_engine.cache.take(iid, row.row_version)
        stored = row.state
    assert workflow is not None
    fresh = state.load(stored, workflow.spec, workflow.subprocess_specs)
    assert state.dump(workflow) == stored == state.dump(fresh)
