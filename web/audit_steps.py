"""An instance's steps as an auditor reads them (``/audit/instances/<id>`` and the API).

``engine.replay.steps`` folds the recorded events into the state after each command; this module
puts words on it: the event and the task by their labels, decisions by the titles of the form of
the version that ran, people by name and unit, roles and scopes by their names, the process data's
keys by the titles the forms give them. Nothing here runs the workflow.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine import calendar, history
from engine.errors import EngineError
from engine.models import DefinitionVersion, ProcessInstance, ProcessVersion
from engine.replay.recording import SERVICE_EVENT, STEP_EVENT
from engine.replay.steps import Step, steps_of
from handlers.divisions import division
from web import formkit, vocab
from web.i18n import localized, pick, term
from web.timeline import people_of

# Keys of the process data the forms do not name (the diagrams' own bookkeeping).
DATA_LABELS: dict[str, tuple[str, str]] = {
    "application": ("申报材料", "Application"), "applicant_scope": ("申报单位范围", "Applicant scope"),
    "eligibility": ("资格审查结果", "Eligibility check"), "review_level": ("审核层级", "Review level"),
    "review_opened_at": ("审核开始时间", "Review opened at"), "reviewer_role": ("审核部门", "Reviewing department"),
    "reviewer_scope": ("审核地区", "Reviewing division"), "review_decision": ("审核结论", "Review decision"),
    "review_opinion": ("审核意见", "Review opinion"), "review_reason": ("审核理由", "Review reason"),
    "consultation_scope": ("征求意见地区", "Consultation division"), "consultation": ("部门意见", "Bureaus' opinions"),
    "consultation_objected": ("部门有异议", "A bureau objected"), "opinion_eco": ("生态环境部门意见", "Ecology bureau"),
    "opinion_emergency": ("应急管理部门意见", "Emergency bureau"), "opinion_market": ("市场监管部门意见", "Market bureau"),
    "opinion_tax": ("税务部门意见", "Tax bureau"), "notice": ("公示", "Public notice"),
    "notice_level": ("公示层级", "Notice level"), "notice_scope": ("公示地区", "Notice division"),
    "notice_result": ("公示结果", "Notice result"), "objections": ("异议核查记录", "Objection reviews"),
    "objection": ("异议", "Objection"), "outcome": ("办理结果", "Outcome"), "outcome_reason": ("结果说明", "Reason"),
    "outcome_record": ("结果记录", "Outcome record"), "listing": ("列入名单", "Listing"),
    "upheld": ("异议是否成立", "Objection upheld"), "finding": ("核实情况", "Finding"), "reply": ("答复意见", "Reply"),
    "decision": ("结论", "Decision"), "opinion": ("意见", "Opinion"), "reason": ("理由", "Reason"),
    "eco": ("生态环境部门", "Ecology bureau"), "emergency": ("应急管理部门", "Emergency bureau"),
    "market": ("市场监管部门", "Market bureau"), "tax": ("税务部门", "Tax bureau"), "id": ("编号", "Number"),
    "starts_at": ("开始时间", "Starts at"), "ends_at": ("结束时间", "Ends at"), "first_day": ("首日", "First day"),
    "last_day": ("末日", "Last day"), "eligible": ("符合申报条件", "Eligible"), "flags": ("提示事项", "Flags"),
    "violations": ("不符合项", "Violations"), "level": ("层级", "Level"), "scope": ("地区", "Division"),
    "decided_at": ("决定时间", "Decided at"), "reviewed_at": ("核实时间", "Reviewed at"),
    "received_at": ("收到时间", "Received at"), "notice_id": ("公示编号", "Notice number"),
    "objection_id": ("异议编号", "Objection number"), "matter": ("异议事项", "Matter"),
    "evidence": ("证据材料", "Evidence"), "contact": ("联系方式", "Contact"), "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"), "organisation": ("工作单位", "Organisation"), "rejected": ("不成立", "Rejected"), "pending": ("待核实", "Pending"),
    "article": ("依据条款", "Article"), "rule": ("规则", "Rule"), "message_zh": ("说明", "Explanation"),
    "field": ("字段", "Field"), "working_days": ("工作日", "Working days"), "year": ("年度", "Year"),
    "campaign_result": ("填报结果", "Campaign result"), "campaign_reminders": ("填报提醒", "Reminders"),
    "filings": ("已报送的动态管理表", "Filed tables"), "filing": ("动态管理表", "Annual table"),
    "filing_review": ("审核情况", "Review"), "annual_table": ("动态管理表", "Annual table"), "unit": ("单位", "Unit"),
    "units": ("单位", "Units"), "green_codes": ("企业绿码", "Green codes"), "tiers": ("各档数量", "Tiers"),
    "cohort": ("参评数量", "Cohort"), "missing": ("未报送", "Not filed"), "filed": ("已报送", "Filed"),
    "not_coded": ("未赋码", "Not coded"), "not_filed": ("未报送", "Not filed"), "settled": ("已了结", "Settled"),
    "change_rechecks": ("变更复核", "Change re-checks"), "change_record": ("变更记录", "Change record"),
    "change_outcome": ("变更复核结果", "Change outcome"), "incident_record": ("事故记录", "Incident record"),
    "incident_outcome": ("事故审核结果", "Incident outcome"), "complaint_record": ("举报记录", "Complaint record"),
    "complaint_reply": ("举报答复", "Reply to the reporter"), "verification": ("核实情况", "Verification"),
    "pending_removals": ("待移出名单", "Pending removals"), "negative_records": ("负面情形", "Negative records"),
    "recommendation": ("推荐情况", "Recommendation"), "candidates": ("候选单位", "Candidates"),
    "miit_batch_result": ("工信部结果", "MIIT result"), "publication": ("名单发布", "Publication"),
    "publication_result": ("发布结果", "Publication result"), "listed": ("列入", "Listed"),
    "removed": ("移出", "Removed"), "deemed": ("视同列入", "Deemed listed"), "status": ("状态", "Status"),
    "status_zh": ("状态", "Status"), "receipt": ("受理编号", "Receipt"), "route": ("处理方式", "Route"),
    "listing_level": ("名单层级", "List level"), "listing_id": ("名单编号", "Listing number"),
    "deadline": ("期限", "Deadline"), "round": ("轮次", "Round"), "kind": ("类型", "Kind"), "count": ("数量", "Count"),
    "items": ("事项", "Items"), "item": ("第几项", "Item"), "ground": ("事由", "Ground"), "grounds": ("事由", "Grounds"),
    "text_zh": ("内容", "Text"), "note": ("说明", "Note"), "notes": ("说明", "Notes"), "reference": ("文号", "Reference"),
    "scheduled_for": ("计划开始时间", "Scheduled for"), "scheduled_year": ("年度", "Year"),
    "config_version": ("规则版本", "Rules version"), "hints": ("提示", "Hints"), "levels": ("层级", "Levels"),
    "national": ("国家级", "National"), "new": ("新列入", "New"), "lapsed": ("已失效", "Lapsed"),
    "irregular": ("不规范", "Irregular"), "falsified": ("弄虚作假", "Falsified"), "A+": ("A+", "A+"), "A": ("A", "A"),
    "B": ("B", "B"), "filed_at": ("报送时间", "Filed at"), "filing_id": ("报送编号", "Filing number"),
    "review_id": ("审核编号", "Review number"), "outbox_id": ("通知编号", "Notification number"),
    "note_id": ("说明编号", "Note number"), "negative_record_id": ("负面记录编号", "Negative record number"),
    "pending_removal_id": ("待移出编号", "Pending removal number"), "listed_at": ("列入时间", "Listed at"),
    "listed_year": ("列入年度", "Listed in"), "published_at": ("发布时间", "Published at"),
    "message_en": ("英文说明", "Explanation (English)"), "reminded": ("已提醒", "Reminded"),
    "first_reminders": ("首次提醒", "First reminders"), "second_reminders": ("再次提醒", "Second reminders"),
    "first_reminder": ("首次提醒", "First reminder"), "work_reports": ("年度工作情况", "Work reports"),
    "work_report_result": ("年度工作情况结果", "Work report result"), "evaluators": ("评价机构", "Evaluators"),
    "evaluator": ("评价机构", "Evaluator"), "evaluator_name": ("评价机构名称", "Evaluator"),
    "legal_representative": ("法定代表人", "Legal representative"), "returned": ("已退回", "Returned"),
    "accepted": ("已通过", "Accepted"), "recommended": ("已推荐", "Recommended"), "not_listed": ("未列入", "Not listed"),
    "listings": ("名单记录", "Listings"), "removal": ("移出", "Removal"), "change": ("变更", "Change"),
    "incident": ("事故", "Incident"), "complaint": ("举报", "Complaint"), "national_selection": ("国家级推荐", "National selection"),
    "provincial_listing_id": ("省级名单编号", "Provincial listing number"), "provincial_year": ("列入省级名单年度", "Provincial list year"),
    "listing_city": ("市级名单", "City list"), "listing_province": ("省级名单", "Provincial list"),
    "notice_upheld": ("公示异议成立", "Objection upheld in the notice"),
}
# Codes the diagrams and services put in their data, and their words.
CODE_WORDS: dict[str, tuple[str, str]] = {
    "county": ("县级", "County"), "pending": ("待处理", "Pending"), "accepted": ("已通过", "Accepted"),
    "returned": ("已退回", "Returned"), "closed": ("已结束", "Closed"), "open": ("进行中", "Open"),
    "published": ("已发布", "Published"), "received": ("已收到", "Received"), "reported": ("已上报", "Reported"),
    "eligible": ("符合条件", "Eligible"), "barred": ("不得申请", "Barred"), "not_qualified": ("不再符合条件", "Not qualified"),
    "removed": ("移出名单", "Removed"), "reminder": ("提醒", "Reminder"), "unit": ("单位", "Unit"),
    "evaluator": ("第三方评价机构", "Evaluator"), "environment": ("突发环境事件", "Environmental incident"),
    "production_safety": ("安全生产事故", "Production safety accident"), "quality": ("质量事故", "Quality accident"),
    "level_1": ("Ⅰ级", "Level I"), "level_2": ("Ⅱ级", "Level II"), "level_3": ("Ⅲ级", "Level III"),
    "name": ("名称", "Name"), "boundary": ("组织边界", "Boundary"), "business_scope": ("经营范围", "Business scope"),
    "address": ("地址", "Address"), "work_report_not_filed": ("未报送年度工作情况", "Work report not filed"),
    "self": ("自评价", "Self-evaluation"), "third_party": ("第三方评价", "Third-party evaluation"),
}
# Values of the diagrams' own keys that are codes, and their words.
OUTCOME_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "outcome": {"listed_city": ("列入市级名单", "Listed (city)"), "listed_province": ("列入省级名单", "Listed (province)"),
                "listed_national": ("列入国家级名单", "Listed (national)"), "refused": ("不予受理", "Refused"),
                "rejected": ("不予通过", "Rejected"), "removed_after_notice": ("公示后不予列入", "Not listed after the notice"),
                "not_recommended": ("未获推荐", "Not recommended"), "miit_not_listed": ("工信部未列入", "Not listed by MIIT")},
}
CHANNELS = {"web": ("网页", "Web"), "api": ("接口（API）", "API"), "cli": ("命令行", "Command line")}
KINDS = {"added": ("新增", "Added"), "changed": ("修改", "Changed"), "removed": ("删除", "Removed")}


@dataclass
class Version:
    """The labels a definition version gives: process and task names, form titles, data keys."""

    id: int
    meta: dict
    forms: dict[str, dict]
    number: dict[str, int]  # process id -> its process version number in this definition version
    files: dict[str, bytes] = field(repr=False, default_factory=dict)

    def process_name(self, process_id: str) -> str:
        return term(self.meta["processes"].get(process_id, {}).get("name") or "") or pick("流程", "Process")

    def task_meta(self, process_id: str | None, bpmn_id: str | None) -> dict:
        for pid, process in self.meta["processes"].items():
            if (process_id is None or pid == process_id) and bpmn_id in process.get("tasks", {}):
                return process["tasks"][bpmn_id]
        return {}

    def form(self, name: str | None) -> dict | None:
        if not name:
            return None
        for path, schema in self.forms.items():
            if path == name or path.endswith("/" + name):
                return schema
        return None

    def service_name(self, operation: str) -> str:
        for process in self.meta["processes"].values():
            for task in process.get("tasks", {}).values():
                if task.get("operator") == operation:
                    return term(task.get("name") or "")
        return pick("服务任务", "Service task")

    def prop(self, key: str) -> dict | None:
        """A property named ``key`` in one of the version's forms, at any depth (for its title and choices)."""
        if not hasattr(self, "_props"):
            self._props: dict[str, dict] = {}
            for schema in self.forms.values():
                _collect_props(schema, self._props)
        return self._props.get(key)

    def data_label(self, key: str) -> str:
        """What a key of the process data is called: our table, else the title a form gives it, else a
        generic word (the key itself stays in the page's markup, never in its text)."""
        if key in DATA_LABELS:
            return pick(*DATA_LABELS[key])
        prop = self.prop(key)
        if prop and prop.get("title"):
            return localized(prop)
        for schema in self.forms.values():
            if schema.get("x-data-key") == key and schema.get("title"):
                return localized(schema)
        if not _CODE.match(str(key)):
            return str(key)  # a key that is data itself: a 统一社会信用代码, a tier (A+)
        return pick("其他数据项", "Other data")


def _collect_props(schema: Any, found: dict[str, dict]) -> None:
    if not isinstance(schema, Mapping):
        return
    for key, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, Mapping):
            found.setdefault(key, dict(prop))
            _collect_props(prop, found)
    _collect_props(schema.get("items"), found)


# Definition versions never change: their labels are read once (by database, id and content).
_VERSIONS: dict[tuple[str, int, str], Version] = {}
_VERSIONS_KEPT = 16


def load_versions(session, version_ids: set[int]) -> dict[int, Version]:
    """The labels of these definition versions (cached: a version is immutable)."""
    url = str(session.get_bind().url)
    keys = {vid: (url, vid, sha) for vid, sha in session.execute(
        select(DefinitionVersion.id, DefinitionVersion.sha256).where(DefinitionVersion.id.in_(version_ids)))}
    versions = {vid: _VERSIONS[key] for vid, key in keys.items() if key in _VERSIONS}
    missing = set(keys) - set(versions)
    for row in session.scalars(select(DefinitionVersion).where(DefinitionVersion.id.in_(missing))) if missing else []:
        files = {f.path: f.content for f in row.files}
        forms = {path: json.loads(content) for path, content in files.items() if path.endswith(".json")}
        numbers = dict(session.execute(select(ProcessVersion.process_id, ProcessVersion.number)
                                       .where(ProcessVersion.definition_version_id <= row.id)
                                       .order_by(ProcessVersion.number)).all())
        versions[row.id] = Version(row.id, row.meta, forms, numbers, files)
        if len(_VERSIONS) >= _VERSIONS_KEPT:
            _VERSIONS.clear()
        _VERSIONS[keys[row.id]] = versions[row.id]
    return versions


@dataclass
class AuditTrail:
    """An instance with its steps, and what labels them."""

    instance: ProcessInstance
    steps: list[Step]
    versions: dict[int, Version]
    people: dict[str, str]
    has_step_records: bool

    def version(self, step: Step) -> Version | None:
        return self.versions.get(step.version_id or self.instance.version_id)


def trail(eng, instance_id: int) -> AuditTrail:
    """The steps of an instance from its stored history (``engine.replay.steps``), with labels."""
    with eng.db.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        events = history.events_of(session, instance_id)
        try:
            working = calendar.load_calendar(session)
        except EngineError:
            working = None
        steps = steps_of(events, calendar=working)
        ids = {s.version_id for s in steps if s.version_id} | {instance.version_id}
        versions = load_versions(session, ids)
        session.expunge(instance)
    names = set()
    for event in events:
        names.add(event["actor"])
        payload = event.get("payload") or {}
        for key in ("to", "from", "delegate", "owner"):
            value = payload.get(key)
            names.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return AuditTrail(instance, steps, versions, people_of(names),
                      any(e["type"] == STEP_EVENT for e in events))


# --- words ---------------------------------------------------------------------------------------

def scope_label(scope: str | None) -> str:
    if not scope:
        return ""
    if scope.startswith("unit:"):
        return pick(f"申报单位 {scope[5:]}", f"Applicant {scope[5:]}")
    if scope.startswith("evaluator:"):
        return pick("第三方评价机构", "Evaluator")
    try:
        return division(scope).name
    except EngineError:
        return pick("其他", "Other")


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")


_CODE = re.compile(r"^[a-z][a-z0-9_:]*$")  # an identifier (or a business key such as annual_table:2:name)
# Keys of nested records not shown: codes whose meaning the record says in words (a rule's message),
# and the other language's twin of a message.
_NOT_SHOWN = {"zh": {"rule", "message_en", "text_en"}, "en": {"rule", "message_zh", "text_zh"}}


def shown_items(value: Mapping) -> list[tuple[str, Any]]:
    """The entries of a nested record worth showing, in the current language."""
    hidden = _NOT_SHOWN["en" if pick("zh", "en") == "en" else "zh"]
    return [(k, v) for k, v in value.items() if k not in hidden]


def value_text(value: Any, key: str | None = None, version: "Version | None" = None,
               people: Mapping[str, str] | None = None) -> str:
    """A scalar as people read it: a choice by its form's title, 是/否, a moment in China time, a person,
    a role or a division by their names, a level by its word; text and numbers as written; and an
    identifier no table knows as “其他” (never the code)."""
    if value is None or value == "":
        return "—"
    prop = version.prop(key) if version is not None and key else None
    if isinstance(value, bool):
        return vocab.decision_label(value, prop)
    if isinstance(value, (dict, list)):
        return formkit.display_text(prop or {}, value)
    if prop and vocab.choice_title(prop, value):
        return vocab.choice_title(prop, value) or str(value)
    text = str(value)
    if not isinstance(value, str):
        return text
    if key and (key.endswith("_by") or key in ("actor", "sender", "assignee", "owner")):
        return vocab.actor_label(text, people)
    if key and (key.endswith("_role") or key == "role"):
        return vocab.role_label(text)
    if key and (key.endswith("_scope") or key in ("scope", "county_code", "city_code")):
        return scope_label(text)
    if key == "field" and version is not None:
        return version.data_label(text)
    if _ISO_TIME.match(text):
        return china(text).strftime("%Y-%m-%d %H:%M")
    if not _CODE.match(text):
        return text  # dates, numbers, codes of record (统一社会信用代码), what people wrote
    for table in (OUTCOME_WORDS.get(key or "", {}), CODE_WORDS, vocab.LEVELS, vocab.UNIT_TYPES, vocab.DECISIONS):
        if text in table:
            return pick(*table[text])
    return pick("其他", "Other")


def step_label(trail_: AuditTrail, step: Step) -> str:
    """“办理：审核” — the event, and the task it concerns."""
    label = vocab.event_label(step.type)
    name = (step.event.get("payload") or {}).get("name") or (step.task.name if step.task else "")
    if step.type == "message_received" and name:
        name = {"notice_objection": pick("公示异议", "Objection")}.get(name, pick("消息", "Message"))
    return f"{label}{pick('：', ': ')}{term(name)}" if name else label


def actor_text(trail_: AuditTrail, username: str) -> str:
    return vocab.actor_label(username, trail_.people)


def via_text(via: Mapping | None) -> str:
    if not via:
        return ""
    channel = CHANNELS.get(via.get("channel", ""), ("", ""))
    parts = [pick(*channel)] if channel[0] else []
    if via.get("ip"):
        parts.append(via["ip"])
    return " · ".join(parts)


def happenings(step: Step) -> list[str]:
    """What the command's service tasks and hooks recorded (收到异议, 答复异议人 …), by label."""
    shown = {"step", SERVICE_EVENT, "task_opened", step.type}
    return [vocab.event_label(e["type"]) for e in step.events if e["type"] not in shown]


def form_of(trail_: AuditTrail, step: Step) -> tuple[dict | None, dict | None, dict]:
    """(schema, ui, values) of the form the step submitted, as the official saw it (the version then)."""
    version = trail_.version(step)
    payload = step.event.get("payload") or {}
    if version is None:
        return None, None, {}
    if step.type == "instance_started":
        name = next((t.get("form") for t in version.meta["processes"].get(trail_.instance.process_id, {})
                     .get("tasks", {}).values() if t.get("type") == "startEvent"), None)
        values = payload.get("submitted") or {}
    elif step.type in ("task_completed", "delegation_resolved"):
        meta = version.task_meta(payload.get("process_id"), step.event.get("bpmn_id"))
        name, values = meta.get("form"), payload.get("data") or {}
    else:
        return None, None, {}
    schema = version.form(name)
    ui = version.form(name.replace(".schema.json", ".ui.json")) if name else None
    return schema, ui, values


def diagrams_at(trail_: AuditTrail, step: Step) -> list[dict]:
    """The diagrams with what was completed, active and waiting right after ``step`` (for js/diagram.js)."""
    version = trail_.version(step)
    if version is None:
        return []
    processes = version.meta["processes"]
    root = trail_.instance.process_id
    seen = [root] + sorted(p for p in set(step.done) | set(step.active) | set(step.waiting)
                           if p != root and p in processes)
    result = []
    for pid in seen:
        file = processes.get(pid, {}).get("file")
        if file not in version.files:
            continue
        active, waiting = step.active.get(pid, []), step.waiting.get(pid, [])
        result.append({"process_id": pid, "name": version.process_name(pid),
                       "xml": version.files[file].decode("utf-8"), "completed": step.done.get(pid, []),
                       "current": sorted(set(active) | set(waiting)), "active": active, "waiting": waiting})
    return result


def china(value: str | None) -> dt.datetime | None:
    from engine.clock import CHINA

    return dt.datetime.fromisoformat(value).astimezone(CHINA) if value else None
