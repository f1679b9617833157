"""Real-name complaints (实名举报, 第三十二条): intake of a complaint about a listed unit or an evaluator.

第三十二条: 任何组织或个人可针对绿色制造单位和第三方机构相关信息真实性、准确性等方面存在的问题，
向相关工业和信息化主管部门实名举报，并提供佐证材料和联系方式。

The public files the form of ``bpmn/forms/complaint.schema.json``; ``start_complaint`` (the
start hook of ``complaint``) refuses an anonymous complaint and one about a unit that is on
no green-manufacturing list, and names the competent authority: the city department of a
unit listed only at city level, the province (``520000``) for a provincial or national unit
and for an evaluator.  ``record_complaint`` stores the complaint and gives it its receipt
number (``JB2026-000123``) and its access code (查询码, ``Complaint.access_code``, see
``handlers.receipts``), which only the reporter is shown; ``record_complaint_intake`` keeps the
official's intake decision (受理 / 不予受理).  ``complaint_status`` is what the public may see of a
receipt, given with its access code.

After 受理 the same authority verifies the complaint (核实, 第三十二条: 应及时进行核实) within
``VERIFICATION_WORKING_DAYS`` working days (a platform decision: the article sets no period), with
a reminder after ``VERIFICATION_REMINDER_DAYS`` and an escalation to the supervising department
when the period ends; it may order a site check (现场核查) first.  The conclusion is one of:

- unfounded (不属实) → reply;
- confirmed for a unit → 限期整改 (rectification by a date the official sets; the re-check task
  opens when that day ends) or 移出 (removal): ``record_complaint_removal`` records the
  第二十七条 ground (item 8 “所提交材料或数据存在造假等问题” unless the official picks another
  of items 2–8) as a ``NegativeRecord`` and a ``PendingRemoval`` per city/provincial listing,
  the hand-off to the next list publication, which removes and announces the unit;
- confirmed for an evaluator → 通报 and 三年内不予采信 (第三十条、第三十二条): an
  ``EvaluatorBan`` from today to the day before the third anniversary.

Every path ends with ``reply_to_complaint``: the reply text (standard wording per outcome,
citing the articles, never the reporter's or the subject's data) is kept on the complaint,
shown on the public status page, and queued as a notification to the reporter's contact.
"""
from __future__ import annotations

from handlers.complaints._models import (
    ARTICLE,
    BAN_YEARS,
    Complaint,
    INTAKE_DECISIONS,
    OUTCOMES,
    PROCESS_ID,
    REMOVAL_ITEMS,
    STATUSES,
    SUBJECT_KINDS,
    VERIFICATION_REMINDER_DAYS,
    VERIFICATION_WORKING_DAYS,
    parse_receipt,
)
from handlers.complaints.intake import (
    competent_authority,
    normalise_complaint,
    record_complaint,
    record_complaint_intake,
    start_complaint,
)
from handlers.complaints.verification import (
    ban_complaint_evaluator,
    ban_period,
    order_complaint_rectification,
    record_complaint_recheck,
    record_complaint_removal,
    record_complaint_site_check,
    record_complaint_verification,
    reply_text,
    reply_to_complaint,
)
from handlers.complaints.status import complaint_status

__all__ = [
    "ARTICLE", "PROCESS_ID", "SUBJECT_KINDS", "STATUSES", "INTAKE_DECISIONS",
    "Complaint", "competent_authority", "normalise_complaint", "start_complaint",
    "record_complaint", "record_complaint_intake", "complaint_status", "parse_receipt",
    "VERIFICATION_WORKING_DAYS", "VERIFICATION_REMINDER_DAYS", "OUTCOMES", "REMOVAL_ITEMS", "BAN_YEARS",
    "record_complaint_verification", "record_complaint_site_check", "order_complaint_rectification",
    "record_complaint_recheck", "record_complaint_removal", "ban_complaint_evaluator", "reply_to_complaint",
    "ban_period", "reply_text",
]
