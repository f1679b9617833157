"""Tables of instance migration (migration 0011).

- ``migration_job``: one migration an owner started — a process, from version N to version M, the
  element mapping, which instances were picked and how, who started it, and where it stands:
  ``pending`` (waiting for the worker), ``running``, ``completed`` or ``cancelled``. The worker that
  runs it holds it by ``runner`` and ``heartbeat_at``; a holder silent for a while is presumed dead
  and another takes over (``engine.migration.jobs``).
- ``migration_item``: one instance of a job and its result — ``pending``, ``migrated``, ``refused``
  (a check said no; the instance is as it was), ``failed`` (an error; the instance is as it was),
  ``skipped`` (it finished or moved meanwhile) or ``cancelled`` (the job was cancelled first) —
  with the reasons, each in Chinese and English.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

JOB_STATUSES = ("pending", "running", "completed", "cancelled")
ITEM_STATUSES = ("pending", "migrated", "refused", "failed", "skipped", "cancelled")


class MigrationJob(Base):
    """A migration of picked instances of one process from version N to version M, run by the worker."""

    __tablename__ = "migration_job"
    __table_args__ = (Index("ix_migration_job_status", "status", "id"),
                      Index("ix_migration_job_process", "process_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    from_number: Mapped[int] = mapped_column(Integer)
    to_number: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))  # the target bundle
    mapping: Mapped[dict] = mapped_column(JSON)  # {old BPMN id: new BPMN id}
    selection: Mapped[dict] = mapped_column(JSON)  # how the instances were picked (all / positions / ids / filter)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # JOB_STATUSES
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    runner: Mapped[str | None] = mapped_column(String(120))  # the worker running it now
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MigrationItem(Base):
    """One instance of a migration job, and what became of it."""

    __tablename__ = "migration_item"
    __table_args__ = (UniqueConstraint("job_id", "instance_id"),
                      Index("ix_migration_item_job_status", "job_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("migration_job.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # ITEM_STATUSES
    from_version: Mapped[int | None] = mapped_column(Integer)  # the definition version it was on when migrated
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # engine.migration.reasons.Reason.to_dict()
    message: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
