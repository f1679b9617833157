"""Review of the filed dynamic-management tables by the county or city (第二十四条).

After a unit files its table (``annual_table_filing``), the industry department of its county
reviews it (贵安新区 and other places without a county level: the city-level department):

- **accept** (通过): the data counts for the enterprise green code (第二十五条);
- **return** (退回修改) with a reason: the unit corrects and refiles the table, and it is reviewed
  again — as often as needed, until April 15 24:00 (第二十四条);
- **flag as abnormal** (数据异常) with a reason: the table stays on file but gets no code
  (第二十五条: 填报不规范、数据异常，不对其赋码).

The review outcome lives in ``FilingReview`` (one row per filing), each correction keeps the
values it replaced in ``FilingCorrection``. When the campaign closes, ``settle_reviews``
turns what is still open into a final state: a table still waiting for its review was filed on
time and counts as accepted (``lapsed``); a returned table that was not corrected in time is
``irregular`` (填报不规范, no code).

The table's indicators are stored as JSON with the version (``x-format``) of the form they
follow, ``bpmn/forms/annual_table.schema.json``; ``current_indicators`` lifts older versions
to the current one through ``INDICATOR_UPGRADES``.

Services never commit: the command runner does, so a failing service leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotFound, RuleViolation
from engine.services import ServiceContext, service_task
from handlers.campaign import filing_deadline_end
from handlers.divisions import PROVINCE, city_of, division, is_county
from handlers.records import AnnualFiling, Listing, Unit

__all__ = [
    "ANNUAL_TABLE_FORMAT",
    "DECISIONS",
    "ELIGIBLE_STATUSES",
    "INDICATOR_UPGRADES",
    "REVIEW_STATUSES",
    "FilingCorrection",
    "FilingReview",
    "amend_filing",
    "current_indicators",
    "open_filing_review",
    "record_filing_review",
    "reviewer_of",
    "settle_reviews",
]

# x-format of bpmn/forms/annual_table.schema.json; a test keeps the two equal.
ANNUAL_TABLE_FORMAT = 1

# format -> function lifting a table of that format to format + 1 (docstring: what changed).
INDICATOR_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

DECISIONS = {"accept": "accepted", "return": "returned", "abnormal": "abnormal"}
REVIEW_STATUSES = ("pending", "accepted", "returned", "abnormal", "lapsed", "irregular")
ELIGIBLE_STATUSES = frozenset({"accepted", "lapsed"})  # may receive a green code (第二十五条)
ARTICLE = "第二十四条"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FilingReview(Base):
    """The county's (or city's) review of one filed table (第二十四条); one row per filing.

    ``status``: pending → accepted | returned | abnormal; returned → pending again when the
    unit corrects; at the campaign's close pending → lapsed (filed on time, not reviewed:
    counts as accepted) and returned → irregular (not corrected in time). ``round`` counts the
    submissions reviewed (1 = the first filing).
    """

    __tablename__ = "filing_reviews"
    __table_args__ = (CheckConstraint(_in("status", REVIEW_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("annual_filings.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    reviewer_role: Mapped[str] = mapped_column(String(32))
    reviewer_scope: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    round: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str | None] = mapped_column(Text)
    opinion: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    corrected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class FilingCorrection(Base):
    """A correction of a returned table: the values it replaced and why it was returned."""

    __tablename__ = "filing_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("annual_filings.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # the round that was returned
    return_reason: Mapped[str] = mapped_column(Text)
    previous_indicators: Mapped[dict[str, Any]] = mapped_column(JSON)
    previous_schema_version: Mapped[int] = mapped_column(Integer)
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- indicator versions

def current_indicators(indicators: Mapping[str, Any], schema_version: int) -> dict[str, Any]:
    """``indicators`` of form version ``schema_version`` lifted to ``ANNUAL_TABLE_FORMAT``.

    Raises InvalidInput(field="schema_version") for a version newer than this code or one
    without an upgrade path.
    """
    version = schema_version
    data = dict(indicators)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1 or version > ANNUAL_TABLE_FORMAT:
        raise InvalidInput(f"动态管理表格式版本 {version!r} 未知 / unknown table format {version!r}",
                           field="schema_version")
    while version < ANNUAL_TABLE_FORMAT:
        upgrade = INDICATOR_UPGRADES.get(version)
        if upgrade is None:
            raise InvalidInput(f"动态管理表格式 {version} 无法升级 / no upgrade from table format {version}",
                               field="schema_version")
        data, version = upgrade(data), version + 1
    return data


# --------------------------------------------------------------------------- who reviews

def reviewer_of(session: Session, credit_code: str) -> tuple[str, str]:
    """(role, scope) of the department that reviews ``credit_code``'s table (第二十四条).

    The county department of the unit's county; where there is no county level (贵安新区, a
    unit registered at city level) the city-level department. A unit known only from an
    imported list (no Unit row) is reviewed by the department that published that list: a
    city list by the city, a province or national list by the province.
    """
    unit = session.scalar(select(Unit).where(Unit.credit_code == credit_code))
    if unit is not None:
        if is_county(unit.county_code):
            return "county_official", division(unit.county_code).code
        return "city_official", city_of(unit.county_code)
    scopes = session.scalars(select(Listing.scope).where(Listing.credit_code == credit_code,
                                                         Listing.status == "listed").order_by(Listing.id)).all()
    for scope in scopes:
        found = _city_scope(scope)
        if found:
            return "city_official", found
    return "province_official", PROVINCE


def _city_scope(scope: str) -> str | None:
    try:
        return city_of(scope)
    except InvalidInput:
        return None


# --------------------------------------------------------------------------- services

def _filing(session: Session, filing: object) -> AnnualFiling:
    filing_id = filing.get("id") if isinstance(filing, Mapping) else None
    if isinstance(filing_id, bool) or not isinstance(filing_id, int):
        raise InvalidInput("filing 应为含 id 的填报记录 / filing must be a stored filing with an id", field="filing")
    row = session.get(AnnualFiling, filing_id)
    if row is None:
        raise NotFound(f"动态管理表填报 {filing_id} 不存在 / annual filing {filing_id} not found")
    return row


def _review(session: Session, filing: AnnualFiling) -> FilingReview:
    review = session.scalar(select(FilingReview).where(FilingReview.filing_id == filing.id))
    if review is None:
        raise NotFound(f"动态管理表填报 {filing.id} 尚未提交审核 / filing {filing.id} has no review")
    return review


def _view(review: FilingReview) -> dict[str, Any]:
    return {"review_id": review.id, "filing_id": review.filing_id, "status": review.status, "round": review.round,
            "reviewer_role": review.reviewer_role, "reviewer_scope": review.reviewer_scope,
            "reason": review.reason}


@service_task("open_filing_review")
def open_filing_review(ctx: ServiceContext, *, filing: Mapping[str, Any]) -> dict[str, Any]:
    """Send a filed table to its reviewer (第二十四条): county, else city, else province.

    Returns ``{"review_id", "filing_id", "status": "pending", "round", "reviewer_role",
    "reviewer_scope", "reason"}``; the diagram's review lane uses the role and scope. A retried
    task gets the row it created. Raises InvalidInput for a filing without id, NotFound for an
    unknown one.
    """
    row = _filing(ctx.session, filing)
    review = ctx.session.scalar(select(FilingReview).where(FilingReview.filing_id == row.id))
    if review is None:
        role, scope = reviewer_of(ctx.session, row.credit_code)
        review = FilingReview(filing_id=row.id, year=row.year, credit_code=row.credit_code, reviewer_role=role,
                              reviewer_scope=scope, status="pending", round=1, opened_at=ctx.clock.now())
        ctx.session.add(review)
        ctx.session.flush()
        ctx.record("annual_table_review_opened", filing_id=row.id, year=row.year, credit_code=row.credit_code,
                   reviewer_role=role, reviewer_scope=scope)
    return _view(review)


@service_task("record_filing_review")
def record_filing_review(ctx: ServiceContext, *, filing: Mapping[str, Any], decision: str,
                         reason: str | None = None, opinion: str | None = None) -> dict[str, Any]:
    """Record the reviewer's decision on a pending table (第二十四条, 第二十五条).

    ``decision``: ``accept`` | ``return`` (the unit corrects) | ``abnormal`` (no green code).
    A return or a flag needs a reason. Raises InvalidInput(field="decision"/"reason") for a bad
    decision or a missing reason, Conflict when the table is not waiting for a review.
    Returns the review as ``open_filing_review`` does, with the new status.
    """
    if decision not in DECISIONS:
        raise InvalidInput(f"审核结论应为 accept / return / abnormal，而不是 {decision!r}（第二十四条） / "
                           f"unknown decision {decision!r}", field="decision")
    reason = (reason or "").strip() or None
    if decision != "accept" and reason is None:
        article = "第二十五条" if decision == "abnormal" else ARTICLE
        raise RuleViolation(f"退回修改或认定数据异常须说明理由（{article}） / a return or an abnormal flag needs a "
                            f"reason (Article {24 if article == ARTICLE else 25})", article=article, field="reason")
    row = _filing(ctx.session, filing)
    review = _review(ctx.session, row)
    if review.status != "pending":
        raise Conflict(f"动态管理表填报 {row.id} 当前状态为 {review.status}，不在待审核状态 / filing {row.id} is "
                       f"{review.status}, not waiting for a review")
    review.status = DECISIONS[decision]
    review.reason = reason
    review.opinion = (opinion or "").strip() or None
    review.decided_by = ctx.actor
    review.decided_at = ctx.clock.now()
    ctx.session.flush()
    ctx.record("annual_table_reviewed", filing_id=row.id, year=row.year, credit_code=row.credit_code,
               decision=decision, status=review.status, round=review.round, reason=reason, by=ctx.actor)
    return _view(review)


@service_task("amend_filing")
def amend_filing(ctx: ServiceContext, *, filing: Mapping[str, Any], indicators: Mapping[str, Any],
                 schema_version: int) -> dict[str, Any]:
    """Replace a returned table's indicators with the unit's correction; review it again.

    The replaced values are kept in a FilingCorrection; ``filed_at`` stays the first filing
    (it was on time). Refused with RuleViolation(第二十四条) once April 15 of the year has ended:
    a table returned and not corrected by then is 填报不规范 (no code, 第二十五条). Raises
    Conflict when the table was not returned, InvalidInput for non-object indicators or an
    unknown format. Returns the review (status ``pending``, next round).
    """
    if not isinstance(indicators, Mapping):
        raise InvalidInput("动态管理表内容应为对象 / the table must be an object", field="indicators")
    current_indicators(indicators, schema_version)  # refuses an unknown format
    row = _filing(ctx.session, filing)
    now = ctx.clock.now()
    if now >= filing_deadline_end(row.year):
        raise RuleViolation(
            f"{row.year}年度动态管理表的修改应于{row.year}年4月15日前提交，填报期已结束（第二十四条） / corrections "
            f"were due by April 15 (Article 24)", article=ARTICLE, field="year")
    review = _review(ctx.session, row)
    if review.status != "returned":
        raise Conflict(f"动态管理表填报 {row.id} 未被退回，不能修改（当前 {review.status}） / filing {row.id} was "
                       f"not returned ({review.status})")
    ctx.session.add(FilingCorrection(
        filing_id=row.id, round=review.round, return_reason=review.reason or "",
        previous_indicators=dict(row.indicators), previous_schema_version=row.schema_version,
        corrected_by=ctx.actor, corrected_at=now))
    row.indicators = dict(indicators)
    row.schema_version = int(schema_version)
    review.status = "pending"
    review.round += 1
    review.corrected_at = now
    review.reason = review.opinion = review.decided_by = None
    review.decided_at = None
    ctx.session.flush()
    ctx.record("annual_table_corrected", filing_id=row.id, year=row.year, credit_code=row.credit_code,
               round=review.round, schema_version=row.schema_version, by=ctx.actor)
    return _view(review)


def settle_reviews(session: Session, year: int, *, now: dt.datetime) -> dict[str, list[str]]:
    """Close ``year``'s reviews when the filing period is over (第二十四、二十五条).

    Tables still waiting for a review were filed on time: ``lapsed`` (counted as accepted).
    Tables returned and not corrected: ``irregular`` (填报不规范, no green code). A filing
    without a review row (filed before reviews existed) gets a lapsed one. Does nothing before
    April 15 of ``year`` has ended (the units may still correct). Idempotent.
    Returns ``{"lapsed": [credit codes], "irregular": [credit codes]}``.
    """
    settled: dict[str, list[str]] = {"lapsed": [], "irregular": []}
    if now < filing_deadline_end(year):
        return settled
    reviewed = set(session.scalars(select(FilingReview.filing_id).where(FilingReview.year == year)))
    for filing in session.scalars(select(AnnualFiling).where(AnnualFiling.year == year).order_by(AnnualFiling.id)):
        if filing.id not in reviewed:
            session.add(FilingReview(filing_id=filing.id, year=year, credit_code=filing.credit_code,
                                     reviewer_role="", reviewer_scope="", status="pending", round=1, opened_at=now))
    session.flush()
    for review in session.scalars(select(FilingReview).where(FilingReview.year == year,
                                                             FilingReview.status.in_(("pending", "returned")))
                                  .order_by(FilingReview.credit_code)):
        final = "lapsed" if review.status == "pending" else "irregular"
        review.status = final
        review.decided_at = now
        review.decided_by = "system"
        settled[final].append(review.credit_code)
    session.flush()
    return settled
