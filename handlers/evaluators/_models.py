"""Tables and constants of the evaluators' work (第十五、三十、三十一条)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


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
