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

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import CheckConstraint, Date, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import CHINA, china_date
from engine.db import Base, UTCDateTime
from engine.models import Outbox
from engine.errors import InvalidInput, NotFound, RuleViolation
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.divisions import PROVINCE
from handlers.fields import record_key, stored_row
from handlers.receipts import access_code, codes_match, parse_receipt_number, receipt_number
from handlers.records import Evaluator, EvaluatorBan, Listing, NegativeRecord, Unit
from handlers.removals import record_pending_removals

__all__ = [
    "ARTICLE", "PROCESS_ID", "SUBJECT_KINDS", "STATUSES", "INTAKE_DECISIONS",
    "Complaint", "competent_authority", "normalise_complaint", "start_complaint",
    "record_complaint", "record_complaint_intake", "complaint_status", "parse_receipt",
    "VERIFICATION_WORKING_DAYS", "VERIFICATION_REMINDER_DAYS", "OUTCOMES", "REMOVAL_ITEMS", "BAN_YEARS",
    "record_complaint_verification", "record_complaint_site_check", "order_complaint_rectification",
    "record_complaint_recheck", "record_complaint_removal", "ban_complaint_evaluator", "reply_to_complaint",
    "ban_period", "reply_text",
]

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


# --------------------------------------------------------------------------- who is competent

def competent_authority(session: Session, credit_code: str) -> tuple[str, str, str]:
    """(role, scope, highest level) of the authority that takes a complaint about a listed unit.

    A unit on a provincial or national list goes to the province (``520000``); a unit on a
    city list only, to that city's department (the listing's scope, 第三条、第七条).
    Raises RuleViolation(第三十二条) when the unit is on no list: 第三十二条 covers
    绿色制造单位 and 第三方机构 only.
    """
    listings = session.scalars(
        select(Listing).where(Listing.credit_code == credit_code, Listing.status == "listed")
        .order_by(Listing.listed_at.desc(), Listing.id.desc())
    ).all()
    if not listings:
        raise RuleViolation(
            f"统一社会信用代码为 {credit_code} 的单位不在绿色制造名单内，不属于实名举报受理范围（{ARTICLE}：针对绿色制造单位和"
            f"第三方机构） / the unit {credit_code} is on no green-manufacturing list; Article 32 complaints concern "
            f"listed units and third-party evaluators",
            article=ARTICLE, field="unit",
        )
    top = max(listings, key=lambda row: _LEVEL_RANK.get(row.level, 0))
    if top.level in ("province", "national"):
        return "province_official", PROVINCE, top.level
    return "city_official", top.scope, top.level


def _find_unit(session: Session, text: str) -> tuple[str, str | None]:
    """(credit code, name) of the unit a reporter names by credit code or full name."""
    code = text.strip().upper()
    unit = session.scalar(select(Unit).where(Unit.credit_code == code))
    if unit is not None:
        return unit.credit_code, unit.name
    if len(code) == 18 and code.isalnum():
        return code, None  # perhaps on an imported list without a unit row
    named = session.scalars(select(Unit).where(Unit.name == text.strip()).limit(2)).all()
    if len(named) == 1:
        return named[0].credit_code, named[0].name
    if len(named) > 1:
        raise InvalidInput("同名单位不止一家，请填写统一社会信用代码 / several units have that name: give the credit code",
                           field="unit")
    raise RuleViolation(
        f"未找到名为“{text.strip()}”的绿色制造单位，请核对全称或填写统一社会信用代码（{ARTICLE}） / no listed unit of that "
        f"name; check the full name or give the credit code (Article 32)",
        article=ARTICLE, field="unit",
    )


# --------------------------------------------------------------------------- the form

def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return (str(value).strip() or None) if value is not None else None


def _check_real_name(values: dict[str, str | None]) -> None:
    """Refuse an anonymous complaint: 第三十二条 asks for 实名举报 with contact details."""
    problems: dict[str, str] = {}
    name = values["reporter_name"]
    if not name or name.lower() in _NOT_A_NAME:
        problems["reporter_name"] = "须填写举报人真实姓名或组织名称 / the reporter's real name is required"
    if not values["id_number"]:
        problems["id_number"] = "须填写身份证件号码（组织填统一社会信用代码） / an ID number is required"
    if not values["contact"]:
        problems["contact"] = "须填写联系方式 / contact details are required"
    if problems:
        raise RuleViolation(
            f"举报须实名，并提供联系方式（{ARTICLE}），不受理匿名举报：{'；'.join(problems.values())} / "
            f"complaints must be made under a real name with contact details (Article 32)",
            article=ARTICLE, field=next(iter(problems)),
        )


def normalise_complaint(session: Session, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The complaint as the diagram keeps it, with the competent authority; nothing is written.

    Checks, in order: every text within its limit, the real name, ID number and contact
    (第三十二条: 实名举报), the matter, then the subject: a unit on a list (by credit code
    or full name) or an evaluator of the registry.  Raises RuleViolation(第三十二条) for an
    anonymous complaint or an unlisted unit, InvalidInput naming the field otherwise.
    """
    if not isinstance(fields, Mapping):
        raise InvalidInput("举报内容应为对象 / the complaint must be an object", field="complaint")
    values = {key: _text(fields, key) for key in _LIMITS}
    for key, limit in _LIMITS.items():
        if values[key] and len(values[key]) > limit:  # type: ignore[arg-type]
            raise InvalidInput(f"{key} 超过{limit}个字符 / {key} is longer than {limit} characters", field=key)
    _check_real_name(values)
    if not values["matter"]:
        raise InvalidInput("举报事项必填 / the matter reported is required", field="matter")
    kind = fields.get("subject_kind")
    if kind not in SUBJECT_KINDS:
        raise InvalidInput("请选择举报对象：绿色制造单位或第三方评价机构 / choose a listed unit or an evaluator",
                           field="subject_kind")
    complaint: dict[str, Any] = {
        "subject_kind": kind, "credit_code": None, "unit_name": None, "evaluator_id": None, "evaluator_name": None,
        "listing_level": None,
        **{key: values[key] for key in ("reporter_name", "id_number", "contact", "matter", "evidence",
                                        "evidence_file", "evidence_filename")},
    }
    if kind == "unit":
        if not values["unit"]:
            raise InvalidInput("请填写被举报单位的统一社会信用代码或全称 / give the unit's credit code or full name",
                               field="unit")
        credit_code, name = _find_unit(session, values["unit"])
        role, scope, level = competent_authority(session, credit_code)
        complaint.update(credit_code=credit_code, unit_name=name, listing_level=level)
    else:
        evaluator = session.get(Evaluator, values["evaluator_id"]) if values["evaluator_id"] else None
        if evaluator is None:
            raise InvalidInput("请从名录中选择第三方评价机构 / choose an evaluator from the registry", field="evaluator_id")
        role, scope = "province_official", PROVINCE  # 第三十、三十二条: the province supervises evaluators
        complaint.update(evaluator_id=evaluator.id, evaluator_name=evaluator.name)
    complaint.update(authority_role=role, authority_scope=scope)
    return complaint


def subject_name(complaint: Mapping[str, Any]) -> str:
    """The unit's or the evaluator's name (or the credit code when the name is unknown)."""
    if complaint.get("subject_kind") == "evaluator":
        return str(complaint.get("evaluator_name") or complaint.get("evaluator_id") or "")
    return str(complaint.get("unit_name") or complaint.get("credit_code") or "")


@start_hook(PROCESS_ID)
def start_complaint(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the complaint form and route it to the competent authority (第三十二条).

    Leaves ``complaint`` (normalised, with ``authority_role`` / ``authority_scope``) and the
    intake lane's ``intake_role`` / ``intake_scope`` as the instance data.
    """
    complaint = normalise_complaint(session, data.get("complaint", data))
    for key in list(data):
        data.pop(key)
    summary: dict[str, Any] = {"subject_kind": complaint["subject_kind"], "subject_name": subject_name(complaint),
                               "intake_scope": complaint["authority_scope"]}
    if complaint["credit_code"]:
        summary.update(credit_code=complaint["credit_code"], listing_level=complaint["listing_level"])
    if complaint["evaluator_id"]:
        summary["evaluator_id"] = complaint["evaluator_id"]
    return StartInfo(
        data={"complaint": complaint, "intake_role": complaint["authority_role"],
              "intake_scope": complaint["authority_scope"]},
        title=f"实名举报 · {subject_name(complaint)}",
        summary=summary,
    )


# --------------------------------------------------------------------------- service tasks

def _record_of(session: Session, record: object) -> Complaint:
    row = stored_row(session, Complaint, record)
    if row is None:
        key = record_key(record)
        raise NotFound(f"举报 {key!r} 不存在 / complaint {key!r} not found", fields={"complaint": "not found"})
    return row


def _view(row: Complaint) -> dict[str, Any]:
    return {"id": row.id, "receipt": row.receipt, "status": row.status, "received_at": row.received_at.isoformat()}


@service_task("record_complaint")
def record_complaint(ctx: ServiceContext, *, complaint: dict[str, Any]) -> dict[str, Any]:
    """Store the complaint and give it its receipt number; returns ``{id, receipt, status, received_at}``.

    Idempotent per instance: a retried task returns the record made the first time.
    """
    row = ctx.session.scalar(select(Complaint).where(Complaint.instance_id == ctx.instance_id))
    if row is None:
        if not isinstance(complaint, Mapping):
            raise InvalidInput("举报内容应为对象 / the complaint must be an object", field="complaint")
        row = Complaint(
            instance_id=ctx.instance_id, status="received", received_at=ctx.clock.now(),
            **{key: complaint.get(key) for key in (
                "subject_kind", "credit_code", "unit_name", "evaluator_id", "listing_level", "authority_role",
                "authority_scope", "reporter_name", "id_number", "contact", "matter", "evidence", "evidence_file",
                "evidence_filename")},
        )
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("complaint_recorded", complaint_id=row.id, receipt=row.receipt, subject_kind=row.subject_kind,
                   authority_role=row.authority_role, authority_scope=row.authority_scope)
    return _view(row)


@service_task("record_complaint_intake")
def record_complaint_intake(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], decision: str, reason: str
) -> dict[str, Any]:
    """Keep the intake decision: 受理 → ``accepted`` (verification follows), 不予受理 → ``closed``
    (outcome ``not_accepted``; the reply follows).

    Raises InvalidInput for an unknown decision or a refusal without a reason.
    """
    if decision not in INTAKE_DECISIONS:
        raise InvalidInput(f"受理结论应为 {' / '.join(INTAKE_DECISIONS)} / unknown intake decision {decision!r}",
                           field="intake_decision")
    reason = str(reason or "").strip()
    if decision == "not_accepted" and not reason:
        raise InvalidInput("不予受理须说明理由 / a refusal needs a reason", field="intake_reason")
    row = _record_of(ctx.session, complaint_record)
    row.status = "accepted" if decision == "accept" else "closed"
    row.outcome = None if decision == "accept" else "not_accepted"
    row.decision, row.decision_reason = decision, reason or None
    row.decided_by, row.decided_at = ctx.actor, ctx.clock.now()
    ctx.record("complaint_intake_decided", complaint_id=row.id, decision=decision, status=row.status)
    return _view(row)


# --------------------------------------------------------------------------- verification (核实)

def _clean(value: object, field: str, limit: int = 5000) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{field} 超过{limit}个字符 / {field} is longer than {limit} characters", field=field)
    return text


def _date(value: object, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidInput(f"{field} 应为日期（YYYY-MM-DD）/ {field} must be a date (YYYY-MM-DD)", field=field) from None


def _removal_item(value: object, field: str = "removal_item") -> int:
    if value is None or value == "":
        return DEFAULT_REMOVAL_ITEM
    if isinstance(value, bool) or not isinstance(value, int) or value not in REMOVAL_ITEMS:
        raise RuleViolation(
            f"移出依据应为第二十七条第2—8项之一，而不是 {value!r}（已发布名单中的单位存在第2—8项情形的予以移出） / the "
            f"removal ground must be one of items 2–8 of Article 27", article="第二十七条", field=field)
    return value


def _route(row: Complaint) -> str:
    if row.verification_outcome == "unfounded":
        return "unfounded"
    if row.subject_kind == "evaluator":
        return "evaluator"
    return "rectify" if row.measure == "rectify" else "remove"


@service_task("record_complaint_verification")
def record_complaint_verification(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], outcome: str, findings: str,
    measure: str | None = None, rectification_deadline: str | None = None,
    rectification_requirements: str | None = None, removal_item: int | None = None,
) -> dict[str, Any]:
    """Keep the verification conclusion (核实, 第三十二条) and say where the complaint goes next.

    ``outcome``: ``site_check`` (a site check first; nothing concluded yet), ``unfounded`` or
    ``confirmed``. A confirmed complaint about a unit needs a ``measure`` (第三十二条: 视情节轻重
    要求进行整改，或从绿色制造名单移出): ``rectify`` with a deadline after today and at most a year
    ahead, and the requirements; or ``remove`` with the 第二十七条 item (2–8, default 8). For an
    evaluator the measure is fixed (第三十条: 通报、三年内不予采信).
    Returns ``{"route": site_check|unfounded|rectify|remove|evaluator, ...}``.
    Raises InvalidInput / RuleViolation naming the field (nothing is written).
    """
    if outcome not in VERIFICATION_OUTCOMES:
        raise InvalidInput(f"核实结论应为 {' / '.join(VERIFICATION_OUTCOMES)} / unknown verification outcome {outcome!r}",
                           field="verification_outcome")
    findings = _clean(findings, "verification_findings")
    if not findings:
        raise InvalidInput(f"须填写核实情况（{ARTICLE}） / the verification findings are required (Article 32)",
                           field="verification_findings")
    row = _record_of(ctx.session, complaint_record)
    if row.status != "accepted":
        raise InvalidInput(f"举报 {row.receipt} 未受理，不能核实 / complaint {row.receipt} was not accepted",
                           field="complaint")
    today = china_date(ctx.clock.now())
    if outcome == "site_check":
        ctx.record("complaint_site_check_ordered", complaint_id=row.id, findings=findings)
        return {"route": "site_check", "outcome": outcome}
    deadline: dt.date | None = None
    requirements: str | None = None
    item: int | None = None
    if outcome == "confirmed" and row.subject_kind == "unit":
        if measure not in MEASURES:
            raise RuleViolation(
                f"举报属实的，须选择处理方式：限期整改或从绿色制造名单移出（{ARTICLE}：视情节轻重要求进行整改，或从绿色制造"
                f"名单移出） / a confirmed complaint about a unit needs a measure: rectify or remove (Article 32)",
                article=ARTICLE, field="measure")
        if measure == "rectify":
            deadline = _date(rectification_deadline, "rectification_deadline")
            if deadline <= today:
                raise RuleViolation(
                    f"整改期限应晚于今天（{today.isoformat()}）（{ARTICLE}：要求进行整改） / the rectification deadline "
                    f"must be after today (Article 32)", article=ARTICLE, field="rectification_deadline")
            if (deadline - today).days > MAX_RECTIFICATION_DAYS:
                raise RuleViolation(
                    f"整改期限不得超过{MAX_RECTIFICATION_DAYS}天（{ARTICLE}；本平台规定） / the rectification deadline may "
                    f"be at most {MAX_RECTIFICATION_DAYS} days ahead (Article 32; a platform rule)",
                    article=ARTICLE, field="rectification_deadline")
            requirements = _clean(rectification_requirements, "rectification_requirements")
            if not requirements:
                raise RuleViolation(
                    f"限期整改须写明整改要求（{ARTICLE}） / rectification needs its requirements (Article 32)",
                    article=ARTICLE, field="rectification_requirements")
        else:
            item = _removal_item(removal_item)
    row.verification_outcome, row.verification_findings = outcome, findings
    row.verified_by, row.verified_at = ctx.actor, ctx.clock.now()
    row.measure = measure if (outcome == "confirmed" and row.subject_kind == "unit") else None
    row.rectification_deadline, row.rectification_requirements = deadline, requirements
    row.removal_item = item
    row.outcome = "unfounded" if outcome == "unfounded" else None
    route = _route(row)
    ctx.record("complaint_verified", complaint_id=row.id, outcome=outcome, route=route,
               rectification_deadline=deadline.isoformat() if deadline else None, removal_item=item,
               article=ARTICLE)
    return {"route": route, "outcome": outcome}


@service_task("record_complaint_site_check")
def record_complaint_site_check(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], site_check_date: str, findings: str
) -> dict[str, Any]:
    """Keep the site check (现场核查) of a complaint; the verification continues with its findings.

    Raises InvalidInput for a date in the future or empty findings.
    """
    day = _date(site_check_date, "site_check_date")
    if day > china_date(ctx.clock.now()):
        raise InvalidInput("现场核查日期不能晚于今天 / the site check date cannot be in the future",
                           field="site_check_date")
    findings = _clean(findings, "site_check_findings")
    if not findings:
        raise InvalidInput("须填写现场核查情况 / the site check findings are required", field="site_check_findings")
    row = _record_of(ctx.session, complaint_record)
    row.site_checked_on, row.site_check_findings = day, findings
    ctx.record("complaint_site_checked", complaint_id=row.id, site_check_date=day.isoformat())
    return {"site_check_date": day.isoformat()}


@service_task("order_complaint_rectification")
def order_complaint_rectification(ctx: ServiceContext, *, complaint_record: dict[str, Any]) -> dict[str, Any]:
    """Order the unit to rectify by the deadline of the verification (第三十二条: 要求进行整改).

    Queues a notification to the unit (role applicant, scope ``unit:<credit code>``) and returns
    ``{"deadline", "recheck_at"}``: the re-check opens when the deadline day ends (24:00 China).
    """
    row = _record_of(ctx.session, complaint_record)
    if row.rectification_deadline is None or row.credit_code is None:
        raise InvalidInput("没有整改期限 / no rectification deadline was set", field="rectification_deadline")
    deadline = row.rectification_deadline
    recheck_at = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)
    message = (f"经核实，实名举报 {row.receipt} 反映的问题属实，请于{deadline.year}年{deadline.month}月{deadline.day}日前"
               f"完成整改：{row.rectification_requirements}（{ARTICLE}）。逾期未整改或整改不合格的，将按第二十七条"
               f"在新发布名单时予以移出。")
    outbox = Outbox(instance_id=ctx.instance_id, kind="notification", created_at=ctx.clock.now(), payload={
        "kind": "rectification_order", "role": "applicant", "scope": f"unit:{row.credit_code}",
        "message_zh": message, "instance_id": ctx.instance_id, "process_id": ctx.process_id,
        "task_name": "限期整改", "due_at": recheck_at.isoformat()})
    ctx.session.add(outbox)
    ctx.session.flush()
    ctx.record("complaint_rectification_ordered", complaint_id=row.id, credit_code=row.credit_code,
               deadline=deadline.isoformat(), recheck_at=recheck_at.isoformat(), outbox_id=outbox.id, article=ARTICLE)
    return {"deadline": deadline.isoformat(), "recheck_at": recheck_at.isoformat()}


@service_task("record_complaint_recheck")
def record_complaint_recheck(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], result: str, findings: str,
    removal_item: int | None = None,
) -> dict[str, Any]:
    """Keep the re-check of a rectification: ``passed`` → rectified; ``failed`` → removal with the
    第二十七条 item (2–8, default 8). Raises InvalidInput / RuleViolation naming the field."""
    if result not in RECHECK_RESULTS:
        raise InvalidInput(f"复查结论应为 {' / '.join(RECHECK_RESULTS)} / unknown re-check result {result!r}",
                           field="recheck_result")
    findings = _clean(findings, "recheck_findings")
    if not findings:
        raise InvalidInput("须填写复查情况 / the re-check findings are required", field="recheck_findings")
    item = _removal_item(removal_item) if result == "failed" else None
    row = _record_of(ctx.session, complaint_record)
    row.recheck_result, row.recheck_findings = result, findings
    if result == "passed":
        row.outcome = "rectified"
    else:
        row.measure, row.removal_item = "remove", item
    ctx.record("complaint_rechecked", complaint_id=row.id, result=result, removal_item=item, article=ARTICLE)
    return {"result": result, "removal_item": item}


@service_task("record_complaint_removal")
def record_complaint_removal(ctx: ServiceContext, *, complaint_record: dict[str, Any]) -> dict[str, Any]:
    """Record the 第二十七条 removal ground of a confirmed complaint on the unit (a NegativeRecord).

    The unit is not taken off its lists here: 第二十七条 removes it 在新发布省、市层面绿色制造年度名单时
    with an announcement, so the NegativeRecord (item ``removal_item``, dated today in China) is the
    hand-off to the list publication, together with a ``PendingRemoval`` for each current city or
    provincial listing (``handlers.removals``; the national list is MIIT's). Idempotent per complaint.
    Returns ``{"negative_record_id", "item", "credit_code", "pending_removals"}``.
    """
    row = _record_of(ctx.session, complaint_record)
    if row.credit_code is None:
        raise InvalidInput("举报对象不是绿色制造单位 / the complaint is not about a unit", field="complaint")
    item = _removal_item(row.removal_item)
    if row.negative_record_id is None:
        failed_rectification = row.recheck_result == "failed"
        note = (f"实名举报 {row.receipt} 经核实属实（{ARTICLE}）" +
                ("，逾期未完成整改或整改不合格" if failed_rectification else "") +
                f"，属第二十七条第{item}项“{REMOVAL_ITEMS[item]}”，在新发布省、市层面绿色制造年度名单时予以移出并公告")
        record = NegativeRecord(credit_code=row.credit_code, item=item, occurred_on=china_date(ctx.clock.now()),
                                note=note, source=f"实名举报核实（{ARTICLE}）{row.receipt}")
        ctx.session.add(record)
        ctx.session.flush()
        row.negative_record_id, row.removal_item = record.id, item
        ctx.record("complaint_removal_ground_recorded", complaint_id=row.id, credit_code=row.credit_code,
                   negative_record_id=record.id, item=item, article="第二十七条", message_zh=note)
    pending = record_pending_removals(ctx, row.credit_code, article="第二十七条", ground_item=item,
                                      reason=f"实名举报 {row.receipt} 经核实属实（{ARTICLE}），第二十七条第{item}项"
                                             f"“{REMOVAL_ITEMS[item]}”")
    row.outcome = "removed"
    return {"negative_record_id": row.negative_record_id, "item": item, "credit_code": row.credit_code,
            "pending_removals": pending}


def ban_period(today: dt.date, years: int = BAN_YEARS) -> tuple[dt.date, dt.date]:
    """(first, last day inclusive) of a ban of ``years`` starting ``today``: 2026-03-02 → 2029-03-01."""
    try:
        anniversary = today.replace(year=today.year + years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year + years, day=28) + dt.timedelta(days=1)
    return today, anniversary - dt.timedelta(days=1)


@service_task("ban_complaint_evaluator")
def ban_complaint_evaluator(ctx: ServiceContext, *, complaint_record: dict[str, Any]) -> dict[str, Any]:
    """Name the evaluator and refuse its reports for three years (第三十条、第三十二条).

    Adds an EvaluatorBan (article 第三十条) from today (China) to the day before the third
    anniversary; the eligibility rule ``art30_evaluator_not_banned`` then refuses applications
    relying on its reports. Idempotent per complaint. Returns ``{"ban_id", "starts_on", "ends_on"}``.
    """
    row = _record_of(ctx.session, complaint_record)
    if row.evaluator_id is None:
        raise InvalidInput("举报对象不是第三方评价机构 / the complaint is not about an evaluator", field="complaint")
    if row.evaluator_ban_id is None:
        starts_on, ends_on = ban_period(china_date(ctx.clock.now()))
        reason = f"实名举报 {row.receipt} 经核实属实，予以通报（{ARTICLE}）"
        ban = EvaluatorBan(evaluator_id=row.evaluator_id, reason=reason, article=BAN_ARTICLE,
                           starts_on=starts_on, ends_on=ends_on)
        ctx.session.add(ban)
        ctx.session.flush()
        row.evaluator_ban_id = ban.id
        ctx.record("complaint_evaluator_banned", complaint_id=row.id, evaluator_id=row.evaluator_id, ban_id=ban.id,
                   starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat(), article=BAN_ARTICLE,
                   message_zh=f"第三方机构 {row.evaluator_id} 经查实存在所举报事项，予以通报，{ends_on.isoformat()}（含）前"
                              f"不予采信其出具的评价结果（第三十条、{ARTICLE}）")
    ban = ctx.session.get(EvaluatorBan, row.evaluator_ban_id)
    row.outcome = "evaluator_banned"
    return {"ban_id": ban.id, "starts_on": ban.starts_on.isoformat(), "ends_on": ban.ends_on.isoformat()}


def reply_text(outcome: str) -> str:
    """The reply the reporter gets for ``outcome`` (standard wording citing the articles)."""
    return _REPLIES[outcome]


@service_task("reply_to_complaint")
def reply_to_complaint(ctx: ServiceContext, *, complaint_record: dict[str, Any],
                       outcome: str | None = None) -> dict[str, Any]:
    """Reply to the reporter and close the complaint (every path ends here).

    The outcome is the one the earlier services recorded (``outcome`` overrides it). Keeps the reply text on the complaint (shown
    on the public status page), queues a notification to the reporter's contact, and sets the
    status ``closed``. Raises InvalidInput when no outcome is known.
    """
    row = _record_of(ctx.session, complaint_record)
    if outcome is not None:
        row.outcome = outcome
    if row.outcome not in OUTCOMES:
        raise InvalidInput(f"举报 {row.receipt} 尚无办理结果 / complaint {row.receipt} has no outcome yet",
                           field="outcome")
    now = ctx.clock.now()
    row.reply, row.replied_at, row.status = reply_text(row.outcome), now, "closed"
    outbox = Outbox(instance_id=ctx.instance_id, kind="notification", created_at=now, payload={
        "kind": "complaint_reply", "to": row.contact, "reporter_name": row.reporter_name, "receipt": row.receipt,
        "message_zh": f"您的实名举报（受理编号 {row.receipt}）办理结果：{row.reply}",
        "instance_id": ctx.instance_id, "process_id": ctx.process_id})
    ctx.session.add(outbox)
    ctx.session.flush()
    ctx.record("complaint_replied", complaint_id=row.id, outcome=row.outcome, outbox_id=outbox.id, reply=row.reply)
    return {**_view(row), "outcome": row.outcome}


# --------------------------------------------------------------------------- what the public sees

def complaint_status(session: Session, receipt: object, code: object) -> dict[str, Any] | None:
    """``{receipt, status, received_on, decided_on, reply, replied_on}`` for a receipt and its access
    code; None if there is no such receipt or ``code`` is not its code (the caller cannot tell which).

    Only the status, its dates and the reply to the reporter (standard wording citing the
    articles): never the subject, the reporter, the findings or the officials' reasons.
    """
    parsed = parse_receipt(receipt)
    if parsed is None:
        return None
    year, key = parsed
    row = session.get(Complaint, key)
    if row is None or row.receipt != receipt_number(RECEIPT_PREFIX, year, key):
        return None
    if not codes_match(code, row.access_code):
        return None
    return {"receipt": row.receipt, "status": row.status, "received_on": china_date(row.received_at),
            "decided_on": china_date(row.decided_at) if row.decided_at else None,
            "reply": row.reply, "replied_on": china_date(row.replied_at) if row.replied_at else None}
