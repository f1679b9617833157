"""The working-day calendar: file format, arithmetic, storage, and the script functions."""
from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar
import pytest
from chinese_calendar import constants as cc
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import calendar as wcal
from engine import services
from engine.calendar import CalendarYear, WorkingCalendar, parse_year
from engine.clock import FrozenClock, use_clock
from engine.errors import CalendarYearMissing, InvalidInput
from engine.models import CalendarYearRecord

D = dt.date.fromisoformat
YEARS = (2024, 2025, 2026)


@functools.cache
def shipped() -> WorkingCalendar:
    """The calendar of config/calendar/*.toml, without a database."""
    years = {}
    for path in sorted(wcal.CONFIG_CALENDAR_DIR.glob("*.toml")):
        year = parse_year(path.read_text(encoding="utf-8"), file_name=path.name)
        years[year.year] = year
    return WorkingCalendar(years)


# --------------------------------------------------------------------------- notices

def test_notice_spans_seven_working_days_over_national_day():
    # 10-01..07 off; the make-up Saturday 10-10 counts.
    assert shipped().notice_period(D("2026-09-28"), 7) == (D("2026-09-28"), D("2026-10-12"))


def test_notice_spans_seven_working_days_over_spring_festival():
    # The make-up Saturday 02-14 counts; 02-15..23 off.
    assert shipped().notice_period(D("2026-02-12"), 7) == (D("2026-02-12"), D("2026-02-27"))


def test_notice_running_into_an_unloaded_year_raises_calendar_year_missing():
    with pytest.raises(CalendarYearMissing) as caught:
        shipped().notice_period(D("2026-12-28"), 7)
    assert caught.value.year == 2027
    assert "calendar for 2027 not loaded" in caught.value.message


def test_publication_day_not_counted_starts_on_the_next_working_day():
    assert shipped().notice_period(D("2026-09-28"), 7, start_day_counts=False) == (D("2026-09-29"), D("2026-10-13"))
    assert shipped().notice_period(D("2026-02-12"), 7, start_day_counts=False) == (D("2026-02-13"), D("2026-02-28"))


@pytest.mark.parametrize("start_day_counts", [True, False])
def test_notice_published_on_a_saturday_starts_monday(start_day_counts):
    first, last = shipped().notice_period(D("2026-03-07"), 5, start_day_counts=start_day_counts)
    assert (first, last) == (D("2026-03-09"), D("2026-03-13"))


@pytest.mark.parametrize("start_day_counts", [True, False])
def test_notice_published_during_a_holiday_starts_on_the_first_working_day_after(start_day_counts):
    first, _ = shipped().notice_period(D("2026-10-03"), 1, start_day_counts=start_day_counts)
    assert first == D("2026-10-08")


def test_notice_of_zero_days_is_refused():
    with pytest.raises(ValueError):
        shipped().notice_period(D("2026-03-02"), 0)


# --------------------------------------------------------------------------- working days

@pytest.mark.parametrize("day, working", [
    ("2026-10-10", True),   # make-up Saturday (国庆节调休上班)
    ("2026-02-14", True),   # make-up Saturday (春节调休上班)
    ("2026-10-17", False),  # ordinary Saturday
    ("2026-10-18", False),  # ordinary Sunday
    ("2026-10-05", False),  # Monday inside National Day
    ("2025-10-06", False),  # Monday, 中秋节 inside National Day
    ("2026-03-02", True),   # ordinary Monday
])
def test_is_working_day(day, working):
    assert shipped().is_working_day(D(day)) is working


def test_a_date_in_an_unloaded_year_is_never_guessed():
    with pytest.raises(CalendarYearMissing):
        shipped().is_working_day(D("2027-03-01"))
    with pytest.raises(CalendarYearMissing):
        WorkingCalendar({}).next_working_day(D("2026-03-02"))


def test_add_working_days_counts_from_the_day_after():
    cal = shipped()
    assert cal.add_working_days(D("2026-03-06"), 0) == D("2026-03-06")
    assert cal.add_working_days(D("2026-03-06"), 1) == D("2026-03-09")
    assert cal.add_working_days(D("2026-09-30"), 1) == D("2026-10-08")
    with pytest.raises(ValueError):
        cal.add_working_days(D("2026-03-06"), -1)


def test_a_datetime_is_refused_where_a_china_date_is_meant():
    with pytest.raises(TypeError):
        shipped().is_working_day(dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc))


def test_describe_lists_holidays_and_make_up_days_by_date():
    rows = shipped().describe(2026)
    assert rows[0] == (D("2026-01-01"), "holiday", "元旦")
    assert (D("2026-01-04"), "workday", "元旦调休上班") in rows
    assert rows == sorted(rows)


@pytest.mark.parametrize("year", YEARS)
def test_shipped_years_agree_with_chinesecalendar_on_every_day(year):
    cal = shipped()
    day, disagreements = dt.date(year, 1, 1), []
    while day.year == year:
        if cal.is_working_day(day) != chinese_calendar.is_workday(day):
            disagreements.append(day)
        day += dt.timedelta(days=1)
    assert disagreements == []
    data = cal.get_year(year)
    assert set(data.holidays) == {d for d in cc.holidays if d.year == year}
    assert set(data.workdays) == {d for d in cc.workdays if d.year == year}


# --------------------------------------------------------------------------- properties

starts = st.dates(min_value=D("2024-01-01"), max_value=D("2026-11-30"))
counts = st.integers(min_value=0, max_value=30)


def _add(start: dt.date, n: int) -> dt.date:
    try:
        return shipped().add_working_days(start, n)
    except CalendarYearMissing:
        assume(False)
        raise


@settings(max_examples=300, deadline=None)
@given(starts, counts)
def test_add_working_days_lands_on_a_working_day_and_counts_exactly_n(start, n):
    end = _add(start, n)
    cal = shipped()
    if n > 0:
        assert cal.is_working_day(end)
    between = sum(cal.is_working_day(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))
    assert between == n


@settings(max_examples=200, deadline=None)
@given(starts, counts)
def test_add_working_days_grows_strictly_with_n(start, n):
    assert _add(start, n) < _add(start, n + 1)


@settings(max_examples=200, deadline=None)
@given(starts, starts, counts)
def test_add_working_days_is_monotonic_in_the_start_date(a, b, n):
    a, b = min(a, b), max(a, b)
    assert _add(a, n) <= _add(b, n)


# --------------------------------------------------------------------------- the file format

GOOD = """
year = 2026
source = "test"
[[holidays]]
name = "元旦"
dates = ["2026-01-01", "2026-01-02", "2026-01-03"]
[[workdays]]
name = "元旦调休上班"
dates = ["2026-01-04"]
"""


def _holiday(dates: str, name: str = 'name = "元旦"') -> str:
    return f"year = 2026\n[[holidays]]\n{name}\ndates = {dates}\n"


@pytest.mark.parametrize("text, problem", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("year = [", "not valid TOML"),
    ('[[holidays]]\nname = "元旦"\ndates = ["2026-01-01"]\n', "missing year"),
    ('year = "2026"\n' + GOOD.split("\n", 2)[2], "invalid year"),
    ("year = 26\n", "invalid year"),
    ('year = 2026\nholiday = []\n', "unknown key"),
    (_holiday('["2026/01/01"]'), "not an ISO date"),
    (_holiday('["2026-02-30"]'), "not an ISO date"),
    (_holiday("[20260101]"), "not an ISO date"),
    (_holiday('["2025-12-31"]'), "outside the year 2026"),
    (_holiday('["2026-01-01", "2026-01-01"]'), "appears twice"),
    (GOOD + '[[workdays]]\nname = "x"\ndates = ["2026-01-03"]\n', "appears twice"),
    (GOOD + '[[holidays]]\nname = "x"\ndates = ["2026-01-02"]\n', "appears twice"),
    (GOOD.replace('dates = ["2026-01-04"]', 'dates = ["2026-01-05"]'), "not a Saturday or Sunday"),
    (_holiday('["2026-01-01"]', name=""), "has no name"),
    (_holiday('["2026-01-01"]', name='name = " "'), "has no name"),
    (_holiday("[]"), "has no dates"),
    ('year = 2026\n[[holidays]]\nname = "元旦"\n', "has no dates"),
    ("year = 2026\n", "no holidays"),
    ('year = 2026\nholidays = ["2026-01-01"]\n', "array of tables"),
])
def test_parse_year_refuses_bad_files_naming_the_problem(text, problem):
    with pytest.raises(InvalidInput) as caught:
        parse_year(text, file_name="bad.toml")
    message = caught.value.message
    assert problem in message
    assert message.startswith("bad.toml: ") and " / " in message  # the file, Chinese / English


def test_parse_year_reads_the_shipped_format():
    year = parse_year(GOOD)
    assert year == CalendarYear(2026, {D("2026-01-01"): "元旦", D("2026-01-02"): "元旦", D("2026-01-03"): "元旦"},
                                {D("2026-01-04"): "元旦调休上班"}, "test")
    bare = parse_year('year = 2026\n[[holidays]]\nname = "元旦"\ndates = [2026-01-01]\n', file_name="2026.toml")
    assert bare.holidays == {D("2026-01-01"): "元旦"} and bare.source == "2026.toml"


def test_every_shipped_file_names_its_year():
    for path in wcal.CONFIG_CALENDAR_DIR.glob("*.toml"):
        assert parse_year(path.read_text(encoding="utf-8")).year == int(path.stem)


# --------------------------------------------------------------------------- storage (both databases)

def test_seed_import_and_load_round_trip(db, clock):
    with db.unit_of_work() as session:
        assert wcal.seed_from_config(session) == list(YEARS)
    with db.unit_of_work() as session:
        assert wcal.seed_from_config(session) == []  # stored years are left alone
    with db.session() as session:
        cal = wcal.load_calendar(session)
        record = session.get(CalendarYearRecord, 2026)
        assert record.imported_by == "config" and record.imported_at == clock.now()
        assert record.sha256 == wcal.canonical_sha256(shipped().get_year(2026))
        assert record.data["workdays"]["2026-10-10"] == "国庆节调休上班"
        assert wcal.load_calendar(session) is cal  # cached while nothing changed
    assert cal.loaded_years == YEARS
    assert cal.notice_period(D("2026-09-28"), 7) == (D("2026-09-28"), D("2026-10-12"))
    assert cal.get_year(2026) == shipped().get_year(2026)


def test_reimport_of_a_changed_year_is_picked_up(db, clock):
    with db.unit_of_work() as session:
        wcal.seed_from_config(session)
    with db.session() as session:
        before = wcal.load_calendar(session)
    assert before.is_working_day(D("2026-10-08"))
    old = shipped().get_year(2026)
    changed = CalendarYear(2026, {**old.holidays, D("2026-10-08"): "国庆节"}, old.workdays, "corrected")
    clock.advance(days=1)
    with db.unit_of_work() as session:
        record = wcal.import_year(session, changed, by="operator")
        assert (record.imported_by, record.source, record.imported_at) == ("operator", "corrected", clock.now())
    with db.session() as session:
        after = wcal.load_calendar(session)
        assert session.query(CalendarYearRecord).count() == 3
    assert not after.is_working_day(D("2026-10-08"))
    assert after.get_year(2026).source == "corrected"


def test_an_empty_database_gives_a_calendar_that_raises(db):
    with db.session() as session:
        cal = wcal.load_calendar(session)
    with pytest.raises(CalendarYearMissing):
        cal.is_working_day(D("2026-03-02"))


# --------------------------------------------------------------------------- script functions

@pytest.fixture
def at_china():
    """Install the shipped calendar and a frozen clock; returns a function that sets China time."""
    frozen = FrozenClock("2026-03-02T09:00:00+08:00")
    with use_clock(frozen), wcal.use_calendar(shipped()):
        yield lambda iso: frozen.set(dt.datetime.fromisoformat(iso))


def _aware_china(iso: str) -> str:
    parsed = dt.datetime.fromisoformat(iso)
    assert parsed.utcoffset() == dt.timedelta(hours=8) and iso.endswith("+08:00")
    return iso


def test_script_functions_are_registered():
    assert {"add_working_days", "notice_end", "next_month_day", "working_day_end"} <= set(services.script_functions())


def test_add_working_days_returns_the_end_of_office_hours_in_china_time(at_china):
    fn = services.script_functions()["add_working_days"]
    assert _aware_china(fn("2026-09-28", 7)) == "2026-10-13T18:00:00+08:00"
    # 20:00 UTC on 09-27 is already 09-28 in China.
    assert fn("2026-09-27T20:00:00+00:00", 7) == "2026-10-13T18:00:00+08:00"
    assert fn(dt.date(2026, 9, 28), 0, at="09:30") == "2026-09-28T09:30:00+08:00"


def test_notice_end_is_midnight_after_the_last_day(at_china):
    fn = services.script_functions()["notice_end"]
    assert _aware_china(fn("2026-09-28T10:00:00+08:00", 7)) == "2026-10-13T00:00:00+08:00"
    assert fn(dt.datetime(2026, 2, 12, 2, tzinfo=dt.timezone.utc), 7, at="18:00") == "2026-02-27T18:00:00+08:00"
    wcal.configure(start_day_counts=False)
    try:
        assert fn("2026-09-28", 7) == "2026-10-14T00:00:00+08:00"
    finally:
        wcal.configure(start_day_counts=True)


def test_notice_end_into_an_unloaded_year_raises(at_china):
    with pytest.raises(CalendarYearMissing):
        services.script_functions()["notice_end"]("2026-12-28", 7)


def test_working_day_end_moves_a_holiday_to_the_next_working_day(at_china):
    fn = services.script_functions()["working_day_end"]
    assert _aware_china(fn("2026-10-03")) == "2026-10-08T18:00:00+08:00"
    assert fn("2026-10-10", at="24:00") == "2026-10-11T00:00:00+08:00"


@pytest.mark.parametrize("now, at, expected", [
    ("2026-03-02T09:00:00+08:00", "24:00", "2026-04-16T00:00:00+08:00"),
    ("2026-04-15T23:59:00+08:00", "24:00", "2026-04-16T00:00:00+08:00"),  # still today
    ("2026-04-16T00:00:00+08:00", "24:00", "2027-04-16T00:00:00+08:00"),  # passed: next year
    ("2026-04-15T10:00:00+08:00", "09:00", "2027-04-15T09:00:00+08:00"),
    ("2026-04-15T08:00:00+08:00", "09:00", "2026-04-15T09:00:00+08:00"),
])
def test_next_month_day_is_the_next_occurrence_not_yet_passed(at_china, now, at, expected):
    at_china(now)
    assert _aware_china(services.script_functions()["next_month_day"]("04-15", at=at)) == expected


@pytest.mark.parametrize("call", [
    lambda f: f["add_working_days"]("2026-03-02T09:00:00", 1),  # naive time
    lambda f: f["add_working_days"]("next monday", 1),
    lambda f: f["add_working_days"]("2026-03-02", -1),
    lambda f: f["add_working_days"]("2026-03-02", 1.5),
    lambda f: f["add_working_days"]("2026-03-02", 1, at="25:00"),
    lambda f: f["notice_end"]("2026-03-02", 0),
    lambda f: f["next_month_day"]("02-29"),
    lambda f: f["next_month_day"]("04-31"),
    lambda f: f["next_month_day"]("4-15"),
])
def test_script_functions_refuse_bad_arguments(at_china, call):
    with pytest.raises(ValueError):
        call(services.script_functions())


def test_without_an_installed_calendar_the_current_year_is_missing():
    with use_clock(FrozenClock("2026-12-31T17:00:00+00:00")):  # already 2027 in China
        with pytest.raises(CalendarYearMissing) as caught:
            wcal.current_calendar()
    assert caught.value.year == 2027
    with wcal.use_calendar(shipped()):
        assert wcal.current_calendar() is shipped()




def test_working_days_between_counts_like_a_due_date_countdown():
    cal = wcal.shipped_calendar()
    friday, monday = dt.date(2026, 3, 6), dt.date(2026, 3, 9)
    assert cal.working_days_between(friday, friday) == 0
    assert cal.working_days_between(friday, monday) == 1
    assert cal.working_days_between(monday, friday) == -1
    # across the National Day holiday, checked against the chinesecalendar package
    start, end = dt.date(2026, 9, 25), dt.date(2026, 10, 16)
    expected = sum(chinese_calendar.is_workday(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))
    assert cal.working_days_between(start, end) == expected
    assert cal.working_days_between(end, start) == -expected
