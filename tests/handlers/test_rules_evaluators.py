"""第十五条 (known evaluator), 第三十条 (bans) and 第三十一条 (15 national evaluations a year)."""
from __future__ import annotations

import datetime as dt

import pytest

from handlers.records import ApplicationRecord
from handlers.rules.evaluators import (
    art15_evaluator_known,
    art30_evaluator_not_banned,
    art31_national_evaluation_cap,
)
from tests.handlers.factories import NOW_DT, TODAY, add_ban, add_evaluator, add_national_evaluations, application


def third_party(**overrides):
    return application(**{"evaluation_mode": "third_party", "evaluator_id": "EV001", **overrides})


def test_a_registered_evaluator_passes_article_15(session):
    add_evaluator(session, "EV001")
    assert art15_evaluator_known(session, third_party(), TODAY) == []


def test_self_evaluation_needs_no_evaluator(session):
    assert art15_evaluator_known(session, application(evaluation_mode="self", evaluator_id=None), TODAY) == []


@pytest.mark.parametrize("evaluator_id", ["EV999", None, ""])
def test_unknown_evaluator_is_refused_naming_evaluator_id(session, evaluator_id):
    [v] = art15_evaluator_known(session, third_party(evaluator_id=evaluator_id), TODAY)
    assert (v.rule, v.article, v.field, v.severity) == ("art15_evaluator_known", "第十五条", "evaluator_id", "refuse")


@pytest.mark.parametrize("starts, ends", [
    (dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
    (TODAY, TODAY),  # both ends inclusive
])
def test_evaluator_banned_today_is_refused_citing_article_30(session, starts, ends):
    add_evaluator(session, "EV001")
    add_ban(session, "EV001", starts, ends)
    [v] = art30_evaluator_not_banned(session, third_party(), TODAY)
    assert (v.rule, v.article, v.field) == ("art30_evaluator_not_banned", "第三十条", "evaluator_id")
    assert "（第三十条）" in v.message_zh and "(Article 30)" in v.message_en


@pytest.mark.parametrize("starts, ends", [
    (dt.date(2022, 1, 1), dt.date(2026, 5, 10)),  # ended yesterday
    (dt.date(2026, 5, 12), dt.date(2029, 5, 11)),  # starts tomorrow
])
def test_evaluator_outside_its_ban_passes_article_30(session, starts, ends):
    add_evaluator(session, "EV001")
    add_ban(session, "EV001", starts, ends)
    assert art30_evaluator_not_banned(session, third_party(), TODAY) == []


def test_a_ban_does_not_touch_self_evaluations(session):
    add_evaluator(session, "EV001")
    add_ban(session, "EV001", dt.date(2024, 1, 1), dt.date(2027, 1, 1))
    assert art30_evaluator_not_banned(session, application(evaluator_id="EV001"), TODAY) == []


def test_fifteen_national_evaluations_this_year_refuse_the_sixteenth_citing_article_31(session):
    add_evaluator(session, "EV001", legal_representative="李四")
    add_national_evaluations(session, "EV001", 15)
    [v] = art31_national_evaluation_cap(session, third_party(target_level="national"), TODAY)
    assert (v.rule, v.article, v.field) == ("art31_national_evaluation_cap", "第三十一条", "evaluator_id")
    assert "（第三十一条）" in v.message_zh and "(Article 31)" in v.message_en


def test_fourteen_national_evaluations_allow_the_fifteenth(session):
    add_evaluator(session, "EV001")
    add_national_evaluations(session, "EV001", 14)
    assert art31_national_evaluation_cap(session, third_party(target_level="national"), TODAY) == []


def test_the_cap_counts_all_evaluators_of_one_legal_representative(session):
    add_evaluator(session, "EV001", legal_representative="李四")
    add_evaluator(session, "EV002", legal_representative="李四")
    add_evaluator(session, "EV003", legal_representative="王五")
    add_national_evaluations(session, "EV001", 8, first_instance=1000)
    add_national_evaluations(session, "EV002", 7, first_instance=2000)
    add_national_evaluations(session, "EV003", 10, first_instance=3000)
    assert len(art31_national_evaluation_cap(session, third_party(target_level="national"), TODAY)) == 1
    assert art31_national_evaluation_cap(session, third_party(target_level="national", evaluator_id="EV003"), TODAY) == []


@pytest.mark.parametrize("overrides", [
    {"target_level": "province"},  # only national evaluations are capped
    {"target_level": "national", "year": 2027},  # other years do not count
])
def test_the_cap_is_per_year_and_national_only(session, overrides):
    add_evaluator(session, "EV001")
    add_national_evaluations(session, "EV001", 15, year=2026)
    assert art31_national_evaluation_cap(session, third_party(**overrides), TODAY) == []


def test_the_application_being_checked_does_not_count_against_itself(session):
    add_evaluator(session, "EV001")
    add_national_evaluations(session, "EV001", 14)
    app = third_party(target_level="national")
    session.add(ApplicationRecord(instance_id=1, credit_code=app["credit_code"], unit_type="factory",
                                  target_level="national", year=2026, evaluation_mode="third_party",
                                  evaluator_id="EV001", status="open", submitted_at=NOW_DT))
    assert art31_national_evaluation_cap(session, app, TODAY) == []
