"""The tables of the spot checks (现场抽查复核, 第二十六条): one per check, one per drawn unit."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

ARTICLE = "第二十六条"
PROCESS_ID = "spot_check"
SITE_PROCESS_ID = "spot_check_site"
LIST_LEVELS = {"city": ("市级", "city"), "province": ("省级", "provincial"), "national": ("国家级", "national")}
UNIT_TYPES = {"all": ("全部类型", "all types"), "factory": ("绿色工厂", "green factories"),
              "supply_chain": ("绿色供应链管理企业", "green supply-chain enterprises"),
              "park": ("绿色工业园区", "green industrial parks")}
FINDINGS = {"meets": ("仍符合标准", "still meets the standard"),
            "no_longer_meets": ("不再符合标准", "no longer meets the standard")}
MAX_SAMPLE = 200


class SpotCheck(Base):
    """One spot check: who organised it, the population it drew from, the seed and the drawn sample.

    ``population`` is the sorted credit codes the sample was drawn from; drawing again with the same
    ``seed`` from the same population gives the same ``sample`` (handlers.spot_checks.draw).
    """

    __tablename__ = "spot_checks"
    __table_args__ = (
        CheckConstraint("list_level IN ('city', 'province', 'national')", name="list_level"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    organiser_role: Mapped[str] = mapped_column(String(32))
    organiser_scope: Mapped[str] = mapped_column(String(16))
    list_level: Mapped[str] = mapped_column(String(16))
    list_scope: Mapped[str | None] = mapped_column(String(16))  # a city code; None: every list of the level
    unit_type: Mapped[str] = mapped_column(String(16))  # all | factory | supply_chain | park
    sample_size: Mapped[int | None] = mapped_column(Integer)  # as asked
    sample_rate: Mapped[int | None] = mapped_column(Integer)  # percent, as asked
    seed: Mapped[str] = mapped_column(String(64))
    population_size: Mapped[int] = mapped_column(Integer)
    population: Mapped[list[str]] = mapped_column(JSON)
    sample: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SpotCheckUnit(Base):
    """A drawn unit and its site check: the finding, its reason and evidence, the removals it started."""

    __tablename__ = "spot_check_units"
    __table_args__ = (
        CheckConstraint("finding IS NULL OR finding IN ('meets', 'no_longer_meets')", name="finding"),
        UniqueConstraint("spot_check_id", "credit_code", name="uq_spot_check_units_check_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order drawn, from 1
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str] = mapped_column(String(16))
    listings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the unit's listings when drawn
    checker_role: Mapped[str] = mapped_column(String(32))
    checker_scope: Mapped[str] = mapped_column(String(16))
    finding: Mapped[str | None] = mapped_column(String(16))
    checked_on: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_file: Mapped[str | None] = mapped_column(String(80))
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pending_removals: Mapped[list[int] | None] = mapped_column(JSON)
