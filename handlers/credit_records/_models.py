"""The tables of the credit and compliance records (第二十七条第2—6项) and the kinds they come in."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

ARTICLE = "第二十七条"

# kind -> (item of 第二十七条, 中文, English).  The kind decides the item.
KINDS: dict[str, tuple[int, str, str]] = {
    "deregistered": (2, "工商注销", "deregistered"),
    "production_stopped": (2, "连续停产12个月以上", "production stopped for 12 months or more"),
    "abnormal_operation": (2, "被列入经营异常名录且未被移出", "on the abnormal-operation list"),
    "major_safety_accident": (3, "重大及以上生产安全事故", "major production safety accident"),
    "major_quality_accident": (3, "重大及以上质量事故", "major quality accident"),
    "major_pollution_incident": (3, "重大及以上环境污染事故（事件）", "major environmental pollution incident"),
    "major_cyber_data_incident": (3, "重大及以上网络安全、数据安全事件", "major cyber or data security incident"),
    "tax_evasion": (3, "偷漏税等违法违规行为", "tax evasion or a similar violation"),
    "serious_violation": (3, "其他严重违法违规行为", "another serious violation of law"),
    "inspection_finding": (4, "国务院及有关部委督查发现严重问题", "serious problem found by State Council inspection"),
    "energy_rectification": (5, "列入工业节能监察整改名单且未按要求完成整改",
                             "on the energy-inspection rectification list, not rectified"),
    "dishonest_debtor": (6, "被列为失信被执行人", "listed as a dishonest judgment debtor"),
}
ITEMS = (2, 3, 4, 5, 6)
ITEM_ZH = {2: "未正常经营生产", 3: "重大及以上事故或违法违规行为", 4: "督查发现严重问题",
           5: "节能监察整改名单未完成整改", 6: "失信被执行人"}


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CreditImport(Base):
    """One file of credit records imported at once (all its rows, or none)."""

    __tablename__ = "credit_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_ref: Mapped[str | None] = mapped_column(String(80))  # "sha256:<hex>" of the kept file
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_new: Mapped[int] = mapped_column(Integer)
    rows_duplicate: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CreditRecord(Base):
    """A ground of 第二十七条 items 2–6 received from its source (信用中国, 督查通报, 法院…), with its document.

    Each writes a ``NegativeRecord`` (the three-year bar of handlers.rules.management, the
    removal grounds of the list publication); for a listed unit a ``credit_record`` process
    records the removal (``removal_instance_id``) and, for a national unit, the report to MIIT.
    """

    __tablename__ = "credit_records"
    __table_args__ = (
        CheckConstraint("item BETWEEN 2 AND 6", name="item"),
        CheckConstraint(_in("kind", tuple(KINDS)), name="kind"),
        UniqueConstraint("credit_code", "kind", "occurred_on", "document_ref", name="uq_credit_records_record"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    item: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[dt.date] = mapped_column(Date)  # the date the source gives (China)
    source: Mapped[str] = mapped_column(String(200))  # 信用中国 / 国家企业信用信息公示系统 / …
    document_ref: Mapped[str] = mapped_column(String(200))  # the source document: 文号、案号、决定书编号
    document_file: Mapped[str | None] = mapped_column(String(80))  # "sha256:<hex>" (entered by hand)
    document_filename: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("credit_imports.id"), index=True)
    entered_by: Mapped[str] = mapped_column(String(120))
    entered_role: Mapped[str] = mapped_column(String(32))
    entered_scope: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    negative_record_id: Mapped[int] = mapped_column(Integer)
    removal_instance_id: Mapped[int | None] = mapped_column(Integer)
    miit_report_ref: Mapped[str | None] = mapped_column(String(200))
    miit_reported_on: Mapped[dt.date | None] = mapped_column(Date)
    miit_report_note: Mapped[str | None] = mapped_column(Text)
