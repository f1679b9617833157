"""Every instance's hash chain, checked in one streamed pass over the event table.

The events are read in (instance, seq) order a few thousand rows at a time, never all at once,
and each chain is recomputed exactly as ``engine.history.verify_chain`` does for one instance.
Besides the chain itself, the instance row's head (``event_seq``, ``last_hash``) must match the
last event, and an instance must have a history at all (every start records ``instance_started``):
an emptied history whose head was cleared too is still seen here. What per-instance chains cannot
see (an instance deleted whole, a history rewritten with recomputed hashes) needs a checkpoint
(``engine.evidence.checkpoints``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.models import Event, ProcessInstance

STREAM_ROWS = 2000  # rows fetched per round trip


@dataclass(frozen=True)
class ChainResult:
    """One instance's chain as it is now: its length and head, and the first bad event if any."""

    instance_id: int
    events: int
    head: str
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None
    # The hash of event #anchor_seq, when asked for (a checkpoint's head to compare with).
    anchor_hash: str | None = None


class _Chain:
    """The running check of one instance's events."""

    def __init__(self, instance_id: int, anchor_seq: int | None):
        self.instance_id = instance_id
        self.anchor_seq = anchor_seq
        self.anchor_hash: str | None = None
        self.prev = history.GENESIS
        self.count = 0
        self.bad_seq: int | None = None
        self.reason: str | None = None

    def add(self, seq, at, actor, type_, task_guid, bpmn_id, payload, prev_hash, digest) -> None:
        self.count += 1
        if self.bad_seq is None:
            if seq != self.count:
                self._fail(seq, f"sequence gap: expected event {self.count}, found {seq}")
            elif prev_hash != self.prev:
                self._fail(seq, "prev_hash does not match the previous event")
            else:
                record = history._record(self.instance_id, seq, at, actor, type_, task_guid, bpmn_id, payload)
                if hashlib.sha256((self.prev + record).encode()).hexdigest() != digest:
                    self._fail(seq, "event content does not match its hash")
        if seq == self.anchor_seq:
            self.anchor_hash = digest
        self.prev = digest

    def _fail(self, seq: int, reason: str) -> None:
        self.bad_seq, self.reason = seq, reason

    def result(self, row_seq: int | None, row_hash: str | None) -> ChainResult:
        ok, bad, reason = self.bad_seq is None, self.bad_seq, self.reason
        if ok and row_seq is None:
            ok, reason = False, "events of an instance that does not exist"
        elif ok and self.count == 0:
            ok, reason = False, ("no history: the instance's head says %d events" % row_seq if row_seq
                                 else "no history at all (every instance records its start)")
        elif ok and (row_seq != self.count or (row_hash or history.GENESIS) != self.prev):
            ok, reason = False, (f"the instance's chain head ({row_seq} events) does not match its last event "
                                 f"({self.count}): events removed or added behind the engine's back")
            bad = min(self.count, row_seq or 0) + 1
        return ChainResult(self.instance_id, self.count, self.prev if self.count else "", ok, bad, reason,
                           self.anchor_hash)


def iter_chains(session: Session, *, anchors: dict[int, int] | None = None) -> Iterator[ChainResult]:
    """Check every instance's chain, in instance order; ``anchors`` maps an instance to a seq whose
    hash to report (``ChainResult.anchor_hash``). Memory: the instance heads, not the events."""
    anchors = anchors or {}
    heads = {iid: (seq, last) for iid, seq, last in session.execute(
        select(ProcessInstance.id, ProcessInstance.event_seq, ProcessInstance.last_hash))}
    rows = session.execute(
        select(Event.instance_id, Event.seq, Event.at, Event.actor, Event.type, Event.task_guid, Event.bpmn_id,
               Event.payload, Event.prev_hash, Event.hash)
        .order_by(Event.instance_id, Event.seq)
        .execution_options(yield_per=STREAM_ROWS))
    pending = sorted(heads)  # instances not yet reached by the event stream (with no events, if passed)
    position = 0
    current: _Chain | None = None
    for row in rows:
        iid = row[0]
        if current is None or iid != current.instance_id:
            if current is not None:
                yield current.result(*heads.get(current.instance_id, (None, None)))
            while position < len(pending) and pending[position] < iid:
                yield _Chain(pending[position], None).result(*heads[pending[position]])
                position += 1
            if position < len(pending) and pending[position] == iid:
                position += 1
            current = _Chain(iid, anchors.get(iid))
        current.add(*row[1:])
    if current is not None:
        yield current.result(*heads.get(current.instance_id, (None, None)))
    while position < len(pending):
        yield _Chain(pending[position], None).result(*heads[pending[position]])
        position += 1


def check_one(session: Session, instance_id: int) -> ChainResult | None:
    """One instance's chain with the same rules as ``iter_chains``; None if the instance does not exist."""
    head = session.execute(select(ProcessInstance.event_seq, ProcessInstance.last_hash)
                           .where(ProcessInstance.id == instance_id)).first()
    chain = _Chain(instance_id, None)
    for row in session.execute(
            select(Event.seq, Event.at, Event.actor, Event.type, Event.task_guid, Event.bpmn_id, Event.payload,
                   Event.prev_hash, Event.hash).where(Event.instance_id == instance_id).order_by(Event.seq)):
        chain.add(*row)
    if head is None and chain.count == 0:
        return None
    return chain.result(*(head or (None, None)))
