"""Scheduled processes (annual campaigns): start an instance at every occurrence, exactly once.

A diagram marks a process as scheduled with a timer start event carrying a ``schedule``
property: an expression giving the next occurrence as an aware ISO string, for example
``next_month_day("03-01", at="09:00")``. The worker leader calls ``run_due`` on every
tick. Each occurrence is claimed in its own transaction (row lock, ``next_at`` advanced to
the following occurrence) before the instance is started, so two leaders in a row, a
restart or a crash never start an occurrence twice, and an occurrence missed while no
worker ran is started as soon as one does. The instance gets ``scheduled_for`` (the
occurrence) and ``scheduled_year`` (its year in China) as data; its start timer is
``scheduled_for``, so it proceeds at once.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from engine import calendar, clock, deploy, runtime
from engine.api import WorkflowEngine
from engine.clock import FrozenClock, use_clock
from engine.commands import StartInstance
from engine.errors import EngineError
from engine.identity import system_actor
from engine.models import ScheduledStart

log = logging.getLogger(__name__)


def scheduled_processes(engine: WorkflowEngine) -> dict[str, str]:
    """process id -> schedule expression, for the newest deployed version of each process."""
    found: dict[str, str] = {}
    for version in reversed(engine.versions()):
        with engine.db.session() as session:
            meta = deploy.version_meta(session, version["version"])
        for process_id, process in meta["processes"].items():
            if process_id in found or process_id not in meta.get("executable", []):
                continue
            for task in process["tasks"].values():
                if task["type"] == "startEvent" and task.get("schedule"):
                    found[process_id] = task["schedule"]
    return found


def next_occurrence(engine: WorkflowEngine, expression: str, after: dt.datetime) -> dt.datetime:
    """Evaluate ``expression`` as if the time were just after ``after``."""
    with engine.db.session() as session, use_clock(FrozenClock(after + dt.timedelta(seconds=1))), \
            calendar.use_calendar(lambda: calendar.load_calendar(session)):
        value = runtime.SCRIPT_ENGINE.environment.evaluate(expression, {})
    when = dt.datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"schedule {expression!r} gave a time without a zone: {value!r}")
    return when.astimezone(clock.UTC)


def run_due(engine: WorkflowEngine) -> list[int]:
    """Start every occurrence that is due; returns the new instance ids."""
    started = []
    now = engine.clock.now()
    for process_id, expression in scheduled_processes(engine).items():
        occurrence = _claim(engine, process_id, expression, now)
        if occurrence is None:
            continue
        data = {"scheduled_for": occurrence.astimezone(clock.CHINA).isoformat(),
                "scheduled_year": clock.china_date(occurrence).year}
        try:
            outcome = engine.execute(StartInstance(process_id=process_id, data=data),
                                     actor=system_actor("scheduler"))
        except EngineError as err:  # recorded as an incident; its retry starts the occurrence
            log.error("scheduled start of %s for %s failed: %s", process_id, occurrence, err.message)
            continue
        with engine.db.unit_of_work() as session:
            row = session.get(ScheduledStart, process_id)
            row.last_instance_id = outcome.instance_id
        started.append(outcome.instance_id)
    return started


def _claim(engine: WorkflowEngine, process_id: str, expression: str, now: dt.datetime) -> dt.datetime | None:
    """Lock the schedule row; if its occurrence is due, move it on and return the occurrence."""
    with engine.db.unit_of_work() as session:
        query = select(ScheduledStart).where(ScheduledStart.process_id == process_id)
        if engine.db.dialect != "sqlite":
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            session.add(ScheduledStart(process_id=process_id,
                                       next_at=next_occurrence(engine, expression, now - dt.timedelta(seconds=1))))
            return None
        if row.next_at > now:
            return None
        occurrence = row.next_at
        row.next_at = next_occurrence(engine, expression, occurrence)
        row.last_started_at = now
        return occurrence
