"""第二十七条: items 1–6 bar an application for three years."""
from __future__ import annotations

import datetime as dt

import pytest

from engine.clock import UTC
from handlers.rules import check_application
from handlers.rules.management import art27_no_recent_bar, art27_park_enterprises_clear, bar_starts
from tests.handlers.factories import TODAY, add_listing, add_negative, add_unit, application, uscc

UNIT = uscc(1)


def test_a_negative_record_two_years_ago_refuses_naming_the_item(session):
    add_negative(session, UNIT, 6, dt.date(2024, 5, 11))
    [v] = art27_no_recent_bar(session, application(), TODAY)
    assert (v.rule, v.article, v.field, v.severity) == ("art27_item6_within_three_years", "第二十七条", "credit_code", "refuse")
    assert "（第二十七条第6项）" in v.message_zh and "(Article 27, item 6)" in v.message_en
    assert not check_application(session, application(), TODAY).eligible


def test_a_negative_record_four_years_ago_does_not_refuse(session):
    add_negative(session, UNIT, 3, dt.date(2022, 5, 11))
    assert art27_no_recent_bar(session, application(), TODAY) == []


def test_the_bar_ends_on_the_third_anniversary(session):
    add_negative(session, UNIT, 2, dt.date(2023, 5, 11))
    assert art27_no_recent_bar(session, application(), TODAY) == []
    add_negative(session, UNIT, 2, dt.date(2023, 5, 12))
    assert len(art27_no_recent_bar(session, application(), TODAY)) == 1


def test_bar_window_handles_29_february():
    assert bar_starts(dt.date(2028, 2, 29)) == dt.date(2025, 3, 1)


@pytest.mark.parametrize("item", [7, 8])
def test_items_7_and_8_remove_a_listing_but_do_not_bar_an_application(session, item):
    add_negative(session, UNIT, item, dt.date(2025, 1, 1))
    assert art27_no_recent_bar(session, application(), TODAY) == []


def test_another_units_record_does_not_refuse(session):
    add_negative(session, uscc(2), 6, dt.date(2025, 1, 1))
    assert art27_no_recent_bar(session, application(), TODAY) == []


def test_one_violation_per_item(session):
    add_negative(session, UNIT, 3, dt.date(2024, 1, 1))
    add_negative(session, UNIT, 3, dt.date(2025, 1, 1))
    add_negative(session, UNIT, 5, dt.date(2025, 1, 1))
    assert [v.rule for v in art27_no_recent_bar(session, application(), TODAY)] == [
        "art27_item3_within_three_years", "art27_item5_within_three_years",
    ]


def test_a_listing_removed_within_three_years_is_item_1(session):
    add_listing(session, UNIT, "city", status="removed", removed_at=dt.datetime(2025, 3, 1, tzinfo=UTC))
    [v] = art27_no_recent_bar(session, application(), TODAY)
    assert v.rule == "art27_item1_within_three_years" and "第二十七条第1项" in v.message_zh


def test_enterprises_of_the_parks_county_with_a_bar_are_flagged_for_a_park(session):
    park = uscc(900)
    add_unit(session, uscc(2))
    add_negative(session, uscc(2), 3, dt.date(2025, 1, 1))
    app = application(unit_type="park", credit_code=park, park_level="provincial")
    [v] = art27_park_enterprises_clear(session, app, TODAY)
    assert (v.article, v.severity, v.field) == ("第二十七条", "flag", "credit_code")
    assert art27_park_enterprises_clear(session, application(), TODAY) == []  # factories are not checked
