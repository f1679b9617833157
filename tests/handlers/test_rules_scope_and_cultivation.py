"""第五条 (scope) and 第十条第4项 (energy-management certification)."""
from __future__ import annotations

import pytest

from handlers.rules import check_application
from handlers.rules.eligibility import art10_item4_energy_management
from handlers.rules.eligibility_energy import total_energy_tce
from handlers.rules.eligibility_examples import sample_evidence
from handlers.rules.scope import art5_manufacturing_only, art5_park_provincial_or_above
from tests.handlers.factories import TODAY, application


def test_manufacturing_factory_passes_article_5(session):
    assert art5_manufacturing_only(session, application(industry_code="26"), TODAY) == []


def test_tobacco_is_refused_citing_article_5(session):
    [v] = art5_manufacturing_only(session, application(industry_code="16"), TODAY)
    assert (v.rule, v.article, v.field, v.severity) == ("art5_tobacco_excluded", "第五条", "industry_code", "refuse")
    assert "（第五条）" in v.message_zh and "(Article 5)" in v.message_en


@pytest.mark.parametrize("code", ["01", "44", "", None, "2614x"])
def test_non_manufacturing_or_unknown_industry_is_refused_naming_industry_code(session, code):
    [v] = art5_manufacturing_only(session, application(unit_type="supply_chain", industry_code=code), TODAY)
    assert (v.rule, v.article, v.field) == ("art5_manufacturing_only", "第五条", "industry_code")


def test_industry_code_does_not_apply_to_parks(session):
    app = application(unit_type="park", industry_code=None, park_level="provincial")
    assert art5_manufacturing_only(session, app, TODAY) == []


@pytest.mark.parametrize("level", ["provincial", "national"])
def test_provincial_or_national_park_passes_article_5(session, level):
    assert art5_park_provincial_or_above(session, application(unit_type="park", park_level=level), TODAY) == []


@pytest.mark.parametrize("level", ["city", "county", None])
def test_park_below_provincial_level_is_refused_citing_article_5(session, level):
    [v] = art5_park_provincial_or_above(session, application(unit_type="park", park_level=level), TODAY)
    assert (v.article, v.field, v.severity) == ("第五条", "park_level", "refuse")


def _factory(**evidence):
    base = sample_evidence("factory", energy_tce=1200.0, energy_cert=False)["factory_evidence"]
    return application(factory_evidence={**base, **evidence})


def test_3000_tce_exactly_without_certification_is_flagged_not_refused(session):
    app = _factory(electricity_10k_kwh=1000, other_energy_tce=1771)  # 1000万kWh × 0.1229 + 1771 = 3000 tce
    [v] = art10_item4_energy_management(session, {**app, "energy_tce": 3000.0}, TODAY)
    assert (v.rule, v.article, v.field, v.severity) == ("art10_energy_management_certification", "第十条", "energy_cert", "flag")
    assert "第十条第4项" in v.message_zh and "Article 10, item 4" in v.message_en
    result = check_application(session, {**app, "energy_tce": 3000.0}, TODAY)
    assert result.eligible and "art10_energy_management_certification" in [f.rule for f in result.flags]


@pytest.mark.parametrize("other, cert", [(1770.9, False), (50000, True)])
def test_below_3000_tce_or_certified_is_not_flagged(session, other, cert):
    app = _factory(electricity_10k_kwh=1000, other_energy_tce=other, energy_cert_number="CN-EnMS-2026-001",
                   energy_cert_valid_until="2029-12-31")
    app = {**app, "energy_tce": total_energy_tce(1000, other), "energy_cert": cert}
    assert art10_item4_energy_management(session, app, TODAY) == []


def test_unreadable_energy_use_is_flagged_for_the_reviewer(session):
    [v] = art10_item4_energy_management(session, _factory(electricity_10k_kwh="lots"), TODAY)
    assert (v.rule, v.field, v.severity) == ("art10_energy_use_unknown", "factory_evidence.electricity_10k_kwh", "flag")


def test_energy_certification_is_a_factory_condition_only(session):
    app = application(unit_type="supply_chain", energy_tce=9000)
    assert art10_item4_energy_management(session, app, TODAY) == []
