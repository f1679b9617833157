"""Application notices (第十四条) as data, and the July-31 check of the national step (第二十一条)."""
from __future__ import annotations

import datetime as dt

import pytest

from engine.errors import InvalidInput, RuleViolation
from handlers.application_windows import check_national_recommendation_deadline, normalise_window

NOTICE = {"level": "city", "scope": "520300", "year": 2026, "opens_on": "2026-03-01", "closes_on": "2026-04-30",
          "unit_types": ["park", "factory"], "title": " 遵义市申报通知 ", "notice_ref": "遵工信〔2026〕1号",
          "guide_version": "2026年版"}


def test_a_notice_is_normalised():
    window = normalise_window(NOTICE)
    assert window["opens_on"] == dt.date(2026, 3, 1) and window["unit_types"] == ["factory", "park"]
    assert window["title"] == "遵义市申报通知" and window["notice_url"] is None
    assert normalise_window({**NOTICE, "level": "province", "scope": "520300"})["scope"] == "520000"
    assert normalise_window({**NOTICE, "level": "national"})["scope"] == "national"
    assert normalise_window({**NOTICE, "unit_types": "park"})["unit_types"] == ["park"]


@pytest.mark.parametrize("overrides, field", [
    ({"level": None}, "level"), ({"scope": "GZ"}, "scope"), ({"scope": "520000"}, "scope"),
    ({"year": 1999}, "year"), ({"opens_on": ""}, "opens_on"), ({"closes_on": "2026-02-28"}, "closes_on"),
    ({"opens_on": "2024-12-31"}, "opens_on"), ({"unit_types": None}, "unit_types"),
    ({"title": "x" * 301}, "title"), ({"notice_url": "h" * 501}, "notice_url"),
])
def test_a_bad_notice_names_the_field(overrides, field):
    with pytest.raises(InvalidInput) as err:
        normalise_window({**NOTICE, **overrides})
    assert field in err.value.fields


def test_the_national_step_may_recommend_until_july_31_of_the_application_year(ctx):
    # the handlers' clock: 2026-05-11
    assert check_national_recommendation_deadline(ctx, application={"year": 2026}, decision="recommend") == \
        {"deadline": "2026-07-31"}
    with pytest.raises(RuleViolation) as err:
        check_national_recommendation_deadline(ctx, application={"year": 2025}, decision="recommend")
    assert (err.value.article, err.value.field) == ("第二十一条", "national_recommendation")
    assert check_national_recommendation_deadline(ctx, application={"year": 2025}, decision="not_recommend")
