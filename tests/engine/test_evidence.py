"""Tamper evidence that holds against a database administrator (docs/audit-evidence.md).

Each test tampers with the database as an administrator with SQL could — also recomputing the
plain SHA-256 chain and the instance's head, which no per-instance check can see — and shows that
``verify_all`` against a signed checkpoint statement kept outside names what was done. Both
databases.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import delete, select, text, update

from engine import history
from engine.db import Base
from engine.errors import InvalidInput, NotFound
from engine.evidence import checkpoints, logs, statement
from engine.evidence.merkle import MerkleBuilder, merkle_root, reference_root
from engine.evidence.models import AccessLogEntry, CheckpointLeaf, HistoryCheckpoint
from engine.evidence.verify import verify_all
from engine.models import Event, LoginAttempt, ProcessInstance
from handlers import demo
from tests.scenarios.driver import PASS


# --- helpers: what an administrator with SQL can do ----------------------------------------------

def rechain(db, instance_id: int) -> None:
    """Recompute an instance's plain SHA-256 chain and its head, as an administrator could."""
    with db.unit_of_work() as s:
        prev = history.GENESIS
        rows = s.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)).all()
        for number, event in enumerate(rows, 1):
            event.seq = -number  # renumber in two steps (seq is unique per instance)
        s.flush()
        for number, event in enumerate(rows, 1):
            event.seq = number
            record = history._record(instance_id, number, event.at, event.actor, event.type, event.task_guid,
                                     event.bpmn_id, event.payload)
            event.prev_hash, event.hash = prev, hashlib.sha256((prev + record).encode()).hexdigest()
            prev = event.hash
        instance = s.get(ProcessInstance, instance_id)
        instance.event_seq, instance.last_hash = len(rows), prev if rows else ""


def delete_instance(db, instance_id: int) -> None:
    """Remove an instance and every row that refers to it."""
    with db.unit_of_work() as s:
        for table in reversed(Base.metadata.sorted_tables):
            for fk in table.foreign_keys:
                if fk.column.table.name == "process_instance" and table.name != "task_cc":
                    s.execute(delete(table).where(fk.parent == instance_id))
        s.execute(text("DELETE FROM task_cc WHERE instance_id = :i"), {"i": instance_id})
        s.execute(text("DELETE FROM human_task WHERE instance_id = :i"), {"i": instance_id})
        s.execute(delete(ProcessInstance).where(ProcessInstance.id == instance_id))


def events_of(db, instance_id: int) -> int:
    with db.session() as s:
        return len(s.scalars(select(Event.id).where(Event.instance_id == instance_id)).all())


@pytest.fixture
def year(green, tmp_path):
    """Three applications with histories of a few events each, and a signing key."""
    first = green.to_notice(demo.UNITS[0])
    second = green.apply(demo.UNITS[1])
    green.step(second, "review", PASS)
    third = green.apply(demo.UNITS[2])
    key, made = statement.ensure_key(tmp_path / "keys" / "audit.pem")
    assert made
    return green, [first, second, third], key


def kept_statement(green, key) -> statement.Statement:
    """Take a checkpoint, export it signed, and read it back as the auditor's kept file."""
    point = checkpoints.create(green.engine.db, by="auditor", now=green.engine.clock.now())
    return statement.parse(statement.render(point, key))


def check(green, kept=None, key=None):
    return verify_all(green.engine.db, now=green.engine.clock.now(), statement=kept,
                      expected_key=key.fingerprint if key else None)


# --- the Merkle tree --------------------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_streamed_merkle_root_is_rfc6962s(count):
    leaves = [f"leaf {i}".encode() for i in range(count)]
    assert merkle_root(leaves) == reference_root(leaves)


def test_merkle_root_changes_with_any_leaf_and_with_order():
    leaves = [f"{i}:3:{'a' * 64}".encode() for i in range(6)]
    roots = {merkle_root(leaves), merkle_root(leaves[::-1]), merkle_root(leaves[:-1]),
             merkle_root([*leaves[:2], b"2:4:" + b"a" * 64, *leaves[3:]])}
    assert len(roots) == 4
    builder = MerkleBuilder()
    for leaf in leaves:
        builder.add(leaf)
    assert builder.count == 6 and builder.root() == merkle_root(leaves)


# --- verify all, without a checkpoint -------------------------------------------------------------

def test_everything_intact_is_reported_as_such(year):
    green, ids, key = year
    report = check(green)
    assert report.ok and report.instances == 3 and report.intact == 3
    assert report.events == sum(events_of(green.engine.db, i) for i in ids)
    assert report.problems == [] and report.anchor is None


def test_an_edited_event_is_named_with_its_sequence_number(year):
    green, ids, _ = year
    with green.engine.db.unit_of_work() as s:
        s.execute(update(Event).where(Event.instance_id == ids[0], Event.seq == 4)
                  .values(payload='{"data":{"decision":"reject"}}'))
    report = check(green)
    assert not report.ok and report.broken_instances == [ids[0]] and report.intact == 2
    [problem] = report.problems
    assert (problem.kind, problem.instance_id, problem.seq) == ("chain", ids[0], 4)
    assert "does not match its hash" in problem.reason


def test_an_emptied_history_is_broken_even_with_its_head_cleared(year):
    green, ids, _ = year
    with green.engine.db.unit_of_work() as s:
        s.execute(delete(Event).where(Event.instance_id == ids[2]))
        s.execute(update(ProcessInstance).where(ProcessInstance.id == ids[2]).values(event_seq=0, last_hash=""))
    report = check(green)
    assert report.broken_instances == [ids[2]] and "no history" in report.problems[0].reason
    assert not green.engine.verify_history(ids[2]).ok


def test_verifying_a_missing_instance_is_an_error_not_intact(year):
    green, _, _ = year
    with pytest.raises(NotFound):
        green.engine.verify_history(99999)


def test_a_recomputed_chain_passes_without_a_checkpoint(year):
    """Why checkpoints exist: the plain chain cannot see an administrator who recomputes it."""
    green, ids, _ = year
    with green.engine.db.unit_of_work() as s:
        s.execute(update(Event).where(Event.instance_id == ids[0], Event.seq == 4)
                  .values(payload='{"data":{"decision":"reject"}}'))
    rechain(green.engine.db, ids[0])
    assert check(green).ok and green.engine.verify_history(ids[0]).ok


# --- against a kept checkpoint: each kind of tampering ---------------------------------------------

def test_an_edited_event_with_its_chain_recomputed_is_seen_against_the_checkpoint(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    with green.engine.db.unit_of_work() as s:
        s.execute(update(Event).where(Event.instance_id == ids[0], Event.seq == 4)
                  .values(payload='{"data":{"decision":"reject"}}'))
    rechain(green.engine.db, ids[0])
    report = check(green, kept, key)
    assert not report.ok and report.broken_instances == [ids[0]]
    [problem] = report.problems
    assert problem.kind == "rewritten" and problem.instance_id == ids[0]
    assert problem.seq == 1 and problem.seq_to == events_of(green.engine.db, ids[0])
    assert report.anchor["source"] == "statement" and report.anchor["signature_valid"] and report.anchor["key_matches"]


def test_a_rewrite_is_narrowed_by_earlier_checkpoints(year):
    green, ids, key = year
    checkpoints.create(green.engine.db, by="worker", now=green.engine.clock.now())
    before = events_of(green.engine.db, ids[2])  # what the first checkpoint committed to
    green.step(ids[2], "review", PASS)  # more events after the first checkpoint
    kept = kept_statement(green, key)
    total = events_of(green.engine.db, ids[2])
    with green.engine.db.unit_of_work() as s:
        s.execute(update(Event).where(Event.instance_id == ids[2], Event.seq == total)
                  .values(actor="someone-else"))
    rechain(green.engine.db, ids[2])
    [problem] = check(green, kept, key).problems
    assert (problem.kind, problem.seq, problem.seq_to) == ("rewritten", before + 1, total)


def test_a_deleted_event_is_seen_against_the_checkpoint(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    with green.engine.db.unit_of_work() as s:
        s.execute(delete(Event).where(Event.instance_id == ids[0], Event.seq == 3))
    assert [p.kind for p in check(green).problems] == ["chain", "truncated"]  # the stored checkpoint sees it too
    rechain(green.engine.db, ids[0])  # renumbered and recomputed: the chain alone says intact
    assert green.engine.verify_history(ids[0]).ok
    [problem] = check(green, kept, key).problems
    assert problem.kind == "truncated" and problem.instance_id == ids[0]


def test_a_truncated_tail_is_seen_against_the_checkpoint(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    total = events_of(green.engine.db, ids[1])
    with green.engine.db.unit_of_work() as s:
        s.execute(delete(Event).where(Event.instance_id == ids[1], Event.seq > total - 2))
    rechain(green.engine.db, ids[1])
    assert green.engine.verify_history(ids[1]).ok
    [problem] = check(green, kept, key).problems
    assert (problem.kind, problem.instance_id, problem.seq, problem.seq_to) == ("truncated", ids[1], total - 1, total)


def test_an_emptied_history_is_seen_against_the_checkpoint(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    with green.engine.db.unit_of_work() as s:
        s.execute(delete(Event).where(Event.instance_id == ids[2]))
    rechain(green.engine.db, ids[2])
    kinds = sorted(p.kind for p in check(green, kept, key).problems)
    assert kinds == ["chain", "truncated"]


def test_a_deleted_instance_is_seen_against_the_checkpoint(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    count = events_of(green.engine.db, ids[1])
    delete_instance(green.engine.db, ids[1])
    report = check(green, kept, key)
    assert report.instances == 2 and report.intact == 2
    [problem] = report.problems
    assert (problem.kind, problem.instance_id, problem.seq_to) == ("deleted", ids[1], count)


def test_a_reordered_history_is_seen_against_the_checkpoint(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    with green.engine.db.unit_of_work() as s:  # swap what events 4 and 5 say, then recompute the chain
        four, five = (s.scalars(select(Event).where(Event.instance_id == ids[0], Event.seq == n)).one() for n in (4, 5))
        for name in ("at", "actor", "type", "task_guid", "bpmn_id", "payload"):
            a, b = getattr(four, name), getattr(five, name)
            setattr(four, name, b)
            setattr(five, name, a)
    assert [p.seq for p in check(green).problems] == [4]  # seen by the chain until it is recomputed
    rechain(green.engine.db, ids[0])
    [problem] = check(green, kept, key).problems
    assert problem.kind == "rewritten" and problem.instance_id == ids[0]


def test_new_events_after_the_checkpoint_are_not_a_problem(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    green.step(ids[2], "review", PASS)
    green.apply(demo.UNITS[3])
    report = check(green, kept, key)
    assert report.ok and report.instances == report.intact == 4


# --- the checkpoints themselves -------------------------------------------------------------------

def test_checkpoints_are_chained_and_store_only_changed_heads(year):
    green, ids, _ = year
    db, now = green.engine.db, green.engine.clock.now()
    first = checkpoints.create(db, by="worker", now=now)
    green.step(ids[2], "review", PASS)
    second = checkpoints.create(db, by="worker", now=now + dt.timedelta(hours=1))
    assert (first.id, second.id, second.prev_hash) == (1, 2, first.hash)
    assert first.prev_hash == history.GENESIS and first.broken == [] and first.instances == 3
    with db.session() as s:
        assert sorted(s.scalars(select(CheckpointLeaf.instance_id).where(CheckpointLeaf.checkpoint_id == 1))) == ids
        assert sorted(s.scalars(select(CheckpointLeaf.instance_id).where(CheckpointLeaf.checkpoint_id == 2))) == [ids[2]]
        assert checkpoints.root_of(checkpoints.leaves_of(s, 2)) == second.merkle_root
    assert second.instances == 3 and second.events > first.events


def test_a_broken_chain_is_named_in_the_checkpoint_not_adopted(year):
    green, ids, _ = year
    with green.engine.db.unit_of_work() as s:
        s.execute(update(Event).where(Event.instance_id == ids[1], Event.seq == 2).values(actor="x"))
    point = checkpoints.create(green.engine.db, by="worker", now=green.engine.clock.now())
    assert point.broken == [ids[1]]


def test_an_altered_stored_checkpoint_or_its_heads_are_seen(year):
    green, ids, key = year
    kept = kept_statement(green, key)
    with green.engine.db.unit_of_work() as s:
        s.execute(update(CheckpointLeaf).where(CheckpointLeaf.instance_id == ids[0]).values(event_count=2))
    assert any("Merkle root" in p.reason for p in check(green, kept, key).problems)
    with green.engine.db.unit_of_work() as s:
        s.execute(update(HistoryCheckpoint).values(events=1))
    reasons = " ".join(p.reason for p in check(green, kept, key).problems)
    assert "does not match its hash" in reasons and "differs from the file" in reasons


def test_a_deleted_checkpoint_is_seen(year):
    green, _, key = year
    kept = kept_statement(green, key)
    with green.engine.db.unit_of_work() as s:
        s.execute(delete(CheckpointLeaf))
        s.execute(delete(HistoryCheckpoint))
    problems = check(green, kept, key).problems
    assert any("no longer has this checkpoint" in p.reason for p in problems)


def test_the_worker_takes_the_daily_checkpoint(year):
    from engine.worker import CHECKPOINT_ACTOR, TimerWorker

    green, _, _ = year
    worker = TimerWorker(green.engine, name="w1")
    worker.tick()
    worker.tick()
    green.engine.clock.advance(hours=25)
    worker.tick()
    worker.close()
    with green.engine.db.session() as s:
        assert [c.created_by for c in checkpoints.iter_all(s)] == [CHECKPOINT_ACTOR, CHECKPOINT_ACTOR]


def test_a_checkpoint_is_due_daily(year):
    green, _, _ = year
    db, clock = green.engine.db, green.engine.clock
    assert checkpoints.create_if_due(db, by="worker", now=clock.now()) is not None
    assert checkpoints.create_if_due(db, by="worker", now=clock.now() + dt.timedelta(hours=23)) is None
    assert checkpoints.create_if_due(db, by="worker", now=clock.now() + dt.timedelta(hours=24)).id == 2


# --- the statement ----------------------------------------------------------------------------------

def test_a_statement_is_small_readable_and_signed(year):
    green, _, key = year
    point = checkpoints.create(green.engine.db, by="auditor", now=green.engine.clock.now())
    text_ = statement.render(point, key)
    assert len(text_.encode()) < 2048 and f"merkle_root: {point.merkle_root}" in text_
    parsed = statement.parse(text_)
    assert parsed.signature_valid and parsed.hash_valid and parsed.checkpoint == point
    forged = text_.replace(f"events: {point.events}", f"events: {point.events + 1}")
    assert not statement.parse(forged).signature_valid
    report = check(green, statement.parse(forged), key)
    assert [p.kind for p in report.problems][:1] == ["statement"]


def test_a_statement_signed_with_another_key_is_reported(year, tmp_path):
    green, _, key = year
    other, _ = statement.ensure_key(tmp_path / "other.pem")
    point = checkpoints.create(green.engine.db, by="auditor", now=green.engine.clock.now())
    report = check(green, statement.parse(statement.render(point, other)), key)
    assert report.anchor["key_matches"] is False and [p.kind for p in report.problems] == ["statement"]


@pytest.mark.parametrize("text_, message", [
    ("", "no 'signature:' line"),
    ("hello\nsignature: AAAA\n", "line 1"),
    ("format: greenflow-checkpoint/1\nsignature: AAAA\n", "missing checkpoint"),
    ("\xff", "no 'signature:' line"),
])
def test_not_a_statement_is_refused_with_the_reason(text_, message):
    with pytest.raises(InvalidInput, match=message):
        statement.parse(text_)


def test_the_key_file_is_private(tmp_path):
    key, made = statement.ensure_key(tmp_path / "k.pem")
    again, made_again = statement.ensure_key(tmp_path / "k.pem")
    assert made and not made_again and again.fingerprint == key.fingerprint
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600


# --- the logs ------------------------------------------------------------------------------------------

def test_the_access_log_is_chained_and_in_the_checkpoint(year):
    green, _, key = year
    db, now = green.engine.db, green.engine.clock.now()
    for n in range(3):
        with db.unit_of_work() as s:
            logs.append_access(s, at=now, username="auditor", roles="auditor@520000", action="audit.export",
                               object_ref=f"export:{n}", result="ok", address="127.0.0.1", detail={"n": n})
    with db.session() as s:
        assert logs.verify_access_log(s).ok and logs.verify_access_log(s).rows == 3
    kept = kept_statement(green, key)
    assert kept.checkpoint.logs["access"]["seq"] == 3
    with db.unit_of_work() as s:
        s.execute(update(AccessLogEntry).where(AccessLogEntry.seq == 2).values(result="denied"))
    [problem] = check(green, kept, key).problems
    assert (problem.kind, problem.subject, problem.seq) == ("log", "access log", 2)


def test_the_login_and_deployment_logs_are_digested_into_the_checkpoint(year):
    green, _, key = year
    db, clock = green.engine.db, green.engine.clock
    with db.unit_of_work() as s:
        for name in ("a", "b"):
            s.add(LoginAttempt(at=clock.now(), username=name, address="127.0.0.1", result="success"))
    clock.advance(minutes=10)
    kept = kept_statement(green, key)
    assert kept.checkpoint.logs["login"]["rows"] == 2 and kept.checkpoint.logs["deployment"]["rows"] == 1
    assert check(green, kept, key).ok
    with db.unit_of_work() as s:
        s.execute(update(LoginAttempt).where(LoginAttempt.username == "a").values(result="bad_password"))
    [problem] = check(green, kept, key).problems
    assert problem.subject == "login log" and "was changed" in problem.reason
    with db.unit_of_work() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.username == "a"))
    [problem] = check(green, kept, key).problems
    assert "deleted" in problem.reason
