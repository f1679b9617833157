"""第二十二条 (listing order) and 第二十三条 (supply chain after factory; park conditions)."""
from __future__ import annotations

import datetime as dt

import pytest

from handlers.park_members import ParkMember
from handlers.records import CultivationRecord
from handlers.rules.procedure import (
    art22_listing_order,
    art23_park_needs_green_units,
    art23_supply_chain_needs_green_factory,
)
from tests.handlers.factories import COUNTY, NOW_DT, TODAY, add_listing, add_unit, application, uscc

UNIT = uscc(1)
PARK = uscc(900)


@pytest.mark.parametrize("target, held", [
    ("city", None), ("province", "city"), ("province", "province"), ("province", "national"),
    ("national", "province"), ("national", "national"),
])
def test_a_unit_on_the_lower_list_passes_article_22(session, target, held):
    if held:
        add_listing(session, UNIT, held)
    assert art22_listing_order(session, application(target_level=target), TODAY) == []


@pytest.mark.parametrize("target, held, rule", [
    ("province", None, "art22_province_needs_city_listing"),
    ("national", None, "art22_national_needs_province_listing"),
    ("national", "city", "art22_national_needs_province_listing"),
])
def test_skipping_a_level_is_flagged_citing_article_22(session, target, held, rule):
    if held:
        add_listing(session, UNIT, held)
    [v] = art22_listing_order(session, application(target_level=target), TODAY)
    assert (v.rule, v.article, v.field, v.severity) == (rule, "第二十二条", "target_level", "flag")


def test_a_removed_or_other_type_listing_does_not_count_for_article_22(session):
    add_listing(session, UNIT, "city", status="removed")
    add_listing(session, UNIT, "city", unit_type="supply_chain")
    assert len(art22_listing_order(session, application(target_level="province"), TODAY)) == 1


def test_supply_chain_enterprise_that_is_a_provincial_green_factory_passes_article_23(session):
    add_listing(session, UNIT, "province", unit_type="factory")
    app = application(unit_type="supply_chain", target_level="province")
    assert art23_supply_chain_needs_green_factory(session, app, TODAY) == []


@pytest.mark.parametrize("target, factory_level", [("province", "city"), ("national", "province"), ("national", None)])
def test_supply_chain_enterprise_not_a_green_factory_of_its_level_is_flagged_citing_article_23(session, target, factory_level):
    if factory_level:
        add_listing(session, UNIT, factory_level, unit_type="factory")
    app = application(unit_type="supply_chain", target_level=target)
    [v] = art23_supply_chain_needs_green_factory(session, app, TODAY)
    assert (v.rule, v.article, v.field, v.severity) == ("art23_supply_chain_needs_green_factory", "第二十三条", "unit_type", "flag")


def park_application(**overrides):
    return application(**{"unit_type": "park", "target_level": "province", "credit_code": PARK,
                          "park_level": "provincial", "industry_code": None, **overrides})


def list_units_near_park(session, level, count, *, county=COUNTY, unit_type="factory", start=100,
                         status="confirmed", member=True, left_on=None):
    """Listed units; with ``member`` each is a member of PARK (status ``status``) since 2024-01-01."""
    for i in range(count):
        code = uscc(start + i)
        add_unit(session, code, county_code=county, unit_type=unit_type)
        add_listing(session, code, level, unit_type=unit_type)
        if member:
            session.add(ParkMember(park_credit_code=PARK, member_credit_code=code, member_name=f"入园企业{i}",
                                   joined_on=dt.date(2024, 1, 1), left_on=left_on, status=status,
                                   proposed_by="ent-park", proposed_at=NOW_DT))
    session.flush()


@pytest.mark.parametrize("level, count", [("province", 3), ("national", 1)])
def test_park_with_three_provincial_or_one_national_unit_passes_article_23(session, level, count):
    add_unit(session, PARK, unit_type="park")
    list_units_near_park(session, level, count)
    assert art23_park_needs_green_units(session, park_application(), TODAY) == []


def test_members_in_another_county_count_for_article_23(session):
    add_unit(session, PARK, unit_type="park")
    list_units_near_park(session, "national", 1, county="520102")
    assert art23_park_needs_green_units(session, park_application(), TODAY) == []


def test_park_that_cultivated_three_units_in_the_application_year_passes_article_23(session):
    for i in range(3):
        session.add(CultivationRecord(park_credit_code=PARK, unit_credit_code=uscc(200 + i), year=2026))
    assert art23_park_needs_green_units(session, park_application(), TODAY) == []


@pytest.mark.parametrize("setup", ["two_provincial", "same_county_not_members", "not_confirmed", "left_before",
                                   "other_parks", "cultivated_last_year", "nothing"])
def test_park_without_enough_green_units_is_refused_citing_article_23(session, setup):
    add_unit(session, PARK, unit_type="park")
    if setup == "two_provincial":
        list_units_near_park(session, "province", 2)
    elif setup == "same_county_not_members":  # the county approximation is gone: only members count
        list_units_near_park(session, "national", 1, member=False)
    elif setup == "not_confirmed":
        list_units_near_park(session, "national", 1, status="proposed")
    elif setup == "left_before":
        list_units_near_park(session, "national", 1, left_on=dt.date(2026, 1, 1))
    elif setup == "other_parks":
        list_units_near_park(session, "national", 1, unit_type="park")
    elif setup == "cultivated_last_year":
        for i in range(3):
            session.add(CultivationRecord(park_credit_code=PARK, unit_credit_code=uscc(200 + i), year=2025))
    [v] = art23_park_needs_green_units(session, park_application(), TODAY)
    assert (v.rule, v.article, v.field, v.severity) == ("art23_park_needs_green_units", "第二十三条", "target_level", "refuse")
    assert "（第二十三条）" in v.message_zh and "(Article 23)" in v.message_en
    assert "入园企业" in v.message_zh


def test_park_condition_applies_to_province_target_only(session):
    assert art23_park_needs_green_units(session, park_application(target_level="city"), TODAY) == []
