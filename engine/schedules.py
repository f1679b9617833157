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

First sight and catch-up: the first time the leader sees a scheduled process (no
``ScheduledStart`` row yet: a new installation, or a process deployed for the first time)
it registers the *next* occurrence after now, so an occurrence that passed before the
system existed is not started. The optional start-event property ``scheduleCatchUpDays``
(a whole number of calendar days, checked at deploy) changes that for processes whose
occurrence opens a period that is still useful afterwards: on first sight, if the most
recent occurrence lies less than that many days before now, it is due at once — claimed
and started on this tick with ``scheduled_for`` = that occurrence — and the row records the
following one. The most recent occurrence is found with the schedule expression itself:
the first occurrence after ``now - days``, then the following ones while they are not later
than now (so a window longer than the period still starts one occurrence, the latest). An
instance of the process created at or after that occurrence (started by hand before the
scheduler first ran) counts as its start: nothing is caught up then. The
window is chosen per diagram so that the caught-up instance still opens before its own
deadline (``annual_table_campaign``: 03-01, tables due 04-15 → 44 days; see
docs/decisions.md). Once the row exists nothing changes: occurrences missed during
downtime start as before, whatever the property says.
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
from engine.models import ProcessInstance, ScheduledStart
from engine.script_budget import script_limits

log = logging.getLogger(__name__)


def scheduled_processes(engine: WorkflowEngine) -> dict[str, str]:
    """process id -> schedule expression, for the newest deployed version of each process."""
    return {process_id: expression for process_id, (expression, _) in schedule_settings(engine).items()}


def schedule_settings(engine: WorkflowEngine) -> dict[str, tuple[str, int]]:
    """process id -> (schedule expression, catch-up days; 0 without ``scheduleCatchUpDays``), newest version."""
    found: dict[str, tuple[str, int]] = {}
    for version in reversed(engine.versions()):
        with engine.db.session() as session:
            meta = deploy.version_meta(session, version["version"])
        for process_id, process in meta["processes"].items():
            if process_id in found or process_id not in meta.get("executable", []):
                continue
            for task in process["tasks"].values():
                if task["type"] == "startEvent" and task.get("schedule"):
                    days = str(task.get("schedule_catch_up_days") or "0")
                    found[process_id] = (task["schedule"], int(days) if days.isdigit() else 0)
    return found


def next_occurrence(engine: WorkflowEngine, expression: str, after: dt.datetime) -> dt.datetime:
    """Evaluate ``expression`` as if the time were just after ``after``."""
    with engine.db.session() as session, use_clock(FrozenClock(after + dt.timedelta(seconds=1))), \
            calendar.use_calendar(lambda: calendar.load_calendar(session)), script_limits(engine.script_limits):
        value = runtime.SCRIPT_ENGINE.environment.evaluate(expression, {})
    when = dt.datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"schedule {expression!r} gave a time without a zone: {value!r}")
    return when.astimezone(clock.UTC)


def run_due(engine: WorkflowEngine) -> list[int]:
    """Start every occurrence that is due; returns the new instance ids."""
    started = []
    now = engine.clock.now()
    for process_id, (expression, catch_up_days) in schedule_settings(engine).items():
        occurrence = _claim(engine, process_id, expression, now, catch_up_days)
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


def most_recent_occurrence(engine: WorkflowEngine, expression: str, now: dt.datetime,
                           within_days: int) -> dt.datetime | None:
    """The latest occurrence of ``expression`` in (now - within_days, now], or None.

    The first occurrence after ``now - within_days``; if it is not later than ``now``, the
    following ones are taken while they are not later than ``now`` either.
    """
    if within_days <= 0:
        return None
    occurrence = next_occurrence(engine, expression, now - dt.timedelta(days=within_days) - dt.timedelta(seconds=1))
    if occurrence > now:
        return None
    while occurrence < (following := next_occurrence(engine, expression, occurrence)) <= now:
        occurrence = following
    return occurrence


def _claim(engine: WorkflowEngine, process_id: str, expression: str, now: dt.datetime,
           catch_up_days: int = 0) -> dt.datetime | None:
    """Lock the schedule row; if its occurrence is due, move it on and return the occurrence.

    Without a row (first sight) the row is created: with the most recent occurrence within
    ``catch_up_days`` that occurrence is claimed at once (the row holds the following one),
    otherwise the row holds the next occurrence and nothing is due.
    """
    with engine.db.unit_of_work() as session:
        query = select(ScheduledStart).where(ScheduledStart.process_id == process_id)
        if engine.db.dialect != "sqlite":
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            caught_up = most_recent_occurrence(engine, expression, now, catch_up_days)
            if caught_up is not None and session.scalar(select(ProcessInstance.id).where(
                    ProcessInstance.process_id == process_id, ProcessInstance.created_at >= caught_up).limit(1)):
                caught_up = None  # already started by hand since that occurrence: it counts as started
            if caught_up is None:
                session.add(ScheduledStart(process_id=process_id,
                                           next_at=next_occurrence(engine, expression, now - dt.timedelta(seconds=1))))
                return None
            session.add(ScheduledStart(process_id=process_id, next_at=next_occurrence(engine, expression, caught_up),
                                       last_started_at=now))
            log.info("first sight of %s: catching up the occurrence of %s (within %d days)", process_id,
                     caught_up.isoformat(), catch_up_days)
            return caught_up
        if row.next_at > now:
            return None
        occurrence = row.next_at
        row.next_at = next_occurrence(engine, expression, occurrence)
        row.last_started_at = now
        return occurrence
