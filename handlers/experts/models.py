"""Tables of the expert pool and of each application's review panel (第十八条 组织专家评审)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class ExpertProfile(Base):
    """An expert of the pool (专家库): a user holding role ``expert`` and what the draw needs to know."""

    __tablename__ = "expert_profiles"

    username: Mapped[str] = mapped_column(String(120), primary_key=True)
    # Fields of expertise: GB/T 4754 divisions ("39") and unit types ("factory", "supply_chain", "park").
    fields: Mapped[list[str]] = mapped_column(JSON)
    # Where the expert lives and works: a county (or a city / 贵安新区) code; avoided for its applicants.
    home_division: Mapped[str] = mapped_column(String(16))
    # The third-party evaluator the expert belongs to, if any; avoided for the applications it evaluated.
    evaluator_id: Mapped[str | None] = mapped_column(ForeignKey("evaluators.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(120))


class ExpertPanelDraw(Base):
    """One draw for one application: who was wanted, the seed, who was drawn and who was avoided, and why."""

    __tablename__ = "expert_panel_draws"
    __table_args__ = (Index("ix_expert_panel_draws_instance", "instance_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)  # 1 = the panel, 2… = replacements after declared conflicts
    seed: Mapped[str] = mapped_column(String(80))
    wanted: Mapped[int] = mapped_column(Integer)
    candidates: Mapped[list[str]] = mapped_column(JSON)  # the eligible experts the seed ordered
    drawn: Mapped[list[str]] = mapped_column(JSON)
    avoided: Mapped[dict[str, Any]] = mapped_column(JSON)  # username -> reason (county, evaluator, conflict, …)
    short: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    drawn_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(timezone=True))


class ExpertPanelSeat(Base):
    """One drawn expert of one application's panel and what they answered (hidden until the panel is complete)."""

    __tablename__ = "expert_panel_seats"
    __table_args__ = (Index("ix_expert_panel_seats_instance", "instance_id", "username"),
                      Index("ix_expert_panel_seats_user", "username", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))  # drawn | scored | conflict
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    opinion: Mapped[str | None] = mapped_column(Text, nullable=True)
    site_check_needed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    conflict_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    drawn_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(timezone=True))
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
