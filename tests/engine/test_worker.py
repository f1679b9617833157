"""The timer worker: due timers only, exactly once, shared by several workers."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

import config
from engine.api import WorkflowEngine
from engine.clock import SystemClock
from engine.db import Database
from engine.identity import system_actor
from engine.models import Event, ProcessInstance, Timer
from engine.worker import LeaderElection, TimerWorker
from tests.conftest import FIXTURES

STARTER = system_actor("test")


def start_timers(engine: WorkflowEngine, dues: list[dt.datetime]) -> None:
    for due in dues:
        engine.start("one_timer", {"due": due.isoformat()}, actor=STARTER)


def fired_events(engine: WorkflowEngine) -> int:
    with engine.db.session() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.type == "timer_fired"))


def test_tick_fires_only_due_timers_and_says_when_to_wake(wf_engine, clock):
    wf_engine.deploy(FIXTURES / "timers", deployed_by="test")
    now = clock.now()
    start_timers(wf_engine, [now + dt.timedelta(minutes=m) for m in (1, 2, 60)])
    worker = TimerWorker(wf_engine, name="w1")
    assert worker.tick().fired == 0
    clock.advance(minutes=2)
    assert worker.tick().fired == 1  # due exactly now is not yet due (as in SpiffWorkflow)
    clock.advance(seconds=1)
    result = worker.tick()
    assert result.fired == 1 and result.next_due == now + dt.timedelta(minutes=60)
    assert worker.tick().fired == 0  # firing is idempotent
    assert fired_events(wf_engine) == 2
    assert wf_engine.count_instances() == {"completed": 2, "waiting": 1}


def test_timers_of_an_instance_in_incident_wait_for_the_operator(wf_engine, clock):
    wf_engine.deploy(FIXTURES / "timers", deployed_by="test")
    start_timers(wf_engine, [clock.now()])
    with wf_engine.db.unit_of_work() as s:
        s.scalars(select(ProcessInstance)).one().status = "incident"
    clock.advance(minutes=1)
    assert TimerWorker(wf_engine).tick().fired == 0


def test_one_leader_at_a_time(wf_engine):
    first, second = LeaderElection(wf_engine, "a"), LeaderElection(wf_engine, "b")
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        assert first.acquire() is True  # the leader keeps it
    finally:
        first.release()
        second.release()


@pytest.mark.slow
def test_three_worker_processes_fire_2000_timers_exactly_once_despite_a_kill(empty_db_url, tmp_path):
    if not empty_db_url.startswith("postgresql"):
        pytest.skip("the multi-process test runs on PostgreSQL (SQLite serves one process)")
    from handlers import setup

    db = Database(empty_db_url)
    engine = WorkflowEngine(db, roles=config.role_keys(), clock=SystemClock())
    setup.init_database(engine)
    engine.deploy(FIXTURES / "timers", deployed_by="test")
    soon = engine.clock.now() + dt.timedelta(seconds=45)  # creating 2,000 instances takes a while
    start_timers(engine, [soon + dt.timedelta(milliseconds=2 * i) for i in range(2000)])
    assert engine.clock.now() < soon, "creating the instances took longer than the head start"
    env = {**os.environ, "GREENFLOW_DATABASE_URL": empty_db_url, "PYTHONPATH": str(FIXTURES.parent.parent)}
    log = open(tmp_path / "workers.log", "w")
    workers = [subprocess.Popen([sys.executable, "-m", "web.cli", "worker", "--poll", "0.5", "--name", f"w{i}"],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)
               for i in range(3)]
    try:
        deadline = time.monotonic() + 180
        killed = False
        while time.monotonic() < deadline:
            with db.session() as s:
                left = s.scalar(select(func.count()).select_from(Timer))
            if not killed and left < 1500:
                workers[0].send_signal(signal.SIGKILL)  # mid-way: nothing may be lost
                killed = True
            if left == 0:
                break
            time.sleep(0.2)
        assert killed
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Timer)) == 0
            statuses = dict(s.execute(select(ProcessInstance.status, func.count())
                                      .group_by(ProcessInstance.status)).all())
            per_instance = s.execute(select(Event.instance_id, func.count()).where(Event.type == "timer_fired")
                                     .group_by(Event.instance_id)).all()
        assert statuses == {"completed": 2000}
        assert len(per_instance) == 2000 and {n for _, n in per_instance} == {1}
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            try:
                w.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.kill()
        log.close()
        db.dispose()
