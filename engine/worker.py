"""The timer worker: fires due timers from the ``timer`` table, on one or many processes.

- Only the ``timer`` table is read to find work (indexed on ``due_at``); an instance is
  loaded only when one of its timers is due.
- Each timer fires in its own command. On PostgreSQL the command first takes the timer
  row with ``FOR UPDATE SKIP LOCKED``: a timer another worker is firing is skipped, not
  waited for, so several workers share the due timers without queueing on each other.
  Firing is idempotent (a fired timer's row is gone), so a crash between two steps, or
  two workers racing, never advances an instance twice.
- The worker wakes at the next due time it knows of, and polls every ``poll_seconds``
  for timers created meanwhile by other processes or missed while it was down.
- Scheduled jobs (annual campaigns, and process starts a crash left in the outbox — see
  ``engine/followups.py``) run on one leader only: a PostgreSQL advisory lock, or on SQLite
  a lease row that the leader renews.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select, text

from engine import followups, schedules
from engine.evidence import checkpoints
from engine.migration import jobs as migration_jobs
from engine.api import WorkflowEngine
from engine.commands import FireTimer
from engine.commands.timers import due_timers
from engine.errors import EngineError
from engine.identity import system_actor
from engine.models import Timer, WorkerLease

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x67666C6F77  # "gflow": the advisory lock id of the scheduling leader
LEASE_SECONDS = 30
CHECKPOINT_ACTOR = "system:checkpoint"
MIGRATION_SECONDS_PER_TICK = 2.0  # at most this long migrating per tick, so timers keep firing


@dataclass
class TickResult:
    fired: int
    skipped: int
    next_due: dt.datetime | None


class TimerWorker:
    """Fires due timers; call ``tick()`` repeatedly (``run()`` does it with APScheduler)."""

    def __init__(self, engine: WorkflowEngine, *, name: str | None = None, batch: int = 200,
                 poll_seconds: float = 2.0):
        self.engine = engine
        self.name = name or f"worker-{os.getpid()}"
        self.actor = system_actor(self.name)
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._leader = LeaderElection(engine, self.name)
        # Leader-only jobs, run on every tick by the one worker holding the leader lock.
        self.jobs: list[Callable[[], object]] = [lambda: schedules.run_due(engine),
                                                 lambda: followups.dispatch_pending(engine)]
        # The daily history checkpoint (engine.evidence.checkpoints; docs/audit-evidence.md).
        self.jobs.append(lambda: checkpoints.create_if_due(engine.db, by=CHECKPOINT_ACTOR, now=engine.clock.now()))
        # Instance migration jobs, a slice of each tick (engine.migration.jobs; docs/migration.md).
        # (The name is bound here, not read from ``self``: a job that holds the worker would keep
        # it, and its PostgreSQL leader lock, alive until the garbage collector runs.)
        name = self.name
        self.jobs.append(lambda: migration_jobs.run_jobs(engine, runner=name,
                                                         budget_seconds=MIGRATION_SECONDS_PER_TICK))

    # --- one round -------------------------------------------------------------------
    def due_timers(self, now: dt.datetime) -> list[tuple[int, str]]:
        with self.engine.db.session() as session:
            return due_timers(session, now, limit=self.batch)

    def next_due(self) -> dt.datetime | None:
        with self.engine.db.session() as session:
            value = session.scalar(select(func.min(Timer.due_at)))
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value

    def tick(self) -> TickResult:
        """Fire everything due now (in batches), run the leader's jobs; report the next due time."""
        fired = skipped = 0
        if self.jobs and self._leader.acquire():
            for job in self.jobs:
                try:
                    job()
                except Exception:  # a failing job must not stop the timers
                    log.exception("scheduled job %s failed", getattr(job, "__name__", job))
        while True:
            due = self.due_timers(self.engine.clock.now())
            if not due:
                break
            progress = 0
            for instance_id, guid in self._spread(due):
                try:
                    outcome = self.engine.execute(FireTimer(instance_id=instance_id, task_guid=guid,
                                                            skip_locked=True), actor=self.actor)
                except EngineError as err:  # an incident was recorded, or the instance moved on
                    log.warning("timer %s of instance %s: %s", guid, instance_id, err.message)
                    continue
                if outcome.result.get("fired"):
                    fired += 1
                    progress += 1
                else:
                    skipped += 1
            if progress == 0:
                break  # everything left is being fired by another worker
        return TickResult(fired, skipped, self.next_due())

    def _spread(self, due: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Start each worker at a different place in the list so workers rarely collide."""
        if len(due) < 2:
            return due
        offset = sum(self.name.encode()) % len(due)
        return due[offset:] + due[:offset]

    # --- the loop ----------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> None:
        """Tick at the next due time or every ``poll_seconds``, until ``stop`` is set."""
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.date import DateTrigger

        stop = stop or threading.Event()
        scheduler = BlockingScheduler(timezone=dt.timezone.utc)

        def tick_and_reschedule():
            if stop.is_set():
                scheduler.shutdown(wait=False)
                return
            result = self.tick()
            if result.fired or result.skipped:
                log.info("%s fired %d timer(s), %d taken by others", self.name, result.fired, result.skipped)
            wake = self.engine.clock.now() + dt.timedelta(seconds=self.poll_seconds)
            if result.next_due is not None and result.next_due < wake:
                wake = max(result.next_due, self.engine.clock.now())
            scheduler.add_job(tick_and_reschedule, DateTrigger(run_date=wake), id="tick", replace_existing=True,
                              misfire_grace_time=None)

        scheduler.add_job(tick_and_reschedule, DateTrigger(run_date=self.engine.clock.now()), id="tick",
                          misfire_grace_time=None)
        try:
            scheduler.start()
        finally:
            self._leader.release()

    def close(self) -> None:
        self._leader.release()


class LeaderElection:
    """One leader among the workers of a database, for jobs that must run once."""

    def __init__(self, engine: WorkflowEngine, name: str):
        self.engine = engine
        self.name = name
        self._connection = None

    def acquire(self) -> bool:
        if self.engine.db.dialect == "postgresql":
            return self._advisory_lock()
        return self._lease()

    def _advisory_lock(self) -> bool:
        # The lock lives as long as this dedicated connection: a dead worker frees it at once.
        if self._connection is None:
            self._connection = self.engine.db.engine.connect()
            got = self._connection.execute(text("select pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}).scalar()
            self._connection.commit()
            if not got:
                self._connection.close()
                self._connection = None
            return bool(got)
        return True

    def _lease(self) -> bool:
        now = self.engine.clock.now()
        with self.engine.db.unit_of_work() as session:
            lease = session.get(WorkerLease, "scheduler")
            if lease is None:
                session.add(WorkerLease(name="scheduler", holder=self.name,
                                        expires_at=now + dt.timedelta(seconds=LEASE_SECONDS)))
                return True
            expires = lease.expires_at
            if lease.holder == self.name or expires <= now:
                lease.holder = self.name
                lease.expires_at = now + dt.timedelta(seconds=LEASE_SECONDS)
                return True
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("select pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
                self._connection.close()
            finally:
                self._connection = None
