"""The domain's tables: units, applications, listings, evaluators, negative records, notices.

Units are keyed by their credit code (GB 32100) and the other tables refer to it by value,
without a foreign key: listings and negative records are often imported from published
lists or credit registries before the unit ever applies here.  Every time is stored as
UTC (``UTCDateTime``); legal dates (negative records, bans) are plain ``Date``s in China.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime
from handlers.application import TARGET_LEVELS, UNIT_TYPES

__all__ = [
    "UTCDateTime",
    "Unit",
    "ApplicationRecord",
    "Listing",
    "Evaluator",
    "EvaluatorBan",
    "NegativeRecord",
    "CultivationRecord",
    "Notice",
    "Objection",
]


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Unit(Base):
    """An applicant: enterprise or development zone (申报单位)."""

    __tablename__ = "units"
    __table_args__ = (CheckConstraint(_in("unit_type", UNIT_TYPES), name="unit_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Type of its latest application; one enterprise may hold several lists (第二十三条),
    # so the list a unit is on is in Listing.unit_type, not here.
    unit_type: Mapped[str] = mapped_column(String(16))
    county_code: Mapped[str] = mapped_column(String(6), index=True)  # GA0000 for 贵安新区
    industry_code: Mapped[str | None] = mapped_column(String(4))  # GB/T 4754 division
    park_level: Mapped[str | None] = mapped_column(String(16))  # parks only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApplicationRecord(Base):
    """One row per started ``green_application`` instance: what was applied for, and the end."""

    __tablename__ = "application_records"
    __table_args__ = (
        CheckConstraint(_in("target_level", TARGET_LEVELS), name="target_level"),
        CheckConstraint(_in("status", ("open", "decided")), name="status"),
        # 第三十一条 counts national evaluations per evaluator and year.
        Index("ix_application_records_evaluator_year", "evaluator_id", "year", "target_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_type: Mapped[str] = mapped_column(String(16))
    target_level: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    evaluation_mode: Mapped[str] = mapped_column(String(16))  # self | third_party
    evaluator_id: Mapped[str | None] = mapped_column(String(32))  # as given; may be unknown
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Listing(Base):
    """A unit on a green-manufacturing list (绿色制造名单) of one level (第三条)."""

    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint(_in("level", TARGET_LEVELS), name="level"),
        CheckConstraint(_in("status", ("listed", "removed")), name="status"),
        UniqueConstraint("instance_id", "level", name="uq_listings_instance_level"),
        Index("ix_listings_unit_status", "credit_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    unit_type: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))  # city code, "520000" or "national"
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="listed")
    listed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    removal_ground: Mapped[str | None] = mapped_column(Text)  # e.g. "第二十七条第7项"
    instance_id: Mapped[int | None] = mapped_column(Integer)  # None for imported lists


class Evaluator(Base):
    """A third-party evaluation body (第三方评价机构, 第十五、三十、三十一条)."""

    __tablename__ = "evaluators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. EV001
    name: Mapped[str] = mapped_column(String(200))
    legal_representative: Mapped[str] = mapped_column(String(100), index=True)
    national_qualified: Mapped[bool] = mapped_column(Boolean, default=False)


class EvaluatorBan(Base):
    """A period in which an evaluator's reports are not accepted (第三十、三十二条: 三年内不予采信)."""

    __tablename__ = "evaluator_bans"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("evaluators.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    article: Mapped[str] = mapped_column(String(32))  # 第三十条 or 第三十二条
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)  # last day of the ban, inclusive


class NegativeRecord(Base):
    """A ground of 第二十七条 (items 1–8) found for a unit, on a China calendar date."""

    __tablename__ = "negative_records"
    __table_args__ = (
        CheckConstraint("item BETWEEN 1 AND 8", name="item"),
        Index("ix_negative_records_unit_date", "credit_code", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    item: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")  # e.g. 信用中国


class CultivationRecord(Base):
    """A unit a park cultivated in a year (第二十三条: 在申报年度组织培育创建)."""

    __tablename__ = "cultivation_records"
    __table_args__ = (
        UniqueConstraint("park_credit_code", "unit_credit_code", "year", name="uq_cultivation_records_park_unit_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    park_credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_credit_code: Mapped[str] = mapped_column(String(18))
    year: Mapped[int] = mapped_column(Integer)


class Notice(Base):
    """A public notice (公示) of a proposed listing (第二十条)."""

    __tablename__ = "notices"
    __table_args__ = (CheckConstraint(_in("level", ("city", "province")), name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    level: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    credit_code: Mapped[str] = mapped_column(String(18))
    unit_name: Mapped[str] = mapped_column(String(200))
    first_day: Mapped[dt.date | None] = mapped_column(Date)  # first working day of the notice (China)
    last_day: Mapped[dt.date | None] = mapped_column(Date)  # last working day of the notice (China)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"upheld": n, "rejected": m}


class Objection(Base):
    """An objection raised during a notice (公示异议); ``upheld`` is None until settled."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(32))
    organisation: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(100))
    matter: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    reply: Mapped[str | None] = mapped_column(Text)


class Campaign(Base):
    """One year's filing of the dynamic-management table (动态管理表, 第二十四条), by one instance.

    ``units`` is the snapshot of listed units taken when the campaign opened: the units that
    must file by April 15; ``missing`` the credit codes of those that had not filed when it
    closed (第二十七条第7项).
    """

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint(_in("status", ("open", "closed")), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[dt.date] = mapped_column(Date)  # April 15 of ``year``, the last day to file
    units: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    missing: Mapped[list[str] | None] = mapped_column(JSON)


class AnnualFiling(Base):
    """A listed unit's dynamic-management table for one year (第二十四条; 工信部节〔2024〕13号附件4).

    One per unit and year. ``indicators`` holds the form's values as submitted;
    ``schema_version`` is the version of the table's form they follow.
    """

    __tablename__ = "annual_filings"
    __table_args__ = (UniqueConstraint("year", "credit_code", name="uq_annual_filings_year_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    schema_version: Mapped[int] = mapped_column(Integer)


__all__ += ["Campaign", "AnnualFiling"]
