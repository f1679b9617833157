"""Process starts that a command asks for: the outbox's ``start_process`` rows.

Some work must run as a process of its own, not inside the instance that finds it: it has
its own due dates and must go on after the requesting instance (or the part of it that found
the work) has ended. A service task asks for it with
``ctx.start_process(process_id, data, business_key=...)``, which writes an ``Outbox`` row of
kind ``start_process`` in the command's own transaction: the request exists exactly when the
command committed, and not at all when it rolled back. (First user: a change explained in the
annual table starts its re-check, ``handlers/changes.py``.)

- ``WorkflowEngine.execute`` starts what a command requested right after its commit, so the
  new instance (and its inbox task) is there when the caller's page reloads.
- The worker's leader starts, on every tick, requests left over by a crash between that
  commit and the start (``dispatch_pending``; only rows older than ``GRACE`` so that it does
  not race the caller's own dispatch).
- Exactly once: every request has a business key (the one given, else ``outbox:<id>``). A
  request whose key already names an instance is marked done without starting another.
- A start the rules refuse (an ``EngineError``: the same change already being re-checked, a
  unit no longer listed, ...) is marked ``refused`` with the message and the requester gets a
  notification saying so; it is never retried. Any other failure leaves the row for the next
  tick.

The row's ``sent_at`` is set when the request is settled; ``payload["result"]`` says how:
``{"status": "started", "instance_id": N}``, ``{"status": "existing", "instance_id": N}`` or
``{"status": "refused", "error": code, "message": text}``, or ``{"status": "incident", ...}`` when
the platform lacks something (a calendar year): the incident's retry then starts the instance,
with the same business key.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.commands import StartInstance
from engine.errors import EngineError
from engine.identity import load_actor, system_actor
from engine.models import Outbox, ProcessInstance

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine

log = logging.getLogger(__name__)

KIND = "start_process"
GRACE = dt.timedelta(seconds=60)


def request(session, *, instance_id: int, now: dt.datetime, process_id: str, data: dict[str, Any],
            actor: str, business_key: str | None = None) -> Outbox:
    """Write the request row (in the caller's transaction); returns it with its id."""
    row = Outbox(instance_id=instance_id, kind=KIND, created_at=now,
                 payload={"process_id": process_id, "data": dict(data), "actor": actor,
                          "business_key": business_key})
    session.add(row)
    session.flush()
    return row


def dispatch(engine: "WorkflowEngine", outbox_ids: list[int] | tuple[int, ...]) -> list[dict[str, Any]]:
    """Settle the requests ``outbox_ids`` (those not settled yet); returns their results."""
    return [result for result in (_settle(engine, outbox_id) for outbox_id in outbox_ids) if result is not None]


def dispatch_pending(engine: "WorkflowEngine", *, limit: int = 100) -> list[dict[str, Any]]:
    """Settle unsettled requests older than ``GRACE`` (left over by a crash), oldest first."""
    cutoff = engine.clock.now() - GRACE
    with engine.db.session() as session:
        ids = list(session.scalars(select(Outbox.id).where(Outbox.kind == KIND, Outbox.sent_at.is_(None),
                                                           Outbox.created_at < cutoff)
                                   .order_by(Outbox.id).limit(limit)))
    return dispatch(engine, ids)


def _settle(engine: "WorkflowEngine", outbox_id: int) -> dict[str, Any] | None:
    with engine.db.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None or row.kind != KIND or row.sent_at is not None:
            return None
        payload, source_instance = dict(row.payload), row.instance_id
        key = payload.get("business_key") or f"outbox:{outbox_id}"
        existing = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == key,
                                                                   ProcessInstance.process_id == payload["process_id"]))
        actor = _actor(session, payload.get("actor"))
    if existing is not None:
        return _mark(engine, outbox_id, {"status": "existing", "instance_id": existing})
    try:
        outcome = engine.execute(StartInstance(process_id=payload["process_id"], data=dict(payload["data"]),
                                               business_key=key), actor=actor)
    except EngineError as err:
        if err.becomes_incident:  # the platform lacks something: the incident's retry starts it
            return _mark(engine, outbox_id, {"status": "incident", "error": err.code, "message": err.message})
        log.warning("requested start of %s (outbox %s) refused: %s", payload["process_id"], outbox_id, err.message)
        return _mark(engine, outbox_id, {"status": "refused", "error": err.code, "message": err.message},
                     tell=payload.get("actor"), source_instance=source_instance, process_id=payload["process_id"])
    return _mark(engine, outbox_id, {"status": "started", "instance_id": outcome.instance_id})


def _actor(session, username: str | None):
    """The requester, so that the new instance shows who caused it; the system if it cannot act."""
    if not username:
        return system_actor("followup")
    try:
        return load_actor(session, username)
    except EngineError:  # deactivated or removed since: the request still stands
        return system_actor("followup")


def _mark(engine: "WorkflowEngine", outbox_id: int, result: dict[str, Any], *, tell: str | None = None,
          source_instance: int | None = None, process_id: str | None = None) -> dict[str, Any]:
    now = engine.clock.now()
    with engine.db.unit_of_work() as session:
        row = session.get(Outbox, outbox_id)
        row.payload = {**row.payload, "result": result}
        row.sent_at = now
        if tell and not tell.startswith("system:"):
            session.add(Outbox(instance_id=source_instance, kind="notification", created_at=now, payload={
                "to": tell, "kind": "start_refused", "instance_id": source_instance, "process_id": process_id,
                "message_zh": f"未能发起流程：{result['message']}"}))
    return {"outbox_id": outbox_id, **result}
