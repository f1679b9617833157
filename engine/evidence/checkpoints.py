"""Checkpoints: a chained, append-only commitment to every instance's chain head and to the logs.

A checkpoint is taken from one consistent read of the database (the chains are verified on the
way, so a checkpoint never adopts a broken chain silently: it lists it in ``broken``), then
appended in a short write transaction that links it to the previous checkpoint. Its record

    {checkpoint, created_at, created_by, instances, events, merkle_root, logs, broken}

is hashed with the previous checkpoint's hash, like an event. Exported and signed
(``engine.evidence.statement``), it is the small text an auditor keeps outside the system: the
database can then no longer be made to agree with it after an event is edited (even with its chain
recomputed), removed, re-ordered, a history is cut short or emptied, or an instance is deleted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Iterator

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from engine.clock import isoformat_utc
from engine.db import Database
from engine.errors import Conflict, NotFound
from engine.evidence import logs
from engine.evidence.chains import iter_chains
from engine.evidence.merkle import MerkleBuilder, leaf_data
from engine.evidence.models import CheckpointLeaf, HistoryCheckpoint
from engine.history import GENESIS, canonical_json

CHECKPOINT_LOCK_KEY = 0x6766636B7074  # "gfckpt"
DAILY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as a plain value (what the pages, the API and the statement show)."""

    id: int
    created_at: dt.datetime
    created_by: str
    instances: int
    events: int
    merkle_root: str
    logs: dict
    broken: list[int]
    prev_hash: str
    hash: str

    def record(self) -> str:
        return canonical_json({"checkpoint": self.id, "created_at": isoformat_utc(self.created_at),
                               "created_by": self.created_by, "instances": self.instances, "events": self.events,
                               "merkle_root": self.merkle_root, "logs": self.logs, "broken": self.broken})

    def computed_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.record()).encode()).hexdigest()

    def to_dict(self) -> dict:
        return {"id": self.id, "created_at": isoformat_utc(self.created_at), "created_by": self.created_by,
                "instances": self.instances, "events": self.events, "merkle_root": self.merkle_root,
                "logs": self.logs, "broken": self.broken, "prev_hash": self.prev_hash, "hash": self.hash}


def _view(row: HistoryCheckpoint) -> Checkpoint:
    return Checkpoint(row.id, row.created_at, row.created_by, row.instances, row.events, row.merkle_root,
                      json.loads(row.logs), json.loads(row.broken), row.prev_hash, row.hash)


def leaves_of(session: Session, checkpoint_id: int) -> dict[int, tuple[int, str]]:
    """The chain heads checkpoint ``checkpoint_id`` commits to: instance -> (event count, head hash).

    Per instance, the newest leaf stored at or before the checkpoint (each stores only changes).
    """
    leaves: dict[int, tuple[int, str]] = {}
    rows = session.execute(select(CheckpointLeaf.instance_id, CheckpointLeaf.event_count, CheckpointLeaf.head_hash)
                           .where(CheckpointLeaf.checkpoint_id <= checkpoint_id)
                           .order_by(CheckpointLeaf.instance_id, CheckpointLeaf.checkpoint_id.desc())
                           .execution_options(yield_per=logs.STREAM_ROWS))
    for iid, count, head in rows:
        leaves.setdefault(iid, (count, head))
    return leaves


def root_of(leaves: dict[int, tuple[int, str]]) -> str:
    builder = MerkleBuilder()
    for iid in sorted(leaves):
        builder.add(leaf_data(iid, *leaves[iid]))
    return builder.root()


def latest(session: Session) -> Checkpoint | None:
    row = session.scalar(select(HistoryCheckpoint).order_by(HistoryCheckpoint.id.desc()).limit(1))
    return _view(row) if row is not None else None


def get(session: Session, checkpoint_id: int) -> Checkpoint:
    row = session.get(HistoryCheckpoint, checkpoint_id)
    if row is None:
        raise NotFound(f"检查点 {checkpoint_id} 不存在 / no checkpoint {checkpoint_id}")
    return _view(row)


def page(session: Session, *, page: int = 1, per_page: int = 50) -> tuple[list[Checkpoint], int]:
    total = session.scalar(select(func.count()).select_from(HistoryCheckpoint)) or 0
    rows = session.scalars(select(HistoryCheckpoint).order_by(HistoryCheckpoint.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return [_view(row) for row in rows], total


def iter_all(session: Session) -> Iterator[Checkpoint]:
    for row in session.scalars(select(HistoryCheckpoint).order_by(HistoryCheckpoint.id)):
        yield _view(row)


# --- taking one -------------------------------------------------------------------------------

@dataclass
class _Snapshot:
    previous: Checkpoint | None
    leaves: dict[int, tuple[int, str]]
    changed: dict[int, tuple[int, str]]
    broken: list[int]
    events: int
    logs: dict


def _snapshot(session: Session, *, now: dt.datetime) -> _Snapshot:
    previous = latest(session)
    before = leaves_of(session, previous.id) if previous is not None else {}
    leaves, changed, broken, events = dict(before), {}, [], 0
    seen: set[int] = set()
    for chain in iter_chains(session):
        seen.add(chain.instance_id)
        if not chain.ok:
            broken.append(chain.instance_id)
        if chain.events == 0:  # nothing to commit to: an instance without history (listed as broken)
            continue
        head = (chain.events, chain.head)
        events += chain.events
        if before.get(chain.instance_id) != head:
            changed[chain.instance_id] = head
        leaves[chain.instance_id] = head
    # An instance committed to before and gone now keeps its last leaf, and is named as broken.
    broken.extend(iid for iid in before if iid not in seen)
    events += sum(before[iid][0] for iid in before if iid not in seen)
    return _Snapshot(previous, leaves, changed, sorted(set(broken)), events,
                     logs.digest_logs(session, previous.logs if previous else None, now=now)
                     | {"access": logs.access_head(session)})


def create(db: Database, *, by: str, now: dt.datetime) -> Checkpoint:
    """Take a checkpoint of every chain head and the logs, and append it to the checkpoint chain.

    Conflict if other checkpoints keep being appended meanwhile (three attempts).
    """
    now = now.astimezone(dt.timezone.utc)  # stored as UTC: the hashed record must read back the same
    for _ in range(3):
        with db.session() as session:
            snap = _snapshot(session, now=now)
        with db.unit_of_work() as session:
            if db.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHECKPOINT_LOCK_KEY})
            newest = session.scalar(select(func.max(HistoryCheckpoint.id)))
            if newest != (snap.previous.id if snap.previous else None):
                continue  # another checkpoint was appended since the snapshot: take it again
            number = (newest or 0) + 1
            draft = Checkpoint(number, now, by, len(snap.leaves), snap.events, root_of(snap.leaves), snap.logs,
                               snap.broken, snap.previous.hash if snap.previous else GENESIS, "")
            done = replace(draft, hash=draft.computed_hash())
            session.add(HistoryCheckpoint(id=done.id, created_at=now, created_by=by, instances=done.instances,
                                          events=done.events, merkle_root=done.merkle_root,
                                          logs=canonical_json(done.logs), broken=canonical_json(done.broken),
                                          prev_hash=done.prev_hash, hash=done.hash))
            session.flush()
            if snap.changed:
                session.connection().execute(insert(CheckpointLeaf.__table__), [
                    {"checkpoint_id": number, "instance_id": iid, "event_count": count, "head_hash": head}
                    for iid, (count, head) in sorted(snap.changed.items())])
            return done
    raise Conflict("其他检查点正在生成，请稍后重试 / other checkpoints are being taken; try again")


def due(db: Database, *, now: dt.datetime, every: dt.timedelta = DAILY) -> bool:
    with db.session() as session:
        last = session.scalar(select(func.max(HistoryCheckpoint.created_at)))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    return last is None or last <= now - every


def create_if_due(db: Database, *, by: str, now: dt.datetime, every: dt.timedelta = DAILY) -> Checkpoint | None:
    """The worker's daily job: a checkpoint when the last one is ``every`` old (or there is none)."""
    return create(db, by=by, now=now) if due(db, now=now, every=every) else None
