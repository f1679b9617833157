"""The append-only logs beside the histories: the access log (chained here, row by row), and the
deployment and login logs (tables of their own, digested into each checkpoint).

The access log is a hash chain in ``seq`` order, like an instance's events: each row's hash covers
the previous hash and the row. Appending takes a lock so that two writers never fork the chain
(PostgreSQL: a transaction advisory lock; SQLite: the write lock every unit of work takes).

The deployment log (``deployment``) and the login log (``login_attempt``) have no chain of their
own. A checkpoint digests them instead: ``digest = sha256(previous digest + record)`` over the rows
in id order, carried on from the previous checkpoint, so each checkpoint costs only the rows added
since. Rows younger than ``SETTLE`` are left to the next checkpoint: on PostgreSQL ids are handed
out before commit, and a slow transaction may commit a smaller id after a larger one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.clock import isoformat_utc
from engine.evidence.models import AccessLogEntry
from engine.history import GENESIS, canonical_json
from engine.models import Deployment, LoginAttempt

ACCESS_LOCK_KEY = 0x67666163636C  # "gfaccl"
SETTLE = dt.timedelta(minutes=5)
STREAM_ROWS = 2000


# --- the access log ---------------------------------------------------------------------------

def _access_record(row: AccessLogEntry | dict) -> str:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return canonical_json({"seq": get("seq"), "at": isoformat_utc(get("at")), "username": get("username"),
                           "roles": get("roles"), "action": get("action"), "object": get("object_ref"),
                           "result": get("result"), "address": get("address"), "detail": get("detail")})


def append_access(session: Session, *, at: dt.datetime, username: str, roles: str, action: str, object_ref: str,
                  result: str, address: str, detail: dict[str, Any] | None = None) -> AccessLogEntry:
    """Append one entry to the access log, chained to the last one (inside the caller's transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ACCESS_LOCK_KEY})
    last = session.execute(select(AccessLogEntry.seq, AccessLogEntry.hash)
                           .order_by(AccessLogEntry.seq.desc()).limit(1)).first()
    values = {"seq": (last[0] if last else 0) + 1, "at": at, "username": username[:120], "roles": roles[:300],
              "action": action[:60], "object_ref": object_ref[:200], "result": result[:20],
              "address": (address or "")[:64], "detail": canonical_json(detail or {})}
    prev = last[1] if last else GENESIS
    digest = hashlib.sha256((prev + _access_record(values)).encode()).hexdigest()
    row = AccessLogEntry(**values, prev_hash=prev, hash=digest)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class LogCheck:
    """A log checked: how many rows, its head, and the first bad row if any."""

    ok: bool
    rows: int
    head: str
    first_bad: int | None = None
    reason: str | None = None
    anchor_hash: str | None = None  # the hash of row ``anchor`` when asked for


def verify_access_log(session: Session, *, anchor: int | None = None) -> LogCheck:
    """Recompute the access log's chain, streamed; report the first row that does not match."""
    prev, count, bad, reason, anchor_hash = GENESIS, 0, None, None, None
    for row in session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)
                               .execution_options(yield_per=STREAM_ROWS)):
        count += 1
        if bad is None:
            if row.seq != count:
                bad, reason = row.seq, f"sequence gap: expected entry {count}, found {row.seq}"
            elif row.prev_hash != prev:
                bad, reason = row.seq, "prev_hash does not match the previous entry"
            elif hashlib.sha256((prev + _access_record(row)).encode()).hexdigest() != row.hash:
                bad, reason = row.seq, "entry content does not match its hash"
        if row.seq == anchor:
            anchor_hash = row.hash
        prev = row.hash
        session.expunge(row)
    return LogCheck(bad is None, count, prev if count else "", bad, reason, anchor_hash)


def access_head(session: Session) -> dict:
    last = session.execute(select(AccessLogEntry.seq, AccessLogEntry.hash)
                           .order_by(AccessLogEntry.seq.desc()).limit(1)).first()
    return {"seq": last[0] if last else 0, "hash": last[1] if last else ""}


# --- the deployment and login logs, digested ------------------------------------------------

@dataclass(frozen=True)
class DigestedLog:
    """A table digested row by row: its name in a checkpoint, the model and what of a row counts."""

    name: str
    model: Any
    time_column: str

    def record(self, row) -> str:
        values = {column.name: getattr(row, column.key) for column in self.model.__table__.columns}
        return canonical_json({key: isoformat_utc(value) if isinstance(value, dt.datetime) else value
                               for key, value in values.items()})


DIGESTED = (DigestedLog("deployment", Deployment, "deployed_at"), DigestedLog("login", LoginAttempt, "at"))
EMPTY_DIGEST = {"last_id": 0, "rows": 0, "digest": GENESIS}


def _digest(session: Session, log: DigestedLog, start: dict, upto_id: int) -> dict:
    digest, rows, last_id = start["digest"], start["rows"], start["last_id"]
    model = log.model
    for row in session.scalars(select(model).where(model.id > start["last_id"], model.id <= upto_id)
                               .order_by(model.id).execution_options(yield_per=STREAM_ROWS)):
        digest = hashlib.sha256((digest + log.record(row)).encode()).hexdigest()
        rows, last_id = rows + 1, row.id
        session.expunge(row)
    return {"last_id": last_id, "rows": rows, "digest": digest}


def digest_logs(session: Session, previous: dict | None, *, now: dt.datetime) -> dict:
    """Each digested log carried on from ``previous`` (a checkpoint's logs) to its rows settled by ``now``."""
    out = {}
    for log in DIGESTED:
        start = (previous or {}).get(log.name) or EMPTY_DIGEST
        upto = session.scalar(select(func.max(log.model.id))
                              .where(getattr(log.model, log.time_column) < now - SETTLE)) or 0
        out[log.name] = _digest(session, log, start, max(upto, start["last_id"]))
    return out


def verify_digest(session: Session, name: str, expected: dict) -> str | None:
    """Recompute a digested log from its first row to ``expected['last_id']``; why not equal, or None."""
    log = next(log for log in DIGESTED if log.name == name)
    found = _digest(session, log, EMPTY_DIGEST, expected["last_id"])
    if found["rows"] != expected["rows"]:
        return (f"{expected['rows']} rows up to id {expected['last_id']} at the checkpoint, {found['rows']} now: "
                f"rows deleted or inserted")
    if found["digest"] != expected["digest"]:
        return f"the rows up to id {expected['last_id']} are not those of the checkpoint: a row was changed"
    return None
