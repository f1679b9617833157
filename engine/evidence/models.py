"""The evidence tables: history checkpoints (with the chain heads they commit to) and the access log.

Nothing updates or deletes these rows; each kind is hash-chained so that an edit shows:

- ``history_checkpoint``: one row per checkpoint, chained (``hash = sha256(prev_hash + record)``);
  the record holds the Merkle root over every instance's (id, event count, head hash), the heads
  of the deployment, login and access logs, and the instances whose chain was already broken.
- ``history_checkpoint_leaf``: the chain heads a checkpoint commits to. Only the heads that
  changed since the previous checkpoint are stored; a checkpoint's full set is, per instance, the
  newest leaf at or before it (``engine.evidence.checkpoints.leaves_of``). The Merkle root in the
  checkpoint authenticates the set, so an edited leaf is seen as a root that no longer matches.
- ``access_log``: sensitive reads and exports (等保 2.0: time, user, action, source address,
  object, result), chained in ``seq`` order like the events of an instance.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class HistoryCheckpoint(Base):
    __tablename__ = "history_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)  # the checkpoint number, 1, 2, …
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    instances: Mapped[int] = mapped_column(Integer)  # leaves of the Merkle tree
    events: Mapped[int] = mapped_column(Integer)  # events under the heads, in all
    merkle_root: Mapped[str] = mapped_column(String(64))
    logs: Mapped[str] = mapped_column(Text)  # canonical JSON: {"deployment": …, "login": …, "access": …}
    broken: Mapped[str] = mapped_column(Text)  # canonical JSON list of instance ids whose chain was broken
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CheckpointLeaf(Base):
    __tablename__ = "history_checkpoint_leaf"
    __table_args__ = (Index("ix_history_checkpoint_leaf_instance", "instance_id", "checkpoint_id"),)

    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("history_checkpoint.id"), primary_key=True)
    # No foreign key to process_instance: a leaf must outlive an instance deleted behind our back.
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_count: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class AccessLogEntry(Base):
    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # position in the chain, 1, 2, …
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    username: Mapped[str] = mapped_column(String(120))
    roles: Mapped[str] = mapped_column(String(300))  # the user's grants then, e.g. "auditor@520000"
    action: Mapped[str] = mapped_column(String(60))  # e.g. audit.export, instance.view
    object_ref: Mapped[str] = mapped_column(String(200))  # e.g. instance:17, export:xes
    result: Mapped[str] = mapped_column(String(20))  # ok / denied / failed
    address: Mapped[str] = mapped_column(String(64))  # the source address
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON (filters, row counts, file SHA-256)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
