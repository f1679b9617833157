"""The in-process timer sweep: APScheduler fires due timers from the ``timer`` table.

This first version sweeps on an interval; the timers issue adds waking at the next due
time, several workers sharing due timers (``SKIP LOCKED``) and a leader for cron jobs.
Firing is an ordinary engine command, so firing twice never advances an instance twice.
"""
from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.background import BackgroundScheduler

from engine.api import WorkflowEngine

log = logging.getLogger(__name__)


def sweep(engine: WorkflowEngine) -> int:
    fired = engine.fire_due_timers()
    if fired:
        log.info("fired %d due timer(s)", fired)
    return fired


def start_sweeper(engine: WorkflowEngine, *, every_seconds: float = 10.0) -> BackgroundScheduler:
    """Start a background scheduler that fires due timers every ``every_seconds``."""
    scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
    scheduler.add_job(sweep, "interval", args=[engine], seconds=every_seconds, id="timer-sweep",
                      max_instances=1, coalesce=True, next_run_time=engine.clock.now())
    scheduler.start()
    return scheduler
