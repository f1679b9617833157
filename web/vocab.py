"""The words of the domain as the pages show them (Chinese first, English twin).

Nothing internal reaches people: every code a page could show — a decision (``pass``), an event
type (``notice_opened``), a status (``waiting``), an actor (``public:objection-…``, a username) —
has a label here. Small functions, importable by any page (the auditors' pages reuse them):

    decision_label(value, prop=None)        an answer of a form: its ``oneOf`` title, else our table
    outcome_label(value, schema=None)       a task's outcome (``human_task.outcome``)
    event_label(event_type)                 a history event
    status_label(status, notice_until=None) an instance or task status; 公示中（至 …）during a notice
    actor_label(username, people=None)      系统 / 公众 / a person's name and unit, never a username
    role_label(role)                        a role of config/roles.toml

An unknown code is never shown as such: it reads as a generic word (“系统记录”, “其他”).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import config
from engine.errors import EngineError
from handlers.divisions import division
from web.i18n import localized, pick

UNIT_TYPES = {"factory": ("绿色工厂", "Green factory"),
              "supply_chain": ("绿色供应链管理企业", "Green supply-chain enterprise"),
              "park": ("绿色工业园区", "Green industrial park")}
LEVELS = {"city": ("市级", "City"), "province": ("省级", "Province"), "national": ("国家级", "National")}
STATUSES = {"running": ("办理中", "In progress"), "waiting": ("等待中", "Waiting"), "completed": ("已办结", "Completed"),
            "cancelled": ("已撤销", "Cancelled"), "incident": ("故障", "Incident"), "open": ("待办", "Open")}
TASK_STATUSES = {"open": ("待办理", "To do"), "completed": ("已办理", "Done"), "cancelled": ("已取消", "Cancelled")}

# Answers of the shipped forms, for when the form of the version that ran is not at hand (the
# form's own ``oneOf`` titles are preferred: ``decision_label(value, prop)``).
DECISIONS: dict[str, tuple[str, str]] = {
    "pass": ("通过", "Pass"), "return": ("退回修改", "Returned for amendment"), "reject": ("不予通过", "Rejected"),
    "no_objection": ("无异议", "No objection"), "objection": ("有异议", "Objection"),
    "accept": ("通过", "Accepted"), "not_accepted": ("不予受理", "Not accepted"), "proceed": ("继续办理", "Proceed"),
    "confirmed": ("属实", "Confirmed"), "not_confirmed": ("不属实", "Not confirmed"), "unfounded": ("不属实", "Unfounded"),
    "rectify": ("责令整改", "Rectification ordered"), "remove": ("移出名单", "Removed"),
    "passed": ("整改合格", "Rectified"), "failed": ("整改不合格", "Not rectified"),
    "still_qualifies": ("仍符合条件", "Still qualifies"), "no_longer_qualifies": ("不再符合条件", "No longer qualifies"),
    "recommend": ("推荐", "Recommend"), "not_recommend": ("不推荐", "Do not recommend"),
    "listed": ("列入", "Listed"), "not_listed": ("未列入", "Not listed"), "publish": ("发布", "Publish"),
    "refresh": ("重新核对", "Check again"), "withdraw": ("撤回", "Withdraw"), "site_check": ("现场核查", "Site check"),
    "upheld": ("异议成立", "Objection upheld"), "rejected": ("异议不成立", "Objection rejected"),
    "true": ("是", "Yes"), "false": ("否", "No"),
}
OUTCOME_KEYS = ("decision", "opinion", "outcome")  # which answer is a task's outcome (engine.commands.complete)

EVENTS: dict[str, tuple[str, str]] = {
    "instance_started": ("提交", "Submitted"),
    "task_opened": ("待办生成", "Task opened"),
    "task_claimed": ("认领", "Claimed"),
    "task_released": ("释放", "Released"),
    "task_completed": ("办理", "Completed"),
    "task_cancelled": ("事项取消", "Task cancelled"),
    "task_transferred": ("转办", "Transferred"),
    "task_delegated": ("委派", "Delegated"),
    "delegation_resolved": ("委派办结，退回签发", "Delegation answered"),
    "task_cc": ("抄送", "CC"),
    "task_urged": ("催办", "Urged"),
    "comment_added": ("意见", "Comment"),
    "timer_fired": ("期限到达", "Time limit reached"),
    "message_received": ("收到消息", "Message received"),
    "message_delivered": ("收到消息", "Message delivered"),
    "notice_opened": ("公示开始", "Public notice opened"),
    "notice_closed": ("公示结束", "Public notice closed"),
    "notice_waits_for_objections": ("公示结束，等待异议核查", "Notice waits for objections"),
    "objection_filed": ("收到异议", "Objection filed"),
    "objection_reply_queued": ("答复异议人", "Objector answered"),
    "process_start_requested": ("发起后续流程", "Follow-up process requested"),
    "unit_change_already_rechecking": ("变更已在复核中", "Change already being re-checked"),
    "outcome_recorded": ("记录办理结果", "Outcome recorded"),
    "eligibility_checked": ("资格审查", "Eligibility checked"),
    "listing_recorded": ("列入名单", "Listed"),
    "listing_removed": ("移出名单", "Removed from the list"),
    "instance_completed": ("办结", "Completed"),
    "instance_cancelled": ("撤销", "Cancelled"),
    "incident_resolved": ("故障已解决", "Incident resolved"),
    "incident_dismissed": ("故障已忽略", "Incident dismissed"),
    "notification_queued": ("发送通知", "Notification"),
    "annual_table_filed": ("报送动态管理表", "Annual table filed"),
    "campaign_opened": ("填报开始", "Campaign opened"),
    "campaign_closed": ("填报结束", "Campaign closed"),
    "annual_table_review_opened": ("提交审核", "Sent for review"),
    "annual_table_reviewed": ("审核动态管理表", "Annual table reviewed"),
    "annual_table_corrected": ("修改动态管理表", "Annual table corrected"),
    "annual_table_reviews_settled": ("审核了结", "Reviews settled"),
    "green_codes_computed": ("企业绿码赋码", "Green codes computed"),
    "complaint_recorded": ("登记举报", "Complaint recorded"),
    "complaint_intake_decided": ("举报受理", "Complaint intake decided"),
    "complaint_verified": ("核实举报", "Complaint verified"),
    "complaint_site_check_ordered": ("安排现场核查", "Site check ordered"),
    "complaint_site_checked": ("现场核查", "Site checked"),
    "complaint_rectification_ordered": ("责令整改", "Rectification ordered"),
    "complaint_rechecked": ("整改复查", "Rectification re-checked"),
    "complaint_removal_ground_recorded": ("记录移出事由", "Removal ground recorded"),
    "complaint_evaluator_banned": ("通报并禁止评价机构", "Evaluator named and banned"),
    "complaint_replied": ("答复举报人", "Reporter answered"),
    "negative_record_added": ("记录负面情形", "Negative record added"),
    "removal_pending": ("待移出名单", "Removal pending"),
    "miit_report_recorded": ("上报工信部", "Reported to MIIT"),
    "miit_result_recorded": ("录入工信部结果", "MIIT result recorded"),
    "unit_change_reported": ("报告变更", "Change reported"),
    "unit_change_confirmed": ("变更确认", "Change confirmed"),
    "unit_change_not_qualified": ("变更后不再符合条件", "No longer qualifies"),
    "unit_incident_reported": ("报告事故", "Incident reported"),
    "unit_incident_decided": ("事故审核", "Incident reviewed"),
    "cultivation_plan_submitted": ("报送培育计划", "Cultivation plan submitted"),
    "cultivation_plan_acknowledged": ("确认培育计划", "Cultivation plan acknowledged"),
    "cultivation_reported": ("报送培育情况", "Cultivation reported"),
    "evaluator_registered": ("评价机构登记", "Evaluator registered"),
    "evaluator_finding_recorded": ("记录查实情况", "Finding recorded"),
    "evaluator_finding_withdrawn": ("撤回查实情况", "Finding withdrawn"),
    "evaluator_named": ("通报评价机构", "Evaluator named"),
    "evaluator_banned": ("禁止评价机构", "Evaluator banned"),
    "evaluator_note_recorded": ("记录评价机构情况", "Evaluator note recorded"),
    "list_publication_prepared": ("名单待核对", "List prepared"),
    "list_published": ("名单发布", "List published"),
    "national_recommendation_opened": ("国家级推荐开始", "National recommendation opened"),
    "national_recommendation_submitted": ("报送国家级推荐", "National recommendation submitted"),
    "national_recommendation_lapsed": ("国家级推荐逾期", "National recommendation lapsed"),
    "work_report_campaign_opened": ("年度工作情况填报开始", "Work-report campaign opened"),
    "work_report_campaign_closed": ("年度工作情况填报结束", "Work-report campaign closed"),
    "work_report_filed": ("报送年度工作情况", "Work report filed"),
    "work_report_corrected": ("改正年度工作情况", "Work report corrected"),
    "work_report_reviewed": ("审核年度工作情况", "Work report reviewed"),
    "work_report_reminders": ("提醒未填报机构", "Reminders sent"),
    "instance_migrated": ("迁移到新版本", "Moved to a new version"),
    # 专家评审组 (第十八条, docs/expert-panel.md)
    "expert_panel_drawn": ("抽取评审专家", "Expert panel drawn"),
    "expert_panel_conflicts": ("专家回避，抽取替换", "Experts withdrew; replacements drawn"),
    "expert_panel_settled": ("评审组结论", "Panel result"),
    # 不定期现场抽查复核 (第二十六条, docs/parks-and-spot-checks.md)
    "spot_check_sample_drawn": ("抽取抽查单位", "Spot-check sample drawn"),
    "spot_check_finding_recorded": ("记录抽查复核结果", "Spot-check finding recorded"),
    "spot_check_closed": ("抽查复核结束", "Spot check closed"),
}
# Events a person does; every other event is the platform's doing (系统), whoever's command set it off.
PERSON_EVENTS = frozenset({
    "instance_started", "task_claimed", "task_released", "task_completed", "task_transferred", "task_delegated",
    "delegation_resolved", "task_cc", "task_urged", "comment_added", "objection_filed", "incident_resolved",
    "incident_dismissed", "instance_cancelled", "complaint_recorded", "unit_change_reported", "unit_incident_reported",
})
SYSTEM = ("系统", "System")
PUBLIC = ("公众", "The public")
UNKNOWN_EVENT = ("系统记录", "System record")
OTHER = ("其他", "Other")


def word(table: dict[str, tuple[str, str]], key: str | None) -> str:
    """The label of ``key`` in ``table`` in the current language; “其他” when unknown (never the code)."""
    if key is None or key == "":
        return ""
    pair = table.get(key)
    return pick(*pair) if pair else pick(*OTHER)


def role_label(role: str) -> str:
    """A role's name from config/roles.toml in the current language."""
    entry = config.roles().get(role)
    return pick(entry.get("zh"), entry.get("en")) if entry else pick(*OTHER)


def place(code: str | None) -> str:
    """A division's name for its code (贵州省, 遵义市, 红花岗区); '' for anything else."""
    try:
        return division(code).name if code else ""
    except EngineError:  # not a division code (an applicant's or evaluator's scope)
        return ""


def options(table: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, pick(*pair)) for key, pair in table.items()]


def _html(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def choice_title(prop: Mapping | None, value: Any) -> str | None:
    """The title of ``value`` among a form property's ``oneOf``/``anyOf`` consts, if it is one."""
    if not isinstance(prop, Mapping):
        return None
    for key in ("oneOf", "anyOf"):
        for option in prop.get(key) or ():
            if isinstance(option, Mapping) and "const" in option and _html(option["const"]) == _html(value):
                return localized(option) or None
    return None


def decision_label(value: Any, prop: Mapping | None = None) -> str:
    """An answer of a form as people read it: the form's own title for it, else our table."""
    if value is None or value == "":
        return ""
    title = choice_title(prop, value)
    if title:
        return title
    pair = DECISIONS.get(_html(value))
    if pair:
        return pick(*pair)
    return str(value) if not _looks_like_code(value) else pick(*OTHER)


def outcome_label(value: str | None, schema: Mapping | None = None) -> str:
    """A task's outcome (the value of its form's decision/opinion/outcome answer) as a label."""
    if not value:
        return ""
    properties = (schema or {}).get("properties") or {}
    for key in OUTCOME_KEYS:
        title = choice_title(properties.get(key), value)
        if title:
            return title
    return decision_label(value)


def _looks_like_code(value: Any) -> bool:
    """An ASCII identifier such as ``level_2`` (text people wrote is shown as written)."""
    text = _html(value)
    return bool(text) and text.isascii() and text.replace("_", "").replace("-", "").isalnum()


def event_label(event_type: str) -> str:
    pair = EVENTS.get(event_type)
    return pick(*pair) if pair else pick(*UNKNOWN_EVENT)


def status_label(status: str | None, *, notice_until: dt.date | None = None) -> str:
    """An instance's status; while its public notice runs, 公示中（至 2026-12-11）."""
    if notice_until is not None and status in ("running", "waiting"):
        return pick(f"公示中（至 {notice_until.isoformat()}）", f"In public notice until {notice_until.isoformat()}")
    return word(STATUSES, status)


def task_status_label(status: str | None) -> str:
    return word(TASK_STATUSES, status)


def is_system(username: str | None) -> bool:
    return not username or username == "system" or username.startswith("system:")


def is_public(username: str | None) -> bool:
    return bool(username) and (username == "public" or username.startswith("public:"))


def actor_label(username: str | None, people: Mapping[str, str] | None = None) -> str:
    """Who did something: 系统, 公众, or the person's display name with their unit (``people``:
    username -> that text, e.g. from ``web.timeline.people_of``). A username is never shown."""
    if is_system(username):
        return pick(*SYSTEM)
    if is_public(username):
        return pick(*PUBLIC)
    found = (people or {}).get(username or "")
    return found or pick("工作人员", "Staff member")


def event_actor_label(event_type: str, username: str | None, people: Mapping[str, str] | None = None) -> str:
    """The actor of an event: the person for what a person did, 系统 for what followed from it."""
    if event_type not in PERSON_EVENTS:
        return pick(*SYSTEM)
    return actor_label(username, people)
