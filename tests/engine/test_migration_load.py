"""500 running applications at mixed positions migrate to v2 while workers fire timers and officials
complete tasks (both databases): nothing lost, every history verifies, every open task in the right inbox.

The applications (``mig_app``, see test_migration.py) wait at the county review, the city review
(with its 催办 reminder), the consultation (both bureaus, or the tax bureau only) and the notice.
The clock stands 11 days later, so every reminder and every notice is due: two workers fire them
— the leader also runs the migration job, a slice per tick — while three officials complete the
county reviews, the ecology opinions and the city reviews, one command at a time, as fast as they can.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from engine import calendar, runtime, state
from engine.migration import jobs
from engine.models import Event, HumanTask, Incident, ProcessInstance, Timer
from engine.worker import TimerWorker
from tests.engine.test_migration import (CITY, COUNTY, ECO, NO_OBJECTION, PASS, STEPS, V2, mig,  # noqa: F401
                                         open_task, start_at)

PER_POSITION = 100  # 5 positions: 500 applications
INBOX = {"county_review": ("county_official", "520302"), "city_review": ("city_official", "520300"),
         "materials_check": ("city_official", "520300"), "review_objection": ("city_official", "520300"),
         "eco": ("bureau_eco", "520300"), "tax": ("bureau_tax", "520300")}


class Official(threading.Thread):
    """Completes one task in each of ``instances``, counting what it did and what went wrong."""

    def __init__(self, engine, instances: list[int], bpmn_id: str, who, data: dict):
        super().__init__(daemon=True)
        self.engine, self.instances, self.bpmn_id, self.who, self.data = engine, instances, bpmn_id, who, data
        self.done: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        for iid in self.instances:
            try:
                task = open_task(self.engine, iid, self.bpmn_id)
                if task is None:
                    self.errors.append(f"{iid}: no open {self.bpmn_id}")
                    continue
                self.engine.complete(task.id, self.data, actor=self.who)
                self.done.append(iid)
            except Exception as exc:  # counted, and the test fails on any
                self.errors.append(f"{iid}: {type(exc).__name__}: {exc}")


class Worker(threading.Thread):
    """Ticks a timer worker until told to stop."""

    def __init__(self, engine, name: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.worker, self.stop, self.errors = TimerWorker(engine, name=name), stop, []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.worker.tick()
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        self.worker.close()


def test_500_applications_migrate_while_timers_fire_and_officials_work(mig, clock):
    at = {where: [start_at(mig, where) for _ in range(PER_POSITION)] for where in STEPS}
    target = mig.deploy(V2, deployed_by="owner").version_id
    clock.advance(days=11)  # every reminder (3 days) and every notice (10 days) is due
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    assert job["total"] == 5 * PER_POSITION

    stop = threading.Event()
    workers = [Worker(mig, "w1", stop), Worker(mig, "w2", stop)]
    officials = [Official(mig, at["county"], "county_review", COUNTY, PASS),
                 Official(mig, at["consult"], "eco", ECO, NO_OBJECTION),
                 Official(mig, at["city"], "city_review", CITY, PASS)]
    for thread in workers + officials:
        thread.start()
    for thread in officials:
        thread.join(timeout=600)
    deadline = time.monotonic() + 600
    while jobs.job_view(mig, job["id"], per_page=1)["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    for thread in workers:
        thread.join(timeout=60)
    mig.fire_due_timers()  # what the workers had not reached yet

    assert [e for t in officials for e in t.errors] == [] and [e for w in workers for e in w.errors] == []
    assert sum(len(t.done) for t in officials) == 3 * PER_POSITION
    view = jobs.job_view(mig, job["id"], per_page=1)
    assert view["status"] == "completed"
    counts = view["counts"]
    # a notice that ended before the job reached it finished on v1: skipped, not lost
    assert counts["refused"] == counts["failed"] == counts["pending"] == 0, counts
    assert counts["migrated"] + counts["skipped"] == 5 * PER_POSITION

    with mig.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
        rows = s.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "mig_app")).all()
        completed_by_officials = s.scalar(select(func.count()).select_from(Event).where(
            Event.type == "task_completed", Event.actor.in_(["county", "eco", "city"]),
            Event.at >= clock.now()))
    assert len(rows) == 5 * PER_POSITION
    assert completed_by_officials == 3 * PER_POSITION  # every acknowledged completion is in a history
    for row in rows:
        assert mig.verify_history(row.id).ok, row.id
        if row.status == "completed":
            continue
        assert row.version_id == target, (row.id, row.status)
        _check_derived_tables(mig, row.id)


def _check_derived_tables(engine, iid: int) -> None:
    """The inbox, timer and message rows are exactly what the stored state says, on v2's rules."""
    with engine.db.session() as s:
        row = s.get(ProcessInstance, iid)
        loaded = engine.specs.load(s, row.version_id)
        wf = state.load(row.state, *loaded.spec(row.process_id))
        open_rows = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open")).all()
        timers = {(t.task_guid, t.due_at) for t in s.scalars(select(Timer).where(Timer.instance_id == iid))}
        work = calendar.load_calendar(s)
    ready = {str(t.id): t.task_spec.bpmn_id for t in runtime.ready_human_tasks(wf)}
    assert {r.task_guid: r.bpmn_id for r in open_rows} == ready, iid
    for task in open_rows:
        assert (task.role, task.scope) == INBOX[task.bpmn_id], (iid, task.bpmn_id)
        if task.bpmn_id == "city_review":  # v2: 10 working days from when the task opened
            with calendar.use_calendar(work):
                assert task.due_at == calendar.working_days_later(task.created_at, 10), iid
    assert timers == {(t.task_guid, t.due_at) for t in runtime.waiting_timers(wf)}, iid
