"""A whole year of the province, January to December 2026, through the engine on both databases.

One story, month by month, with every process driven as its users and the worker would: people
act through commands, the timer worker fires what is due (``Year.at`` wakes at every timer and
scheduled start on the way, like ``greenflow worker``), and the scheduler starts the yearly
processes (the annual table on March 1, the national recommendation on June 1).

The cast (imported 2025 lists, seeded in January like the other scenario tests do):

=====  =======================  ==============  ==================================================
 key    unit                     list (2025)     what happens to it in 2026
=====  =======================  ==============  ==================================================
 Z1     遵义 播州区               city 遵义        files its table; an unfounded complaint; stays listed
 Z2     遵义 汇川区               city 遵义        never files → 第二十七条第7项 → removed in December
 Z3     遵义 桐梓县               city 遵义        confirmed complaint (第二十七条第8项) → no green code,
                                                  removed; its new application in December is barred
                                                  (第二十七条第1项)
 Z4     遵义 绥阳县               city 遵义        change of business scope no longer qualifies
                                                  (第二十九条) → removed in December
 P1     贵阳 南明区               province         major accident confirmed (第二十六条) → 第二十七条第3项
                                                  → removed from the provincial list in December
 P2     遵义 正安县               province         recommended to MIIT by July 31 → national list
                                                  (and deemed on 遵义's city list, 第七条)
 P3     六盘水 水城区             province         recommended, MIIT does not list it: stays provincial
 U1     遵义 红花岗区             —                applies in June (city): a rejected objection → city list
 U6     安顺 西秀区               —                applies (city): an upheld objection → not listed
 U8     贵安新区                 —                applies (city, no county level), returned once → city list
 U2     贵阳 云岩区               —                applies (province): a panel of three experts, site check
                                                  → province list
=====  =======================  ==============  ==================================================
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine import schedules
from engine.clock import CHINA
from engine.identity import public_actor, upsert_user
from engine.models import HumanTask, Outbox, ProcessInstance, ScheduledStart, Timer
from handlers import demo
from handlers.divisions import city_of
from handlers.green_codes import GreenCode
from handlers.list_publication import publication_view
from handlers.records import Listing, NegativeRecord, Objection, Unit
from handlers.removals import PendingRemoval
from handlers.start import applicant_scope
from tests.scenarios.driver import OBJECTION, PASS

pytestmark = pytest.mark.slow

Z1 = demo.DemoUnit("U21", "遵义播州绿色化工有限公司", "520304", "26")
Z2 = demo.DemoUnit("U22", "遵义汇川汽车零部件有限公司", "520303", "36")
Z3 = demo.DemoUnit("U23", "遵义桐梓铝业有限公司", "520322", "32")
Z4 = demo.DemoUnit("U24", "遵义绥阳包装材料有限公司", "520323", "22")
P1 = demo.DemoUnit("U31", "贵阳南明重型机械有限公司", "520102", "35")
P2 = demo.DemoUnit("U32", "遵义正安吉他制造有限公司", "520324", "24")
P3 = demo.DemoUnit("U33", "六盘水水城能源装备有限公司", "520204", "34")
U1, U2, U6, U8 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[5], demo.UNITS[7]

LISTED_2025 = {Z1: "city", Z2: "city", Z3: "city", Z4: "city", P1: "province", P2: "province", P3: "province"}
ZUNYI, PROVINCE = "520300", "520000"
REPORTER = {"reporter_name": "李某", "id_number": "520102198805051234", "contact": "13900000000",
            "evidence": "电费单据复印件"}
OUR_PROCESSES = {"green_application", "complaint", "annual_table_campaign", "unit_change", "unit_incident",
                 "national_recommendation", "list_publication"}


def china(when: str) -> dt.datetime:
    """``"03-02 09:00"`` → 2026-03-02 09:00 China time."""
    return dt.datetime.fromisoformat(f"2026-{when}:00").replace(tzinfo=CHINA)


def user(unit: demo.DemoUnit) -> str:
    return f"ent-{unit.key.lower()}"


def unit_scope(unit: demo.DemoUnit) -> str:
    return f"unit:{unit.credit_code}"


class Year:
    """The province's year: the scenario driver, the worker's catch-up and the scheduler."""

    def __init__(self, green):
        self.green, self.engine = green, green.engine
        self.started: dict[str, list[int]] = {}  # process id -> instances the scheduler started

    # --- time -------------------------------------------------------------------------------
    def at(self, when: str) -> None:
        """Move the clock to ``when``, waking at every timer and scheduled start due on the way."""
        target = china(when)
        while (wake := self._next_wakeup()) is not None and wake < target:
            moment = wake + dt.timedelta(seconds=1)  # a timer due exactly now has not fired yet
            assert moment > self.engine.clock.now(), (
                f"a timer due {wake} did not fire: {self.engine.incidents()}")
            self.engine.clock.set(moment)
            self._tick()
        self.engine.clock.set(target)
        self._tick()

    def _tick(self) -> None:
        for iid in schedules.run_due(self.engine):
            self.started.setdefault(self.green.view(iid)["process_id"], []).append(iid)
        self.green.fire_all()

    def _next_wakeup(self) -> dt.datetime | None:
        with self.engine.db.session() as s:
            times = [s.scalar(select(func.min(Timer.due_at))), s.scalar(select(func.min(ScheduledStart.next_at)))]
        times = [t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc) for t in times if t is not None]
        return min(times) if times else None

    def scheduled(self, process_id: str) -> int:
        [iid] = self.started[process_id]
        return iid

    # --- people ------------------------------------------------------------------------------
    def step(self, iid: int, bpmn_id: str, data: dict, **kw):
        return self.green.step(iid, bpmn_id, data, **kw)

    def apply(self, unit: demo.DemoUnit, **overrides) -> int:
        data = demo.application_data(unit, **overrides)
        return self.engine.start("green_application", data, actor=self.engine.actor(user(unit))).instance_id

    def complain(self, unit: demo.DemoUnit, matter: str) -> int:
        data = {"subject_kind": "unit", "unit": unit.credit_code, "matter": matter, **REPORTER}
        return self.engine.start("complaint", data, actor=public_actor("complaint")).instance_id

    def object(self, iid: int, **fields):
        return self.engine.deliver(iid, "notice_objection", {**OBJECTION, **fields}, actor=public_actor("objector"))

    def notice_end(self, iid: int) -> str:
        """The ``at`` string just after the application's current notice ends (24:00 of its last day)."""
        ends = dt.datetime.fromisoformat(self.green.view(iid)["data"]["notice"]["ends_at"]).astimezone(CHINA)
        return (ends + dt.timedelta(minutes=1)).strftime("%m-%d %H:%M")

    # --- looking at the records ----------------------------------------------------------------
    def rows(self, model, **where) -> list:
        with self.engine.db.session() as s:
            query = select(model).order_by(model.id)
            for key, value in where.items():
                query = query.where(getattr(model, key) == value)
            return list(s.scalars(query))

    def listings(self, unit: demo.DemoUnit) -> list[tuple[str, str, str, str | None]]:
        return sorted((row.level, row.scope, row.status, row.removal_ground)
                      for row in self.rows(Listing, credit_code=unit.credit_code))

    def notifications(self, iid: int, kind: str) -> list[dict]:
        return [o.payload for o in self.rows(Outbox, instance_id=iid) if o.payload.get("kind") == kind]


# ------------------------------------------------------------------------------------ the months

def january_seed_the_province(year: Year) -> None:
    """The 2025 lists as published (imported), an account for every listed unit, the schedules registered."""
    green, engine = year.green, year.engine
    listed_at = dt.datetime(2025, 12, 20, 2, 0, tzinfo=dt.timezone.utc)
    with engine.db.unit_of_work() as s:
        for unit, level in LISTED_2025.items():
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=listed_at))
            scope = {"city": city_of(unit.county), "province": PROVINCE}[level]
            s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level=level, scope=scope, year=2025,
                          status="listed", listed_at=listed_at))
            upsert_user(s, user(unit), display_name=unit.name, grants=[("applicant", applicant_scope(unit.credit_code))])
    year.at("01-05 09:00")  # the worker's first tick registers every scheduled process's next occurrence
    with engine.db.session() as s:
        registered = {row.process_id: row.next_at for row in s.scalars(select(ScheduledStart))}
    assert registered["annual_table_campaign"] == china("03-01 09:00")
    assert registered["national_recommendation"] == china("06-01 09:00")
    assert green.engine.count_instances() == {}


def january_february_complaints(year: Year) -> dict[str, int]:
    """Two real-name complaints (第三十二条) against 遵义 city units: one confirmed, one unfounded."""
    year.at("01-12 10:00")
    confirmed = year.complain(Z3, "该企业申报的能耗数据比实际低约三成")
    year.at("01-19 15:00")
    unfounded = year.complain(Z1, "该企业夜间偷排废水")
    for iid in (confirmed, unfounded):
        assert year.green.task(iid, "complaint_intake").scope == ZUNYI  # a city-listed unit: its city department
    year.at("01-20 10:00")
    for iid in (confirmed, unfounded):
        year.step(iid, "complaint_intake", {"intake_decision": "accept", "intake_reason": "实名举报，属于受理范围"})

    # Verification within 20 working days (the Spring Festival 2月15日—23日 does not count).
    year.at("02-05 16:00")
    year.step(unfounded, "verify_complaint", {"verification_outcome": "unfounded",
                                              "verification_findings": "调取在线监测数据，无夜间超标排放"})
    year.at("02-10 11:00")
    year.step(confirmed, "verify_complaint", {
        "verification_outcome": "confirmed", "verification_findings": "电费单据显示实际能耗比申报高31%",
        "measure": "remove", "removal_item": 8})  # 第二十七条第8项 材料或数据造假: removed at the next list
    for iid, outcome in ((confirmed, "removed"), (unfounded, "unfounded")):
        view = year.green.view(iid)
        assert view["status"] == "completed" and view["data"]["complaint_record"]["receipt"].startswith("JB2026-")
    [record] = year.rows(NegativeRecord, credit_code=Z3.credit_code)
    assert (record.item, record.occurred_on) == (8, dt.date(2026, 2, 10))
    [pending] = year.rows(PendingRemoval, credit_code=Z3.credit_code)
    assert (pending.level, pending.scope, pending.ground_item, pending.published_at) == ("city", ZUNYI, 8, None)
    assert year.rows(NegativeRecord, credit_code=Z1.credit_code) == []
    assert year.listings(Z3) == [("city", ZUNYI, "listed", None)]  # removed only when the list is published
    return {"confirmed": confirmed, "unfounded": unfounded}


def march_april_annual_tables(year: Year) -> int:
    """第二十四条: the scheduler opens the campaign on March 1; tables by April 15; green codes (第二十五条)."""
    green = year.green
    year.at("03-01 09:01")  # a Sunday: the scheduler starts the occurrence of 09:00
    campaign = year.scheduled("annual_table_campaign")
    view = green.view(campaign)
    assert view["started_by"] == "system:scheduler" and view["data"]["scheduled_year"] == 2026
    assert sorted(u["credit_code"] for u in view["data"]["units"]) == sorted(u.credit_code for u in LISTED_2025)

    # Six units file in March; each table goes to the department of the unit's county.
    year.at("03-10 10:00")
    for unit, quality in ((P2, 5), (Z1, 4), (P3, 3), (Z3, 2), (Z4, 1), (P1, 0)):
        data = demo.annual_table(quality)
        if unit is Z4:  # 第二十八条: a change explained in the table starts its re-check (decided in May)
            data = {**data, "major_change": True, "change_note": "并购后主营转为烟草制品配套",
                    "changes": [{"change_kind": "business_scope", "old_value": "纸制品包装材料制造",
                                 "new_value": "卷烟配套材料制造", "new_industry_code": "16",
                                 "effective_date": "2026-03-01"}]}
        green.step_in(campaign, "fill_annual_table", unit_scope(unit), data, as_user=user(unit))
    year.at("03-16 10:00")
    green.step_in(campaign, "review_annual_table", P3.county, {"decision": "return", "reason": "可再生能源占比缺少依据"})
    for unit in (P2, Z1, Z3, Z4, P1):
        green.step_in(campaign, "review_annual_table", unit.county, {"decision": "accept"})
    year.at("03-18 09:30")
    green.step_in(campaign, "correct_annual_table", unit_scope(P3), demo.annual_table(3), as_user=user(P3))
    year.at("03-20 15:00")
    green.step_in(campaign, "review_annual_table", P3.county, {"decision": "accept", "opinion": "已补充绿电合同"})

    # April 8: only the unit that has not filed is reminded, citing 第二十七条第7项.
    year.at("04-08 12:00")
    [reminder] = year.notifications(campaign, "reminder")
    assert reminder["scope"] == unit_scope(Z2) and "第二十七条第7项" in reminder["message_zh"]
    assert green.view(campaign)["status"] == "running"

    # April 16, 00:00: the deadline closes the campaign: Z2 gets 第二十七条第7项, the factories get codes.
    year.at("04-16 08:00")
    view = green.view(campaign)
    assert view["status"] == "completed" and view["data"]["campaign_result"]["missing"] == [Z2.credit_code]
    [item7] = year.rows(NegativeRecord, credit_code=Z2.credit_code)
    assert (item7.item, item7.occurred_on) == (7, dt.date(2026, 4, 16))
    codes = {row.credit_code: (row.code, row.reason) for row in year.rows(GreenCode, year=2026)}
    # Z3's data was found falsified (confirmed complaint, 第二十七条第8项, removal pending): no code (第二十五条).
    # 5 coded factories: A+ for the top round(5% × 5) = 0, A for the next up to round(40% × 5) = 2, B the rest.
    assert codes == {P2.credit_code: ("A", None), Z1.credit_code: ("A", None), P3.credit_code: ("B", None),
                     Z3.credit_code: (None, "falsified"), Z4.credit_code: ("B", None), P1.credit_code: ("B", None),
                     Z2.credit_code: (None, "not_filed")}
    assert year.listings(Z2) == [("city", ZUNYI, "listed", None)]  # removed at the next publication
    return campaign


def may_change_and_incident(year: Year) -> dict[str, int]:
    """第二十八、二十九条: Z4's change no longer qualifies; 第二十六条: P1's major accident is confirmed."""
    green, engine = year.green, year.engine
    year.at("05-11 10:00")
    [change_row] = year.rows(ProcessInstance, process_id="unit_change")  # started by Z4's table (第二十八条)
    change = change_row.id
    assert change_row.started_by == user(Z4) and change_row.created_at == china("03-10 10:00")
    assert green.task(change, "change_review").scope == ZUNYI  # a city-only unit: its city re-checks
    year.at("05-13 15:00")
    year.step(change, "change_review", {"change_decision": "no_longer_qualifies",
                                        "change_reason": "主营已转为烟草制品业，不属第五条范围"})
    assert green.view(change)["status"] == "completed"
    [pending] = year.rows(PendingRemoval, credit_code=Z4.credit_code)
    assert (pending.level, pending.scope, pending.article, pending.ground_item) == ("city", ZUNYI, "第二十九条", None)
    assert any(n["scope"] == PROVINCE for n in year.notifications(change, "report"))  # 上报省工信厅 (第二十九条)

    year.at("05-18 09:30")
    incident = engine.start("unit_incident", {
        "credit_code": P1.credit_code, "incident_kind": "production_safety", "incident_level": "level_2",
        "occurred_on": "2026-05-15", "description": "锻压车间爆炸，造成3人死亡", "evidence": "应急管理部门事故通报"},
        actor=engine.actor("county-520102")).instance_id
    assert (green.task(incident, "incident_review").role, green.task(incident, "incident_review").scope) == \
        ("province_official", PROVINCE)
    year.at("05-20 11:00")
    year.step(incident, "incident_review", {"incident_decision": "confirmed"})
    assert green.view(incident)["status"] == "completed"
    [item3] = year.rows(NegativeRecord, credit_code=P1.credit_code)
    assert (item3.item, item3.occurred_on) == (3, dt.date(2026, 5, 15))
    [pending] = year.rows(PendingRemoval, credit_code=P1.credit_code)
    assert (pending.level, pending.scope, pending.ground_item) == ("province", PROVINCE, 3)
    return {"change": change, "incident": incident}


def june_national_recommendation_opens(year: Year) -> int:
    """第二十一条: the scheduler opens the recommendation on June 1; P1 is barred (第二十七条第3项)."""
    year.at("06-01 09:05")
    batch = year.scheduled("national_recommendation")
    task = year.green.task(batch, "select_units")
    assert (task.role, task.scope) == ("province_official", PROVINCE)
    statuses = {c["credit_code"]: c["status"] for c in year.green.view(batch)["data"]["recommendation"]["candidates"]}
    assert statuses[P2.credit_code] == statuses[P3.credit_code] == "eligible"
    assert statuses[P1.credit_code] != "eligible"
    return batch


def june_july_applications(year: Year) -> dict[str, int]:
    """第十四—二十三条: the 2026 application round, each through review, bureaus and the 公示."""
    green = year.green
    year.at("06-08 09:00")
    apps = {"U1": year.apply(U1), "U6": year.apply(U6), "U8": year.apply(U8), "U2": year.apply(U2, target_level="province")}
    assert green.task(apps["U8"], "review").scope == "GA0000"  # 贵安新区: no county level

    year.at("06-09 10:00")  # 第十八条: county, then city (the city's pass recommends U2 to the province)
    for key in ("U1", "U6"):
        year.step(apps[key], "review", PASS)
    green.pass_review(apps["U2"])  # a province application: the 原则上 flags need a reason (第二十二条)
    year.step(apps["U8"], "review", {"decision": "return", "reason": "请补充能源计量器具配备情况"})
    year.at("06-10 10:00")
    year.step(apps["U8"], "amend", {"energy_tce": 1750.0, "amend_note": "已补充计量器具清单"})
    year.at("06-11 10:00")
    for key in ("U1", "U6", "U8"):
        year.step(apps[key], "review", PASS)
    green.pass_review(apps["U2"])

    year.at("06-12 10:00")  # 第十九条: the four bureaus of each city
    for key in ("U1", "U6", "U8"):
        green.consult(apps[key])
    # 第二十条: the notices run 7 working days; objections come in with real names.
    year.at("06-15 10:00")
    rejected = year.object(apps["U1"], matter="该企业厂区扬尘较大")
    upheld = year.object(apps["U6"], matter="该企业2025年曾被生态环境部门行政处罚")
    assert rejected.result["delivered"] and upheld.result["delivered"]
    year.at("06-17 10:00")
    year.step(apps["U1"], "review_objection", {"upheld": False, "finding": "现场核查扬尘治理设施运行正常",
                                               "reply": "经核实，异议不成立"})
    year.step(apps["U6"], "review_objection", {"upheld": True, "finding": "经核实确有2025年环境行政处罚",
                                               "reply": "异议成立，取消拟列入"})

    # 第十八条: the province's expert review and site check of U2.
    year.at("06-22 10:00")
    green.panel(apps["U2"], [88, 85, 90], site_check=True, opinion="建议现场核实能耗计量")  # a panel of three
    year.at("06-26 15:00")
    year.step(apps["U2"], "site_check", {"site_check_passed": True, "site_check_date": "2026-06-25",
                                         "site_check_notes": "计量器具配备齐全"})

    year.at(year.notice_end(apps["U1"]))  # the city notices end
    for key, outcome in (("U1", "listed_city"), ("U6", "removed_after_notice"), ("U8", "listed_city")):
        view = green.view(apps[key])
        assert (view["status"], view["data"]["outcome"]) == ("completed", outcome), key
    assert green.view(apps["U1"])["data"]["notice_result"] == {"upheld": 0, "rejected": 1, "pending": 0}
    assert sorted((o.upheld, o.reply) for o in year.rows(Objection)) == [
        (False, "经核实，异议不成立"), (True, "异议成立，取消拟列入")]  # each objector gets a reply (第二十条)

    year.at("07-01 10:00")
    green.pass_review(apps["U2"])  # the province's review
    year.at("07-02 10:00")
    green.consult(apps["U2"])  # 第十九条: the provincial bureaus
    year.at(year.notice_end(apps["U2"]))
    assert green.view(apps["U2"])["data"]["outcome"] == "listed_province"
    return apps


def july_november_recommendation(year: Year, batch: int) -> None:
    """第二十一条: reminders on July 17, recommendation by July 31; MIIT's result recorded in November."""
    year.at("07-20 10:00")
    [reminder] = year.notifications(batch, "reminder")
    assert reminder["scope"] == PROVINCE and "7月31日" in reminder["message_zh"]
    year.step(batch, "select_units", {"recommended_units": [P2.credit_code, P3.credit_code],
                                      "recommendation_ref": "黔工信节〔2026〕20号", "recommendation_file": "推荐文件.pdf"})
    year.at("08-03 09:00")  # past the deadline: nothing fires, the recommendation was on time
    assert year.engine.instance(batch)["timers"] == []
    year.at("11-10 10:00")
    year.step(batch, "record_miit", {"miit_listed_units": [P2.credit_code], "miit_published_on": "2026-11-05",
                                     "miit_notice_ref": "工信厅节函〔2026〕300号"})
    view = year.green.view(batch)
    assert view["status"] == "completed"
    assert view["data"]["miit_batch_result"] == {"listed": [P2.credit_code], "not_listed": [P3.credit_code]}


def december_publications(year: Year) -> dict[str, int]:
    """第二十条、第二十七条、第二十九条: 遵义's city list and the provincial list, with their removals."""
    green, engine = year.green, year.engine
    year.at("12-01 09:30")
    publications = {}
    for level, scope, who in (("city", ZUNYI, "city-520300"), ("province", PROVINCE, "province")):
        data = {"publication_level": level, "publication_scope": scope, "publication_year": 2026}
        publications[level] = engine.start("list_publication", data, actor=engine.actor(who)).instance_id
    year.at("12-03 10:00")
    refs = {"city": "遵工信〔2026〕45号", "province": "黔工信节〔2026〕60号"}
    for level, iid in publications.items():
        year.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": refs[level]})
        assert green.view(iid)["status"] == "completed"
    return publications


def december_barred_reapplication(year: Year) -> int:
    """第二十七条第1项: a unit removed from a list may not apply for three years."""
    year.at("12-07 10:00")
    iid = year.apply(Z3)
    view = year.green.view(iid)
    assert (view["status"], view["data"]["outcome"]) == ("completed", "refused")
    rules = {(v["rule"], v["article"]) for v in view["data"]["eligibility"]["violations"]}
    assert ("art27_item1_within_three_years", "第二十七条") in rules
    return iid


# ------------------------------------------------------------------------------------ the test

def test_a_whole_year_of_the_province(green):
    year = Year(green)
    green.engine.clock.set(china("01-05 08:00"))

    january_seed_the_province(year)                      # January: the 2025 lists
    complaints = january_february_complaints(year)       # January–February: 第三十二条
    campaign = march_april_annual_tables(year)           # March–April: 第二十四、二十五、二十七条第7项
    changes = may_change_and_incident(year)              # May: 第二十六、二十八、二十九条
    batch = june_national_recommendation_opens(year)     # June 1: 第二十一条
    apps = june_july_applications(year)                  # June–July: 第十四—二十三条
    july_november_recommendation(year, batch)            # July 31 / November: 第二十一条
    publications = december_publications(year)           # December: 第二十、二十七、二十九条
    reapplied = december_barred_reapplication(year)      # December: 第二十七条第1项
    year.at("12-31 18:00")

    # --- the published lists ------------------------------------------------------------------
    with green.engine.db.session() as s:
        city = publication_view(s, "city", ZUNYI, 2026)
        province = publication_view(s, "province", PROVINCE, 2026)
    assert city["status"] == province["status"] == "published"
    assert city["reference"] == "遵工信〔2026〕45号" and province["reference"] == "黔工信节〔2026〕60号"
    assert sorted((u["credit_code"], u["new"]) for u in city["listed"]) == sorted(
        [(Z1.credit_code, False), (U1.credit_code, True)])
    assert [(u["credit_code"], sorted(u["levels"]), u["article"]) for u in city["deemed"]] == [
        (P2.credit_code, ["national", "province"], "第七条")]  # 第七条: provincial and national units count
    assert {u["credit_code"]: [g["ground"] for g in u["grounds"]] for u in city["removed"]} == {
        Z2.credit_code: ["第二十七条第7项"], Z3.credit_code: ["第二十七条第8项"], Z4.credit_code: ["第二十九条"]}
    assert sorted((u["credit_code"], u["new"]) for u in province["listed"]) == sorted(
        [(P2.credit_code, False), (P3.credit_code, False), (U2.credit_code, True)])
    assert {u["credit_code"]: [(g["ground"], g["article"]) for g in u["grounds"]] for u in province["removed"]} == {
        P1.credit_code: [("第二十七条第3项", "第二十七条")]}

    # --- every unit's listings at the end of the year -------------------------------------------
    assert year.listings(Z1) == [("city", ZUNYI, "listed", None)]
    assert year.listings(Z2) == [("city", ZUNYI, "removed", "第二十七条第7项")]
    assert year.listings(Z3) == [("city", ZUNYI, "removed", "第二十七条第8项")]
    assert year.listings(Z4) == [("city", ZUNYI, "removed", "第二十九条")]
    assert year.listings(P1) == [("province", PROVINCE, "removed", "第二十七条第3项")]
    assert year.listings(P2) == [("national", "national", "listed", None), ("province", PROVINCE, "listed", None)]
    assert year.listings(P3) == [("province", PROVINCE, "listed", None)]
    assert year.listings(U1) == [("city", ZUNYI, "listed", None)]
    assert year.listings(U8) == [("city", "GA0000", "listed", None)]
    assert year.listings(U2) == [("province", PROVINCE, "listed", None)]
    assert year.listings(U6) == []  # the upheld objection took it off the proposed list
    assert all(p.published_at is not None for p in year.rows(PendingRemoval))

    # --- every instance completed or legitimately waiting; no incident; every history intact ----
    assert green.engine.incidents() == []
    ours = [complaints["confirmed"], complaints["unfounded"], campaign, changes["change"], changes["incident"], batch,
            *apps.values(), *publications.values(), reapplied]
    with green.engine.db.session() as s:
        instances = s.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).all()
        open_tasks = dict(s.execute(select(HumanTask.instance_id, func.count()).where(HumanTask.status == "open")
                                    .group_by(HumanTask.instance_id)).all())
        timers = dict(s.execute(select(Timer.instance_id, func.count()).group_by(Timer.instance_id)).all())
    assert sorted(i.id for i in instances if i.process_id in OUR_PROCESSES) == sorted(ours)
    for inst in instances:
        if inst.process_id in OUR_PROCESSES:
            assert inst.status == "completed", (inst.id, inst.process_id, inst.status, green.open_tasks(inst.id))
        else:  # started by the scheduler for other work (e.g. the evaluators' April report): done or waiting
            assert inst.status == "completed" or open_tasks.get(inst.id) or timers.get(inst.id), (
                inst.id, inst.process_id, inst.status)
        assert green.engine.verify_history(inst.id).ok, inst.id
