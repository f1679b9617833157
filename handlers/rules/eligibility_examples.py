"""Evidence that satisfies 第十、十一、十二条, for the demo and the tests' default applications.

One place builds it so that every sample application stays valid when the form's evidence
changes.  The energy parts add up, at the equivalent value, to the declared ``energy_tce``
(40 % electricity), so a sample never trips 第十条第4项's mismatch check by accident.
"""
from __future__ import annotations

from typing import Any

from handlers.rules.eligibility import EVIDENCE_KEYS
from handlers.rules.eligibility_energy import as_number, energy_settings

__all__ = ["sample_evidence"]

ELECTRICITY_SHARE = 0.4


def _factory(energy_tce: Any, energy_cert: Any) -> dict[str, Any]:
    total = as_number(energy_tce) or 0.0
    electricity = round(total * ELECTRICITY_SHARE / energy_settings().tce_per_10k_kwh, 4)
    evidence: dict[str, Any] = {
        "legal_status": "legal_person", "actually_producing": True,
        "evaluation_standard": "gbt36132", "evaluation_score": 86.5, "evaluation_conforms": True,
        "efficiency_basis": "quota_advanced", "efficiency_product": "主要产品",
        "quota_standard": "GB 30251—2013", "efficiency_reference": 120.0, "efficiency_unit": "kgce/t",
        "efficiency_value": 112.0,
        "electricity_10k_kwh": electricity,
        "other_energy_tce": max(round(total - electricity * energy_settings().tce_per_10k_kwh, 4), 0.0),
    }
    if energy_cert is True:
        evidence.update({"energy_cert_number": "00124EnMS0088R0M", "energy_cert_valid_until": "2028-12-31"})
    return evidence


def _park() -> dict[str, Any]:
    return {
        "legal_boundary": True, "approval_document": "黔府函〔2012〕88号", "managing_body": "园区管理委员会",
        "main_function_manufacturing": True, "industrial_value_added_share": 72.5,
        "cultivation_plan_title": "园区绿色工厂培育计划（2026—2028年）", "cultivation_plan_published_on": "2026-01-15",
        "evaluation_score": 85.0, "evaluation_conforms": True,
    }


def _supply_chain() -> dict[str, Any]:
    return {
        "legal_status": "legal_person", "green_factory_status": "creating",
        "supplier_plan_title": "供应商绿色工厂培育计划（2026年）", "supplier_plan_suppliers": 12,
        "evaluation_standard": "miit_2024_13", "evaluation_score": 84.0, "evaluation_conforms": True,
    }


def sample_evidence(unit_type: Any, *, energy_tce: Any = None, energy_cert: Any = None) -> dict[str, Any]:
    """``{<type>_evidence: {...}}`` meeting every 应当 and 原则上 item; {} for an unknown type."""
    builders = {"factory": lambda: _factory(energy_tce, energy_cert), "park": _park, "supply_chain": _supply_chain}
    if unit_type not in builders:
        return {}
    return {EVIDENCE_KEYS[str(unit_type)]: builders[str(unit_type)]()}
