"""第十、十一、十二条 on the evidence of each unit type: refusals for 应当, flags for 原则上, each citing
its article and item; the checklist beside the evidence; the reviewers' acknowledgement of flags."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.services import script_functions
from handlers.rules import check_application
from handlers.rules.eligibility_checks import acknowledge_flags
from handlers.rules.eligibility_energy import energy_settings, total_energy_tce
from handlers.rules.eligibility_examples import sample_evidence
from tests.handlers.factories import TODAY, add_listing, application, uscc

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def factory(**evidence):
    """A city factory application whose 第十条 evidence has ``evidence`` changed."""
    base = sample_evidence("factory", energy_tce=1200.0, energy_cert=False)["factory_evidence"]
    return application(factory_evidence={**base, **evidence})


def park(**evidence):
    base = sample_evidence("park")["park_evidence"]
    return application(unit_type="park", park_level="provincial", industry_code=None, credit_code=uscc(700),
                       park_evidence={**base, **evidence})


def supply_chain(**evidence):
    base = sample_evidence("supply_chain")["supply_chain_evidence"]
    return application(unit_type="supply_chain", credit_code=uscc(800), supply_chain_evidence={**base, **evidence})


def findings(session, app):
    result = check_application(session, app, TODAY)
    return result, {v.rule: v for v in (*result.violations, *result.flags)}


@pytest.mark.parametrize("build", [factory, park, supply_chain], ids=["factory", "park", "supply_chain"])
def test_the_sample_evidence_of_each_type_passes_every_item(session, build):
    result, found = findings(session, build())
    assert result.eligible and found == {}
    assert result.checks and all(c["status"] == "pass" for c in result.checks)


# rule, article, item, severity — the 应当 items refuse, the 原则上 items flag
REFUSALS = [
    (factory(legal_status="other"), "art10_item1_legal_person", "第十条", 1),
    (factory(actually_producing=False), "art10_item1_actual_production", "第十条", 1),
    (factory(evaluation_conforms=False), "art10_item2_evaluation_conformity", "第十条", 2),
    (park(legal_boundary=False), "art11_item1_legal_boundary", "第十一条", 1),
    (park(managing_body=" "), "art11_item1_managing_body", "第十一条", 1),
    (park(main_function_manufacturing=False), "art11_item1_main_function", "第十一条", 1),
    (park(industrial_value_added_share=50), "art11_item1_industrial_share", "第十一条", 1),
    (park(cultivation_plan_published_on="2026-06-01"), "art11_item2_cultivation_plan", "第十一条", 2),
    (park(evaluation_conforms=False), "art11_item3_evaluation_conformity", "第十一条", 3),
    (supply_chain(legal_status="other"), "art12_item1_legal_person", "第十二条", 1),
    (supply_chain(green_factory_status="none"), "art12_item1_green_factory_creation", "第十二条", 1),
    (supply_chain(supplier_plan_suppliers=0), "art12_item2_supplier_plan", "第十二条", 2),
    (supply_chain(evaluation_conforms=False), "art12_item3_evaluation_conformity", "第十二条", 3),
]


@pytest.mark.parametrize("app, rule, article, item", REFUSALS, ids=[r[1] for r in REFUSALS])
def test_a_failed_shall_item_refuses_citing_article_and_item(session, app, rule, article, item):
    result, found = findings(session, app)
    assert not result.eligible and rule in found
    v = found[rule]
    assert (v.article, v.severity) == (article, "refuse")
    assert f"（{article}第{item}项）" in v.message_zh and f", item {item})" in v.message_en
    [row] = [c for c in result.checks if c["article"] == article and c["item"] == item]
    assert row["status"] == "refuse" and rule in {f["rule"] for f in row["findings"]}


FLAGS = [
    (factory(efficiency_value=121.0), "art10_item3_below_quota_level", 3),
    (factory(efficiency_basis="grade_1", efficiency_value=130.0), "art10_item3_below_quota_level", 3),
    (factory(efficiency_basis="benchmark", benchmark_product="cement_clinker", efficiency_value=104.0),
     "art10_item3_below_benchmark", 3),
    (factory(efficiency_basis="benchmark", benchmark_product="no_such_product"), "art10_item3_efficiency_unknown", 3),
    (factory(electricity_10k_kwh=2000.0, other_energy_tce=600.0), "art10_energy_management_certification", 4),
]


@pytest.mark.parametrize("app, rule, item", FLAGS, ids=[f"{r[1]}-{i}" for i, r in enumerate(FLAGS)])
def test_a_missed_in_principle_item_flags_and_does_not_refuse(session, app, rule, item):
    result, found = findings(session, app)
    assert result.eligible and rule in found and found[rule].severity == "flag"
    assert f"（第十条第{item}项）" in found[rule].message_zh and f"(Article 10, item {item})" in found[rule].message_en
    [row] = [c for c in result.checks if c["item"] == item]
    assert row["status"] == "flag"


def test_a_key_industry_product_at_its_benchmark_is_not_flagged(session):
    at_benchmark = factory(efficiency_basis="benchmark", benchmark_product="cement_clinker", efficiency_value=100.0)
    assert findings(session, at_benchmark)[1] == {}


def test_electricity_counts_at_its_equivalent_value():
    assert energy_settings().kgce_per_kwh == 0.1229
    assert total_energy_tce(10_000, 0) == 12_290.0  # 1亿 kWh = 12,290 tce at 当量值
    assert total_energy_tce(1000, 1771) == 3000.0
    assert total_energy_tce(None, 5) is None and total_energy_tce(True, 5) is None


@pytest.mark.parametrize("electricity, other, flagged", [(1000, 1771, True), (1000, 1770.9, False)])
def test_3000_tce_at_equivalent_value_is_the_certification_threshold(session, electricity, other, flagged):
    total = total_energy_tce(electricity, other)
    app = application(energy_tce=total, factory_evidence={
        **sample_evidence("factory", energy_tce=total)["factory_evidence"],
        "electricity_10k_kwh": electricity, "other_energy_tce": other})
    assert ("art10_energy_management_certification" in findings(session, app)[1]) is flagged


def test_a_certificate_must_be_named_and_valid_on_the_day_of_the_check(session):
    big = dict(electricity_10k_kwh=2000.0, other_energy_tce=600.0)  # 3058 tce
    valid = application(energy_tce=3058.0, energy_cert=True, factory_evidence={
        **sample_evidence("factory", energy_tce=3058.0, energy_cert=True)["factory_evidence"], **big})
    assert "art10_energy_management_certification" not in findings(session, valid)[1]
    expired = {**valid, "factory_evidence": {**valid["factory_evidence"], "energy_cert_valid_until": "2026-05-10"}}
    [v] = [f for f in check_application(session, expired, TODAY).flags
           if f.rule == "art10_energy_management_certification"]
    assert "证书已过期" in v.message_zh and "expired" in v.message_en


def test_a_declared_total_that_disagrees_with_its_parts_is_flagged_and_the_larger_decides(session):
    # declared 3200 tce (perhaps electricity at 等价值), parts at 当量值 only 2458 tce
    app = application(energy_tce=3200.0, factory_evidence={
        **sample_evidence("factory", energy_tce=3200.0)["factory_evidence"],
        "electricity_10k_kwh": 1000.0, "other_energy_tce": 1229.0})
    found = findings(session, app)[1]
    assert {"art10_energy_total_mismatch", "art10_energy_management_certification"} <= set(found)
    assert "2458" in found["art10_energy_total_mismatch"].message_zh


def test_a_supply_chain_enterprise_saying_it_is_a_green_factory_is_checked_against_the_lists(session):
    app = supply_chain(green_factory_status="listed")
    result, found = findings(session, app)
    assert result.eligible and found["art12_item1_green_factory_not_on_record"].severity == "flag"
    add_listing(session, uscc(800), "city")
    assert "art12_item1_green_factory_not_on_record" not in findings(session, app)[1]


def test_only_the_evidence_of_the_application_s_own_type_is_judged(session):
    app = factory(actually_producing=False)
    app.update(unit_type="park", park_level="provincial", park_evidence=sample_evidence("park")["park_evidence"])
    app["credit_code"] = uscc(701)
    result, found = findings(session, app)
    assert not any(rule.startswith("art10_") for rule in found)
    assert [c["article"] for c in result.checks] == ["第十一条"] * 3


def test_the_checklist_shows_the_evidence_in_people_s_words(session):
    result = check_application(session, factory(), TODAY)
    item1, item2, item3, item4 = result.checks
    assert {"label_zh": "主体资格", "label_en": "Legal status", "value_zh": "独立法人",
            "value_en": "Independent legal person"} in item1["evidence"]
    assert any(e["value_zh"] == "《绿色工厂评价通则》GB/T 36132" for e in item2["evidence"])
    assert any(e["label_zh"].startswith("按当量值核算") and e["value_zh"] == "1200" for e in item4["evidence"])
    assert json.loads(json.dumps(result.to_dict()))["checks"] == list(result.checks)  # stored as JSON


def test_the_form_offers_exactly_the_products_of_the_benchmark_table():
    schema = json.loads((FORMS / "application.schema.json").read_text(encoding="utf-8"))
    offered = [o["const"] for o in schema["properties"]["factory_evidence"]["properties"]["benchmark_product"]["oneOf"]]
    assert offered == list(energy_settings().products)


# --- the reviewers' acknowledgement ---------------------------------------------------------

ELIGIBILITY = {"eligible": True, "violations": [], "flags": [
    {"rule": "art10_item3_below_quota_level", "article": "第十条", "field": "x", "message_zh": "能效未达先进值（第十条第3项）",
     "message_en": "below the advanced value (Article 10, item 3)"},
    {"rule": "art22_province_needs_city_listing", "article": "第二十二条", "field": "y", "message_zh": "未列入市级",
     "message_en": "not on the city list"}]}


def test_a_pass_needs_a_reason_for_every_flag_and_names_the_missing_ones():
    with pytest.raises(InvalidInput) as caught:
        acknowledge_flags(ELIGIBILITY, "county", "pass", {"art10_item3_below_quota_level": "改造后达标", })
    assert set(caught.value.fields) == {"flag_acks.art22_province_needs_city_listing"}
    assert "未列入市级" in caught.value.fields["flag_acks.art22_province_needs_city_listing"]
    with pytest.raises(InvalidInput) as caught:
        acknowledge_flags(ELIGIBILITY, "county", "pass", {"art10_item3_below_quota_level": "  ",
                                                          "art22_province_needs_city_listing": "已核实"})
    assert set(caught.value.fields) == {"flag_acks.art10_item3_below_quota_level"}  # blank is no reason


def test_reasons_are_kept_per_review_level():
    acks = {"art10_item3_below_quota_level": "改造后达标", "art22_province_needs_city_listing": "已核实"}
    county = acknowledge_flags(ELIGIBILITY, "county", "pass", acks)
    city = acknowledge_flags(county, "city", "pass", {**acks, "art22_province_needs_city_listing": "市级复核同意"})
    assert [a["reason"] for a in city["acknowledgements"]["county"]] == ["改造后达标", "已核实"]
    assert city["acknowledgements"]["city"][1] == {"rule": "art22_province_needs_city_listing",
                                                   "article": "第二十二条", "reason": "市级复核同意"}
    assert city["flags"] == ELIGIBILITY["flags"] and "acknowledgements" not in ELIGIBILITY


def test_returning_or_rejecting_does_not_need_the_reasons_and_unknown_flags_are_refused():
    assert acknowledge_flags(ELIGIBILITY, "county", "reject", {})["acknowledgements"] == {"county": []}
    with pytest.raises(InvalidInput) as caught:
        acknowledge_flags(ELIGIBILITY, "county", "return", {"art5_made_up": "?"})
    assert set(caught.value.fields) == {"flag_acks.art5_made_up"}
    assert acknowledge_flags({"flags": []}, "county", "pass", {}) == {"flags": [], "acknowledgements": {"county": []}}


def test_the_acknowledgement_is_a_script_function_and_the_review_form_takes_the_reasons():
    assert script_functions()["acknowledge_flags"] is acknowledge_flags
    review = json.loads((FORMS / "review.schema.json").read_text(encoding="utf-8"))
    assert review["properties"]["flag_acks"]["x-keys-from"] == "eligibility.flags"


def test_the_day_of_the_check_decides_a_plan_published_today(session):
    app = park(cultivation_plan_published_on=TODAY.isoformat())
    assert findings(session, app)[1] == {}
    later = park(cultivation_plan_published_on=(TODAY + dt.timedelta(days=1)).isoformat())
    assert "art11_item2_cultivation_plan" in findings(session, later)[1]
