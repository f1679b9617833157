"""第十条、第十一条、第十二条: the conditions of each kind of cultivated unit, checked on its evidence.

The application carries one evidence object per unit type (``factory_evidence``,
``park_evidence``, ``supply_chain_evidence``; bpmn/forms/application.schema.json) and each rule
reads the one of its own type.  Severity follows the regulation's wording (docs/eligibility.md):

* 应当 items refuse (不予受理): 第十条第1、2项, 第十一条第1–3项, 第十二条第1–3项;
* 原则上 items flag, and a reviewer must acknowledge each flag with a reason before passing
  (``handlers.rules.eligibility_checks.acknowledge_flags``): 第十条第3、4项.

A figure the platform cannot read (a missing evidence object from a data start that skipped the
form, say) fails its item the same way: refused where the item refuses, flagged where it flags.
Rule ids carry article and item (``art10_item3_…``) so the checklist can place each finding.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.records import Listing
from handlers.rules._base import Application, Violation, flag, refuse
from handlers.rules.eligibility_energy import as_number, energy_settings, total_energy_tce

__all__ = [
    "ARTICLE_10", "ARTICLE_11", "ARTICLE_12", "EVIDENCE_KEYS", "RULES", "evidence_of", "parse_date",
    "MIN_INDUSTRIAL_SHARE", "MISMATCH_TOLERANCE",
]

ARTICLE_10, ARTICLE_11, ARTICLE_12 = "第十条", "第十一条", "第十二条"
EVIDENCE_KEYS = {"factory": "factory_evidence", "park": "park_evidence", "supply_chain": "supply_chain_evidence"}
LEGAL_STATUSES = ("legal_person", "accounting_unit")  # 独立法人 / 视同法人的独立核算单位
MIN_INDUSTRIAL_SHARE = 50.0  # 第十一条第1项: 工业增加值占比超过50% (strictly more)
# 第十条第4项: the declared total and the parts at 当量值 may differ by rounding, not by more.
MISMATCH_TOLERANCE = (1.0, 0.01)  # tce, share of the larger figure


def evidence_of(application: Application, unit_type: str) -> Mapping[str, Any] | None:
    """The evidence object of ``unit_type`` if the application is of that type, else None."""
    if application.get("unit_type") != unit_type:
        return None
    evidence = application.get(EVIDENCE_KEYS[unit_type])
    return evidence if isinstance(evidence, Mapping) else {}


def parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _text(evidence: Mapping[str, Any], key: str) -> str:
    value = evidence.get(key)
    return value.strip() if isinstance(value, str) else ""


def _legal_status(rule: str, article: str, evidence: Mapping[str, Any], key: str) -> list[Violation]:
    if evidence.get("legal_status") in LEGAL_STATUSES:
        return []
    return [refuse(rule, article, f"{key}.legal_status",
                   "申报单位应为依法设立并具有独立法人资格或者视同法人的独立核算单位",
                   "the applicant must be an independent legal person or an independent accounting unit "
                   "treated as one", item=1)]


def _conforms(rule: str, article: str, item: int, evidence: Mapping[str, Any], key: str, standard_zh: str,
              standard_en: str) -> list[Violation]:
    if evidence.get("evaluation_conforms") is True:
        return []
    score = as_number(evidence.get("evaluation_score"))
    shown = f"（评价得分 {score:g}）" if score is not None else ""
    shown_en = f" (score {score:g})" if score is not None else ""
    return [refuse(rule, article, f"{key}.evaluation_conforms",
                   f"评价报告未得出符合{standard_zh}的结论{shown}",
                   f"the evaluation report does not conclude conformity with {standard_en}{shown_en}", item=item)]


# --- 第十条 green factories ------------------------------------------------------------------

def art10_item1_legal_person_producing(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十条第1项 (应当, refuses): an independent legal person or accounting unit that actually produces."""
    evidence = evidence_of(application, "factory")
    if evidence is None:
        return []
    found = _legal_status("art10_item1_legal_person", ARTICLE_10, evidence, "factory_evidence")
    if evidence.get("actually_producing") is not True:
        found.append(refuse("art10_item1_actual_production", ARTICLE_10, "factory_evidence.actually_producing",
                            "绿色工厂培育对象应为从事实际生产的制造型企业",
                            "a green factory must be a manufacturing enterprise that actually produces", item=1))
    return found


def art10_item2_evaluation_standard(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十条第2项 (应当, refuses): evaluated as conforming to GB/T 36132 or an industry standard."""
    evidence = evidence_of(application, "factory")
    if evidence is None:
        return []
    return _conforms("art10_item2_evaluation_conformity", ARTICLE_10, 2, evidence, "factory_evidence",
                     "《绿色工厂评价通则》（GB/T 36132）或绿色工厂评价行业标准",
                     "GB/T 36132 or the industry's green-factory evaluation standard")


def art10_item3_energy_efficiency(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十条第3项 (原则上, flags): a key-industry product at the benchmark level (标杆水平) of
    config/energy_benchmarks.toml, any other at the national quota's 先进值 or 1级 it names.

    Every figure is a unit consumption, so the factory's figure must not exceed the reference.
    """
    evidence = evidence_of(application, "factory")
    if evidence is None:
        return []
    value = as_number(evidence.get("efficiency_value"))
    basis = evidence.get("efficiency_basis")
    if basis == "benchmark":
        product = energy_settings().products.get(str(evidence.get("benchmark_product")))
        if product is None or value is None:
            return [flag("art10_item3_efficiency_unknown", ARTICLE_10, "factory_evidence.efficiency_value",
                         "未能识别重点领域产品或单位产品能耗，无法核对能效标杆水平",
                         "the key-industry product or its unit consumption is missing: the benchmark level "
                         "cannot be checked", item=3)]
        if value <= product.benchmark:
            return []
        return [flag("art10_item3_below_benchmark", ARTICLE_10, "factory_evidence.efficiency_value",
                     f"{product.zh}单位产品能耗 {value:g} {product.unit}，未达到能效标杆水平 {product.benchmark:g} "
                     f"{product.unit}，原则上应达到标杆水平",
                     f"{product.en}: unit consumption {value:g} {product.unit} does not reach the benchmark level "
                     f"{product.benchmark:g} {product.unit}, expected in principle", item=3)]
    reference = as_number(evidence.get("efficiency_reference"))
    level_zh = {"quota_advanced": "先进值", "grade_1": "1级"}.get(str(basis))
    if level_zh is None or value is None or reference is None:
        return [flag("art10_item3_efficiency_unknown", ARTICLE_10, "factory_evidence.efficiency_value",
                     "未提供能耗限额标准的先进值或1级指标及本企业单位产品能耗，无法核对能效水平",
                     "the quota standard's advanced or grade-1 value, or the factory's unit consumption, is "
                     "missing: the efficiency level cannot be checked", item=3)]
    if value <= reference:
        return []
    standard = _text(evidence, "quota_standard") or "国家能源消耗限额标准"
    unit = _text(evidence, "efficiency_unit")
    return [flag("art10_item3_below_quota_level", ARTICLE_10, "factory_evidence.efficiency_value",
                 f"{_text(evidence, 'efficiency_product') or '主要产品'}单位产品能耗 {value:g} {unit}，"
                 f"未达到{standard}{level_zh} {reference:g} {unit}，原则上应达到",
                 f"unit consumption {value:g} {unit} does not reach the standard's "
                 f"{'advanced value' if basis == 'quota_advanced' else 'grade 1'} {reference:g} {unit}, "
                 "expected in principle", item=3)]


def _mismatch(declared: float, computed: float) -> bool:
    absolute, share = MISMATCH_TOLERANCE
    return abs(declared - computed) > max(absolute, share * max(abs(declared), abs(computed)))


def art10_item4_energy_management(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十条第4项 (原则上, flags): ≥ 3000 tce a year, electricity at its equivalent value
    (0.1229 kgce/kWh), expects an energy-management certificate valid today.

    The platform computes the total from the parts (electricity, other energy); when the declared
    ``energy_tce`` differs, it says so, and the larger figure decides — a disagreement must not
    let a large consumer pass silently.  Keeps the rule ids of the former rule on the declared
    total (``art10_energy_management_certification``, ``art10_energy_use_unknown``).
    """
    evidence = evidence_of(application, "factory")
    if evidence is None:
        return []
    settings = energy_settings()
    computed = total_energy_tce(evidence.get("electricity_10k_kwh"), evidence.get("other_energy_tce"))
    declared = as_number(application.get("energy_tce"))
    if computed is None:
        return [flag("art10_energy_use_unknown", ARTICLE_10, "factory_evidence.electricity_10k_kwh",
                     "未提供年用电量或其他能源消费量，无法按当量值核算年综合能源消费量",
                     "electricity or other energy use is missing: annual energy use at equivalent value "
                     "cannot be computed", item=4)]
    found: list[Violation] = []
    if declared is not None and _mismatch(declared, computed):
        found.append(flag("art10_energy_total_mismatch", ARTICLE_10, "energy_tce",
                          f"申报年综合能源消费量 {declared:g} 吨标准煤，与电力按当量值折算后的分项合计 {computed:g} "
                          "吨标准煤不一致",
                          f"declared annual energy use {declared:g} tce differs from its parts with electricity "
                          f"at equivalent value, {computed:g} tce", item=4))
    energy = max(computed, declared or 0.0)
    if energy < settings.threshold_tce:
        return found
    valid_until = parse_date(evidence.get("energy_cert_valid_until"))
    certified = (application.get("energy_cert") is True and bool(_text(evidence, "energy_cert_number"))
                 and valid_until is not None and valid_until >= today)
    if not certified:
        why_zh = "证书已过期" if application.get("energy_cert") is True and valid_until and valid_until < today \
            else "未提供有效的认证证书"
        why_en = "the certificate has expired" if why_zh == "证书已过期" else "no valid certificate is declared"
        found.append(flag("art10_energy_management_certification", ARTICLE_10, "energy_cert",
                          f"年综合能源消费量 {energy:g} 吨标准煤（电力按当量值），达到3000吨标准煤，原则上需开展"
                          f"能源管理体系认证，{why_zh}",
                          f"annual energy use of {energy:g} tce (electricity at equivalent value) reaches 3000 tce: "
                          f"an energy-management certification is expected in principle and {why_en}", item=4))
    return found


# --- 第十一条 green parks --------------------------------------------------------------------

def art11_item1_boundary_body_share(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十一条第1项 (应当, refuses): legal boundary, one managing body, manufacturing and energy
    supply as main functions, industrial value added above 50 % (50 itself refuses)."""
    evidence = evidence_of(application, "park")
    if evidence is None:
        return []
    found = []
    if evidence.get("legal_boundary") is not True or not _text(evidence, "approval_document"):
        found.append(refuse("art11_item1_legal_boundary", ARTICLE_11, "park_evidence.approval_document",
                            "园区应具有法定边界和范围（须提供设立批复文件）",
                            "the park must have a legal boundary and scope (its approval document is required)",
                            item=1))
    if not _text(evidence, "managing_body"):
        found.append(refuse("art11_item1_managing_body", ARTICLE_11, "park_evidence.managing_body",
                            "园区应具备统一管理机构", "the park must have one managing body", item=1))
    if evidence.get("main_function_manufacturing") is not True:
        found.append(refuse("art11_item1_main_function", ARTICLE_11, "park_evidence.main_function_manufacturing",
                            "园区应以产品制造和能源供给为主要功能",
                            "the park's main functions must be manufacturing and energy supply", item=1))
    share = as_number(evidence.get("industrial_value_added_share"))
    if share is None or share <= MIN_INDUSTRIAL_SHARE:
        shown = f"{share:g}%" if share is not None else "（未填写）"
        found.append(refuse("art11_item1_industrial_share", ARTICLE_11, "park_evidence.industrial_value_added_share",
                            f"工业增加值占比为 {shown}，应超过50%",
                            f"industrial value added is {shown if share is not None else '(missing)'} of the "
                            "park's; it must exceed 50%", item=1))
    return found


def art11_item2_cultivation_plan(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十一条第2项 (应当, refuses): the park has published its green-factory cultivation plan
    (named, dated on or before the day of the check).  Its member enterprises are another check."""
    evidence = evidence_of(application, "park")
    if evidence is None:
        return []
    published = parse_date(evidence.get("cultivation_plan_published_on"))
    if _text(evidence, "cultivation_plan_title") and published is not None and published <= today:
        return []
    return [refuse("art11_item2_cultivation_plan", ARTICLE_11, "park_evidence.cultivation_plan_published_on",
                   "园区应已发布绿色工厂培育计划（须提供计划名称或文号及发布日期，且发布日期不晚于申报日）",
                   "the park must have published its green-factory cultivation plan (title or number, and a "
                   "publication date not after today)", item=2)]


def art11_item3_evaluation(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十一条第3项 (应当, refuses): evaluated as conforming to 《绿色工业园区评价要求》."""
    evidence = evidence_of(application, "park")
    if evidence is None:
        return []
    return _conforms("art11_item3_evaluation_conformity", ARTICLE_11, 3, evidence, "park_evidence",
                     "《绿色工业园区评价要求》（工信部节〔2024〕13号附件2）",
                     "the green industrial park evaluation requirements (MIIT 2024 No. 13, annex 2)")


# --- 第十二条 green supply-chain enterprises -------------------------------------------------

def _is_green_factory(session: Session, credit_code: str) -> bool:
    return session.scalar(select(Listing.id).where(
        Listing.credit_code == credit_code, Listing.unit_type == "factory", Listing.status == "listed").limit(1)) \
        is not None


def art12_item1_legal_person_green_factory(session: Session, application: Application,
                                           today: dt.date) -> list[Violation]:
    """第十二条第1项 (应当): an independent legal person or accounting unit that is creating a green
    factory (积极创建绿色工厂).  "none" refuses; "listed" with no green-factory listing on the
    platform is flagged for the reviewer to see the certificate (lists older than the platform)."""
    evidence = evidence_of(application, "supply_chain")
    if evidence is None:
        return []
    found = _legal_status("art12_item1_legal_person", ARTICLE_12, evidence, "supply_chain_evidence")
    status, field = evidence.get("green_factory_status"), "supply_chain_evidence.green_factory_status"
    if status not in ("listed", "creating"):
        found.append(refuse("art12_item1_green_factory_creation", ARTICLE_12, field,
                            "绿色供应链管理企业培育对象应积极创建绿色工厂，申报单位既非绿色工厂也未在创建",
                            "a green supply-chain enterprise must be creating a green factory; the applicant is "
                            "neither a green factory nor creating one", item=1))
    elif status == "listed" and not _is_green_factory(session, str(application.get("credit_code"))):
        found.append(flag("art12_item1_green_factory_not_on_record", ARTICLE_12, field,
                          "申报单位填报为绿色工厂，但平台名单中没有该单位的绿色工厂记录，请核对其名单文件",
                          "the applicant says it is a green factory, but no green-factory listing of it is on "
                          "the platform: check its list document", item=1))
    return found


def art12_item2_supplier_plan(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十二条第2项 (应当, refuses): a supplier green-factory cultivation plan covering ≥ 1 supplier."""
    evidence = evidence_of(application, "supply_chain")
    if evidence is None:
        return []
    suppliers = as_number(evidence.get("supplier_plan_suppliers"))
    if _text(evidence, "supplier_plan_title") and suppliers is not None and suppliers >= 1:
        return []
    return [refuse("art12_item2_supplier_plan", ARTICLE_12, "supply_chain_evidence.supplier_plan_title",
                   "应制定供应商绿色工厂培育计划（须提供计划名称或文号及纳入培育的供应商数量）",
                   "a supplier green-factory cultivation plan is required (its title or number and how many "
                   "suppliers it covers)", item=2)]


def art12_item3_evaluation(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """第十二条第3项 (应当, refuses): evaluated as conforming to 《绿色供应链管理企业评价要求》 or the
    industry's index system."""
    evidence = evidence_of(application, "supply_chain")
    if evidence is None:
        return []
    return _conforms("art12_item3_evaluation_conformity", ARTICLE_12, 3, evidence, "supply_chain_evidence",
                     "《绿色供应链管理企业评价要求》（工信部节〔2024〕13号附件3）或行业指标体系",
                     "the green supply-chain evaluation requirements (MIIT 2024 No. 13, annex 3) or the "
                     "industry's index system")


RULES = (
    art10_item1_legal_person_producing, art10_item2_evaluation_standard, art10_item3_energy_efficiency,
    art10_item4_energy_management,
    art11_item1_boundary_body_share, art11_item2_cultivation_plan, art11_item3_evaluation,
    art12_item1_legal_person_green_factory, art12_item2_supplier_plan, art12_item3_evaluation,
)
