"""Divisions (config/divisions.csv) and industries (config/industries.csv)."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.services import script_functions
from handlers.divisions import cities, city_of, counties_of, division, is_county
from handlers.industries import industry, industry_table


@pytest.mark.parametrize("code, city", [
    ("520302", "520300"),  # 红花岗区 → 遵义市
    ("520102", "520100"),  # 南明区 → 贵阳市
    ("520300", "520300"),  # a prefecture is its own city
    ("GA0000", "GA0000"),  # 贵安新区 has no counties
    ("ga0000", "GA0000"),
    (522301, "522300"),  # 兴义市, given as a number
])
def test_city_of_gives_the_reviewing_city(code, city):
    assert city_of(code) == city


@pytest.mark.parametrize("code", ["999999", "", None, "520000"])
def test_city_of_refuses_unknown_codes_and_the_province_naming_county_code(code):
    with pytest.raises(InvalidInput) as caught:
        city_of(code)
    assert caught.value.field == "county_code"


def test_city_of_is_a_script_function():
    assert script_functions()["city_of"] is city_of


def test_ten_city_level_divisions_include_gui_an_new_area():
    codes = [c.code for c in cities()]
    assert len(codes) == 10 and "GA0000" in codes and "520000" not in codes


def test_counties_belong_to_exactly_one_city_and_number_88():
    assert sum(len(counties_of(c.code)) for c in cities()) == 88
    assert counties_of("GA0000") == ()
    assert all(d.parent_code == "520100" for d in counties_of("520100"))


def test_counties_of_refuses_a_county():
    with pytest.raises(InvalidInput) as caught:
        counties_of("520302")
    assert caught.value.field == "city_code"


def test_is_county():
    assert is_county("520302") and not is_county("520300") and not is_county("GA0000") and not is_county("x")
    assert division("520302").name == "红花岗区"


def test_industries_are_section_c_divisions_13_to_43():
    assert sorted(industry_table()) == [str(n) for n in range(13, 44)]


def test_tobacco_is_the_only_ineligible_division():
    assert [i.code for i in industry_table().values() if not i.eligible] == ["16"]
    assert industry(26).eligible


@pytest.mark.parametrize("code", ["01", "44", "C26", "", None])
def test_industry_refuses_codes_outside_section_c_naming_industry_code(code):
    with pytest.raises(InvalidInput) as caught:
        industry(code)
    assert caught.value.field == "industry_code"
