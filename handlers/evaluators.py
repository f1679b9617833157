"""Third-party evaluators (第三方评价机构, 第十五、三十、三十一条): registry, findings, annual work report.

Three pieces of work live here; the eligibility rules that read them stay in
``handlers/rules/evaluators.py``.

- **Registry** (``evaluator_registry``): the province registers an evaluator or updates it
  (name, legal representative, national qualification). Every legal representative an
  evaluator has had is kept in ``EvaluatorRepresentative`` with the China dates it held the
  office (``valid_from`` inclusive, ``valid_to`` exclusive, None = open). 第三十一条 caps the
  national evaluations of *one legal representative's* evaluators at 15 a year, so an
  application counts for the representative in office on the day it was submitted
  (``representative_on``), not for whoever holds the office today: a change of
  representative neither frees the old one's quota nor charges his evaluations to the new
  one. An evaluator without history rows (imported before the registry existed) counts for
  its current ``Evaluator.legal_representative``; its first change records that one as
  "since ever" (``valid_from`` None).
- **Findings** (``evaluator_finding``, 第三十条): outside a complaint, the province records
  that an evaluator falsified (弄虚作假) or deliberately concealed problems of the evaluated
  unit (故意隐瞒评价对象问题); once a second look confirms it, the finding is published
  (``EvaluatorFinding``: 通报, a public record) and an ``EvaluatorBan`` of 第三十条 runs three
  years (the same period as a confirmed complaint, ``handlers.complaints.ban_period``), which
  ``art30_evaluator_not_banned`` enforces on every application naming the evaluator.
- **Annual work report** (``evaluator_work_report``, 第三十一条第三款): every evaluator
  qualified for national evaluations files its “第三方机构年度工作情况” by April 30; the
  province reviews each report (accept / return for correction); reminders on April 16 and
  April 27; an evaluator that has not filed (or not corrected a returned report) when April 30
  ends gets an ``EvaluatorNote`` — a supervision note on the *evaluator* (第三十条: 监督管理),
  not a 第二十七条 ground, which only concerns units.

Services never commit: the command runner does, so a failing service leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import CHINA, UTC, china_date
from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotFound, RuleViolation
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.campaign import notify
from handlers.complaints import ban_period
from handlers.records import ApplicationRecord, Evaluator, EvaluatorBan

__all__ = [
    "ARTICLE_30", "ARTICLE_31", "FINDING_KINDS", "REPORT_DEADLINE", "NOTE_KINDS",
    "EvaluatorRepresentative", "EvaluatorFinding", "WorkReportCampaign", "EvaluatorWorkReport", "EvaluatorNote",
    "representative_on", "national_projects_of", "published_findings", "report_deadline_end",
    "register_evaluator", "record_evaluator_finding", "decide_evaluator_finding",
    "open_work_report_campaign", "record_work_report", "review_work_report", "record_work_report_missing",
    "remind_work_reports", "close_work_report_campaign",
]

ARTICLE_15 = "第十五条"
ARTICLE_30 = "第三十条"
ARTICLE_31 = "第三十一条"
# 第三十条: 经查实在评价过程中存在弄虚作假或故意隐瞒评价对象问题的第三方机构
FINDING_KINDS: dict[str, str] = {"fraud": "弄虚作假", "concealment": "故意隐瞒评价对象问题"}
REPORT_DEADLINE = (4, 30)  # 第三十一条: 每年4月30日前填报“第三方机构年度工作情况”
NOTE_KINDS: dict[str, str] = {
    "work_report_not_filed": "未按时填报第三方机构年度工作情况",
    "work_report_not_corrected": "年度工作情况退回后未按时改正",
}
_EVALUATOR_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
_REPORT_FIELDS = ("national_evaluations", "province_evaluations", "city_evaluations", "staff", "qualified_staff",
                  "summary", "improvements")


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# --------------------------------------------------------------------------- tables

class EvaluatorRepresentative(Base):
    """One legal representative (法定代表人) of an evaluator and the China dates he held the office.

    ``valid_from`` is inclusive (None: since before the registry knew), ``valid_to`` exclusive
    (None: still in office). 第三十一条's cap counts per legal representative, so the history
    decides whose quota an application used (``representative_on``).
    """

    __tablename__ = "evaluator_representatives"
    __table_args__ = (Index("ix_evaluator_representatives_evaluator", "evaluator_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("evaluators.id"))
    legal_representative: Mapped[str] = mapped_column(String(100), index=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")


class EvaluatorFinding(Base):
    """A finding of 第三十条 against an evaluator; once ``published`` it is the public 通报."""

    __tablename__ = "evaluator_findings"
    __table_args__ = (
        CheckConstraint(_in("kind", FINDING_KINDS), name="kind"),
        CheckConstraint(_in("status", ("pending", "published", "withdrawn")), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("evaluators.id"), index=True)
    evaluator_name: Mapped[str] = mapped_column(String(200))
    legal_representative: Mapped[str] = mapped_column(String(100))  # in office on found_on
    kind: Mapped[str] = mapped_column(String(16))
    finding: Mapped[str] = mapped_column(Text)  # what was found: public once published
    evidence: Mapped[str] = mapped_column(Text, default="")  # internal, never published
    found_on: Mapped[dt.date] = mapped_column(Date)
    article: Mapped[str] = mapped_column(String(32), default=ARTICLE_30)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    ban_id: Mapped[int | None] = mapped_column(ForeignKey("evaluator_bans.id"))


class WorkReportCampaign(Base):
    """One year's annual work report of the national evaluators (第三十一条), run by one instance."""

    __tablename__ = "evaluator_report_campaigns"
    __table_args__ = (CheckConstraint(_in("status", ("open", "closed")), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[dt.date] = mapped_column(Date)  # April 30: the last day to file
    evaluators: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EvaluatorWorkReport(Base):
    """An evaluator's “第三方机构年度工作情况” for one year: as filed, then as corrected."""

    __tablename__ = "evaluator_work_reports"
    __table_args__ = (
        UniqueConstraint("year", "evaluator_id", name="uq_evaluator_work_reports_year_evaluator"),
        CheckConstraint(_in("status", ("submitted", "accepted", "returned")), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("evaluators.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # earlier versions and reviews
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class EvaluatorNote(Base):
    """A supervision note on an evaluator (第三十条 监督管理), e.g. its work report was not filed.

    Not a ban and not a 第二十七条 ground (those concern units): the province sees it when it
    supervises the evaluator and may open a finding.
    """

    __tablename__ = "evaluator_notes"
    __table_args__ = (
        UniqueConstraint("evaluator_id", "year", "kind", name="uq_evaluator_notes_evaluator_year_kind"),
        CheckConstraint(_in("kind", NOTE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("evaluators.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    article: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(Integer)


# --------------------------------------------------------------------------- helpers

def _text(values: Mapping[str, Any], key: str, *, limit: int, required: bool = True, label: str = "") -> str:
    value = values.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{label or key} 必填 / {key} is required", field=key)
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{label or key} 超过{limit}个字符 / {key} is longer than {limit} characters", field=key)
    return value


def _evaluator_id(value: object, *, field: str = "evaluator_id") -> str:
    text = str(value or "").strip().upper()
    if not _EVALUATOR_ID.fullmatch(text):
        raise InvalidInput(f"第三方机构编号 {value!r} 无效（2–32位字母、数字或连字符） / evaluator id {value!r} is "
                           f"invalid (2–32 letters, digits or hyphens)", field=field)
    return text


def _known_evaluator(session: Session, value: object, *, field: str = "evaluator_id") -> Evaluator:
    evaluator = session.get(Evaluator, _evaluator_id(value, field=field))
    if evaluator is None:
        raise InvalidInput(f"第三方机构 {value} 未登记（{ARTICLE_15}） / evaluator {value} is not registered "
                           f"(Article 15)", field=field)
    return evaluator


def _date(value: object, *, field: str) -> dt.date:
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} 不是日期：{value!r} / {field} is not a date", field=field) from None


def _year(year: object, field: str = "year") -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise InvalidInput(f"年度无效：{year!r} / invalid year {year!r}", field=field)
    return year


def _history(session: Session, evaluator_ids: Iterable[str]) -> dict[str, list[EvaluatorRepresentative]]:
    ids = sorted(set(evaluator_ids))
    found: dict[str, list[EvaluatorRepresentative]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(select(EvaluatorRepresentative)
                                   .where(EvaluatorRepresentative.evaluator_id.in_(ids))
                                   .order_by(EvaluatorRepresentative.id)):
            found[row.evaluator_id].append(row)
    return found


def _in_office(row: EvaluatorRepresentative, day: dt.date) -> bool:
    return (row.valid_from is None or row.valid_from <= day) and (row.valid_to is None or day < row.valid_to)


def _representative(rows: list[EvaluatorRepresentative], day: dt.date, current: str) -> str:
    """The row in office on ``day``; before the first row, the first known one; no rows: ``current``."""
    for row in rows:
        if _in_office(row, day):
            return row.legal_representative
    if rows:
        return min(rows, key=lambda r: (r.valid_from or dt.date.min, r.id)).legal_representative
    return current


def representative_on(session: Session, evaluator_id: str, day: dt.date) -> str | None:
    """The legal representative of ``evaluator_id`` on China date ``day`` (第三十一条).

    From the history when it covers ``day``; a day before the first recorded term gets the
    first known representative (an application imported from before the registration); an
    evaluator without history gets the register's current ``legal_representative``. None for
    an unknown id.
    """
    evaluator = session.get(Evaluator, evaluator_id)
    if evaluator is None:
        return None
    return _representative(_history(session, [evaluator_id])[evaluator_id], day, evaluator.legal_representative)


def national_projects_of(session: Session, legal_representative: str, year: int) -> set[tuple[str, str]]:
    """The national evaluation projects (credit code, unit type) of ``year`` charged to one representative.

    Every third-party national application of ``year`` counts for the representative of its
    evaluator *on the China date it was submitted* (``representative_on``), whichever
    evaluator he represented then (第三十一条: 同一法定代表人的第三方机构 … 总计). A unit applying
    twice with the same report is one project.
    """
    rows = session.execute(
        select(ApplicationRecord.credit_code, ApplicationRecord.unit_type, ApplicationRecord.evaluator_id,
               ApplicationRecord.submitted_at)
        .where(ApplicationRecord.year == year, ApplicationRecord.target_level == "national",
               ApplicationRecord.evaluation_mode == "third_party", ApplicationRecord.evaluator_id.is_not(None))
    ).all()
    if not rows:
        return set()
    ids = {r.evaluator_id for r in rows}
    history = _history(session, ids)
    current = dict(session.execute(select(Evaluator.id, Evaluator.legal_representative)
                                   .where(Evaluator.id.in_(sorted(ids)))).all())
    projects: set[tuple[str, str]] = set()
    for row in rows:
        if row.evaluator_id not in current:
            continue  # an unknown evaluator is refused by 第十五条 and represents nobody
        name = _representative(history[row.evaluator_id], china_date(row.submitted_at), current[row.evaluator_id])
        if name == legal_representative:
            projects.add((row.credit_code, row.unit_type))
    return projects


# --------------------------------------------------------------------------- registry

@start_hook("evaluator_registry")
def start_evaluator_registry(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Normalise the registry form into ``registration``; raises InvalidInput naming the field."""
    evaluator_id = _evaluator_id(data.get("evaluator_id"))
    registration = {
        "evaluator_id": evaluator_id,
        "name": _text(data, "name", limit=200, label="机构名称"),
        "legal_representative": _text(data, "legal_representative", limit=100, label="法定代表人"),
        "national_qualified": bool(data.get("national_qualified", False)),
        "effective_on": str(data["effective_on"]) if data.get("effective_on") else None,
        "note": _text(data, "note", limit=2000, required=False),
    }
    if registration["effective_on"]:
        _date(registration["effective_on"], field="effective_on")
    existing = session.get(Evaluator, evaluator_id)
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"registration": registration},
        title=f"{'变更' if existing else '登记'}第三方评价机构 {evaluator_id} {registration['name']}",
        business_key=f"evaluator:{evaluator_id}",
        summary={"evaluator_id": evaluator_id, "evaluator_name": registration["name"],
                 "legal_representative": registration["legal_representative"]},
    )


@service_task("register_evaluator")
def register_evaluator(ctx: ServiceContext, *, registration: Mapping[str, Any]) -> dict[str, Any]:
    """Register a new evaluator or update one; a new legal representative starts a new history row.

    ``effective_on`` (China date, default today) is the day the new representative took office;
    it may lie in the past (a late registration moves the applications submitted since then to
    the new representative's quota, 第三十一条) but not in the future, and not on or before the
    day the current representative took office. Returns ``{"evaluator_id", "created",
    "representative_changed", "legal_representative", "previous_representative", "effective_on"}``.
    Raises InvalidInput naming the field.
    """
    values = dict(registration or {})
    evaluator_id = _evaluator_id(values.get("evaluator_id"))
    name = _text(values, "name", limit=200, label="机构名称")
    representative = _text(values, "legal_representative", limit=100, label="法定代表人")
    qualified = bool(values.get("national_qualified", False))
    note = _text(values, "note", limit=2000, required=False)
    now = ctx.clock.now()
    today = china_date(now)
    effective = _date(values["effective_on"], field="effective_on") if values.get("effective_on") else today
    if effective > today:
        raise InvalidInput(f"生效日期 {effective} 晚于今天 / effective_on {effective} is in the future",
                           field="effective_on")
    evaluator = ctx.session.get(Evaluator, evaluator_id)
    created = evaluator is None
    previous = None if created else evaluator.legal_representative
    changed = not created and previous != representative
    rows = _history(ctx.session, [evaluator_id])[evaluator_id]
    open_rows = [r for r in rows if r.valid_to is None]
    if created:
        evaluator = Evaluator(id=evaluator_id, name=name, legal_representative=representative,
                              national_qualified=qualified)
        ctx.session.add(evaluator)
        ctx.session.flush()
        ctx.session.add(EvaluatorRepresentative(
            evaluator_id=evaluator_id, legal_representative=representative, valid_from=effective, valid_to=None,
            recorded_by=ctx.actor, recorded_at=now, instance_id=ctx.instance_id, note=note))
    elif changed:
        current = open_rows[-1] if open_rows else None
        if current is not None and current.valid_from is not None and effective <= current.valid_from:
            raise InvalidInput(
                f"生效日期 {effective} 不晚于现任法定代表人{current.legal_representative}的任职起始日 "
                f"{current.valid_from}（{ARTICLE_31}按法定代表人计数） / effective_on must be after "
                f"{current.valid_from}, when the current representative took office", field="effective_on")
        if current is None:  # first change of an evaluator registered before the history existed
            current = EvaluatorRepresentative(
                evaluator_id=evaluator_id, legal_representative=previous, valid_from=None,
                recorded_by=ctx.actor, recorded_at=now, instance_id=ctx.instance_id,
                note="登记簿原有法定代表人（变更前） / representative on the register before the change")
            ctx.session.add(current)
        current.valid_to = effective
        ctx.session.add(EvaluatorRepresentative(
            evaluator_id=evaluator_id, legal_representative=representative, valid_from=effective, valid_to=None,
            recorded_by=ctx.actor, recorded_at=now, instance_id=ctx.instance_id, note=note))
    evaluator.name = name
    evaluator.legal_representative = representative
    evaluator.national_qualified = qualified
    ctx.session.flush()
    result = {"evaluator_id": evaluator_id, "created": created, "representative_changed": changed,
              "legal_representative": representative, "previous_representative": previous if changed else None,
              "effective_on": effective.isoformat() if (created or changed) else None,
              "national_qualified": qualified}
    ctx.record("evaluator_registered" if created else "evaluator_updated", **result, name=name)
    return result


# --------------------------------------------------------------------------- findings (第三十条)

@start_hook("evaluator_finding")
def start_evaluator_finding(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the finding form: a registered evaluator, a kind of 第三十条, the facts, a past date."""
    evaluator = _known_evaluator(session, data.get("evaluator_id"))
    kind = data.get("kind")
    if kind not in FINDING_KINDS:
        raise InvalidInput(f"查实情形应为 弄虚作假 / 故意隐瞒评价对象问题（{ARTICLE_30}） / kind must be fraud or "
                           f"concealment (Article 30)", field="kind")
    finding = {
        "evaluator_id": evaluator.id, "evaluator_name": evaluator.name, "kind": kind,
        "finding": _text(data, "finding", limit=5000, label="查实情况"),
        "evidence": _text(data, "evidence", limit=5000, required=False),
        "found_on": str(data.get("found_on") or ""),
    }
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"finding": finding},
        title=f"第三方机构 {evaluator.id} {evaluator.name} {FINDING_KINDS[kind]}查实通报",
        business_key=f"evaluator:{evaluator.id}",
        summary={"evaluator_id": evaluator.id, "evaluator_name": evaluator.name, "kind": kind},
    )


def _finding_of(session: Session, instance_id: int) -> EvaluatorFinding:
    row = session.scalar(select(EvaluatorFinding).where(EvaluatorFinding.instance_id == instance_id))
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 没有查实记录 / instance {instance_id} has no finding")
    return row


@service_task("record_evaluator_finding")
def record_evaluator_finding(ctx: ServiceContext, *, finding: Mapping[str, Any]) -> dict[str, Any]:
    """Store the finding as pending (not yet public, no ban). ``found_on`` defaults to today (China).

    Raises InvalidInput for an unknown evaluator, kind or a date in the future. Idempotent per instance.
    """
    row = ctx.session.scalar(select(EvaluatorFinding).where(EvaluatorFinding.instance_id == ctx.instance_id))
    if row is None:
        values = dict(finding or {})
        evaluator = _known_evaluator(ctx.session, values.get("evaluator_id"))
        if values.get("kind") not in FINDING_KINDS:
            raise InvalidInput(f"查实情形无效（{ARTICLE_30}） / unknown kind (Article 30)", field="kind")
        now = ctx.clock.now()
        found_on = _date(values["found_on"], field="found_on") if values.get("found_on") else china_date(now)
        if found_on > china_date(now):
            raise InvalidInput(f"查实日期 {found_on} 晚于今天 / found_on is in the future", field="found_on")
        row = EvaluatorFinding(
            instance_id=ctx.instance_id, evaluator_id=evaluator.id, evaluator_name=evaluator.name,
            legal_representative=representative_on(ctx.session, evaluator.id, found_on) or "",
            kind=values["kind"], finding=_text(values, "finding", limit=5000, label="查实情况"),
            evidence=_text(values, "evidence", limit=5000, required=False), found_on=found_on, article=ARTICLE_30,
            status="pending", recorded_by=ctx.actor, recorded_at=now)
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("evaluator_finding_recorded", finding_id=row.id, evaluator_id=row.evaluator_id, kind=row.kind,
                   found_on=found_on.isoformat(), article=ARTICLE_30)
    return {"id": row.id, "evaluator_id": row.evaluator_id, "status": row.status, "found_on": row.found_on.isoformat()}


@service_task("decide_evaluator_finding")
def decide_evaluator_finding(ctx: ServiceContext, *, decision: str, reason: str | None = None) -> dict[str, Any]:
    """Publish (通报) the finding with a three-year ban, or withdraw it (第三十条).

    ``publish``: the finding becomes public (``published_on`` = today, China) and an
    EvaluatorBan (article 第三十条, reason = the kind and finding number) runs from today to the
    day before the third anniversary; ``art30_evaluator_not_banned`` then refuses applications
    naming the evaluator. ``withdraw`` needs a reason and changes nothing else. Idempotent.
    Returns ``{"status", "ban_id", "ban_starts_on", "ban_ends_on"}``.
    """
    row = _finding_of(ctx.session, ctx.instance_id)
    if decision not in ("publish", "withdraw"):
        raise InvalidInput(f"未知的决定 {decision!r} / unknown decision", field="decision")
    now = ctx.clock.now()
    if row.status == "pending" and decision == "withdraw":
        if not (reason or "").strip():
            raise InvalidInput("撤销须说明理由 / a withdrawal needs a reason", field="reason")
        row.status, row.withdraw_reason, row.decided_by, row.decided_at = "withdrawn", reason.strip(), ctx.actor, now
        ctx.record("evaluator_finding_withdrawn", finding_id=row.id, evaluator_id=row.evaluator_id, reason=reason)
    elif row.status == "pending":
        starts_on, ends_on = ban_period(china_date(now))
        ban = EvaluatorBan(evaluator_id=row.evaluator_id, article=ARTICLE_30, starts_on=starts_on, ends_on=ends_on,
                           reason=f"评价过程中{FINDING_KINDS[row.kind]}，经查实予以通报（查实记录 {row.id}）")
        ctx.session.add(ban)
        ctx.session.flush()
        row.status, row.published_on, row.ban_id = "published", starts_on, ban.id
        row.decided_by, row.decided_at = ctx.actor, now
        ctx.record("evaluator_named", finding_id=row.id, evaluator_id=row.evaluator_id,
                   evaluator_name=row.evaluator_name, kind=row.kind, published_on=starts_on.isoformat(),
                   article=ARTICLE_30)
        ctx.record("evaluator_banned", evaluator_id=row.evaluator_id, ban_id=ban.id, starts_on=starts_on.isoformat(),
                   ends_on=ends_on.isoformat(), article=ARTICLE_30,
                   message_zh=f"第三方机构 {row.evaluator_id} 经查实{FINDING_KINDS[row.kind]}，予以通报，"
                              f"{ends_on.isoformat()}（含）前不予采信其出具的评价结果（{ARTICLE_30}）")
    ctx.session.flush()
    ban = ctx.session.get(EvaluatorBan, row.ban_id) if row.ban_id else None
    return {"status": row.status, "ban_id": row.ban_id,
            "ban_starts_on": ban.starts_on.isoformat() if ban else None,
            "ban_ends_on": ban.ends_on.isoformat() if ban else None}


def published_findings(session: Session) -> list[dict[str, Any]]:
    """The public 通报 list (第三十条), newest first: evaluator, finding, date, article, ban end.

    Plain dicts for the public pages; the evidence and the officials' names are never included.
    """
    rows = session.execute(
        select(EvaluatorFinding, EvaluatorBan.ends_on)
        .join(EvaluatorBan, EvaluatorBan.id == EvaluatorFinding.ban_id)
        .where(EvaluatorFinding.status == "published")
        .order_by(EvaluatorFinding.published_on.desc(), EvaluatorFinding.id.desc())
    ).all()
    return [{"evaluator_id": f.evaluator_id, "evaluator_name": f.evaluator_name,
             "legal_representative": f.legal_representative, "kind": f.kind, "kind_zh": FINDING_KINDS[f.kind],
             "finding": f.finding, "found_on": f.found_on.isoformat(), "published_on": f.published_on.isoformat(),
             "article": f.article, "not_accepted_until": ends_on.isoformat()} for f, ends_on in rows]


# --------------------------------------------------------------------------- annual work report (第三十一条)

def report_deadline_end(year: int) -> dt.datetime:
    """The moment the work report of ``year`` is late: April 30 24:00 China time (aware)."""
    month, day = REPORT_DEADLINE
    return dt.datetime(year, month, day, tzinfo=CHINA) + dt.timedelta(days=1)


def _national_evaluators(session: Session) -> list[dict[str, Any]]:
    return [{"evaluator_id": e.id, "name": e.name, "legal_representative": e.legal_representative}
            for e in session.scalars(select(Evaluator).where(Evaluator.national_qualified.is_(True))
                                     .order_by(Evaluator.id))]


@service_task("open_work_report_campaign")
def open_work_report_campaign(ctx: ServiceContext, *, year: int, scheduled_for: str | None = None) -> list[dict]:
    """Open ``year``'s work report (第三十一条) and list who must file: every national-qualified evaluator.

    The snapshot ``[{evaluator_id, name, legal_representative}]`` is kept in a
    WorkReportCampaign row. Idempotent for this instance; Conflict when another instance
    already runs ``year``.
    """
    year = _year(year)
    campaign = ctx.session.scalar(select(WorkReportCampaign).where(WorkReportCampaign.year == year))
    if campaign is not None:
        if campaign.instance_id != ctx.instance_id:
            raise Conflict(f"{year}年度第三方机构年度工作情况填报已由流程实例 {campaign.instance_id} 发起 / the {year} "
                           f"work report already runs in instance {campaign.instance_id}")
        return campaign.evaluators
    evaluators = _national_evaluators(ctx.session)
    month, day = REPORT_DEADLINE
    campaign = WorkReportCampaign(
        year=year, instance_id=ctx.instance_id, opened_at=ctx.clock.now(), deadline=dt.date(year, month, day),
        scheduled_for=dt.datetime.fromisoformat(scheduled_for).astimezone(UTC) if scheduled_for else None,
        evaluators=evaluators, status="open")
    ctx.session.add(campaign)
    ctx.session.flush()
    ctx.record("work_report_campaign_opened", year=year, evaluators=[e["evaluator_id"] for e in evaluators],
               deadline=campaign.deadline.isoformat(), article=ARTICLE_31)
    return evaluators


def _report_content(report: object) -> dict[str, Any]:
    if not isinstance(report, Mapping):
        raise InvalidInput("年度工作情况应为对象 / the report must be an object", field="report")
    content = {k: report.get(k) for k in _REPORT_FIELDS}
    for key in ("national_evaluations", "province_evaluations", "city_evaluations", "staff", "qualified_staff"):
        value = content[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{key} 应为非负整数 / {key} must be a whole number ≥ 0", field=key)
    if content["qualified_staff"] > content["staff"]:
        raise InvalidInput("专业人员数不能多于从业人员数 / qualified staff exceed the staff", field="qualified_staff")
    content["summary"] = _text(content, "summary", limit=10000, label="工作情况")
    content["improvements"] = _text(content, "improvements", limit=5000, required=False)
    return content


@service_task("record_work_report")
def record_work_report(ctx: ServiceContext, *, year: int, evaluator: Mapping[str, Any],
                       report: Mapping[str, Any]) -> dict[str, Any]:
    """Store (or, after a return, replace) ``evaluator``'s work report of ``year`` (第三十一条).

    Refused with RuleViolation(第三十一条) once April 30 has ended, even before the deadline
    timer runs. A corrected report keeps the earlier version in ``history``. Returns
    ``{"id", "year", "evaluator_id", "status", "version", "filed_at"}``.
    """
    year = _year(year)
    evaluator_row = _known_evaluator(ctx.session, (evaluator or {}).get("evaluator_id"), field="evaluator")
    content = _report_content(report)
    now = ctx.clock.now()
    if now >= report_deadline_end(year):
        raise RuleViolation(f"{year}年度第三方机构年度工作情况应于{year}年4月30日前填报，填报期已结束（{ARTICLE_31}） / "
                            f"the {year} work report was due by April 30 (Article 31)", article=ARTICLE_31,
                            field="year")
    row = ctx.session.scalar(select(EvaluatorWorkReport).where(EvaluatorWorkReport.year == year,
                                                               EvaluatorWorkReport.evaluator_id == evaluator_row.id))
    if row is None:
        row = EvaluatorWorkReport(year=year, evaluator_id=evaluator_row.id, instance_id=ctx.instance_id,
                                  content=content, history=[], version=1, status="submitted", filed_at=now,
                                  updated_at=now)
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("work_report_filed", year=year, evaluator_id=row.evaluator_id, report_id=row.id, version=1)
    elif row.instance_id != ctx.instance_id:
        raise Conflict(f"{evaluator_row.id} 的{year}年度工作情况已在流程实例 {row.instance_id} 中填报 / already filed "
                       f"in instance {row.instance_id}")
    elif row.status == "returned":
        row.history = [*row.history, {"version": row.version, "content": row.content, "status": row.status,
                                      "review_reason": row.review_reason}]
        row.content, row.version, row.status, row.updated_at = content, row.version + 1, "submitted", now
        ctx.record("work_report_corrected", year=year, evaluator_id=row.evaluator_id, report_id=row.id,
                   version=row.version)
    ctx.session.flush()
    return {"id": row.id, "year": year, "evaluator_id": row.evaluator_id, "status": row.status,
            "version": row.version, "filed_at": row.filed_at.isoformat()}


@service_task("review_work_report")
def review_work_report(ctx: ServiceContext, *, report: Mapping[str, Any], decision: str,
                       reason: str | None = None, opinion: str | None = None) -> dict[str, Any]:
    """Record the province's review of a work report: ``accept`` or ``return`` (needs a reason).

    A returned report must be corrected by April 30 (第三十一条). Returns the report's
    ``{"id", "year", "evaluator_id", "status", "version", "reason"}``.
    """
    row = ctx.session.get(EvaluatorWorkReport, int((report or {}).get("id") or 0))
    if row is None or row.instance_id != ctx.instance_id:
        raise NotFound("未找到本流程的年度工作情况 / no work report of this instance")
    if decision not in ("accept", "return"):
        raise InvalidInput(f"未知的审核结论 {decision!r} / unknown decision", field="decision")
    if decision == "return" and not (reason or "").strip():
        raise InvalidInput("退回修改须说明理由 / a return needs a reason", field="reason")
    now = ctx.clock.now()
    if row.status == "submitted":
        row.status = "accepted" if decision == "accept" else "returned"
        row.review_reason = (reason or "").strip() or (opinion or "").strip() or None
        row.reviewed_by, row.reviewed_at = ctx.actor, now
        ctx.record("work_report_reviewed", year=row.year, evaluator_id=row.evaluator_id, report_id=row.id,
                   version=row.version, decision=decision, reason=row.review_reason)
    return {"id": row.id, "year": row.year, "evaluator_id": row.evaluator_id, "status": row.status,
            "version": row.version, "reason": row.review_reason}


def _add_note(ctx: ServiceContext, evaluator_id: str, year: int, kind: str) -> EvaluatorNote | None:
    existing = ctx.session.scalar(select(EvaluatorNote).where(EvaluatorNote.evaluator_id == evaluator_id,
                                                              EvaluatorNote.year == year, EvaluatorNote.kind == kind))
    if existing is not None:
        return None
    occurred_on = report_deadline_end(year).date()  # May 1: the first day the report is late
    note = EvaluatorNote(
        evaluator_id=evaluator_id, year=year, kind=kind, article=ARTICLE_31, occurred_on=occurred_on,
        instance_id=ctx.instance_id,
        note=f"{year}年4月30日前{NOTE_KINDS[kind]}（{ARTICLE_31}：参与国家层面绿色制造评价工作的第三方机构应于每年4月30日前"
             f"填报“第三方机构年度工作情况”）；记入对第三方机构的监督管理（{ARTICLE_30}）")
    ctx.session.add(note)
    ctx.session.flush()
    ctx.record("evaluator_note_recorded", evaluator_id=evaluator_id, year=year, kind=kind, note_id=note.id,
               article=ARTICLE_31)
    return note


@service_task("record_work_report_missing")
def record_work_report_missing(ctx: ServiceContext, *, year: int, evaluator: Mapping[str, Any],
                               kind: str) -> dict[str, Any]:
    """April 30 has ended and the evaluator's report is missing (or returned and not corrected).

    Adds an EvaluatorNote (``work_report_not_filed`` / ``work_report_not_corrected``,
    article 第三十一条) dated May 1; once per evaluator, year and kind.
    Returns ``{"evaluator_id", "status": kind, "note_id"}``.
    """
    year = _year(year)
    if kind not in NOTE_KINDS:
        raise InvalidInput(f"未知的记录类型 {kind!r} / unknown note kind", field="kind")
    evaluator_id = _known_evaluator(ctx.session, (evaluator or {}).get("evaluator_id"), field="evaluator").id
    note = _add_note(ctx, evaluator_id, year, kind)
    if note is None:
        note = ctx.session.scalar(select(EvaluatorNote).where(EvaluatorNote.evaluator_id == evaluator_id,
                                                              EvaluatorNote.year == year, EvaluatorNote.kind == kind))
    return {"evaluator_id": evaluator_id, "status": kind, "note_id": note.id}


def _reports(session: Session, year: int) -> dict[str, EvaluatorWorkReport]:
    return {r.evaluator_id: r for r in session.scalars(select(EvaluatorWorkReport)
                                                       .where(EvaluatorWorkReport.year == year))}


def _campaign_evaluators(evaluators: object) -> list[dict[str, Any]]:
    if not isinstance(evaluators, list) or not all(isinstance(e, Mapping) and e.get("evaluator_id")
                                                   for e in evaluators):
        raise InvalidInput("evaluators 应为含 evaluator_id 的列表 / evaluators must be a list", field="evaluators")
    return [dict(e) for e in evaluators]


@service_task("remind_work_reports")
def remind_work_reports(ctx: ServiceContext, *, year: int, evaluators: list[dict[str, Any]]) -> dict[str, Any]:
    """Remind every evaluator whose report is missing or returned (第三十一条); too late → nobody.

    One notification per evaluator to role ``evaluator`` at ``evaluator:<id>``.
    Returns ``{"reminded": [ids]}``.
    """
    year = _year(year)
    reminded: list[str] = []
    if ctx.clock.now() >= report_deadline_end(year):
        return {"reminded": reminded}
    reports = _reports(ctx.session, year)
    due_at = report_deadline_end(year).isoformat()
    for evaluator in _campaign_evaluators(evaluators):
        report = reports.get(evaluator["evaluator_id"])
        if report is not None and report.status != "returned":
            continue
        what = "按退回意见改正" if report is not None else "填报"
        notify(ctx, kind="reminder", role="evaluator", scope=f"evaluator:{evaluator['evaluator_id']}",
               task_name="填报第三方机构年度工作情况", instance_title=f"{year}年度第三方机构年度工作情况",
               message_zh=f"{evaluator.get('name') or evaluator['evaluator_id']}：请于{year}年4月30日前{what}"
                          f"“第三方机构年度工作情况”（{ARTICLE_31}）")
        reminded.append(evaluator["evaluator_id"])
    ctx.record("work_report_reminders", year=year, reminded=reminded, due_at=due_at)
    return {"reminded": reminded}


@service_task("close_work_report_campaign")
def close_work_report_campaign(ctx: ServiceContext, *, year: int,
                               evaluators: list[dict[str, Any]]) -> dict[str, Any]:
    """Close ``year``'s work report: accepted, still returned, missing (第三十一条).

    Runs when every filing has ended (reviewed, or noted at the deadline). Evaluators without
    a report after April 30 get their EvaluatorNote here too if the filing did not record it.
    Returns ``{"year", "accepted", "returned", "missing", "notes"}``.
    """
    year = _year(year)
    evaluators = _campaign_evaluators(evaluators)
    reports = _reports(ctx.session, year)
    now = ctx.clock.now()
    missing = [e["evaluator_id"] for e in evaluators if e["evaluator_id"] not in reports]
    if missing and now >= report_deadline_end(year):
        for evaluator_id in missing:
            _add_note(ctx, evaluator_id, year, "work_report_not_filed")
    notes = ctx.session.scalars(select(EvaluatorNote.evaluator_id).where(EvaluatorNote.year == year)
                                .order_by(EvaluatorNote.evaluator_id)).all()
    result = {"year": year,
              "accepted": sorted(i for i, r in reports.items() if r.status == "accepted"),
              "returned": sorted(i for i, r in reports.items() if r.status == "returned"),
              "missing": missing, "notes": sorted(set(notes))}
    campaign = ctx.session.scalar(select(WorkReportCampaign).where(WorkReportCampaign.year == year))
    if campaign is not None and campaign.instance_id == ctx.instance_id:
        campaign.status, campaign.closed_at, campaign.result = "closed", now, result
    ctx.session.flush()
    ctx.record("work_report_campaign_closed", **result)
    return result

