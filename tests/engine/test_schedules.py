"""Scheduled processes (annual campaigns) start once per occurrence, also after downtime."""
from __future__ import annotations

from sqlalchemy import select

from engine import schedules
from engine.models import ProcessInstance, ScheduledStart
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
