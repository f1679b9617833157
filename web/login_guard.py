"""The login log and the per-account lockout with back-off.

Every login attempt is a ``login_attempt`` row: time, the username as typed, the client address
(as seen after ProxyFix), the result and the user agent. The lockout counts the failures of one
username from any address, in the database, so it holds across every web process:

- failures are forgotten after a success (or an administrator's ``greenflow users unlock``) and
  after ``login_failure_window_hours``;
- from the ``login_max_failures``-th failure on, the username is locked for
  ``login_lockout_minutes`` after its last failure, doubled by each further failure, at most
  ``login_lockout_max_minutes``; while locked, attempts are refused (and logged as ``locked``)
  without looking at the password.

An unknown username counts and locks exactly like a known one, so neither the messages nor the
lock tell whether an account exists.
"""
from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import config as _config
from engine.api import WorkflowEngine
from engine.models import LOGIN_FAILURES, LOGIN_RESULTS, LoginAttempt

RESETS = ("success", "unlocked")


def locked_until(db: Session, username: str, now: dt.datetime, settings: _config.Settings) -> dt.datetime | None:
    """Until when ``username`` is locked, or None if it is not locked now."""
    horizon = now - dt.timedelta(hours=settings.login_failure_window_hours)
    last_reset = db.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.result.in_(RESETS), LoginAttempt.at > horizon))
    since = max(horizon, last_reset) if last_reset is not None else horizon
    count, last = db.execute(select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.result.in_(LOGIN_FAILURES),
        LoginAttempt.at > since)).one()
    if count < settings.login_max_failures or last is None:
        return None
    doublings = min(count - settings.login_max_failures, 20)
    minutes = min(settings.login_lockout_minutes * 2 ** doublings, settings.login_lockout_max_minutes)
    until = last + dt.timedelta(minutes=minutes)
    return until if until > now else None


def minutes_left(until: dt.datetime, now: dt.datetime) -> int:
    """Whole minutes until ``until`` (at least 1), for the message."""
    return max(1, math.ceil((until - now).total_seconds() / 60))


def record(eng: WorkflowEngine, username: str, result: str, *, address: str | None, user_agent: str | None) -> None:
    """Append one row to the login log."""
    if result not in LOGIN_RESULTS:
        raise ValueError(f"unknown login result {result!r}")
    with eng.db.unit_of_work() as db:
        db.add(LoginAttempt(at=eng.clock.now(), username=username[:120], address=(address or "")[:64],
                            result=result, user_agent=(user_agent or "")[:200]))


def unlock(eng: WorkflowEngine, username: str) -> None:
    """Forget the failures of ``username`` (an administrator's unlock), logged as ``unlocked``."""
    record(eng, username, "unlocked", address="cli", user_agent="greenflow users unlock")


def login_log(eng: WorkflowEngine, *, username: str | None = None, limit: int = 50) -> list[dict]:
    """The newest ``limit`` rows of the login log (of ``username`` only, if given), newest first."""
    with eng.db.session() as db:
        query = select(LoginAttempt)
        if username is not None:
            query = query.where(LoginAttempt.username == username)
        rows = db.scalars(query.order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(limit))
        return [{"id": r.id, "at": r.at.isoformat(), "username": r.username, "address": r.address,
                 "result": r.result, "user_agent": r.user_agent} for r in rows]
