"""The rule set as a whole: every finding cites its article in both languages."""
from __future__ import annotations

import datetime as dt

import pytest

from handlers.rules import RULES, Violation, article_number, check_application
from handlers.rules._base import flag, refuse
from tests.handlers.factories import TODAY, add_negative, application, uscc


def test_an_ordinary_city_application_is_eligible_without_flags(session):
    result = check_application(session, application(), TODAY)
    assert result.eligible and result.violations == () and result.flags == ()


def test_violations_and_flags_are_split_by_severity(session):
    add_negative(session, uscc(1), 4, dt.date(2025, 1, 1))
    app = application(industry_code="16", target_level="province", energy_tce=5000)
    result = check_application(session, app, TODAY)
    assert not result.eligible
    assert {v.rule for v in result.violations} == {"art5_tobacco_excluded", "art27_item4_within_three_years"}
    assert {f.rule for f in result.flags} == {"art10_energy_management_certification", "art22_province_needs_city_listing"}
    assert result.to_dict()["violations"][0].keys() == {"rule", "article", "field", "message_zh", "message_en"}


def test_every_rule_id_carries_its_article_number():
    for rule in RULES:
        number = rule.__name__.split("_")[0].removeprefix("art")
        assert number.isdigit(), rule.__name__


def test_findings_cite_the_article_in_both_languages(session):
    # A worst-case application triggers most rules at once.
    app = application(unit_type="park", park_level="county", target_level="province", credit_code=uscc(900),
                      evaluation_mode="third_party", evaluator_id="EV404")
    findings = [*check_application(session, app, TODAY).violations, *check_application(session, app, TODAY).flags]
    assert len(findings) >= 3
    for v in findings:
        n = article_number(v.article)
        assert v.rule.startswith(f"art{n}_")
        assert f"（{v.article}" in v.message_zh and f"(Article {n}" in v.message_en


@pytest.mark.parametrize("article, number", [("第五条", 5), ("第十条", 10), ("第十五条", 15), ("第二十条", 20),
                                              ("第二十七条", 27), ("第三十一条", 31)])
def test_article_numbers_are_read_from_chinese_numerals(article, number):
    assert article_number(article) == number


def test_a_rule_id_without_its_article_number_is_a_bug():
    with pytest.raises(ValueError):
        refuse("art6_wrong", "第五条", "x", "…", "…")


def test_a_violation_becomes_a_rule_violation_error():
    error = flag("art22_x", "第二十二条", "target_level", "甲", "a").to_error()
    assert error.article == "第二十二条" and error.field == "target_level"
    assert isinstance(refuse("art5_x", "第五条", "f", "甲", "a"), Violation)
