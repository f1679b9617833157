"""The province's yearly recommendation to MIIT, and MIIT's result (第二十一、二十二、二十七条).

第二十一条: 贵州省工业和信息化厅在省层面绿色制造名单中择优确定推荐国家层面绿色制造名单，并于每年7月31日前，
将名单推荐至工业和信息化部.

``national_recommendation`` is started by the scheduler every June 1 at 09:00:

1. ``open_national_recommendation`` takes the candidates: every unit with a current
   provincial listing and no national listing of the same type (第二十二条: national after
   provincial), each with a status — ``eligible``; ``barred`` (第二十七条 items 1–6 within
   three years: 不得推荐); ``pending_removal`` (a removal waits for the next publication);
   ``in_application`` (an open ``green_application`` with target national decides it itself).
2. 择优推荐国家级 (province): the selected units, the recommendation document; reminders on
   July 17 and July 28; the deadline is July 31 24:00.  ``record_national_selection`` refuses
   a unit that is not an eligible candidate, and anything after the deadline (第二十一条).
3. **Decision — deadline passed without a selection**: the window is closed for the year
   (第二十一条 sets the date, there is no late recommendation): ``lapse_national_recommendation``
   marks the batch ``lapsed`` (event ``national_recommendation_lapsed``) and the province's
   leadership gets an escalation; nobody is recommended that year.
4. 录入工信部结果 (province): which recommended units MIIT listed, its notice and date.
   ``record_miit_batch_result`` creates the national Listing of each listed unit (scope
   ``national``, the batch's year) and marks the others ``not_listed`` (they stay on the
   provincial list).

**Relation to green_application** (decision): a unit that applied for the national list
(target ``national``) is recommended and gets MIIT's result inside its own application
(``recommend_national`` / ``record_miit_result``, unchanged); the batch shows it as
``in_application`` and cannot select it a second time.  Both paths write the same national
Listing rows; a unit already on the national list is never a candidate.

Services never commit: the command runner does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import CHINA, china_date
from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, RuleViolation
from engine.models import HumanTask
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.fields import record_key, stored_row
from handlers.records import ApplicationRecord, Listing, Unit
from handlers.removals import PendingRemoval
from handlers.rules.management import barring_items

__all__ = [
    "PROCESS_ID", "DEADLINE", "NationalBatch", "NationalRecommendation", "deadline_end", "candidates",
    "open_national_recommendation", "record_national_selection", "lapse_national_recommendation",
    "record_miit_batch_result", "batch_view",
]

PROCESS_ID = "national_recommendation"
ARTICLE = "第二十一条"
DEADLINE = (7, 31)  # 第二十一条: 每年7月31日前
BATCH_STATUSES = ("open", "recommended", "lapsed", "result_recorded")
ITEM_STATUSES = ("recommended", "listed", "not_listed")


class NationalBatch(Base):
    """One year's recommendation of provincial units to MIIT (第二十一条)."""

    __tablename__ = "national_recommendation_batches"
    __table_args__ = (CheckConstraint(f"status IN {BATCH_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[dt.date] = mapped_column(Date)  # July 31 of ``year``, the last day
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")
    recommended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recommended_by: Mapped[str | None] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(200))  # the recommendation document number
    recommendation_file: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    lapsed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    miit_published_on: Mapped[dt.date | None] = mapped_column(Date)
    miit_notice_ref: Mapped[str | None] = mapped_column(String(200))
    miit_note: Mapped[str | None] = mapped_column(Text)
    result_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    result_recorded_by: Mapped[str | None] = mapped_column(String(120))


class NationalRecommendation(Base):
    """A unit the province recommended to MIIT in a batch, and what MIIT decided."""

    __tablename__ = "national_recommendations"
    __table_args__ = (
        CheckConstraint(f"status IN {ITEM_STATUSES!r}", name="status"),
        UniqueConstraint("batch_id", "credit_code", "unit_type", name="uq_national_recommendations_batch_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("national_recommendation_batches.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_type: Mapped[str] = mapped_column(String(16))
    provincial_listing_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="recommended")
    national_listing_id: Mapped[int | None] = mapped_column(Integer)


def deadline_end(year: int) -> dt.datetime:
    """July 31 24:00 China time of ``year``: no recommendation after it (第二十一条)."""
    month, day = DEADLINE
    return dt.datetime(year, month, day, tzinfo=CHINA) + dt.timedelta(days=1)


def _year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise InvalidInput(f"年度无效：{year!r} / invalid year {year!r}", field="year")
    return year


@start_hook(PROCESS_ID)
def start_national_recommendation(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Seeds the optional form fields the services read; the scheduler gives scheduled_for / scheduled_year."""
    year = _year(data.get("scheduled_year"))
    return StartInfo(
        data={"recommendation_ref": "", "recommendation_file": "", "recommendation_note": "",
              "miit_notice_ref": "", "miit_note": ""},
        title=f"{year}年度国家层面绿色制造名单推荐", business_key=f"national_recommendation:{year}",
        summary={"year": year})


# --------------------------------------------------------------------------- candidates

def _open_national_applications(session: Session, codes: list[str]) -> dict[str, str]:
    """credit code -> stage of its open national application (awaiting recommendation / MIIT)."""
    if not codes:
        return {}
    found: dict[str, str] = {}
    rows = session.execute(select(ApplicationRecord.credit_code, ApplicationRecord.instance_id).where(
        ApplicationRecord.credit_code.in_(codes), ApplicationRecord.target_level == "national",
        ApplicationRecord.status == "open")).all()
    for code, instance_id in rows:
        open_tasks = set(session.scalars(select(HumanTask.bpmn_id).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")))
        found[code] = ("recommended_awaiting_miit" if "record_miit_result" in open_tasks
                       else "awaiting_recommendation" if "recommend_national" in open_tasks else "in_review")
    return found


def candidates(session: Session, today: dt.date) -> list[dict[str, Any]]:
    """Every provincial unit that could go to MIIT, with its status (see the module docstring); nothing is written."""
    provincial = list(session.scalars(select(Listing).where(Listing.level == "province", Listing.status == "listed")
                                      .order_by(Listing.id)))
    national = {(row.credit_code, row.unit_type) for row in session.scalars(
        select(Listing).where(Listing.level == "national", Listing.status == "listed"))}
    rows = [row for row in provincial if (row.credit_code, row.unit_type) not in national]
    codes = sorted({row.credit_code for row in rows})
    names = dict(session.execute(select(Unit.credit_code, Unit.name).where(Unit.credit_code.in_(codes))).all()) \
        if codes else {}
    barred = barring_items(session, codes, today)
    pending = set(session.scalars(select(PendingRemoval.listing_id).where(
        PendingRemoval.published_at.is_(None), PendingRemoval.listing_id.in_([row.id for row in rows]))))
    applying = _open_national_applications(session, codes)
    out = []
    for row in rows:
        entry = {"credit_code": row.credit_code, "unit_name": names.get(row.credit_code, ""),
                 "unit_type": row.unit_type, "provincial_listing_id": row.id, "provincial_year": row.year,
                 "status": "eligible"}
        if row.credit_code in barred:
            entry.update(status="barred", article="第二十七条", items=sorted(barred[row.credit_code]))
        elif row.id in pending:
            entry.update(status="pending_removal", article="第二十七条")
        elif row.credit_code in applying:
            entry.update(status="in_application", stage=applying[row.credit_code])
        out.append(entry)
    return out


def _batch(session: Session, batch: object) -> NationalBatch:
    row = stored_row(session, NationalBatch, batch)
    if row is None:
        key = record_key(batch)
        raise InvalidInput(f"推荐批次 {key!r} 不存在 / no such batch", field="recommendation")
    return row


def _view(row: NationalBatch) -> dict[str, Any]:
    return {"id": row.id, "year": row.year, "deadline": row.deadline.isoformat(), "status": row.status,
            "candidates": row.candidates,
            "eligible": [c["credit_code"] for c in row.candidates if c["status"] == "eligible"]}


# --------------------------------------------------------------------------- service tasks

@service_task("open_national_recommendation")
def open_national_recommendation(ctx: ServiceContext, *, year: int, scheduled_for: str | None = None) -> dict[str, Any]:
    """Open ``year``'s batch with its candidates (第二十一、二十二、二十七条); idempotent for this instance.

    Raises Conflict when another instance already runs ``year``'s recommendation.
    """
    year = _year(year)
    row = ctx.session.scalar(select(NationalBatch).where(NationalBatch.year == year))
    if row is not None:
        if row.instance_id != ctx.instance_id:
            raise Conflict(f"{year}年度国家级推荐已由流程实例 {row.instance_id} 发起 / already in instance {row.instance_id}")
        return _view(row)
    found = candidates(ctx.session, china_date(ctx.clock.now()))
    month, day = DEADLINE
    row = NationalBatch(year=year, instance_id=ctx.instance_id, opened_at=ctx.clock.now(),
                        deadline=dt.date(year, month, day), candidates=found, status="open")
    ctx.session.add(row)
    ctx.session.flush()
    ctx.record("national_recommendation_opened", batch_id=row.id, year=year, deadline=row.deadline.isoformat(),
               candidates={c["credit_code"]: c["status"] for c in found}, article=ARTICLE)
    return _view(row)


def _codes(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("应为统一社会信用代码列表 / a list of credit codes is expected", field=field)
    codes = [v.strip() for v in value]
    if len(set(codes)) != len(codes):
        raise InvalidInput("同一单位重复 / a unit is listed twice", field=field)
    return codes


@service_task("record_national_selection")
def record_national_selection(ctx: ServiceContext, *, recommendation: Mapping[str, Any], recommended: list[str],
                              reference: str | None = None, recommendation_file: str | None = None,
                              note: str | None = None) -> dict[str, Any]:
    """Keep the province's selection (第二十一条): one NationalRecommendation per unit.

    Refused, nothing written: after July 31 (RuleViolation 第二十一条, field
    recommended_units); a unit not on the provincial list or already national (第二十一条,
    第二十二条); a unit barred by 第二十七条 items 1–6 (不得推荐) or with a pending removal
    (第二十七条); a unit decided in its own national application; no document number when
    units are recommended (field recommendation_ref).  An empty selection recommends nobody.
    Returns ``{"count", "recommended": [codes]}``.
    """
    row = _batch(ctx.session, recommendation)
    now = ctx.clock.now()
    if now >= deadline_end(row.year):
        raise RuleViolation(f"国家层面名单应于{row.year}年7月31日前推荐至工业和信息化部，推荐期已过（{ARTICLE}） / "
                            f"the recommendation was due by July 31 (Article 21)", article=ARTICLE,
                            field="recommended_units")
    if row.status != "open":
        raise Conflict(f"{row.year}年度推荐已{row.status} / the batch is already {row.status}")
    codes = _codes(recommended, "recommended_units")
    fresh = {c["credit_code"]: c for c in candidates(ctx.session, china_date(now))}
    chosen = []
    for code in codes:
        cand = fresh.get(code)
        if cand is None:
            raise RuleViolation(f"{code} 不在省层面绿色制造名单内或已列入国家层面名单，不能推荐（{ARTICLE}：在省层面名单中择优推荐）"
                                f" / {code} is not a provincial unit awaiting national listing", article=ARTICLE,
                                field="recommended_units")
        if cand["status"] == "barred":
            items = "、".join(str(i) for i in cand["items"])
            raise RuleViolation(f"{code} 近三年存在第二十七条第{items}项情形，不得推荐 / {code} has grounds {items} of "
                                f"Article 27 within three years", article="第二十七条", field="recommended_units")
        if cand["status"] == "pending_removal":
            raise RuleViolation(f"{code} 待在新发布名单时移出（第二十七条），不予推荐 / {code} awaits removal",
                                article="第二十七条", field="recommended_units")
        if cand["status"] == "in_application":
            raise InvalidInput(f"{code} 的国家层面申报在其申报流程中推荐并录入结果，不在批次中重复推荐 / {code} is "
                               f"decided in its own national application", field="recommended_units")
        chosen.append(cand)
    reference = str(reference or "").strip()
    if chosen and not reference:
        raise InvalidInput(f"推荐须出具推荐文件并填写文号（{ARTICLE}）/ the recommendation document number is required",
                           field="recommendation_ref")
    for cand in chosen:
        ctx.session.add(NationalRecommendation(batch_id=row.id, credit_code=cand["credit_code"],
                                               unit_type=cand["unit_type"],
                                               provincial_listing_id=cand["provincial_listing_id"],
                                               status="recommended"))
    row.status = "recommended"
    row.recommended_at, row.recommended_by = now, ctx.actor
    row.reference = reference or None
    row.recommendation_file = str(recommendation_file or "").strip() or None
    row.note = str(note or "").strip() or None
    ctx.session.flush()
    ctx.record("national_recommendation_submitted", batch_id=row.id, year=row.year, reference=row.reference,
               recommended=[c["credit_code"] for c in chosen], article=ARTICLE)
    return {"count": len(chosen), "recommended": [c["credit_code"] for c in chosen]}


@service_task("lapse_national_recommendation")
def lapse_national_recommendation(ctx: ServiceContext, *, recommendation: Mapping[str, Any]) -> dict[str, Any]:
    """July 31 ended without a selection: the batch is ``lapsed``, nobody is recommended this year (第二十一条)."""
    row = _batch(ctx.session, recommendation)
    if row.status == "open":
        row.status, row.lapsed_at = "lapsed", ctx.clock.now()
        ctx.session.flush()
        ctx.record("national_recommendation_lapsed", batch_id=row.id, year=row.year,
                   deadline=row.deadline.isoformat(), article=ARTICLE)
    return {"status": row.status, "year": row.year}


@service_task("record_miit_batch_result")
def record_miit_batch_result(ctx: ServiceContext, *, recommendation: Mapping[str, Any], listed: list[str],
                             published_on: str, notice_ref: str | None = None,
                             note: str | None = None) -> dict[str, Any]:
    """MIIT's published result for the batch: national Listings for the listed units, the rest ``not_listed``.

    Raises InvalidInput: a listed unit that was not recommended (field miit_listed_units), a
    publication date that is not a date or lies in the future (miit_published_on), no
    notice reference when units are listed (miit_notice_ref); Conflict when already recorded.
    Returns ``{"listed": [codes], "not_listed": [codes]}``.
    """
    row = _batch(ctx.session, recommendation)
    if row.status != "recommended":
        raise Conflict(f"{row.year}年度推荐批次状态为 {row.status}，不能录入结果 / the batch is {row.status}")
    codes = _codes(listed, "miit_listed_units")
    try:
        day = dt.date.fromisoformat(str(published_on))
    except ValueError:
        raise InvalidInput("公布日期格式应为 YYYY-MM-DD / not a date", field="miit_published_on") from None
    now = ctx.clock.now()
    if day > china_date(now):
        raise InvalidInput("公布日期不能晚于今天 / the date is in the future", field="miit_published_on")
    items = list(ctx.session.scalars(select(NationalRecommendation).where(NationalRecommendation.batch_id == row.id)
                                     .order_by(NationalRecommendation.id)))
    recommended = {item.credit_code for item in items}
    unknown = [code for code in codes if code not in recommended]
    if unknown:
        raise InvalidInput(f"{'、'.join(unknown)} 未在本批次推荐 / not recommended in this batch", field="miit_listed_units")
    notice_ref = str(notice_ref or "").strip()
    if codes and not notice_ref:
        raise InvalidInput("须填写工信部公告文号或名单批次 / the notice reference is required", field="miit_notice_ref")
    for item in items:
        if item.credit_code not in codes:
            item.status = "not_listed"
            continue
        item.status = "listed"
        listing = ctx.session.scalar(select(Listing).where(
            Listing.credit_code == item.credit_code, Listing.unit_type == item.unit_type, Listing.level == "national",
            Listing.status == "listed"))
        if listing is None:
            listing = Listing(credit_code=item.credit_code, unit_type=item.unit_type, level="national",
                              scope="national", year=row.year, status="listed", listed_at=now, instance_id=None)
            ctx.session.add(listing)
            ctx.session.flush()
            ctx.record("listing_recorded", credit_code=item.credit_code, level="national", scope="national",
                       year=row.year, listing_id=listing.id, miit_notice_ref=notice_ref)
        item.national_listing_id = listing.id
    row.status = "result_recorded"
    row.miit_published_on, row.miit_notice_ref = day, notice_ref or None
    row.miit_note = str(note or "").strip() or None
    row.result_recorded_at, row.result_recorded_by = now, ctx.actor
    ctx.session.flush()
    result = {"listed": [i.credit_code for i in items if i.status == "listed"],
              "not_listed": [i.credit_code for i in items if i.status == "not_listed"]}
    ctx.record("miit_result_recorded", batch_id=row.id, year=row.year, published_on=day.isoformat(),
               notice_ref=notice_ref or None, **result)
    return result


def batch_view(session: Session, year: int) -> dict[str, Any] | None:
    """A year's batch: ``{year, status, deadline, reference, recommended: [{credit_code, unit_type, status}]}``."""
    row = session.scalar(select(NationalBatch).where(NationalBatch.year == year))
    if row is None:
        return None
    items = session.scalars(select(NationalRecommendation).where(NationalRecommendation.batch_id == row.id)
                            .order_by(NationalRecommendation.id))
    return {"year": row.year, "status": row.status, "deadline": row.deadline.isoformat(), "reference": row.reference,
            "miit_notice_ref": row.miit_notice_ref,
            "recommended": [{"credit_code": i.credit_code, "unit_type": i.unit_type, "status": i.status}
                            for i in items]}
