"""What the auditors' exports need of the domain (``engine.exports.domain.Domain``): the business
objects of OCEL 2.0, what each event touches, the words for the domain's events, which data is
personal, and what describes a case.

Object types (OCEL): unit 申报单位, application 申报, notice 公示, objection 公示异议,
complaint 实名举报, annual_table 动态管理表, evaluator 第三方评价机构. Object ids are
``<type>:<key>`` (a unit by its credit code, an application by its instance).

An event touches the objects of its instance — an application's events touch the application
and its unit (and its evaluator), a complaint's the complaint and the unit or evaluator it is
about, any other instance the unit its summary names — and the objects its payload names
(``notice_id``, ``objection_id``, ``filing_id``, ``credit_code``, lists of credit codes, a task
scoped to a unit). So an application and a complaint about its unit meet on the unit.
"""
from __future__ import annotations

from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

import config
from engine.exports.domain import BusinessObject, Link, ObjectType
from engine.models import ProcessInstance
from handlers.complaints import Complaint
from handlers.records import AnnualFiling, ApplicationRecord, Evaluator, Listing, Notice, Objection, Unit

UNIT_TYPES = {"factory": "绿色工厂", "supply_chain": "绿色供应链管理企业", "park": "绿色工业园区"}
LEVELS = {"city": "市级", "province": "省级", "national": "国家级"}
OUTCOMES = {
    "refused": "不予受理", "rejected": "不予通过", "listed_city": "列入市级名单", "listed_province": "列入省级名单",
    "listed_national": "列入国家级名单", "not_recommended": "未获推荐", "miit_not_listed": "工信部未列入",
    "removed_after_notice": "公示后不予列入", "not_accepted": "举报不予受理", "unfounded": "举报不属实",
    "rectified": "举报属实，已整改", "removed": "举报属实，移出名单", "evaluator_banned": "举报属实，评价机构不予采信",
}
# Personal data (contact names and phones, complainants and objectors): masked in exports unless
# the exporter holds the right. A record holding any of these keys has its "name" masked too.
PERSONAL_KEYS = frozenset({"contact_name", "contact_phone", "contact", "reporter_name", "id_number", "phone",
                           "mobile", "email", "legal_representative"})
CASE_COLUMNS = (("unit", "单位"), ("unit_type", "申报类型"), ("level", "层级"), ("county", "所在县（区）"),
                ("outcome", "结果"))

OBJECT_TYPES = [
    ObjectType("unit", "申报单位", (("name", "string"), ("unit_type", "string"), ("county_code", "string"),
                                     ("industry_code", "string"))),
    ObjectType("application", "申报", (("unit_type", "string"), ("target_level", "string"), ("year", "integer"),
                                       ("evaluation_mode", "string"), ("status", "string"), ("outcome", "string"))),
    ObjectType("notice", "公示", (("level", "string"), ("scope", "string"), ("first_day", "string"),
                                   ("last_day", "string"))),
    ObjectType("objection", "公示异议", (("received_at", "time"), ("upheld", "boolean"))),
    ObjectType("complaint", "实名举报", (("subject_kind", "string"), ("status", "string"), ("outcome", "string"),
                                         ("received_at", "time"))),
    ObjectType("annual_table", "动态管理表", (("year", "integer"), ("schema_version", "integer"),
                                              ("filed_at", "time"))),
    ObjectType("evaluator", "第三方评价机构", (("name", "string"), ("national_qualified", "boolean"))),
]

# Payload keys that name one object, and keys that list units (credit codes) or evaluators.
ONE_OBJECT = {"credit_code": "unit", "notice_id": "notice", "objection_id": "objection", "complaint_id": "complaint",
              "filing_id": "annual_table", "evaluator_id": "evaluator"}
UNIT_LISTS = ("units", "filed", "missing", "listed", "new", "deemed", "recommended", "not_listed", "removed",
              "candidates")
EVALUATOR_LISTS = ("evaluators", "reminded")

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "eligibility_checked": ("资格自动审查", "Eligibility checked"),
    "outcome_recorded": ("记录申报结果", "Outcome recorded"),
    "listing_recorded": ("列入名单", "Listed"),
    "listing_removed": ("移出名单", "Removed from the list"),
    "removal_pending": ("待移出名单", "Removal pending"),
    "negative_record_added": ("记录负面情形", "Negative record added"),
    "notice_opened": ("公示开始", "Notice opened"),
    "notice_closed": ("公示结束", "Notice closed"),
    "notice_waits_for_objections": ("公示期满，待异议办结", "Notice waits for objections"),
    "objection_filed": ("登记公示异议", "Objection filed"),
    "objection_reply_queued": ("答复异议人", "Objector answered"),
    "message_received:notice_objection": ("收到公示异议", "Objection received"),
    "complaint_recorded": ("登记实名举报", "Complaint recorded"),
    "complaint_intake_decided": ("举报受理决定", "Complaint intake decided"),
    "complaint_verified": ("举报核实结论", "Complaint verified"),
    "complaint_site_check_ordered": ("安排现场核查", "Site check ordered"),
    "complaint_site_checked": ("现场核查结果", "Site checked"),
    "complaint_rectification_ordered": ("责令限期整改", "Rectification ordered"),
    "complaint_rechecked": ("整改复查", "Rectification rechecked"),
    "complaint_removal_ground_recorded": ("记录移出情形", "Removal ground recorded"),
    "complaint_evaluator_banned": ("评价机构不予采信", "Evaluator banned"),
    "complaint_replied": ("答复举报人", "Complainant answered"),
    "campaign_opened": ("动态管理表填报开始", "Annual table campaign opened"),
    "campaign_closed": ("动态管理表填报截止", "Annual table campaign closed"),
    "annual_table_filed": ("提交动态管理表", "Annual table filed"),
    "annual_table_corrected": ("补正动态管理表", "Annual table corrected"),
    "annual_table_review_opened": ("动态管理表审核开始", "Annual table review opened"),
    "annual_table_reviewed": ("审核动态管理表", "Annual table reviewed"),
    "annual_table_reviews_settled": ("动态管理表审核完毕", "Annual table reviews settled"),
    "green_codes_computed": ("企业绿码赋码", "Green codes computed"),
    "unit_change_reported": ("报告变更", "Change reported"),
    "unit_change_confirmed": ("变更复核确认", "Change confirmed"),
    "unit_change_not_qualified": ("变更后不再符合条件", "Change: no longer qualifies"),
    "unit_change_already_rechecking": ("变更已在复核中", "Change already being re-checked"),
    "unit_incident_reported": ("报告事故事件", "Incident reported"),
    "unit_incident_decided": ("事故事件核实结论", "Incident decided"),
    "national_recommendation_opened": ("国家级推荐开始", "National recommendation opened"),
    "national_recommendation_submitted": ("推荐至工信部", "Recommended to MIIT"),
    "national_recommendation_lapsed": ("国家级推荐逾期", "National recommendation lapsed"),
    "miit_result_recorded": ("录入工信部结果", "MIIT result recorded"),
    "miit_report_recorded": ("记录上报工信部", "MIIT report recorded"),
    "list_publication_prepared": ("名单发布准备", "List publication prepared"),
    "list_published": ("发布名单", "List published"),
    "work_report_campaign_opened": ("评价机构年度报告开始", "Work report campaign opened"),
    "work_report_campaign_closed": ("评价机构年度报告截止", "Work report campaign closed"),
    "work_report_reminders": ("提醒报送年度报告", "Work report reminders"),
    "work_report_filed": ("报送年度工作报告", "Work report filed"),
    "work_report_corrected": ("补正年度工作报告", "Work report corrected"),
    "work_report_reviewed": ("审核年度工作报告", "Work report reviewed"),
    "evaluator_registered": ("登记评价机构", "Evaluator registered"),
    "evaluator_note_recorded": ("记录评价机构情况", "Evaluator note recorded"),
    "evaluator_finding_recorded": ("记录评价机构问题", "Evaluator finding recorded"),
    "evaluator_finding_withdrawn": ("撤回评价机构问题", "Evaluator finding withdrawn"),
    "evaluator_named": ("通报评价机构", "Evaluator named"),
    "evaluator_banned": ("评价机构不予采信", "Evaluator banned"),
    "cultivation_plan_submitted": ("提交培育计划", "Cultivation plan submitted"),
    "cultivation_plan_acknowledged": ("培育计划确认", "Cultivation plan acknowledged"),
    "cultivation_reported": ("报送培育情况", "Cultivation reported"),
}


class GreenDomain:
    """The green-manufacturing answer to ``engine.exports.domain.Domain``."""

    personal_keys = PERSONAL_KEYS
    case_columns = CASE_COLUMNS

    def event_label(self, event_type: str) -> tuple[str, str] | None:
        return EVENT_LABELS.get(event_type)

    def role_label(self, role: str) -> str:
        return config.roles().get(role, {}).get("zh", role)

    def object_types(self) -> list[ObjectType]:
        return OBJECT_TYPES

    # --- cases -------------------------------------------------------------------------------
    def case_attributes(self, session: Session, instance_ids: list[int]) -> dict[int, dict[str, Any]]:
        wanted = set(instance_ids)
        outcomes = {iid: outcome for iid, outcome in session.execute(
            select(ApplicationRecord.instance_id, ApplicationRecord.outcome)) if iid in wanted}
        outcomes.update({iid: outcome for iid, outcome in session.execute(
            select(Complaint.instance_id, Complaint.outcome)) if iid in wanted})
        out: dict[int, dict[str, Any]] = {}
        for iid, summary in session.execute(select(ProcessInstance.id, ProcessInstance.summary)):
            if iid not in wanted:
                continue
            summary = summary or {}
            level = summary.get("target_level") or summary.get("listing_level") or summary.get("publication_level")
            county = summary.get("county_code")
            values = {"unit": summary.get("unit_name") or summary.get("subject_name"),
                      "unit_type": UNIT_TYPES.get(summary.get("unit_type"), summary.get("unit_type")),
                      "level": LEVELS.get(level, level),
                      "county": f"{summary.get('county_name') or ''} ({county})".strip() if county else None,
                      "outcome": OUTCOMES.get(outcomes.get(iid), outcomes.get(iid))}
            out[iid] = {key: value for key, value in values.items() if value}
        return out

    # --- objects -----------------------------------------------------------------------------
    def objects(self, session: Session) -> Iterator[BusinessObject]:
        evaluators = set(session.scalars(select(Evaluator.id)))
        units = set()
        for unit in session.scalars(select(Unit).order_by(Unit.credit_code)):
            units.add(unit.credit_code)
            yield BusinessObject(f"unit:{unit.credit_code}", "unit", {
                "name": unit.name, "unit_type": unit.unit_type, "county_code": unit.county_code,
                "industry_code": unit.industry_code}, since=unit.created_at)
        # Units known only by their credit code (imported lists, complaints about unlisted units).
        named = set()
        for model in (Listing, ApplicationRecord, AnnualFiling, Notice, Complaint):
            named.update(code for code in session.scalars(select(model.credit_code).distinct()) if code)
        for code in sorted(named - units):
            units.add(code)
            yield BusinessObject(f"unit:{code}", "unit", {})
        for evaluator in session.scalars(select(Evaluator).order_by(Evaluator.id)):
            yield BusinessObject(f"evaluator:{evaluator.id}", "evaluator", {
                "name": evaluator.name, "national_qualified": evaluator.national_qualified})
        applications = set()
        for app in session.scalars(select(ApplicationRecord).order_by(ApplicationRecord.id)):
            applications.add(app.instance_id)
            links = [(f"unit:{app.credit_code}", "applicant")]
            if app.evaluator_id in evaluators:
                links.append((f"evaluator:{app.evaluator_id}", "evaluated_by"))
            yield BusinessObject(f"application:{app.instance_id}", "application", {
                "unit_type": app.unit_type, "target_level": app.target_level, "year": app.year,
                "evaluation_mode": app.evaluation_mode, "status": app.status, "outcome": app.outcome},
                tuple(links), since=app.submitted_at)
        for notice in session.scalars(select(Notice).order_by(Notice.id)):
            links = [(f"unit:{notice.credit_code}", "about")]
            if notice.instance_id in applications:
                links.append((f"application:{notice.instance_id}", "for"))
            yield BusinessObject(f"notice:{notice.id}", "notice", {
                "level": notice.level, "scope": notice.scope, "first_day": notice.first_day,
                "last_day": notice.last_day}, tuple(links), since=notice.starts_at)
        for objection in session.scalars(select(Objection).order_by(Objection.id)):
            yield BusinessObject(f"objection:{objection.id}", "objection", {
                "received_at": objection.received_at, "upheld": objection.upheld},
                ((f"notice:{objection.notice_id}", "against"),), since=objection.received_at)
        for complaint in session.scalars(select(Complaint).order_by(Complaint.id)):
            yield BusinessObject(f"complaint:{complaint.id}", "complaint", {
                "subject_kind": complaint.subject_kind, "status": complaint.status, "outcome": complaint.outcome,
                "received_at": complaint.received_at}, tuple(_complaint_subject(complaint, evaluators)),
                since=complaint.received_at)
        for filing in session.scalars(select(AnnualFiling).order_by(AnnualFiling.id)):
            yield BusinessObject(f"annual_table:{filing.id}", "annual_table", {
                "year": filing.year, "schema_version": filing.schema_version, "filed_at": filing.filed_at},
                ((f"unit:{filing.credit_code}", "filed_by"),), since=filing.filed_at)

    def instance_links(self, session: Session, instance_ids: list[int]) -> dict[int, list[Link]]:
        wanted = set(instance_ids)
        links: dict[int, list[Link]] = {}
        for iid, summary in session.execute(select(ProcessInstance.id, ProcessInstance.summary)):
            if iid in wanted and (summary or {}).get("credit_code"):
                links[iid] = [(f"unit:{summary['credit_code']}", "subject")]
        for app in session.scalars(select(ApplicationRecord)):
            if app.instance_id in wanted:
                found = [(f"application:{app.instance_id}", "case"), (f"unit:{app.credit_code}", "applicant")]
                if app.evaluator_id:
                    found.append((f"evaluator:{app.evaluator_id}", "evaluated_by"))
                links[app.instance_id] = found
        evaluators = set(session.scalars(select(Evaluator.id)))
        for complaint in session.scalars(select(Complaint)):
            if complaint.instance_id in wanted:
                links[complaint.instance_id] = [(f"complaint:{complaint.id}", "case"),
                                                *_complaint_subject(complaint, evaluators)]
        return links

    def event_links(self, event_type: str, payload: dict[str, Any]) -> list[Link]:
        found = _payload_links(payload)
        inner = payload.get("payload")
        if isinstance(inner, dict):
            found.extend(_payload_links(inner))
        return found


def _complaint_subject(complaint: Complaint, evaluators: set[str]) -> list[Link]:
    if complaint.credit_code:
        return [(f"unit:{complaint.credit_code}", "about")]
    if complaint.evaluator_id in evaluators:
        return [(f"evaluator:{complaint.evaluator_id}", "about")]
    return []


def _payload_links(payload: dict[str, Any]) -> list[Link]:
    found: list[Link] = []
    for key, kind in ONE_OBJECT.items():
        value = payload.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            found.append((f"{kind}:{value}", key))
    for key in UNIT_LISTS:
        for item in _items(payload.get(key)):
            code = item.get("credit_code") if isinstance(item, dict) else item
            if isinstance(code, str):
                found.append((f"unit:{code}", key))
    for key in EVALUATOR_LISTS:
        found.extend((f"evaluator:{item}", key) for item in _items(payload.get(key)) if isinstance(item, str))
    scope = payload.get("scope")
    if isinstance(scope, str) and scope.startswith("unit:"):
        found.append((scope, "task_scope"))
    return found


def _items(value: Any) -> list:
    if isinstance(value, dict):
        return list(value)
    return value if isinstance(value, list) else []


DOMAIN = GreenDomain()
