"""Demo data: accounts for every role and scope, units, evaluators, and applications in several states.

Only for the demo database (``greenflow demo``): every account shares one password, made up
by the command and printed once. The applications are driven through the real engine, so
their histories are real histories.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import select

from engine.api import WorkflowEngine
from engine.identity import Actor, hash_password, upsert_user
from engine.models import Attachment, HumanTask, ProcessInstance, UserAccount
from handlers.divisions import PROVINCE, cities, counties_of, division
from handlers.records import Evaluator, EvaluatorBan, NegativeRecord
from handlers.rules.eligibility_examples import sample_evidence
from handlers import demo_records
from handlers import demo_parks_spot_checks
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

# Units already on a list (imported 2-years-old lists), for the samples of the processes of listed units.
LISTED_UNITS = [
    DemoUnit("U10", "遵义汇川绿色铝材有限公司", "520303", "32"),    # city 遵义: a complaint at verification
    DemoUnit("U11", "贵阳花溪新能源电池有限公司", "520111", "38"),  # city 贵阳: a complaint answered
    DemoUnit("U12", "六盘水盘州绿色建材有限公司", "520281", "30"),  # province: an incident waiting for the province
    DemoUnit("U13", "安顺平坝航空零部件有限公司", "520403", "37"),  # city 安顺: a change waiting for re-check
    DemoUnit("U14", "铜仁万山锰业新材料有限公司", "520603", "32"),  # province: annual table, national recommendation
    DemoUnit("U15", "黔东南凯里民族服饰有限公司", "522601", "18"),  # city 黔东南: no table last year → to be removed
]
LISTED_LEVELS = {"U10": "city", "U11": "city", "U12": "province", "U13": "city", "U14": "province", "U15": "city"}


# The expert pool (专家库, 第十八条): (username, name, fields, home division, evaluator). Every factory and
# supply-chain application finds at least three experts after avoidance; parks and single industries fewer.
EXPERTS = [
    ("expert", "评审专家 李工", ["factory", "supply_chain", "39"], "520102", None),
    ("expert-2", "评审专家 王工", ["factory", "park", "34"], "520302", None),
    ("expert-3", "评审专家 张工", ["factory", "supply_chain", "30"], "520201", None),
    ("expert-4", "评审专家 陈工", ["factory", "park"], "520402", "EV001"),
    ("expert-5", "评审专家 刘工", ["39", "34", "35", "30", "supply_chain"], "522701", None),
    ("expert-6", "评审专家 赵工", ["factory", "13", "14", "15", "park"], "520602", None),
]


def seed_expert_pool(session: Any, *, now: dt.datetime) -> None:
    """Put the demo experts into the pool (idempotent; their accounts must exist)."""
    from handlers.experts import ExpertProfile, save_profile

    for username, _, fields, home, evaluator in EXPERTS:
        if session.get(ExpertProfile, username) is None:
            known = evaluator if evaluator and session.get(Evaluator, evaluator) is not None else None
            save_profile(session, {"username": username, "fields": fields, "home_division": home,
                                   "evaluator_id": known, "active": True}, actor="demo", now=now)


def accounts() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(username, display name, grants) for every role and scope of the demo province."""
    rows: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("province", "省工信厅 审核处", [("province_official", PROVINCE)]),
        ("province-b", "省工信厅 审核处 科员", [("province_official", PROVINCE)]),
        ("expert", "评审专家 李工", [("expert", PROVINCE)]),
        *[(username, name, [("expert", PROVINCE)]) for username, name, *_ in EXPERTS[1:]],
        ("owner", "流程管理员", [("process_owner", PROVINCE)]),
        ("auditor", "审计人员", [("auditor", PROVINCE)]),
        # An auditor who also holds the personal_data right: exports unmasked (docs/audit-evidence.md).
        ("auditor-pd", "审计人员（可查阅个人信息）", [("auditor", PROVINCE), ("personal_data", PROVINCE)]),
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
    for unit in UNITS + LISTED_UNITS:
        rows.append((f"ent-{unit.key.lower()}", unit.name, [("applicant", applicant_scope(unit.credit_code))]))
    rows.append(("evaluator-ev001", "黔绿评价咨询有限公司", [("evaluator", "evaluator:EV001")]))
    rows += demo_parks_spot_checks.accounts()  # a park's managing body (issue 16 item 3)
    return rows


DEMO_FILES = Path(__file__).resolve().parent / "demo_files"  # scripts/make_demo_pdfs.py writes them
# store_file(filename, content) -> the stored file (sha256, size, filename, content_type): the caller's
# file store (web.uploads.FileStore), so that the demo's named files are real, downloadable attachments.
StoreFile = Callable[[str, bytes], Any]


def demo_file_name(unit: DemoUnit) -> str:
    """The evaluation report a demo application names (a PDF in ``handlers/demo_files``)."""
    return f"{unit.name}自评价报告.pdf"


def _attach(engine: WorkflowEngine, store_file: StoreFile | None, name: str) -> Any:
    """Store the shipped demo file ``name``; None without a store (the form then names the file only)."""
    if store_file is None:
        return None
    return store_file(name, (DEMO_FILES / name).read_bytes())


def _record_attachment(engine: WorkflowEngine, instance_id: int, field: str, stored: Any, *, by: str) -> None:
    with engine.db.unit_of_work() as session:
        session.add(Attachment(instance_id=instance_id, sha256=stored.sha256, field=field, filename=stored.filename,
                               content_type=stored.content_type, size=stored.size, uploaded_by=by,
                               uploaded_at=engine.clock.now()))


def seed(engine: WorkflowEngine, *, password: str, store_file: StoreFile | None = None) -> str:
    """Seed accounts, evaluators, records and sample applications; returns a printable report.

    With ``store_file``, the evaluation reports and the recommendation document the samples name
    are stored and attached (officials open them on their task pages).
    """
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
        seed_expert_pool(session, now=now)
        has_instances = session.scalar(select(HumanTask.id).limit(1)) is not None
        session.flush()  # this year's application notices (第十四条); MIIT's national one from April to June
        demo_records.publish_windows(session, now.year, now=now,
                                     national=(dt.date(now.year, 4, 1), dt.date(now.year, 6, 30)))
    samples = [] if has_instances else seed_applications(engine, store_file=store_file)
    others = seed_other_processes(engine, store_file=store_file)
    others += demo_records.seed_records(engine)  # issue 16: one case of each
    others += demo_parks_spot_checks.seed(engine)  # issue 16 items 3, 7: park members, a spot check
    if not has_instances:  # 第十八条: a panel with a declared conflict (last, so earlier sample numbers stay)
        others += _panel_sample(engine, store_file=store_file)
    users = len(accounts())
    lines = [
        "演示数据已就绪 / demo data ready",
        f"  accounts: {users} (every role and scope), password for all: {password}",
        "  e.g. county-520302 (红花岗区工信局), city-520300 (遵义市工信局), province (省工信厅), expert,",
        "       eco-520300 / tax-520300 (遵义市 bureaus), prov-eco, ent-u1 (an applicant), auditor, owner;",
        "       auditor-pd is an auditor who may also export personal data unmasked;",
        "       every office has a colleague with the suffix -b (county-520302-b) for 转办 / 委派 / 抄送",
        "  pages: /inbox/ (officials), /portal/ (applicants), /public/notices (no login), /api/v1/openapi.json",
        "         (API tokens: greenflow tokens create USER --name NAME)",
        "  sample applications:",
        *[f"    #{iid}: {label}" for iid, label in samples],
        *(["  other processes:"] if others else []),
        *[f"    #{iid}: {label}" if iid else f"    {label}" for iid, label in others],
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
    # 第十、十一、十二条: evidence of the final unit type, unless the caller gives its own (or None).
    evidence = sample_evidence(data["unit_type"], energy_tce=data.get("energy_tce"), energy_cert=data.get("energy_cert"))
    data.update({k: v for k, v in evidence.items() if k not in overrides})
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
        data = self.acknowledging(bpmn_id, data)
        self.engine.complete(task.id, data, actor=self.engine.actor(task.assignee or user_for(task.role, task.scope)))

    def acknowledging(self, bpmn_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """A review that passes gives its reason for each 原则上 flag (review_step refuses a pass
        without them; docs/eligibility.md): the reasons of ``FLAG_REASONS``, else a plain one."""
        if bpmn_id != "review" or data.get("decision") != "pass" or "flag_acks" in data:
            return data
        flags = (self.engine.instance(self.instance_id)["data"].get("eligibility") or {}).get("flags") or []
        acks = {f["rule"]: FLAG_REASONS.get(f["rule"], "经核实，同意") for f in flags}
        return {**data, "flag_acks": acks} if acks else data

    def panel(self, answers: list[dict[str, Any]]) -> None:
        """Answer the open 专家评分 tasks in draw order, each as its own expert (第十八条)."""
        with self.engine.db.session() as session:
            tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == self.instance_id,
                                                           HumanTask.bpmn_id == "expert_score",
                                                           HumanTask.status == "open").order_by(HumanTask.id)).all()
        if len(tasks) != len(answers):
            raise LookupError(f"instance {self.instance_id} has {len(tasks)} open expert scores, not {len(answers)}")
        for task, answer in zip(tasks, answers):
            self.engine.complete(task.id, answer, actor=self.engine.actor(task.assignee))

    def complete_in(self, bpmn_id: str, scope: str, data: dict[str, Any]) -> None:
        """Complete the open ``bpmn_id`` task of one scope (a campaign has one per unit and county)."""
        with self.engine.db.session() as session:
            task = session.scalar(select(HumanTask).where(HumanTask.instance_id == self.instance_id,
                                                          HumanTask.bpmn_id == bpmn_id, HumanTask.scope == scope,
                                                          HumanTask.status == "open"))
        if task is None:
            raise LookupError(f"instance {self.instance_id} has no open task {bpmn_id} at {scope}")
        self.engine.complete(task.id, data, actor=self.engine.actor(user_for(task.role, task.scope)))


def user_for(role: str, scope: str) -> str:
    for username, _, grants in accounts():
        if (role, scope) in grants:
            return username
    raise LookupError(f"no demo user for {role} @ {scope}")


def applicant(engine: WorkflowEngine, unit: DemoUnit) -> Actor:
    return engine.actor(f"ent-{unit.key.lower()}")


PASS = {"decision": "pass", "opinion": "材料齐全，符合要求"}
# 第十条第3项 (原则上): the province sample (U4) misses its quota standard's advanced value; the county
# and the city each pass it with their reason (docs/eligibility.md, the demo case of issue 16).
EFFICIENCY_MISSED = {
    "legal_status": "legal_person", "actually_producing": True, "evaluation_standard": "gbt36132",
    "evaluation_score": 82.0, "evaluation_conforms": True, "efficiency_basis": "quota_advanced",
    "efficiency_product": "速冻米面食品", "quota_standard": "DB52/T 1480—2019", "efficiency_reference": 95.0,
    "efficiency_unit": "kgce/t", "efficiency_value": 98.6, "electricity_10k_kwh": 585.8422, "other_energy_tce": 1080.0,
}
FLAG_REASONS = {
    "art10_item3_below_quota_level": "单位产品能耗高出先进值约4%，企业已实施余热回收改造并承诺次年达标，同意推荐",
    "art22_province_needs_city_listing": "该企业已通过市级评价，市级名单尚未录入本平台，经核实同意",
}
NO_OBJECTION = {"opinion": "no_objection"}


def seed_applications(engine: WorkflowEngine, *, store_file: StoreFile | None = None) -> list[tuple[int, str]]:
    """Applications in interesting states, each driven through the engine as its users would.

    Each names its own evaluation report; with ``store_file`` the report is a stored attachment.
    """
    steps: list[tuple[str, DemoUnit, dict, Callable[[Driver], None]]] = [
        ("县级审核中 / at county review", UNITS[0], {}, lambda d: None),
        ("退回修改，待企业修改 / returned for amendment", UNITS[1], {},
         lambda d: d.complete("review", {"decision": "return", "reason": "请补充能源计量器具配备情况"})),
        ("征求部门意见中（2/4 已答复）/ in consultation", UNITS[2], {}, _to_consultation_half),
        ("公示中 / in public notice", UNITS[5], {}, _to_notice),
        ("省级专家评审中（评审组3名专家各自评分）/ at province expert review", UNITS[3], {"target_level": "province",
         "factory_evidence": EFFICIENCY_MISSED}, _to_expert_review),
        ("不予受理（烟草，第五条）/ refused (tobacco)", UNITS[4], {}, lambda d: None),
        ("县级不予通过 / rejected at county", UNITS[8], {},
         lambda d: d.complete("review", {"decision": "reject", "reason": "能效水平未达到行业标杆（第十条第3项）"})),
        ("贵安新区直接市级审核 / 贵安新区 at city review", UNITS[7], {}, lambda d: None),
    ]
    made = []
    for label, unit, overrides, drive in steps:
        report = _attach(engine, store_file, demo_file_name(unit))
        data = application_data(unit, year=engine.clock.now().year,  # this year's notices are open (第十四条)
                                report_file=f"sha256:{report.sha256}" if report else demo_file_name(unit),
                                **overrides)
        actor = applicant(engine, unit)
        outcome = engine.start("green_application", data, actor=actor)
        if report is not None:
            _record_attachment(engine, outcome.instance_id, "report_file", report, by=actor.username)
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
    """County and city pass: the province has drawn a panel of three; each expert scores on their own."""
    d.complete("review", PASS)
    d.complete("review", PASS)


SCORE = {"conflict_of_interest": False, "expert_score": 85, "expert_opinion": "节能降碳措施扎实，指标达到要求",
         "site_check_needed": False}
CONFLICT = {"conflict_of_interest": True, "conflict_reason": "本人曾为该企业提供节能诊断咨询服务"}


def _panel_sample(engine: WorkflowEngine, *, store_file: StoreFile | None = None) -> list[tuple[int | None, str]]:
    unit = UNITS[0]
    report = _attach(engine, store_file, demo_file_name(unit))
    data = application_data(unit, year=engine.clock.now().year, target_level="province",
                            report_file=f"sha256:{report.sha256}" if report else demo_file_name(unit))
    actor = applicant(engine, unit)
    iid = engine.start("green_application", data, actor=actor).instance_id
    if report is not None:
        _record_attachment(engine, iid, "report_file", report, by=actor.username)
    _panel_with_conflict_replaced(Driver(engine, iid))
    return [(iid, f"{unit.name} 省级专家评审：一名专家声明利益冲突已回避并另行抽取替换，评审组已评完（第十八条），"
                  f"待省级审核；评审组见 /experts/panels/{iid} / a panel expert withdrew and was replaced")]


def _panel_with_conflict_replaced(d: Driver) -> None:
    """第十八条: the first drawn expert declares a conflict and is replaced by a newly drawn one; the panel then
    completes (score 84) and the application waits at the province review."""
    _to_expert_review(d)
    d.panel([CONFLICT, {**SCORE, "expert_score": 82}, {**SCORE, "expert_score": 88}])
    d.panel([{**SCORE, "expert_score": 83, "expert_opinion": "资源综合利用水平较高"}])


# --- samples of the other processes ----------------------------------------------------------

def _china(year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> dt.datetime:
    from engine.clock import CHINA
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=CHINA)


@contextlib.contextmanager
def _clock_at(engine: WorkflowEngine, when: dt.datetime) -> Iterator[Any]:
    """Run the block on a frozen clock at ``when`` (a sample that happened earlier in the year, or last year)."""
    from engine.clock import FrozenClock, use_clock

    saved, frozen = engine.clock, FrozenClock(when)
    engine.clock = frozen
    try:
        with use_clock(frozen):
            yield frozen
    finally:
        engine.clock = saved


def annual_table(quality: int) -> dict[str, Any]:
    """An annual table (第二十四条) whose every scored indicator improves with ``quality``."""
    q = quality
    return {
        "output_value": 52000.0, "energy_tce": 1800.0 - 100 * q, "energy_intensity": round(0.05 - 0.005 * q, 4),
        "water_m3": 150000.0 - 10000 * q,
        "main_emissions": {"so2_t": 1.5 - 0.1 * q, "nox_t": 3.5 - 0.2 * q, "particulate_t": 0.9 - 0.1 * q,
                           "cod_t": 2.2 - 0.2 * q, "ammonia_nitrogen_t": 0.3 - 0.02 * q},
        "co2_t": 12000.0 - 1000 * q, "solid_waste_use_rate": 90.0 + q, "renewable_share": 10.0 + 3 * q,
        "land_output": 800.0 + 50 * q, "major_change": False,
    }


def _seed_listed_units(engine: WorkflowEngine) -> None:
    """LISTED_UNITS on their lists since the year before last, as an imported published list puts them."""
    from handlers.divisions import city_of
    from handlers.records import Listing, Unit

    now = engine.clock.now()
    listed_at = _china(now.year - 2, 12, 20)
    with engine.db.unit_of_work() as session:
        for unit in LISTED_UNITS:
            if session.scalar(select(Unit).where(Unit.credit_code == unit.credit_code)) is not None:
                continue
            session.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type=unit.unit_type,
                             county_code=unit.county, industry_code=unit.industry, created_at=listed_at))
            level = LISTED_LEVELS[unit.key]
            session.add(Listing(credit_code=unit.credit_code, unit_type=unit.unit_type, level=level,
                                scope=city_of(unit.county) if level == "city" else PROVINCE, year=now.year - 2,
                                status="listed", listed_at=listed_at))


def _exists(engine: WorkflowEngine, model: Any, **where: Any) -> bool:
    with engine.db.session() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query.limit(1)) is not None


def seed_other_processes(engine: WorkflowEngine, *, store_file: StoreFile | None = None
                         ) -> list[tuple[int | None, str]]:
    """Samples of every other process in an interesting state, each added once (guarded by its record).

    Samples that belong to an earlier date (last year's annual table and green codes, the
    national recommendation of June–July) are driven on a frozen clock at those dates, so
    their histories carry the dates on which they would have happened.
    """
    from engine.errors import EngineError

    _seed_listed_units(engine)
    made: list[tuple[int | None, str]] = []
    for sample in (_last_years_green_codes, _this_years_annual_table, _national_recommendation,
                   _complaint_at_verification, _complaint_answered, _change_at_recheck, _incident_at_province,
                   _list_publication_in_preparation, _application_with_upheld_objection):
        try:
            made.extend(_national_recommendation(engine, store_file=store_file)
                        if sample is _national_recommendation else sample(engine))
        except EngineError as err:  # e.g. a due date in a year whose calendar is not loaded yet
            made.append((None, f"{sample.__name__}: 未生成 / not seeded: {err}"))
    return made


def _last_years_green_codes(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    """Last year's annual table (第二十四条), closed on April 15: green codes (第二十五条), one non-filer (第二十七条第7项)."""
    from engine.identity import system_actor
    from handlers.records import Campaign

    year = engine.clock.now().year - 1
    if _exists(engine, Campaign, year=year):
        return []
    with _clock_at(engine, _china(year, 3, 1, 9, 0, 1)) as clock:
        iid = engine.start("annual_table_campaign", {"scheduled_for": f"{year}-03-01T09:00:00+08:00",
                                                     "scheduled_year": year},
                           actor=system_actor("scheduler")).instance_id
        driver = Driver(engine, iid)
        clock.set(_china(year, 3, 20, 10))
        for quality, unit in enumerate(LISTED_UNITS[:5]):  # U15 never files
            table = annual_table(quality)
            if quality == 1:  # 第二十八条: a boundary change explained in the table starts its re-check
                table.update(major_change=True, change_note="并购相邻厂区，组织边界扩大", changes=[{
                    "change_kind": "boundary", "old_value": "厂区占地 120 亩", "new_value": "并购相邻厂区后占地 180 亩",
                    "effective_date": f"{year}-02-01"}])
            driver.complete_in("fill_annual_table", applicant_scope(unit.credit_code), table)
            driver.complete_in("review_annual_table", unit.county, {"decision": "accept"})
        clock.set(_china(year, 3, 25, 15))
        with engine.db.session() as session:
            recheck = session.scalar(select(ProcessInstance.id).where(ProcessInstance.process_id == "unit_change",
                                                                  ProcessInstance.business_key.like("annual_table:%")))
        if recheck is not None:  # 第二十九条: the authority confirms the change
            Driver(engine, recheck).complete("change_review", {"change_decision": "still_qualifies",
                                                               "change_opinion": "边界扩大不影响评价结果"})
        clock.set(_china(year, 4, 16, 0, 0, 1))  # the deadline: 第二十七条第7项 for U15, then the green codes
        engine.fire_due_timers()  # also the timers that firing made due
    made = [(iid, f"{year}年度动态管理表已截止，企业绿码已赋码（第二十五条），{LISTED_UNITS[5].name} 未填报"
                  f"（第二十七条第7项）/ last year's annual table closed, green codes computed")]
    if recheck is not None:
        made.append((recheck, f"{LISTED_UNITS[1].name} 在{year}年度动态管理表中说明组织边界变更，已复核确认"
                              f"（第二十八、二十九条）/ a change explained in the table, re-checked"))
    return made


def _this_years_annual_table(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    """This year's annual table while it is open (March 1 – April 15): one table waiting for its county review."""
    from engine.identity import system_actor
    from handlers.records import Campaign

    now = engine.clock.now()
    year = now.year
    if not _china(year, 3, 1, 9) < now < _china(year, 4, 15, 18) or _exists(engine, Campaign, year=year):
        return []
    iid = engine.start("annual_table_campaign", {"scheduled_for": f"{year}-03-01T09:00:00+08:00",
                                                 "scheduled_year": year}, actor=system_actor("scheduler")).instance_id
    unit = LISTED_UNITS[4]
    Driver(engine, iid).complete_in("fill_annual_table", applicant_scope(unit.credit_code), annual_table(3))
    return [(iid, f"{year}年度动态管理表填报中：{unit.name} 已填报待{division(unit.county).name}审核，其余单位待填报"
                  f" / annual table: one waiting for county review")]


def _national_recommendation(engine: WorkflowEngine, *, store_file: StoreFile | None = None
                             ) -> list[tuple[int | None, str]]:
    """第二十一条: the latest June 1 batch: selection open until July 31, afterwards waiting for MIIT's result."""
    from engine.identity import system_actor
    from handlers.national_recommendation import NationalBatch

    now = engine.clock.now()
    year = now.year if now >= _china(now.year, 6, 1, 9, 0, 1) else now.year - 1
    if _exists(engine, NationalBatch, year=year):
        return []
    selecting = now < _china(year, 8, 1, 0)
    with _clock_at(engine, _china(year, 6, 1, 9, 0, 1)) as clock:
        iid = engine.start("national_recommendation", {"scheduled_for": f"{year}-06-01T09:00:00+08:00",
                                                       "scheduled_year": year},
                           actor=system_actor("scheduler")).instance_id
        if not selecting:
            clock.set(_china(year, 7, 20, 10))
            engine.fire_due_timers()  # the July 17 reminder
            document = _attach(engine, store_file, "推荐文件.pdf")
            Driver(engine, iid).complete("select_units", {
                "recommended_units": [LISTED_UNITS[4].credit_code], "recommendation_ref": f"黔工信节〔{year}〕20号",
                "recommendation_file": f"sha256:{document.sha256}" if document else "推荐文件.pdf"})
            if document is not None:
                _record_attachment(engine, iid, "recommendation_file", document, by=user_for("province_official",
                                                                                              PROVINCE))
    if selecting:
        return [(iid, f"{year}年度国家级推荐：省工信厅择优推荐中（7月31日前）/ national recommendation: selection open")]
    return [(iid, f"{year}年度国家级推荐：已推荐 {LISTED_UNITS[4].name}，待录入工信部结果"
                  f" / recommended, waiting for MIIT's result")]


REPORTER = {"reporter_name": "李某", "id_number": "520102198805051234", "contact": "13900000000",
            "evidence": "电费单据复印件"}


def _complaint(engine: WorkflowEngine, unit: DemoUnit, matter: str) -> int:
    from engine.identity import public_actor

    data = {"subject_kind": "unit", "unit": unit.credit_code, "matter": matter, **REPORTER}
    iid = engine.start("complaint", data, actor=public_actor("complaint")).instance_id
    Driver(engine, iid).complete("complaint_intake", {"intake_decision": "accept",
                                                      "intake_reason": "实名举报，属于受理范围"})
    return iid


def _complaint_at_verification(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    from handlers.complaints import Complaint

    unit = LISTED_UNITS[0]
    if _exists(engine, Complaint, credit_code=unit.credit_code):
        return []
    iid = _complaint(engine, unit, "该企业申报的能耗数据比实际低约三成")
    return [(iid, f"实名举报 {unit.name}：已受理，核实中（第三十二条）/ complaint at verification")]


def _complaint_answered(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    from handlers.complaints import Complaint

    unit = LISTED_UNITS[1]
    if _exists(engine, Complaint, credit_code=unit.credit_code):
        return []
    iid = _complaint(engine, unit, "该企业夜间偷排废水")
    Driver(engine, iid).complete("verify_complaint", {"verification_outcome": "unfounded",
                                                      "verification_findings": "调取在线监测数据，无夜间超标排放"})
    return [(iid, f"实名举报 {unit.name}：经核实不属实，已答复举报人 / complaint answered (unfounded)")]


def _change_at_recheck(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    from handlers.changes import UnitChange
    from handlers.divisions import city_of

    unit = LISTED_UNITS[3]
    if _exists(engine, UnitChange, credit_code=unit.credit_code):
        return []
    effective = (engine.clock.now().date() - dt.timedelta(days=14)).isoformat()
    iid = engine.start("unit_change", {
        "credit_code": unit.credit_code, "change_kind": "name", "old_value": unit.name,
        "new_value": "安顺平坝航空智能制造有限公司", "effective_date": effective, "explanation": "引入战略投资者后更名",
        "evidence": "营业执照（变更后）"}, actor=applicant(engine, unit)).instance_id
    return [(iid, f"{unit.name} 名称变更，待{division(city_of(unit.county)).name}复核（第二十八、二十九条）"
                  f" / change report waiting for re-check")]


def _incident_at_province(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    from handlers.unit_incidents import UnitIncident

    unit = LISTED_UNITS[2]
    if _exists(engine, UnitIncident, credit_code=unit.credit_code):
        return []
    occurred = (engine.clock.now().date() - dt.timedelta(days=3)).isoformat()
    iid = engine.start("unit_incident", {
        "credit_code": unit.credit_code, "incident_kind": "environment", "incident_level": "level_2",
        "occurred_on": occurred, "description": "尾矿库渗漏导致下游河段水质超标", "evidence": "生态环境部门事件通报"},
        actor=engine.actor(f"county-{unit.county}")).instance_id
    return [(iid, f"{unit.name} Ⅱ级突发环境事件，待省工信厅核实（第二十六条）/ incident waiting for the province")]


def _list_publication_in_preparation(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    from handlers.divisions import city_of
    from handlers.list_publication import ListPublication

    unit = LISTED_UNITS[5]
    city, year = city_of(unit.county), engine.clock.now().year
    if _exists(engine, ListPublication, level="city", scope=city, year=year):
        return []
    iid = engine.start("list_publication", {"publication_level": "city", "publication_scope": city,
                                            "publication_year": year},
                       actor=engine.actor(f"city-{city}")).instance_id
    return [(iid, f"{division(city).name}{year}年度市层面名单发布：待核对（含移出 {unit.name}，第二十七条第7项）"
                  f" / list publication being prepared")]


OBJECTION = {"name": "王某", "id_number": "520102199001011234", "contact": "13800000000",
             "matter": "该企业去年曾因超标排放被生态环境部门行政处罚，不应列入绿色工厂名单", "evidence": "行政处罚决定书复印件"}


def _application_with_upheld_objection(engine: WorkflowEngine) -> list[tuple[int | None, str]]:
    """第二十条: an application whose public notice drew an objection that the city verified and upheld
    (the unit will not be listed when the notice ends); what auditors step through (issue 13)."""
    from engine.identity import public_actor
    from handlers.records import Objection

    unit = UNITS[8]  # rejected at county earlier this year (above), then applied again
    if _exists(engine, Objection, upheld=True):
        return []
    iid = engine.start("green_application", application_data(unit, year=engine.clock.now().year, energy_tce=1650.0),
                       actor=applicant(engine, unit)).instance_id
    driver = Driver(engine, iid)
    driver.complete("review", PASS)
    driver.complete("review", PASS)
    for branch in ("opinion_eco", "opinion_emergency", "opinion_market", "opinion_tax"):
        driver.complete(branch, NO_OBJECTION)
    engine.deliver(iid, "notice_objection", OBJECTION, actor=public_actor("objector"))
    driver.complete("review_objection", {"upheld": True, "finding": "经核实，该企业去年确有环境行政处罚记录",
                                         "reply": "经核实，异议成立，公示期满后不予列入"})
    return [(iid, f"{unit.name} 重新申报：公示期间收到异议，经核实成立（第二十条），公示期满后不予列入"
                  f" / an objection upheld during the notice")]


def demo_users() -> list[str]:
    return [u for u, _, _ in accounts()]


__all__ = ["seed", "accounts", "UNITS", "user_for", "demo_users", "UserAccount"]
