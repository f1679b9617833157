"""What reviewers see and sign for: the checklist of 第十、十一、十二条, and flag acknowledgements.

* ``checklist(application, violations, flags)`` — one row per item of the unit type's article,
  with the requirement, the evidence the applicant gave (in people's words, both languages) and
  the outcome (pass / flag / refuse).  It is computed when the eligibility check runs and stored
  with its result (``eligibility.checks``), so the task page shows what was checked, as checked.
* ``acknowledge_flags`` — the script function ``review_step`` calls when a reviewer decides: a
  pass needs a reason for every flag (原则上 findings of any article), else InvalidInput naming
  each flag (``flag_acks.<rule>``) and nothing is recorded.  The reasons are kept per review
  level in ``eligibility.acknowledgements``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidInput
from engine.services import script_function
from handlers.rules._base import Application, EligibilityResult, Violation, article_number
from handlers.rules.eligibility import EVIDENCE_KEYS
from handlers.rules.eligibility_energy import as_number, energy_settings, total_energy_tce

__all__ = ["ITEMS", "EvidencedResult", "checklist", "with_checks", "acknowledge_flags", "rule_item"]

_YES_NO = {True: ("是", "Yes"), False: ("否", "No")}
_CHOICES: dict[str, dict[Any, tuple[str, str]]] = {
    "legal_status": {"legal_person": ("独立法人", "Independent legal person"),
                     "accounting_unit": ("视同法人的独立核算单位", "Independent accounting unit"),
                     "other": ("其他（非独立核算）", "Other (not independently accounted)")},
    "evaluation_standard": {"gbt36132": ("《绿色工厂评价通则》GB/T 36132", "GB/T 36132"),
                            "miit_2024_13": ("工信部节〔2024〕13号附件", "MIIT 2024 No. 13 annex"),
                            "industry": ("行业标准", "Industry standard")},
    "efficiency_basis": {"benchmark": ("重点领域能效标杆水平", "Key-industry benchmark level"),
                         "quota_advanced": ("能耗限额标准先进值", "Quota standard, advanced value"),
                         "grade_1": ("能效1级", "Grade 1")},
    "green_factory_status": {"listed": ("已列入绿色工厂名单", "On a green-factory list"),
                             "creating": ("正在创建绿色工厂", "Creating a green factory"),
                             "none": ("未创建", "Not creating one")},
}
# field -> (zh, en) labels, as on the application form
_LABELS = {
    "legal_status": ("主体资格", "Legal status"), "actually_producing": ("从事实际生产", "Actually producing"),
    "evaluation_standard": ("评价依据", "Evaluated against"), "industry_standard": ("行业标准", "Industry standard"),
    "evaluation_score": ("评价得分", "Evaluation score"), "evaluation_conforms": ("评价结论为符合", "Conforms"),
    "efficiency_basis": ("能效对标", "Efficiency reference"), "benchmark_product": ("重点领域产品", "Key product"),
    "efficiency_product": ("主要产品", "Main product"), "quota_standard": ("能耗限额标准", "Quota standard"),
    "efficiency_reference": ("标准指标值", "Reference value"), "efficiency_value": ("单位产品能耗", "Unit consumption"),
    "efficiency_unit": ("单位", "Unit"), "electricity_10k_kwh": ("年用电量（万千瓦时）", "Electricity (10,000 kWh)"),
    "other_energy_tce": ("其他能源（吨标准煤）", "Other energy (tce)"),
    "energy_cert_number": ("能源管理体系认证证书编号", "Certificate number"),
    "energy_cert_valid_until": ("证书有效期至", "Valid until"),
    "legal_boundary": ("具有法定边界和范围", "Legal boundary"), "approval_document": ("设立批复文件", "Approval document"),
    "managing_body": ("统一管理机构", "Managing body"),
    "main_function_manufacturing": ("以产品制造和能源供给为主要功能", "Manufacturing and energy supply"),
    "industrial_value_added_share": ("工业增加值占比（%）", "Industrial value added (%)"),
    "cultivation_plan_title": ("绿色工厂培育计划", "Cultivation plan"),
    "cultivation_plan_published_on": ("发布日期", "Published on"), "cultivation_plan_url": ("发布网址", "Published at"),
    "green_factory_status": ("自身绿色工厂情况", "Own green-factory status"),
    "supplier_plan_title": ("供应商绿色工厂培育计划", "Supplier cultivation plan"),
    "supplier_plan_suppliers": ("纳入培育的供应商数量", "Suppliers covered"),
}
# (article, item, requirement zh, requirement en, evidence fields) per unit type, in article order.
ITEMS: dict[str, tuple[tuple[str, int, str, str, tuple[str, ...]], ...]] = {
    "factory": (
        ("第十条", 1, "独立法人或视同法人的独立核算单位，从事实际生产", "Independent legal person, actually producing",
         ("legal_status", "actually_producing")),
        ("第十条", 2, "符合 GB/T 36132 或行业评价标准", "Conforms to GB/T 36132 or an industry standard",
         ("evaluation_standard", "industry_standard", "evaluation_score", "evaluation_conforms")),
        ("第十条", 3, "原则上：重点领域达到能效标杆水平，其他达到限额标准先进值或1级",
         "In principle: benchmark level (key industries), else the quota's advanced value or grade 1",
         ("efficiency_basis", "benchmark_product", "efficiency_product", "quota_standard", "efficiency_reference",
          "efficiency_value", "efficiency_unit")),
        ("第十条", 4, "原则上：年综合能源消费量≥3000吨标准煤的开展能源管理体系认证",
         "In principle: energy-management certification at 3000 tce a year or more",
         ("electricity_10k_kwh", "other_energy_tce", "energy_cert_number", "energy_cert_valid_until")),
    ),
    "park": (
        ("第十一条", 1, "法定边界、统一管理机构、以制造和能源供给为主，工业增加值占比超过50%",
         "Legal boundary, one managing body, manufacturing, industrial value added above 50%",
         ("legal_boundary", "approval_document", "managing_body", "main_function_manufacturing",
          "industrial_value_added_share")),
        ("第十一条", 2, "发布园区绿色工厂培育计划", "A published green-factory cultivation plan",
         ("cultivation_plan_title", "cultivation_plan_published_on", "cultivation_plan_url")),
        ("第十一条", 3, "符合《绿色工业园区评价要求》", "Conforms to the green park evaluation requirements",
         ("evaluation_score", "evaluation_conforms")),
    ),
    "supply_chain": (
        ("第十二条", 1, "独立法人或独立核算单位，积极创建绿色工厂", "Independent legal person, creating a green factory",
         ("legal_status", "green_factory_status")),
        ("第十二条", 2, "制定供应商绿色工厂培育计划", "A supplier green-factory cultivation plan",
         ("supplier_plan_title", "supplier_plan_suppliers")),
        ("第十二条", 3, "符合《绿色供应链管理企业评价要求》或行业指标体系",
         "Conforms to the supply-chain evaluation requirements or the industry's index system",
         ("evaluation_standard", "industry_standard", "evaluation_score", "evaluation_conforms")),
    ),
}
# Rule ids of 第十条第4项 kept from before the evidence existed.
_ITEM_OF = {"art10_energy_use_unknown": 4, "art10_energy_total_mismatch": 4,
            "art10_energy_management_certification": 4}


def rule_item(rule: str) -> int | None:
    """The item a finding belongs to: 3 for ``art10_item3_…``; None for other articles' rules."""
    if rule in _ITEM_OF:
        return _ITEM_OF[rule]
    parts = rule.split("_")
    if len(parts) > 1 and parts[1].startswith("item") and parts[1][4:].isdigit():
        return int(parts[1][4:])
    return None


def _shown(key: str, value: Any) -> tuple[str, str]:
    if key == "benchmark_product":
        product = energy_settings().products.get(str(value))
        return (product.zh, product.en) if product else (str(value), str(value))
    if key in _CHOICES:
        return _CHOICES[key].get(value, (str(value), str(value)))
    if isinstance(value, bool):
        return _YES_NO[value]
    number = as_number(value)
    if number is not None:
        return f"{number:g}", f"{number:g}"
    return str(value), str(value)


def _evidence_rows(evidence: Mapping[str, Any], keys: Sequence[str]) -> list[dict[str, str]]:
    rows = []
    for key in keys:
        value = evidence.get(key)
        if value is None or value == "":
            continue
        zh, en = _shown(key, value)
        rows.append({"label_zh": _LABELS[key][0], "label_en": _LABELS[key][1], "value_zh": zh, "value_en": en})
    return rows


def _energy_rows(application: Application, evidence: Mapping[str, Any]) -> list[dict[str, str]]:
    """第十条第4项's computed figures, beside what the applicant declared."""
    settings = energy_settings()
    total = total_energy_tce(evidence.get("electricity_10k_kwh"), evidence.get("other_energy_tce"))
    rows = []
    declared = as_number(application.get("energy_tce"))
    if declared is not None:
        rows.append({"label_zh": "申报年综合能源消费量（吨标准煤）", "label_en": "Declared energy use (tce)",
                     "value_zh": f"{declared:g}", "value_en": f"{declared:g}"})
    if total is not None:
        factor = f"{settings.kgce_per_kwh:g} kgce/kWh"
        rows.append({"label_zh": f"按当量值核算（电力 {factor}）", "label_en": f"Computed at equivalent value ({factor})",
                     "value_zh": f"{total:g}", "value_en": f"{total:g}"})
    rows.append({"label_zh": "已通过能源管理体系认证", "label_en": "Certified",
                 "value_zh": _YES_NO[application.get("energy_cert") is True][0],
                 "value_en": _YES_NO[application.get("energy_cert") is True][1]})
    return rows


def checklist(application: Application, violations: Sequence[Violation], flags: Sequence[Violation]) -> list[dict]:
    """One row per item of the application's article (第十、十一 or 十二条): requirement, evidence, outcome."""
    unit_type = str(application.get("unit_type"))
    items = ITEMS.get(unit_type)
    if items is None:
        return []
    evidence = application.get(EVIDENCE_KEYS[unit_type])
    evidence = evidence if isinstance(evidence, Mapping) else {}
    rows = []
    for article, item, req_zh, req_en, keys in items:
        mine = [(v, "refuse") for v in violations if v.article == article and rule_item(v.rule) == item]
        mine += [(f, "flag") for f in flags if f.article == article and rule_item(f.rule) == item]
        status = "refuse" if any(s == "refuse" for _, s in mine) else "flag" if mine else "pass"
        shown = _evidence_rows(evidence, keys)
        if article == "第十条" and item == 4:
            shown = _energy_rows(application, evidence) + shown
        rows.append({"article": article, "item": item, "cite_zh": f"{article}第{item}项",
                     "cite_en": f"Article {article_number(article)}, item {item}",
                     "requirement_zh": req_zh, "requirement_en": req_en,
                     "status": status, "evidence": shown,
                     "findings": [{"rule": v.rule, "severity": s, "message_zh": v.message_zh,
                                   "message_en": v.message_en} for v, s in mine]})
    return rows


@dataclass(frozen=True)
class EvidencedResult(EligibilityResult):
    """The eligibility result with its checklist (``checks`` in the stored JSON)."""

    checks: tuple[dict, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "checks": list(self.checks)}


def with_checks(result: EligibilityResult, application: Application) -> EvidencedResult:
    return EvidencedResult(eligible=result.eligible, violations=result.violations, flags=result.flags,
                           checks=tuple(checklist(application, result.violations, result.flags)))


@script_function("acknowledge_flags")
def acknowledge_flags(eligibility: Any, review_level: Any, decision: Any, flag_acks: Any) -> dict:
    """``eligibility`` with this level's acknowledgements; a pass needs a reason for every flag.

    ``flag_acks`` maps a flag's rule id to the reviewer's reason.  Raises InvalidInput with one
    field ``flag_acks.<rule>`` per flag left without a reason (only when ``decision`` is pass:
    returning or rejecting does not let a flag through), or per acknowledged rule that is not
    among the flags.  Nothing else changes.
    """
    result = dict(eligibility) if isinstance(eligibility, Mapping) else {}
    flags = [f for f in result.get("flags") or [] if isinstance(f, Mapping)]
    acks = flag_acks if isinstance(flag_acks, Mapping) else {}
    reasons = {str(k): v.strip() for k, v in acks.items() if isinstance(v, str) and v.strip()}
    known = {str(f.get("rule")) for f in flags}
    fields = {f"flag_acks.{rule}": f"资格审查没有这项提示 / no such flag: {rule}" for rule in reasons if rule not in known}
    if decision == "pass":
        for f in flags:
            if str(f.get("rule")) not in reasons:
                fields[f"flag_acks.{f.get('rule')}"] = (
                    f"通过前须说明研判理由：{f.get('message_zh')} / a reason is required before passing: "
                    f"{f.get('message_en')}")
    if fields:
        raise InvalidInput(f"“原则上”提示事项须逐项确认并说明理由 / every in-principle flag needs a reason "
                           f"({len(fields)})", fields=fields)
    acknowledged = [{"rule": f.get("rule"), "article": f.get("article"), "reason": reasons[str(f.get("rule"))]}
                    for f in flags if str(f.get("rule")) in reasons]
    previous = result.get("acknowledgements") if isinstance(result.get("acknowledgements"), Mapping) else {}
    result["acknowledgements"] = {**previous, str(review_level): acknowledged}
    return result
