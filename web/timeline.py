"""An instance's history as people read it: when, who, what, and the words they wrote."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.clock import CHINA
from web.i18n import pick

LABELS: dict[str, tuple[str, str]] = {
    "instance_started": ("提交申请", "Started"),
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
    "timer_fired": ("计时到期", "Timer fired"),
    "message_received": ("收到消息", "Message received"),
    "message_delivered": ("收到消息", "Message delivered"),
    "notice_opened": ("公示开始", "Notice opened"),
    "notice_closed": ("公示结束", "Notice closed"),
    "notice_waits_for_objections": ("公示结束，等待异议核查", "Notice waits for objections"),
    "objection_filed": ("收到异议", "Objection filed"),
    "objection_reply_queued": ("答复异议人", "Objector answered"),
    "process_start_requested": ("发起后续流程", "Follow-up process requested"),
    "unit_change_already_rechecking": ("变更已在复核中", "Change already being re-checked"),
    "outcome_recorded": ("记录结果", "Outcome recorded"),
    "eligibility_checked": ("资格审查", "Eligibility checked"),
    "listing_recorded": ("列入名单", "Listed"),
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
    "unit_change_reported": ("报告变更", "Change reported"),
    "unit_change_confirmed": ("变更确认", "Change confirmed"),
    "unit_change_not_qualified": ("变更后不再符合条件", "No longer qualifies"),
    "unit_incident_reported": ("报告事故", "Incident reported"),
    "unit_incident_decided": ("事故审核", "Incident reviewed"),
}
# Routine bookkeeping a reader does not need to see.
HIDDEN = {"task_opened", "notification_queued"}


@dataclass(frozen=True)
class TimelineItem:
    seq: int
    at: dt.datetime
    actor: str
    type: str
    label: str
    detail: str


def _detail(event: dict) -> str:
    payload = event.get("payload") or {}
    parts = []
    if event["type"] == "task_completed":
        parts.append(payload.get("name", ""))
        data = payload.get("data") or {}
        for key in ("decision", "opinion", "outcome"):
            if key in data:
                parts.append(str(data[key]))
        for key in ("reason", "comment"):
            if data.get(key):
                parts.append(str(data[key]))
    for key in ("from", "to", "delegate", "text", "note"):
        value = payload.get(key)
        if value:
            parts.append(", ".join(value) if isinstance(value, list) else str(value))
    return " · ".join(p for p in parts if p)


def timeline_of(events: list[dict], *, show_hidden: bool = False) -> list[TimelineItem]:
    items = []
    for event in events:
        if event["type"] in HIDDEN and not show_hidden:
            continue
        label = LABELS.get(event["type"])
        items.append(TimelineItem(seq=event["seq"], at=dt.datetime.fromisoformat(event["at"]).astimezone(CHINA),
                                  actor=event["actor"], type=event["type"],
                                  label=pick(*label) if label else event["type"], detail=_detail(event)))
    return items
