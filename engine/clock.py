"""One clock for the whole code base.

``engine/`` and ``handlers/`` read the time only through the clock of the running
command (``ServiceContext.clock``) or through ``get_clock()``; tests install a
``FrozenClock`` and move it, and replay installs the recorded time of each event.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from typing import Iterator, Protocol
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
CHINA = ZoneInfo("Asia/Shanghai")


def isoformat_utc(value: dt.datetime | None) -> str | None:
    """An aware ISO 8601 text of a stored time (SQLite hands back naive UTC); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def start_of_china_day(day: dt.date) -> dt.datetime:
    """00:00 of ``day`` in China, in UTC: the lower bound of a "from" date filter (inclusive).
    Clamped to the smallest time a datetime holds, so no date a caller types can overflow."""
    try:
        return dt.datetime.combine(day, dt.time(0), tzinfo=CHINA).astimezone(UTC)
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=UTC)


def end_of_china_day(day: dt.date) -> dt.datetime:
    """24:00 of ``day`` in China, in UTC: the upper bound of a "to" date filter (exclusive).
    Clamped to the largest time a datetime holds (for 9999-12-31)."""
    if day == dt.date.max:
        return dt.datetime.max.replace(tzinfo=UTC)
    return start_of_china_day(day + dt.timedelta(days=1))


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; for tests and replay."""

    def __init__(self, start: dt.datetime | str):
        if isinstance(start, str):
            start = dt.datetime.fromisoformat(start)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware time")
        self._now = start.astimezone(UTC)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime | str) -> None:
        if isinstance(when, str):
            when = dt.datetime.fromisoformat(when)
        self._now = when.astimezone(UTC)

    def advance(self, **delta: float) -> dt.datetime:
        self._now += dt.timedelta(**delta)
        return self._now


_clock: Clock = SystemClock()


_command_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("greenflow_clock", default=None)


def get_clock() -> Clock:
    """The clock of the running command if there is one, else the process clock."""
    return _command_clock.get() or _clock


def now() -> dt.datetime:
    return get_clock().now()


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Run a block (a command, a replay step) on ``clock``."""
    token = _command_clock.set(clock)
    try:
        yield clock
    finally:
        _command_clock.reset(token)


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` process-wide and return the previous one (tests restore it)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def china_date(when: dt.datetime) -> dt.date:
    """The calendar date in China at ``when`` (legal periods count China local dates)."""
    return when.astimezone(CHINA).date()
