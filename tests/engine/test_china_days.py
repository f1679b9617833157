"""Date filters (audit search, exports, access log, migration selection) bound a China day in UTC."""
from __future__ import annotations

import datetime as dt

from engine.clock import UTC, end_of_china_day, start_of_china_day


def test_a_china_day_runs_from_16_00_utc_the_day_before():
    day = dt.date(2026, 3, 2)
    assert start_of_china_day(day) == dt.datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert end_of_china_day(day) == dt.datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_the_first_and_last_dates_a_caller_can_type_do_not_overflow():
    assert start_of_china_day(dt.date.min) == dt.datetime.min.replace(tzinfo=UTC)
    assert end_of_china_day(dt.date.max) == dt.datetime.max.replace(tzinfo=UTC)
