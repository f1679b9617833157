"""The complaint table, its constants and receipt numbers (第三十二条)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import china_date
from engine.db import Base, UTCDateTime
from handlers.receipts import access_code, parse_receipt_number, receipt_number


ARTICLE = "第三十二条"
PROCESS_ID = "complaint"
SUBJECT_KINDS = ("unit", "evaluator")
# received: waiting for intake; accepted: 受理, being verified; closed: 不予受理 or settled.
STATUSES = ("received", "accepted", "closed")
INTAKE_DECISIONS = ("accept", "not_accepted")
RECEIPT_PREFIX = "JB"  # 举报
_NOT_A_NAME = frozenset({"匿名", "anonymous", "无名氏", "不详", "无"})
# Text fields of the form and their limits.
_LIMITS = {"unit": 200, "evaluator_id": 32, "reporter_name": 100, "id_number": 32, "contact": 100,
           "matter": 5000, "evidence": 2000, "evidence_file": 80, "evidence_filename": 200}
_LEVEL_RANK = {"city": 1, "province": 2, "national": 3}

# Verification (核实, 第三十二条 “应及时进行核实”): the article sets no period. **Decision**: 20 working
# days from acceptance (twice the review period of 第十八条's steps, room for a site check), a
# reminder after 15, an escalation to the supervising department after 20; a site check starts
# a new round (the conclusion is due 20 working days after the site-check findings are in).
VERIFICATION_WORKING_DAYS = 20
VERIFICATION_REMINDER_DAYS = 15
VERIFICATION_OUTCOMES = ("site_check", "unfounded", "confirmed")
MEASURES = ("rectify", "remove")  # 第三十二条: 视情节轻重要求进行整改，或从绿色制造名单移出
RECHECK_RESULTS = ("passed", "failed")
MAX_RECTIFICATION_DAYS = 365  # **Decision**: a deadline more than a year ahead is a typing mistake
# 第二十七条: items 2–8 remove a listed unit at the next list publication (with an announcement).
REMOVAL_ITEMS: dict[int, str] = {
    2: "未正常经营生产", 3: "发生重大及以上安全、质量、环境污染等事故以及偷漏税等违法违规行为",
    4: "在国务院及有关部委相关督查工作中被发现存在严重问题", 5: "被列入工业节能监察整改名单且未按要求完成整改",
    6: "企业被列为失信被执行人", 7: "拒不按时填报动态管理表", 8: "所提交材料或数据存在造假等问题",
}
DEFAULT_REMOVAL_ITEM = 8  # a confirmed 实名举报 is about 信息真实性、准确性: 材料或数据造假
BAN_YEARS = 3  # 第三十条、第三十二条: 三年内不予采信
BAN_ARTICLE = "第三十条"
# How each complaint ends; the reply wording of each (never names the subject or the reporter).
OUTCOMES = ("not_accepted", "unfounded", "rectified", "removed", "evaluator_banned")
_REPLIES: dict[str, str] = {
    "not_accepted": "您的实名举报经审查不予受理（第三十二条）。如有新的佐证材料，可重新实名举报。",
    "unfounded": "您的实名举报已受理并核实，经核实举报事项不属实（第三十二条）。感谢您对绿色制造工作的监督。",
    "rectified": "您的实名举报已受理并核实，经核实举报事项属实。受理部门已责令被举报单位限期整改，经复查已完成整改"
                 "（第三十二条）。感谢您对绿色制造工作的监督。",
    "removed": "您的实名举报已受理并核实，经核实举报事项属实。被举报单位将在新发布绿色制造名单时予以移出并公告"
               "（第三十二条、第二十七条）。感谢您对绿色制造工作的监督。",
    "evaluator_banned": "您的实名举报已受理并核实，经核实举报事项属实。受理部门已对被举报的第三方评价机构进行通报，"
                        "三年内不予采信其出具的评价结果（第三十条、第三十二条）。感谢您对绿色制造工作的监督。",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Complaint(Base):
    """A real-name complaint (实名举报, 第三十二条) and its intake; one per ``complaint`` instance.

    The receipt number is derived from the id and the China year of receipt
    (``JB2026-000123``), so it never needs a column of its own.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(_in("subject_kind", SUBJECT_KINDS), name="subject_kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)  # a unit
    unit_name: Mapped[str | None] = mapped_column(String(200))
    evaluator_id: Mapped[str | None] = mapped_column(String(32), index=True)  # an evaluator
    listing_level: Mapped[str | None] = mapped_column(String(16))  # the unit's highest list when filed
    authority_role: Mapped[str] = mapped_column(String(32))
    authority_scope: Mapped[str] = mapped_column(String(16))
    reporter_name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(32))
    contact: Mapped[str] = mapped_column(String(100))
    matter: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_file: Mapped[str | None] = mapped_column(String(80))  # "sha256:<hex>" in the upload store
    evidence_filename: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="received")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decision: Mapped[str | None] = mapped_column(String(16))  # accept | not_accepted
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Verification (核实) and its consequences; internal, never shown to the public.
    verification_outcome: Mapped[str | None] = mapped_column(String(16))  # unfounded | confirmed
    verification_findings: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(120))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    site_checked_on: Mapped[dt.date | None] = mapped_column(Date)  # the last site check (现场核查)
    site_check_findings: Mapped[str | None] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(String(16))  # rectify | remove (units)
    rectification_deadline: Mapped[dt.date | None] = mapped_column(Date)  # China date, inclusive
    rectification_requirements: Mapped[str | None] = mapped_column(Text)
    recheck_result: Mapped[str | None] = mapped_column(String(16))  # passed | failed
    recheck_findings: Mapped[str | None] = mapped_column(Text)
    removal_item: Mapped[int | None] = mapped_column(Integer)  # 第二十七条 item, 2–8
    negative_record_id: Mapped[int | None] = mapped_column(Integer)
    evaluator_ban_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(20))  # one of OUTCOMES
    reply: Mapped[str | None] = mapped_column(Text)  # what the reporter is told (public on the status page)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def receipt(self) -> str:
        """The receipt number given to the reporter, e.g. ``JB2026-000123``."""
        return receipt_number(RECEIPT_PREFIX, china_date(self.received_at).year, self.id)

    @property
    def access_code(self) -> str:
        """The access code (查询码) shown to the reporter with the receipt, e.g. ``3F9A-0C1E``.

        Derived from the id, the stored received time and the contact (``handlers.receipts``);
        never put in an event, the process data or a message.
        """
        return access_code("complaint", self.id, self.received_at, self.contact)


def parse_receipt(receipt: object) -> tuple[int, int] | None:
    """(year, id) of a receipt number such as ``JB2026-000123``; None when it is not one."""
    return parse_receipt_number(RECEIPT_PREFIX, receipt)
