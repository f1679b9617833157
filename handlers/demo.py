"""Demo data: accounts for every role and scope, units, evaluators, and applications in several states.

Only for the demo database (``greenflow demo``): every account shares one password, made up
by the command and printed once. The applications are driven through the real engine, so
their histories are real histories.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import select

from engine.api import WorkflowEngine
from engine.identity import Actor, hash_password, upsert_user
from engine.models import HumanTask, UserAccount
from handlers.divisions import PROVINCE, cities, counties_of, division
from handlers.records import Evaluator, EvaluatorBan, NegativeRecord
from handlers.start import applicant_scope
from handlers.uscc import make_uscc

BUREAUS = {"bureau_eco": ("eco", "生态环境局"), "bureau_emergency": ("emergency", "应急管理局"),
           "bureau_market": ("market", "市场监管局"), "bureau_tax": ("tax", "税务局")}


@dataclass(frozen=True)
class DemoUnit:
    key: str
    name: str
    county: str
    industry: str | None
    unit_type: str = "factory"

    @property
    def credit_code(self) -> str:
        region = self.county if self.county.isdigit() else "520100"  # 贵安新区 codes are not numeric
        return make_uscc(f"91{region}MA{int(self.key[1:]):07d}"[:17])


UNITS = [
    DemoUnit("U1", "遵义黔北绿色电子科技有限公司", "520302", "39"),
    DemoUnit("U2", "贵阳云岩精密机械制造有限公司", "520103", "34"),
    DemoUnit("U3", "六盘水钟山新材料有限公司", "520201", "30"),
    DemoUnit("U4", "毕节七星关绿色食品有限公司", "520502", "14"),
    DemoUnit("U5", "遵义汇川卷烟配套有限公司", "520303", "16"),
    DemoUnit("U6", "安顺西秀节能装备有限公司", "520402", "35"),
    DemoUnit("U7", "铜仁碧江锰业有限公司", "520602", "32"),
    DemoUnit("U8", "贵安新区数据设备制造有限公司", "GA0000", "39"),
    DemoUnit("U9", "黔南都匀绿色建材有限公司", "522701", "30"),
]


def accounts() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(username, display name, grants) for every role and scope of the demo province."""
    rows: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("province", "省工信厅 审核处", [("province_official", PROVINCE)]),
        ("province-b", "省工信厅 审核处 科员", [("province_official", PROVINCE)]),
        ("expert", "评审专家 李工", [("expert", PROVINCE)]),
        ("owner", "流程管理员", [("process_owner", PROVINCE)]),
        ("auditor", "审计人员", [("auditor", PROVINCE)]),
    ]
    for role, (short, zh) in BUREAUS.items():
        rows.append((f"prov-{short}", f"省{zh}", [(role, PROVINCE)]))
    for city in cities():
        rows.append((f"city-{city.code}", f"{city.name}工信局", [("city_official", city.code)]))
        rows.append((f"city-{city.code}-b", f"{city.name}工信局 科员", [("city_official", city.code)]))
        for role, (short, zh) in BUREAUS.items():
            rows.append((f"{short}-{city.code}", f"{city.name}{zh}", [(role, city.code)]))
        for county in counties_of(city.code):
            rows.append((f"county-{county.code}", f"{county.name}工信局", [("county_official", county.code)]))
            # A colleague in every office, for 转办 / 委派 / 抄送.
            rows.append((f"county-{county.code}-b", f"{county.name}工信局 科员", [("county_official", county.code)]))
    for unit in UNITS:
        rows.append((f"ent-{unit.key.lower()}", unit.name, [("applicant", applicant_scope(unit.credit_code))]))
    rows.append(("evaluator-ev001", "黔绿评价咨询有限公司", [("evaluator", "evaluator:EV001")]))
    return rows


def seed(engine: WorkflowEngine, *, password: str) -> str:
    """Seed accounts, evaluators, records and sample applications; returns a printable report."""
    password_hash = hash_password(password)
    now = engine.clock.now()
    with engine.db.unit_of_work() as session:
        for username, name, grants in accounts():
            upsert_user(session, username, display_name=name, grants=grants, password_hash=password_hash)
        if session.get(Evaluator, "EV001") is None:
            session.add_all([
                Evaluator(id="EV001", name="黔绿评价咨询有限公司", legal_representative="王建国", national_qualified=True),
                Evaluator(id="EV002", name="贵州节能技术服务中心", legal_representative="刘芳", national_qualified=True),
                Evaluator(id="EV003", name="某绿色认证咨询公司", legal_representative="赵强", national_qualified=False),
            ])
            session.flush()
            session.add(EvaluatorBan(evaluator_id="EV003", reason="评价报告弄虚作假（演示数据）", article="第三十条",
                                     starts_on=now.date() - dt.timedelta(days=200),
                                     ends_on=now.date() + dt.timedelta(days=3 * 365 - 200)))
            session.add(NegativeRecord(credit_code=UNITS[6].credit_code, item=6,
                                       occurred_on=now.date() - dt.timedelta(days=400), note="失信被执行人（演示数据）",
                                       source="信用中国"))
        has_instances = session.scalar(select(HumanTask.id).limit(1)) is not None
    samples = [] if has_instances else seed_applications(engine)
    users = len(accounts())
    lines = [
        "演示数据已就绪 / demo data ready",
        f"  accounts: {users} (every role and scope), password for all: {password}",
        "  e.g. county-520302 (红花岗区工信局), city-520300 (遵义市工信局), province (省工信厅), expert,",
        "       eco-520300 / tax-520300 (遵义市 bureaus), prov-eco, ent-u1 (an applicant), auditor, owner;",
        "       every office has a colleague with the suffix -b (county-520302-b) for 转办 / 委派 / 抄送",
        "  pages: /inbox/ (officials), /portal/ (applicants), /public/notices (no login), /api/v1/openapi.json",
        "         (API tokens: greenflow tokens create USER --name NAME)",
        "  sample applications:",
        *[f"    #{iid}: {label}" for iid, label in samples],
    ]
    return "\n".join(lines)


# --- sample applications -------------------------------------------------------------------

def application_data(unit: DemoUnit, **overrides: Any) -> dict[str, Any]:
    data = {
        "unit_type": unit.unit_type, "target_level": "city", "year": 2026, "unit_name": unit.name,
        "credit_code": unit.credit_code, "county_code": unit.county, "industry_code": unit.industry,
        "energy_tce": 1800.0, "energy_cert": False, "evaluation_mode": "self",
        "report_file": "自评价报告.pdf", "contact_name": "张经理", "contact_phone": "0851-88880000",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class Driver:
    """Moves one instance along by completing its open tasks as the right demo user."""

    def __init__(self, engine: WorkflowEngine, instance_id: int):
        self.engine, self.instance_id = engine, instance_id

    def open_task(self, bpmn_id: str) -> HumanTask:
        with self.engine.db.session() as session:
            task = session.scalar(select(HumanTask).where(HumanTask.instance_id == self.instance_id,
                                                          HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open"))
        if task is None:
            raise LookupError(f"instance {self.instance_id} has no open task {bpmn_id}")
        return task

    def complete(self, bpmn_id: str, data: dict[str, Any]) -> None:
        task = self.open_task(bpmn_id)
        self.engine.complete(task.id, data, actor=self.engine.actor(user_for(task.role, task.scope)))


def user_for(role: str, scope: str) -> str:
    for username, _, grants in accounts():
        if (role, scope) in grants:
            return username
    raise LookupError(f"no demo user for {role} @ {scope}")


def applicant(engine: WorkflowEngine, unit: DemoUnit) -> Actor:
    return engine.actor(f"ent-{unit.key.lower()}")


PASS = {"decision": "pass", "opinion": "材料齐全，符合要求"}
NO_OBJECTION = {"opinion": "no_objection"}


def seed_applications(engine: WorkflowEngine) -> list[tuple[int, str]]:
    """Applications in interesting states, each driven through the engine as its users would."""
    steps: list[tuple[str, DemoUnit, dict, Callable[[Driver], None]]] = [
        ("县级审核中 / at county review", UNITS[0], {}, lambda d: None),
        ("退回修改，待企业修改 / returned for amendment", UNITS[1], {},
         lambda d: d.complete("review", {"decision": "return", "reason": "请补充能源计量器具配备情况"})),
        ("征求部门意见中（2/4 已答复）/ in consultation", UNITS[2], {}, _to_consultation_half),
        ("公示中 / in public notice", UNITS[5], {}, _to_notice),
        ("省级专家评审中 / at province expert review", UNITS[3], {"target_level": "province"}, _to_expert_review),
        ("不予受理（烟草，第五条）/ refused (tobacco)", UNITS[4], {}, lambda d: None),
        ("县级不予通过 / rejected at county", UNITS[8], {},
         lambda d: d.complete("review", {"decision": "reject", "reason": "能效水平未达到行业标杆（第十条第3项）"})),
        ("贵安新区直接市级审核 / 贵安新区 at city review", UNITS[7], {}, lambda d: None),
    ]
    made = []
    for label, unit, overrides, drive in steps:
        outcome = engine.start("green_application", application_data(unit, **overrides), actor=applicant(engine, unit))
        drive(Driver(engine, outcome.instance_id))
        made.append((outcome.instance_id, f"{division(unit.county).name} {unit.name}: {label}"))
    return made


def _to_consultation_half(d: Driver) -> None:
    d.complete("review", PASS)  # county
    d.complete("review", PASS)  # city
    d.complete("opinion_eco", NO_OBJECTION)
    d.complete("opinion_tax", NO_OBJECTION)


def _to_notice(d: Driver) -> None:
    d.complete("review", PASS)
    d.complete("review", PASS)
    for branch in ("opinion_eco", "opinion_emergency", "opinion_market", "opinion_tax"):
        d.complete(branch, NO_OBJECTION)


def _to_expert_review(d: Driver) -> None:
    d.complete("review", PASS)
    d.complete("review", PASS)


def demo_users() -> list[str]:
    return [u for u, _, _ in accounts()]


__all__ = ["seed", "accounts", "UNITS", "user_for", "demo_users", "UserAccount"]
