"""第二十七条: items 1–6 bar an application for three years."""
from __future__ import annotations

import datetime as dt

import pytest

from engine.clock import UTC
from handlers.rules import check_application
from handlers.rules.management import art27_no_recent_bar, art27_park_enterprises_clear, bar_starts
from handlers.park_members import ParkMember
from tests.handlers.factories import NOW_DT, TODAY, add_listing, add_negative, add_unit, application, uscc

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


def member(session, park, code, joined, left=None, status="confirmed"):
    session.add(ParkMember(park_credit_code=park, member_credit_code=code, member_name="入园企业甲",
                           joined_on=joined, left_on=left, status=status, proposed_by="ent-park",
                           proposed_at=NOW_DT))
    session.flush()


def test_a_member_enterprise_with_a_bar_refuses_the_park_naming_it(session):
    park = uscc(900)
    add_unit(session, uscc(2))
    add_negative(session, uscc(2), 3, dt.date(2025, 1, 1))
    member(session, park, uscc(2), dt.date(2024, 1, 1), left=dt.date(2025, 6, 1))  # left after: still bars
    app = application(unit_type="park", credit_code=park, park_level="provincial")
    [v] = art27_park_enterprises_clear(session, app, TODAY)
    assert (v.rule, v.article, v.severity, v.field) == ("art27_park_member_item3", "第二十七条", "refuse", "credit_code")
    assert "入园企业甲" in v.message_zh and uscc(2) in v.message_zh and "（第二十七条第3项）" in v.message_zh
    assert not check_application(session, app, TODAY).eligible
    assert art27_park_enterprises_clear(session, application(), TODAY) == []  # factories are not checked


@pytest.mark.parametrize("joined, status", [
    (dt.date(2025, 2, 1), "confirmed"),  # joined after the event
    (dt.date(2024, 1, 1), "proposed"),  # never confirmed by the county
    (dt.date(2024, 1, 1), "rejected"),
])
def test_a_ground_outside_a_confirmed_membership_does_not_bar_the_park(session, joined, status):
    park = uscc(900)
    add_negative(session, uscc(2), 3, dt.date(2025, 1, 1))
    add_unit(session, uscc(3))  # an enterprise of the park's county that is not a member: no longer counted
    add_negative(session, uscc(3), 6, dt.date(2025, 1, 1))
    member(session, park, uscc(2), joined, status=status)
    app = application(unit_type="park", credit_code=park, park_level="provincial")
    assert art27_park_enterprises_clear(session, app, TODAY) == []
