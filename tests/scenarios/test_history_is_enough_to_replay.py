"""The recorded inputs re-execute an instance: replaying its events on an empty database
(same diagrams, same users, the clock at each event's time) ends in the same place.

This is the property the audit replay builds on; the replay API itself comes later.
"""
from __future__ import annotations

import datetime as dt

import config
from engine import calendar
from engine.api import WorkflowEngine
from engine.clock import FrozenClock
from engine.commands import CompleteTask, DeliverMessage, StartInstance
from engine.db import Base, Database
from engine.identity import upsert_user
from handlers import demo
from tests.scenarios.driver import BPMN, PASS

COMMAND_EVENTS = {"instance_started", "task_completed", "message_received", "timer_fired"}


def replay(events: list[dict], engine: WorkflowEngine) -> int:
    """Re-run the commands recorded in ``events`` on ``engine``; returns the new instance id."""
    instance_id = None
    for event in events:
        if event["type"] not in COMMAND_EVENTS:
            continue
        engine.clock.set(dt.datetime.fromisoformat(event["at"]))
        payload, actor = event["payload"], event["actor"]
        if event["type"] == "instance_started":
            command = StartInstance(process_id=payload["process_id"], data=payload["submitted"])
            instance_id = engine.execute(command, actor=engine.actor(actor)).instance_id
        elif event["type"] == "task_completed":
            task = next(t for t in engine.instance(instance_id)["tasks"]
                        if t["status"] == "open" and t["bpmn_id"] == event["bpmn_id"]
                        and t["process_id"] == payload["process_id"])
            engine.execute(CompleteTask(task_id=task["id"], data=payload["data"]), actor=engine.actor(actor))
        elif event["type"] == "message_received":
            engine.execute(DeliverMessage(instance_id=instance_id, name=payload["name"],
                                          payload=payload["submitted"]), actor=engine.actor(actor))
        elif event["type"] == "timer_fired":
            assert engine.fire_due_timers() >= 1
    return instance_id


def test_a_city_application_with_an_objection_replays_to_the_same_outcome(green, tmp_path):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", {"decision": "return", "reason": "补充材料"})
    green.step(iid, "amend", {"energy_tce": 1900.0, "amend_note": "已补充"})
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid)
    green.object(iid)
    green.step(iid, "review_objection", {"upheld": False, "finding": "不属实", "reply": "经核实不属实"})
    green.end_notice()
    original = green.view(iid)
    assert original["data"]["outcome"] == "listed_city"

    db = Database(f"sqlite:///{tmp_path / 'replay.db'}")
    Base.metadata.create_all(db.engine)
    target = WorkflowEngine(db, roles=config.role_keys(), clock=FrozenClock(original["created_at"]))
    target.deploy(BPMN, deployed_by="auditor")
    with db.unit_of_work() as s:
        calendar.seed_from_config(s, by="auditor", now=target.clock.now())
        for username, name, grants in demo.accounts():
            upsert_user(s, username, display_name=name, grants=grants)
    replayed = target.instance(replay(original["events"], target))

    assert replayed["status"] == "completed"
    assert replayed["data"] == original["data"]
    assert [e["type"] for e in replayed["events"]] == [e["type"] for e in original["events"]]
    assert [(t["bpmn_id"], t["completed_by"], t["outcome"]) for t in replayed["tasks"]] == \
        [(t["bpmn_id"], t["completed_by"], t["outcome"]) for t in original["tasks"]]
    db.dispose()
