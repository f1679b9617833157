"""第十、十一、十二条 through the engine, on both databases: what the applicant files per unit type,
what the check refuses (应当) or flags (原则上), and the reviewers' reasons for every flag."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from handlers import demo
from handlers.rules.eligibility_examples import sample_evidence
from tests.scenarios.driver import PASS

U1, U2, U3 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[2]
MISSED = {**sample_evidence("factory", energy_tce=1800.0)["factory_evidence"], "efficiency_value": 131.0}


def _complete(green, iid: int, bpmn_id: str, data: dict):
    """Complete as the task's official, exactly with ``data`` (the driver would add the reasons)."""
    task = green.task(iid, bpmn_id)
    green.engine.cache.clear()
    return green.engine.complete(task.id, data, actor=green.engine.actor(demo.user_for(task.role, task.scope)))


def test_a_missed_efficiency_item_is_flagged_and_a_pass_needs_the_reviewer_s_reason(green):
    iid = green.apply(U1, factory_evidence=MISSED)
    view = green.view(iid)
    eligibility = view["data"]["eligibility"]
    assert eligibility["eligible"] and [f["rule"] for f in eligibility["flags"]] == ["art10_item3_below_quota_level"]
    assert "第十条第3项" in eligibility["flags"][0]["message_zh"]
    assert [(c["cite_zh"], c["status"]) for c in eligibility["checks"]][2] == ("第十条第3项", "flag")
    review = green.task(iid, "review")

    with pytest.raises(InvalidInput) as refused:  # the flag is not passed silently
        _complete(green, iid, "review", PASS)
    assert set(refused.value.fields) == {"flag_acks.art10_item3_below_quota_level"}
    assert green.task(iid, "review").id == review.id and green.view(iid)["row_version"] == view["row_version"]

    _complete(green, iid, "review", {**PASS, "flag_acks": {"art10_item3_below_quota_level": "企业已完成余热回收改造"}})
    after = green.view(iid)
    assert green.task(iid, "review").scope == "520300"  # on to the city
    assert after["data"]["eligibility"]["acknowledgements"] == {"county": [
        {"rule": "art10_item3_below_quota_level", "article": "第十条", "reason": "企业已完成余热回收改造"}]}
    completed = [e for e in after["events"] if e["type"] == "task_completed"][-1]
    assert completed["payload"]["data"]["flag_acks"] == {"art10_item3_below_quota_level": "企业已完成余热回收改造"}


def test_3000_tce_at_equivalent_value_without_a_certificate_is_flagged_for_every_reviewer(green):
    # 1000万 kWh × 1.229 + 1771 tce = 3000 tce exactly (第十条第4项 includes 3000)
    big = {**sample_evidence("factory", energy_tce=3000.0)["factory_evidence"],
           "electricity_10k_kwh": 1000.0, "other_energy_tce": 1771.0}
    iid = green.apply(U1, energy_tce=3000.0, factory_evidence=big)
    eligibility = green.view(iid)["data"]["eligibility"]
    [flagged] = eligibility["flags"]
    assert eligibility["eligible"] and flagged["rule"] == "art10_energy_management_certification"
    assert "第十条第4项" in flagged["message_zh"] and "3000" in flagged["message_zh"]
    with pytest.raises(InvalidInput) as refused:
        _complete(green, iid, "review", PASS)
    assert set(refused.value.fields) == {"flag_acks.art10_energy_management_certification"}
    _complete(green, iid, "review", {**PASS, "flag_acks": {flagged["rule"]: "企业已申请认证，预计三季度取证"}})
    assert green.task(iid, "review").scope == "520300"


def test_each_level_gives_its_own_reasons_and_a_rejection_needs_none(green):
    iid = green.apply(U1, factory_evidence=MISSED, target_level="province")
    flags = {f["rule"] for f in green.view(iid)["data"]["eligibility"]["flags"]}
    assert flags == {"art10_item3_below_quota_level", "art22_province_needs_city_listing"}
    with pytest.raises(InvalidInput) as refused:  # one reason is not enough
        _complete(green, iid, "review", {**PASS, "flag_acks": {"art10_item3_below_quota_level": "同意"}})
    assert set(refused.value.fields) == {"flag_acks.art22_province_needs_city_listing"}
    _complete(green, iid, "review", {**PASS, "flag_acks": {rule: "县级同意" for rule in flags}})
    _complete(green, iid, "review", {"decision": "reject", "reason": "能效未达先进值，暂不推荐（第十条第3项）"})
    view = green.view(iid)
    assert view["data"]["outcome"] == "rejected"
    acks = view["data"]["eligibility"]["acknowledgements"]
    assert {a["reason"] for a in acks["county"]} == {"县级同意"} and acks["city"] == []


REFUSED = [
    ("factory", {"factory_evidence": {**sample_evidence("factory", energy_tce=1800.0)["factory_evidence"],
                                      "actually_producing": False}}, "第十条第1项"),
    ("factory", {"factory_evidence": {**sample_evidence("factory", energy_tce=1800.0)["factory_evidence"],
                                      "evaluation_conforms": False}}, "第十条第2项"),
    ("park", {"park_evidence": {**sample_evidence("park")["park_evidence"], "industrial_value_added_share": 48.5}},
     "第十一条第1项"),
    ("park", {"park_evidence": {**sample_evidence("park")["park_evidence"],
                                "cultivation_plan_published_on": "2027-01-01"}}, "第十一条第2项"),
    ("supply_chain", {"supply_chain_evidence": {**sample_evidence("supply_chain")["supply_chain_evidence"],
                                                "green_factory_status": "none"}}, "第十二条第1项"),
    ("supply_chain", {"supply_chain_evidence": {**sample_evidence("supply_chain")["supply_chain_evidence"],
                                                "supplier_plan_suppliers": 0}}, "第十二条第2项"),
    ("park", {"park_evidence": {**sample_evidence("park")["park_evidence"], "evaluation_conforms": False}},
     "第十一条第3项"),
    ("supply_chain", {"supply_chain_evidence": {**sample_evidence("supply_chain")["supply_chain_evidence"],
                                                "evaluation_conforms": False}}, "第十二条第3项"),
]


@pytest.mark.parametrize("unit_type, overrides, cited", REFUSED, ids=[r[2] for r in REFUSED])
def test_a_failed_shall_item_refuses_the_application_citing_article_and_item(green, unit_type, overrides, cited):
    extra = {"park_level": "provincial", "industry_code": None} if unit_type == "park" else {}
    iid = green.apply(U2, unit_type=unit_type, **extra, **overrides)
    view = green.view(iid)
    assert view["status"] == "completed" and view["tasks"] == []
    assert view["data"]["outcome"] == "refused" and cited in view["data"]["outcome_reason"]
    assert green.record(iid).outcome == "refused"


@pytest.mark.parametrize("unit_type", ["park", "supply_chain"])
def test_parks_and_supply_chain_enterprises_with_their_evidence_reach_the_county(green, unit_type):
    extra = {"park_level": "provincial", "industry_code": None} if unit_type == "park" else {}
    iid = green.apply(U3, unit_type=unit_type, **extra)
    eligibility = green.view(iid)["data"]["eligibility"]
    assert eligibility["eligible"], eligibility["violations"]
    assert {c["status"] for c in eligibility["checks"]} == {"pass"}
    assert green.task(iid, "review").scope == U3.county


@pytest.mark.parametrize("overrides, field", [
    ({"factory_evidence": None}, "factory_evidence"),
    ({"unit_type": "park", "park_level": "provincial", "industry_code": None,
      "park_evidence": None}, "park_evidence"),
    ({"energy_cert": True, "factory_evidence": sample_evidence("factory", energy_tce=1800.0)["factory_evidence"]},
     "factory_evidence.energy_cert_number"),
    ({"factory_evidence": {**sample_evidence("factory", energy_tce=1800.0)["factory_evidence"],
                           "efficiency_basis": "benchmark"}}, "factory_evidence.benchmark_product"),
    ({"unit_type": "park", "park_level": "provincial", "industry_code": None,
      "park_evidence": {**sample_evidence("park")["park_evidence"], "industrial_value_added_share": 120}},
     "park_evidence.industrial_value_added_share"),
])
def test_the_form_requires_the_evidence_of_the_unit_type(green, overrides, field):
    with pytest.raises(InvalidInput) as refused:
        green.apply(U2, **overrides)
    assert field in refused.value.fields
