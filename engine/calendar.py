"""The Chinese working-day calendar: holidays and make-up working days (调休), per year.

Legal periods (公示 notices, answer deadlines) count *working days*, and which days are
working days is decided each year by the State Council's holiday schedule (放假安排). So the
calendar is data, one year at a time: ``config/calendar/<year>.toml`` ships the known years,
``greenflow calendar import`` adds a new one, and the ``calendar_year`` table holds what is in
force. A date in a year with no data raises ``CalendarYearMissing``: we never guess, because a
guessed weekday may be a holiday and a wrong deadline is a legal defect.

Four parts, top to bottom: the file format (``parse_year``), the arithmetic
(``WorkingCalendar``), storage (``import_year``, ``load_calendar``, ``seed_from_config``), and
the calendar of the running command plus the script functions diagrams call.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import CalendarYearMissing, InvalidInput
from engine.models import CalendarYearRecord
from engine.services import script_function

__all__ = [
    "CalendarYear", "WorkingCalendar", "parse_year", "import_year", "load_calendar", "seed_from_config",
    "canonical_sha256", "use_calendar", "current_calendar", "configure", "CONFIG_CALENDAR_DIR",
]

CONFIG_CALENDAR_DIR = Path(__file__).resolve().parent.parent / "config" / "calendar"
ONE_DAY = dt.timedelta(days=1)
WEEKEND = (5, 6)  # Saturday, Sunday


# --------------------------------------------------------------------------- the file format

@dataclass(frozen=True)
class CalendarYear:
    """One year of the holiday schedule: days off (holidays) and make-up working days (workdays)."""

    year: int
    holidays: dict[dt.date, str]
    workdays: dict[dt.date, str]
    source: str

    def to_data(self) -> dict:
        """The JSON stored in ``calendar_year.data``: ISO dates to names, sorted."""
        return {
            "holidays": {d.isoformat(): n for d, n in sorted(self.holidays.items())},
            "workdays": {d.isoformat(): n for d, n in sorted(self.workdays.items())},
        }

    @classmethod
    def from_record(cls, record: CalendarYearRecord) -> "CalendarYear":
        data = record.data or {}
        return cls(
            year=record.year,
            holidays={dt.date.fromisoformat(k): v for k, v in data.get("holidays", {}).items()},
            workdays={dt.date.fromisoformat(k): v for k, v in data.get("workdays", {}).items()},
            source=record.source,
        )


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEYS = {"year", "source", "holidays", "workdays"}


def parse_year(text: str, *, file_name: str = "<calendar>") -> CalendarYear:
    """Read one year from TOML (see ``config/calendar/2026.toml``) and check it.

    Every message names the file and the problem in Chinese and English, so an operator can
    fix the file without reading code.

    Raises:
        InvalidInput: empty file; not TOML; unknown key; missing or invalid ``year``; bad
            ``source``; a holiday/workday entry without a name or dates; a date that is not
            ISO (YYYY-MM-DD); a date outside the year; the same date twice (in one list or in
            both); a make-up workday that is not a Saturday or Sunday; no holidays at all.
    """

    def fail(zh: str, en: str, field: str) -> InvalidInput:
        return InvalidInput(f"{file_name}: {zh} / {en}", field=field)

    if not text.strip():
        raise fail("文件为空", "the file is empty", "file")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise fail("不是有效的 TOML", f"not valid TOML ({err})", "file") from None
    if not doc:
        raise fail("文件为空", "the file is empty (no keys)", "file")
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise fail(f"未知的键 {unknown}", f"unknown key(s) {unknown}; expected {sorted(_KEYS)}", unknown[0])

    year = doc.get("year")
    if year is None:
        raise fail("缺少 year", "missing year (e.g. year = 2026)", "year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1949 <= year <= 2200:
        raise fail(f"year 无效: {year!r}", f"invalid year {year!r}: expected an integer such as 2026", "year")

    source = doc.get("source", file_name)
    if not isinstance(source, str) or not source.strip() or len(source) > 300:
        raise fail("source 必须是非空字符串（最多300字）", "source must be a non-empty string of at most 300 characters",
                    "source")

    seen: dict[dt.date, str] = {}
    lists: dict[str, dict[dt.date, str]] = {}
    for key in ("holidays", "workdays"):
        lists[key] = {}
        entries = doc.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise fail(f"{key} 必须是 [[{key}]] 表数组", f"{key} must be an array of tables ([[{key}]])", key)
        for number, entry in enumerate(entries, 1):
            where = f"[[{key}]] #{number}"
            name = entry.get("name")
            if not isinstance(name, str) or not name.strip():
                raise fail(f"{where} 缺少名称", f"{where} has no name", key)
            dates = entry.get("dates")
            if not isinstance(dates, list) or not dates:
                raise fail(f"{where}（{name}）没有日期", f"{where} ({name}) has no dates", key)
            extra = sorted(set(entry) - {"name", "dates"})
            if extra:
                raise fail(f"{where} 有未知的键 {extra}", f"{where} has unknown key(s) {extra}", key)
            for raw in dates:
                day = _parse_file_date(raw, fail, where, key)
                if day.year != year:
                    raise fail(f"{where} 的日期 {day} 不在 {year} 年内", f"{where}: date {day} is outside the year {year}",
                               key)
                if day in seen:
                    raise fail(f"日期 {day} 重复（{seen[day]}）", f"date {day} appears twice ({seen[day]} and {where})",
                               key)
                if key == "workdays" and day.weekday() not in WEEKEND:
                    raise fail(f"调休上班日 {day} 不是星期六或星期日",
                               f"make-up workday {day} is not a Saturday or Sunday", key)
                seen[day] = where
                lists[key][day] = name.strip()
    if not lists["holidays"]:
        raise fail("没有放假日", "no holidays listed ([[holidays]])", "holidays")
    return CalendarYear(year=year, holidays=lists["holidays"], workdays=lists["workdays"], source=source.strip())


def _parse_file_date(raw: object, fail, where: str, key: str) -> dt.date:
    """A date of the file: an ISO string "2026-01-01" (or a bare TOML date)."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise fail(f"{where} 的日期 {raw!r} 不是 ISO 格式（YYYY-MM-DD）", f"{where}: {raw!r} is not an ISO date (YYYY-MM-DD)",
               key)


# --------------------------------------------------------------------------- the arithmetic

class WorkingCalendar:
    """Working-day arithmetic over the loaded years; any date outside them raises.

    A working day is a Monday–Friday that is not a holiday, or a make-up workday (a
    Saturday or Sunday worked instead of a holiday). Methods take ``datetime.date`` only:
    convert a time to its China date first (``engine.clock.china_date``), because the day a
    moment falls on depends on the time zone.
    """

    def __init__(self, years: Mapping[int, CalendarYear]):
        self._years = dict(years)

    @property
    def loaded_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def get_year(self, year: int) -> CalendarYear:
        """Raises: CalendarYearMissing."""
        try:
            return self._years[year]
        except KeyError:
            raise CalendarYearMissing(year) from None

    def is_working_day(self, d: dt.date) -> bool:
        """Raises: CalendarYearMissing if ``d``'s year is not loaded; TypeError for a datetime."""
        _require_date(d)
        year = self.get_year(d.year)
        if d in year.workdays:
            return True
        return d.weekday() not in WEEKEND and d not in year.holidays

    def next_working_day(self, d: dt.date) -> dt.date:
        """The first working day on or after ``d``. Raises: CalendarYearMissing."""
        while not self.is_working_day(d):
            d += ONE_DAY
        return d

    def add_working_days(self, d: dt.date, n: int) -> dt.date:
        """The date ``n`` working days after ``d`` (``d`` itself not counted); ``n == 0`` gives ``d``.

        Raises: ValueError for negative ``n``; CalendarYearMissing when counting reaches a
        year that is not loaded.
        """
        _require_date(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        while n:
            d += ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when ``end`` is earlier.

        So a task due today has 0 left, due on the next working day 1, due yesterday -1.
        Raises: CalendarYearMissing when the span reaches a year that is not loaded.
        """
        _require_date(start)
        _require_date(end)
        sign, (low, high) = (1, (start, end)) if end >= start else (-1, (end, start))
        count, d = 0, low
        while d < high:
            d += ONE_DAY
            count += self.is_working_day(d)
        return sign * count

    def notice_period(self, published: dt.date, n: int, *, start_day_counts: bool = True) -> tuple[dt.date, dt.date]:
        """(first day, last day) of an ``n``-working-day notice published on ``published``.

        With ``start_day_counts`` the first working day on or after publication is day 1 (a
        notice published on a working day counts that day); without it, day 1 is the first
        working day after the publication day. Either way a notice published on a weekend or
        holiday starts on the next working day.

        Raises: ValueError if ``n < 1``; CalendarYearMissing.
        """
        _require_date(published)
        if n < 1:
            raise ValueError(f"a notice lasts at least one working day, not {n}")
        first = self.next_working_day(published if start_day_counts else published + ONE_DAY)
        return first, self.add_working_days(first, n - 1)

    def describe(self, year: int) -> list[tuple[dt.date, str, str]]:
        """(date, "holiday" | "workday", name) for every special day of ``year``, by date.

        Raises: CalendarYearMissing.
        """
        data = self.get_year(year)
        rows = [(d, "holiday", n) for d, n in data.holidays.items()]
        rows += [(d, "workday", n) for d, n in data.workdays.items()]
        return sorted(rows)


def _require_date(d: object) -> None:
    if isinstance(d, dt.datetime) or not isinstance(d, dt.date):
        raise TypeError(f"expected a datetime.date (a China date), not {d!r}")


# --------------------------------------------------------------------------- storage

def canonical_sha256(year: CalendarYear) -> str:
    """sha256 of the canonical JSON of the year's data (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(year.to_data(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def import_year(session: Session, year: CalendarYear, *, by: str, now: dt.datetime | None = None) -> CalendarYearRecord:
    """Store ``year``, replacing what was stored for that year (upsert); flushed, not committed.

    ``now`` defaults to the clock of the running command. ``load_calendar`` notices the
    change through the sha256, so the new data is in force for the next command.
    """
    record = session.get(CalendarYearRecord, year.year)
    if record is None:
        record = CalendarYearRecord(year=year.year)
        session.add(record)
    record.data = year.to_data()
    record.source = year.source
    record.sha256 = canonical_sha256(year)
    record.imported_by = by
    record.imported_at = now or clock.now()
    session.flush()
    return record


# The only global state: calendars built from stored rows, keyed by their (year, sha256) pairs.
_CACHE: dict[tuple[tuple[int, str], ...], WorkingCalendar] = {}
_CACHE_LIMIT = 16


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar of every stored year (possibly none: then every date raises CalendarYearMissing).

    One cheap query for (year, sha256) decides whether the cached calendar is still right, so
    a re-import is picked up by the next call without any explicit invalidation.
    """
    key = tuple((y, s) for y, s in session.execute(
        select(CalendarYearRecord.year, CalendarYearRecord.sha256).order_by(CalendarYearRecord.year)))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    records = session.scalars(select(CalendarYearRecord).order_by(CalendarYearRecord.year)).all()
    calendar = WorkingCalendar({r.year: CalendarYear.from_record(r) for r in records})
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = calendar
    return calendar


def seed_from_config(session: Session, *, by: str = "config", now: dt.datetime | None = None,
                     directory: Path | None = None) -> list[int]:
    """Import every ``config/calendar/*.toml`` whose year is not stored yet; returns those years.

    A year already in the database is left alone, even if its file changed: a year an
    operator imported (or corrected) wins over the shipped file. Use ``import_year`` to replace.

    Raises: InvalidInput if a shipped file is invalid (named in the message).
    """
    directory = directory or CONFIG_CALENDAR_DIR
    stored = set(session.scalars(select(CalendarYearRecord.year)))
    imported = []
    for path in sorted(directory.glob("*.toml")):
        year = parse_year(path.read_text(encoding="utf-8"), file_name=path.name)
        if year.year not in stored:
            import_year(session, year, by=by, now=now)
            stored.add(year.year)
            imported.append(year.year)
    return imported


# --------------------------------------------------------------------------- the running command

_current: contextvars.ContextVar[object] = contextvars.ContextVar("greenflow_calendar", default=None)
_settings = {"start_day_counts": True}


@contextlib.contextmanager
def use_calendar(calendar: "WorkingCalendar | Callable[[], WorkingCalendar]") -> Iterator[None]:
    """Run a block (a command) with ``calendar`` as the current calendar.

    ``calendar`` may be a zero-argument function that loads it: a command that never asks
    for a date then costs no query (the runner passes ``lambda: load_calendar(session)``).
    """
    token = _current.set(calendar)
    try:
        yield
    finally:
        _current.reset(token)


def current_calendar() -> WorkingCalendar:
    """The calendar of the running command.

    Raises: CalendarYearMissing (for the current China year) if none is installed.
    """
    calendar = _current.get()
    if calendar is None:
        raise CalendarYearMissing(clock.china_date(clock.now()).year)
    if not isinstance(calendar, WorkingCalendar):  # a loader: load once, keep for the block
        calendar = calendar()
        _current.set(calendar)
    return calendar


def configure(*, start_day_counts: bool) -> None:
    """Set the 公示 counting rule the ``notice_end`` script function uses (the app calls it
    with ``Settings.notice_start_day_counts``; default True)."""
    _settings["start_day_counts"] = bool(start_day_counts)


# --------------------------------------------------------------------------- script functions
# They return aware ISO-8601 strings in China time (+08:00). ``at`` is "HH:MM" China time;
# "24:00" is the midnight that ends the day, i.e. 00:00 of the following day, which is how a
# notice "ends on day X" becomes a timer. Bad arguments raise ValueError (like add_duration).

def _china_day(value: object) -> dt.date:
    """The China date of an ISO date, an aware ISO datetime, a date or an aware datetime."""
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO date or datetime: {value!r}") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"needs an aware time (with an offset), not {value.isoformat()!r}")
        return clock.china_date(value)
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"not a date or time: {value!r}")


def _parse_at(at: str) -> tuple[int, dt.time]:
    """("HH:MM") -> (days to add, time of day); "24:00" is (1, 00:00)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", at if isinstance(at, str) else "")
    hours, minutes = (int(g) for g in match.groups()) if match else (-1, -1)
    if (hours, minutes) == (24, 0):
        return 1, dt.time(0, 0)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(f"at must be HH:MM between 00:00 and 24:00, not {at!r}")
    return 0, dt.time(hours, minutes)


def _at(day: dt.date, at: str) -> dt.datetime:
    """``day`` at ``at`` in China time ("24:00" = 00:00 of the next day)."""
    extra_days, time_of_day = _parse_at(at)
    return dt.datetime.combine(day + dt.timedelta(days=extra_days), time_of_day, tzinfo=clock.CHINA)


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"the number of working days must be an integer, not {n!r}")
    return n


@script_function("add_working_days")
def add_working_days_at(start: object, n: int, at: str = "18:00") -> str:
    """The day ``n`` working days after ``start``'s China date, at ``at`` (end of office hours).

    Raises: ValueError; CalendarYearMissing.
    """
    return _at(current_calendar().add_working_days(_china_day(start), _count(n)), at).isoformat()


@script_function("notice_end")
def notice_end(start: object, n: int, at: str = "24:00") -> str:
    """The end of the last day of an ``n``-working-day notice published at ``start``.

    Counts as ``configure(start_day_counts=...)`` says. Raises: ValueError; CalendarYearMissing.
    """
    _, last = current_calendar().notice_period(_china_day(start), _count(n),
                                               start_day_counts=_settings["start_day_counts"])
    return _at(last, at).isoformat()


@script_function("working_day_end")
def working_day_end(date_or_iso: object, at: str = "18:00") -> str:
    """``at`` on the given China date if it is a working day, else on the next working day.

    E.g. a deadline that falls on a holiday moves to the first working day after it.
    Raises: ValueError; CalendarYearMissing.
    """
    return _at(current_calendar().next_working_day(_china_day(date_or_iso)), at).isoformat()


@script_function("next_month_day")
def next_month_day(month_day: str, at: str = "24:00") -> str:
    """The next "MM-DD" (e.g. "04-15") at ``at`` that is still ahead of the clock.

    This year's MM-DD if ``at`` on that day is later than now (so on 04-15 itself the
    default "24:00" still gives today), otherwise next year's. A plain calendar date: it
    ignores holidays and needs no calendar year. "02-29" is refused (it does not recur
    every year).

    Raises: ValueError for a malformed or impossible MM-DD.
    """
    match = re.fullmatch(r"(\d{2})-(\d{2})", month_day or "")
    if not match or month_day == "02-29":
        raise ValueError(f"month_day must be MM-DD (not 02-29), not {month_day!r}")
    month, day = (int(g) for g in match.groups())
    _parse_at(at)
    now = clock.now()
    year = clock.china_date(now).year
    try:
        candidate = _at(dt.date(year, month, day), at)
    except ValueError:
        raise ValueError(f"no such day: {month_day!r}") from None
    if candidate <= now:
        candidate = _at(dt.date(year + 1, month, day), at)
    return candidate.isoformat()


END_OF_WORKING_DAY = dt.time(18, 0)


def working_days_later(when: dt.datetime, n: int, *, at: dt.time = END_OF_WORKING_DAY) -> dt.datetime:
    """The end of the working day ``n`` working days after ``when``'s China date, in UTC.

    Used for due dates (``dueInWorkingDays``). Raises CalendarYearMissing when a year on
    the way is not loaded.
    """
    day = current_calendar().add_working_days(clock.china_date(when), n)
    return dt.datetime.combine(day, at, tzinfo=clock.CHINA).astimezone(clock.UTC)


def start_day_counts() -> bool:
    """The 公示 counting rule in force (``configure``): does the publication day count?"""
    return _settings["start_day_counts"]


def end_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the end of ``day`` in China (24:00), in UTC."""
    return clock.end_of_china_day(day)


def shipped_calendar() -> WorkingCalendar:
    """The calendar of ``config/calendar/*.toml`` alone, without a database (tests, tools)."""
    years = {}
    for path in sorted(CONFIG_CALENDAR_DIR.glob("*.toml")):
        year = parse_year(path.read_text(encoding="utf-8"), file_name=path.name)
        years[year.year] = year
    return WorkingCalendar(years)
