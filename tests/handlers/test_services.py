"""Service tasks check_eligibility, record_outcome and record_listing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidInput
from engine.services import get_service, service_names
from handlers.records import ApplicationRecord, Listing, Unit
from handlers.services import check_eligibility, record_listing, record_outcome
from tests.handlers.factories import NOW, application, uscc


def test_importing_handlers_registers_every_service_of_the_contract():
    assert {"check_eligibility", "record_outcome", "record_listing", "open_notice", "close_notice"} <= service_names()
    assert get_service("check_eligibility") is check_eligibility


def test_check_eligibility_returns_the_contract_shape_and_records_the_application(ctx, session):
    result = check_eligibility(ctx, application=application(energy_tce=3000, credit_code=uscc(1).lower()))
    assert result == {"eligible": True, "violations": [], "flags": [result["flags"][0]], "checks": result["checks"]}
    # 第十条's four items with their evidence (issue 16: the checks beside the evidence, docs/eligibility.md)
    assert [(c["cite_zh"], c["status"]) for c in result["checks"]] == [
        ("第十条第1项", "pass"), ("第十条第2项", "pass"), ("第十条第3项", "pass"), ("第十条第4项", "flag")]
    assert result["flags"][0]["article"] == "第十条"
    unit = session.scalar(select(Unit))
    assert (unit.credit_code, unit.county_code, unit.industry_code) == (uscc(1), "520302", "26")
    assert unit.created_at.isoformat() == NOW
    record = session.scalar(select(ApplicationRecord))
    assert (record.instance_id, record.status, record.target_level, record.year) == (1, "open", "city", 2026)
    [(event, payload)] = ctx.events
    assert event == "eligibility_checked" and payload["flags"] == ["art10_energy_management_certification"]


def test_check_eligibility_refuses_tobacco_citing_article_5(ctx):
    result = check_eligibility(ctx, application=application(industry_code="16"))
    assert result["eligible"] is False
    assert [(v["rule"], v["article"], v["field"]) for v in result["violations"]] == [
        ("art5_tobacco_excluded", "第五条", "industry_code")
    ]


def test_check_eligibility_twice_updates_one_unit_and_one_record(make_ctx, session):
    check_eligibility(make_ctx(1), application=application())
    check_eligibility(make_ctx(2), application=application(target_level="province"))
    check_eligibility(make_ctx(1), application=application(unit_name="新名称有限公司"))
    assert session.scalar(select(func.count()).select_from(Unit)) == 1
    assert session.scalar(select(Unit.name)) == "新名称有限公司"
    assert session.scalar(select(func.count()).select_from(ApplicationRecord)) == 2


@pytest.mark.parametrize("overrides, field", [
    ({"credit_code": "91350100M000100Y44"}, "credit_code"),
    ({"county_code": "999999"}, "county_code"),
    ({"county_code": "520000"}, "county_code"),
    ({"unit_type": "shop"}, "unit_type"),
    ({"target_level": "world"}, "target_level"),
    ({"evaluation_mode": "friend"}, "evaluation_mode"),
    ({"year": "next"}, "year"),
    ({"year": True}, "year"),
    ({"unit_name": "  "}, "unit_name"),
    ({"unit_name": "长" * 201}, "unit_name"),
])
def test_malformed_application_is_refused_naming_the_field_before_anything_is_written(ctx, session, overrides, field):
    with pytest.raises(InvalidInput) as caught:
        check_eligibility(ctx, application=application(**overrides))
    assert caught.value.field == field
    assert session.scalar(select(func.count()).select_from(Unit)) == 0 and ctx.events == []


def test_record_outcome_closes_the_application_record(ctx, session, clock):
    check_eligibility(ctx, application=application())
    clock.advance(days=30)
    result = record_outcome(ctx, application=application(), outcome="listed_city", reason="公示无异议")
    record = session.scalar(select(ApplicationRecord))
    assert (record.status, record.outcome, record.outcome_reason) == ("decided", "listed_city", "公示无异议")
    assert record.decided_at == clock.now() and result["decided_at"] == clock.now().isoformat()


def test_record_outcome_refuses_an_outcome_outside_the_contract(ctx):
    with pytest.raises(InvalidInput) as caught:
        record_outcome(ctx, application=application(), outcome="approved", reason="")
    assert caught.value.field == "outcome"


@pytest.mark.parametrize("county, level, scope", [
    ("520302", "city", "520300"),
    ("GA0000", "city", "GA0000"),
    ("520302", "province", "520000"),
    ("520302", "national", "national"),
])
def test_record_listing_scopes_the_list_by_level(ctx, county, level, scope):
    assert record_listing(ctx, application=application(county_code=county), level=level)["scope"] == scope


def test_record_listing_is_idempotent_per_instance_and_level(ctx, session):
    first = record_listing(ctx, application=application(), level="province")
    again = record_listing(ctx, application=application(), level="province")
    assert first == again
    record_listing(ctx, application=application(), level="national")
    assert session.scalar(select(func.count()).select_from(Listing)) == 2
    assert [e for e, _ in ctx.events] == ["listing_recorded", "listing_recorded"]


def test_record_listing_refuses_an_unknown_level(ctx):
    with pytest.raises(InvalidInput) as caught:
        record_listing(ctx, application=application(), level="county")
    assert caught.value.field == "level"
