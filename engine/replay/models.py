"""Tables of the audit replay (migration 0013).

- ``replay_calendar``: every working-day calendar a command ran on, by the fingerprint its step
  records (``engine.replay.recording``): the years' data as they were then, so that a replay counts
  working days as the command did even after a year was re-imported.
- ``replay_run``: every replay an auditor (or CI, or the CLI) ran, with what it found: evidence
  that the check was made, and when.
- ``ix_event_type_instance``: the auditors' search asks "instances where X happened" (a transfer, an
  objection, a migration) of the history by event type.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime
from engine.models import Event


class ReplayCalendar(Base):
    """One set of calendar years in force during some command, kept for replays."""

    __tablename__ = "replay_calendar"

    fingerprint: Mapped[str] = mapped_column(String(16), primary_key=True)
    # {"2026": {"sha256": ..., "source": ..., "data": {"holidays": {...}, "workdays": {...}}}, ...}
    years: Mapped[dict] = mapped_column(JSON)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReplayRun(Base):
    """One replay: of one instance, of every instance, or of those started since a date."""

    __tablename__ = "replay_run"
    __table_args__ = (Index("ix_replay_run_started", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(String(120))  # "instance:17", "all", "since:2026-01-01"
    replayed: Mapped[int] = mapped_column(Integer)
    diverged: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    # {"divergences": [{instance_id, seq, event, field, recorded, replayed, message}, ...]} (at most 100)
    report: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


Index("ix_event_type_instance", Event.type, Event.instance_id)
