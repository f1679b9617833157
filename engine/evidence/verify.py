"""Verify everything at once: every instance's chain, the checkpoint chain, the logs, and the chain
heads a checkpoint committed to — the newest stored one, or a signed statement an auditor kept.

Only a statement kept outside the database holds against its administrator: the stored
checkpoints can be rewritten together with the histories, the statement cannot. Against it, an
edited event (even with its chain recomputed), a removed or re-ordered event, a history cut short
or emptied, and an instance deleted whole are all seen, each named with its instance and, where
the checkpoints allow, the range of events it lies in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import isoformat_utc
from engine.db import Database
from engine.evidence import checkpoints as _checkpoints
from engine.evidence import logs
from engine.evidence.chains import iter_chains
from engine.evidence.checkpoints import Checkpoint
from engine.evidence.models import CheckpointLeaf
from engine.evidence.statement import Statement
from engine.models import Event

MAX_LISTED = 1000  # problems listed in a report (all are counted)

# What went wrong, for people (the pages and the CLI show these words, never the key).
KINDS = {
    "chain": ("哈希链断裂", "hash chain broken"),
    "rewritten": ("与检查点不符：历史被改写", "rewritten since the checkpoint"),
    "truncated": ("与检查点不符：历史被截短", "cut short since the checkpoint"),
    "deleted": ("与检查点不符：实例被删除", "instance deleted since the checkpoint"),
    "checkpoint": ("检查点记录被改动", "checkpoint record altered"),
    "statement": ("检查点文件无效", "checkpoint file not valid"),
    "log": ("日志被改动", "log altered"),
}


@dataclass(frozen=True)
class Problem:
    kind: str  # a key of KINDS
    subject: str  # what: "instance 17", "checkpoint 3", "access log", "login log"
    reason: str
    instance_id: int | None = None
    seq: int | None = None  # the first bad event (or entry); with seq_to, the range it lies in
    seq_to: int | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label_zh": KINDS[self.kind][0], "label_en": KINDS[self.kind][1],
                "subject": self.subject, "instance_id": self.instance_id, "seq": self.seq, "seq_to": self.seq_to,
                "reason": self.reason}


@dataclass
class Report:
    checked_at: dt.datetime
    instances: int = 0
    events: int = 0
    intact: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    checkpoints: int = 0  # stored checkpoints whose chain was checked
    anchor: dict | None = None  # the checkpoint compared with: id, source, created_at, signature
    access_log: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def broken_instances(self) -> list[int]:
        return sorted({p.instance_id for p in self.problems if p.instance_id is not None})

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checked_at": isoformat_utc(self.checked_at), "instances": self.instances,
                "events": self.events, "intact": self.intact, "broken_instances": self.broken_instances,
                "problem_count": self.problem_count, "problems": [p.to_dict() for p in self.problems],
                "checkpoints": self.checkpoints, "anchor": self.anchor, "access_log": self.access_log}


def verify_all(db: Database, *, now: dt.datetime, statement: Statement | None = None,
               expected_key: str | None = None) -> Report:
    """Check every chain and log; compare with ``statement`` (else with the newest stored checkpoint).

    ``expected_key`` is the fingerprint of this system's signing key: a statement signed with
    another key is reported (it may be genuine, from another system, or forged).
    """
    report = Report(checked_at=now)
    with db.session() as session:
        stored = _checkpoint_chain(session, report)
        target = _target(report, stored, statement, expected_key)
        anchors = _anchors(session, report, target) if target is not None else {}
        _chains(session, report, target, anchors)
        _logs(session, report, target)
    return report


def _checkpoint_chain(session: Session, report: Report) -> dict[int, Checkpoint]:
    """Every stored checkpoint, its chain checked: each links to the one before and hashes right."""
    stored: dict[int, Checkpoint] = {}
    previous: Checkpoint | None = None
    for point in _checkpoints.iter_all(session):
        expected_prev = previous.hash if previous else logs.GENESIS
        if point.id != (previous.id + 1 if previous else 1):
            report.add(Problem("checkpoint", f"checkpoint {point.id}",
                               f"检查点编号不连续（前一个是 {previous.id if previous else '无'}）：检查点被删除 / "
                               f"checkpoint numbers jump: a checkpoint was removed"))
        elif point.prev_hash != expected_prev:
            report.add(Problem("checkpoint", f"checkpoint {point.id}",
                               "prev_hash 与前一检查点不符 / prev_hash does not match the previous checkpoint"))
        elif point.computed_hash() != point.hash:
            report.add(Problem("checkpoint", f"checkpoint {point.id}",
                               "检查点内容与其哈希不符 / the checkpoint's content does not match its hash"))
        stored[point.id] = point
        previous = point
    report.checkpoints = len(stored)
    return stored


def _target(report: Report, stored: dict[int, Checkpoint], statement: Statement | None,
            expected_key: str | None) -> Checkpoint | None:
    if statement is None:
        if not stored:
            return None
        newest = stored[max(stored)]
        report.anchor = {"id": newest.id, "source": "database", "created_at": isoformat_utc(newest.created_at),
                         "hash": newest.hash}
        return newest
    point = statement.checkpoint
    key_matches = expected_key is None or statement.key_fingerprint == expected_key
    report.anchor = {"id": point.id, "source": "statement", "created_at": isoformat_utc(point.created_at),
                     "hash": point.hash, "signature_valid": statement.signature_valid,
                     "key": statement.key_fingerprint, "key_matches": key_matches}
    subject = f"checkpoint {point.id} (file)"
    if not statement.signature_valid:
        report.add(Problem("statement", subject, "签名无效：文件被改动或不是本系统签发 / the signature does not hold: "
                                                 "the file was changed or not signed by greenflow"))
    elif not statement.hash_valid:
        report.add(Problem("statement", subject, "文件内容与其哈希不符 / the file's fields do not match its hash"))
    if not key_matches:
        report.add(Problem("statement", subject, f"文件由另一把密钥签名（{statement.key_fingerprint}，本系统为 "
                                                 f"{expected_key}）/ signed with another key than this system's"))
    kept = stored.get(point.id)
    if kept is None:
        report.add(Problem("checkpoint", f"checkpoint {point.id}",
                           "数据库中已没有该检查点 / the database no longer has this checkpoint"))
    elif kept.hash != point.hash or kept.record() != point.record():
        report.add(Problem("checkpoint", f"checkpoint {point.id}",
                           "数据库中的该检查点与文件不符：检查点被改写 / the stored checkpoint differs from the file"))
    return point


def _anchors(session: Session, report: Report, target: Checkpoint) -> dict[int, tuple[int, str]]:
    leaves = _checkpoints.leaves_of(session, target.id)
    if len(leaves) != target.instances or _checkpoints.root_of(leaves) != target.merkle_root:
        report.add(Problem("checkpoint", f"checkpoint {target.id}",
                           "存储的链头与检查点的默克尔根不符：链头记录被改动 / the stored chain heads no longer give "
                           "the checkpoint's Merkle root"))
    return leaves


def _chains(session: Session, report: Report, target: Checkpoint | None,
            anchors: dict[int, tuple[int, str]]) -> None:
    remaining = dict(anchors)
    for chain in iter_chains(session, anchors={iid: count for iid, (count, _) in anchors.items()}):
        report.instances += 1
        report.events += chain.events
        fine = chain.ok
        subject = f"instance {chain.instance_id}"
        if not chain.ok:
            report.add(Problem("chain", subject, chain.reason or "", chain.instance_id, chain.first_bad_seq))
        anchor = remaining.pop(chain.instance_id, None)
        if anchor is not None:
            count, head = anchor
            if chain.events < count:
                fine = False
                report.add(Problem("truncated", subject, f"检查点 {target.id} 时有 {count} 个事件，现只有 "
                                   f"{chain.events} 个 / checkpoint {target.id} committed to {count} events, "
                                   f"{chain.events} remain", chain.instance_id, chain.events + 1, count))
            elif chain.anchor_hash != head:
                fine = False
                low, high = _narrow(session, chain.instance_id, target.id)
                report.add(Problem("rewritten", subject, f"第 {low}–{high} 个事件与检查点 {target.id} 不符（哈希链被重算）"
                                   f" / events {low}–{high} differ from checkpoint {target.id} (chain recomputed)",
                                   chain.instance_id, low, high))
        if fine:
            report.intact += 1
    for iid, (count, _) in sorted(remaining.items()):
        report.add(Problem("deleted", f"instance {iid}", f"检查点 {target.id} 时有 {count} 个事件，现实例已不存在 / "
                           f"checkpoint {target.id} committed to {count} events; the instance is gone", iid, 1, count))


def _narrow(session: Session, instance_id: int, upto: int) -> tuple[int, int]:
    """Where a rewritten history differs first: after the last checkpointed head that still matches,
    at or before the first that does not. Returns the range of event numbers (from, to)."""
    leaves = sorted(set(session.execute(select(CheckpointLeaf.event_count, CheckpointLeaf.head_hash).where(
        CheckpointLeaf.instance_id == instance_id, CheckpointLeaf.checkpoint_id <= upto))))
    hashes = dict(session.execute(select(Event.seq, Event.hash).where(
        Event.instance_id == instance_id, Event.seq.in_([count for count, _ in leaves]))).all())
    low = 1
    for count, head in leaves:
        if hashes.get(count) == head:
            low = count + 1
        else:
            return low, count
    return low, leaves[-1][0] if leaves else low


def _logs(session: Session, report: Report, target: Checkpoint | None) -> None:
    anchor = (target.logs.get("access") or {}) if target is not None else {}
    check = logs.verify_access_log(session, anchor=anchor.get("seq") or None)
    report.access_log = {"entries": check.rows, "ok": check.ok}
    if not check.ok:
        report.add(Problem("log", "access log", check.reason or "", seq=check.first_bad))
    if anchor.get("seq"):
        if check.rows < anchor["seq"]:
            report.add(Problem("log", "access log", f"检查点时有 {anchor['seq']} 条，现只有 {check.rows} 条 / "
                               f"{anchor['seq']} entries at the checkpoint, {check.rows} now", seq=check.rows + 1))
        elif check.anchor_hash != anchor["hash"]:
            report.add(Problem("log", "access log", f"第 {anchor['seq']} 条与检查点不符 / entry {anchor['seq']} "
                               f"differs from the checkpoint", seq=anchor["seq"]))
    if target is None:
        return
    for name in ("deployment", "login"):
        expected = target.logs.get(name)
        reason = logs.verify_digest(session, name, expected) if expected else None
        if reason:
            report.add(Problem("log", f"{name} log", reason))
