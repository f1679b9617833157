"""Modeler drafts: a process owner's saved, not yet deployed edit of one process.

One draft per (process, owner), kept server-side so nothing is lost with a closed tab. A save
names the ``row_version`` it started from (None for the first save): a save from a stale tab is a
conflict, never a silent overwrite. A draft remembers the process version it was based on, so a
deploy can tell the owner that someone else deployed meanwhile (``web.modeler``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.models import ModelerDraft


class DraftConflict(Conflict):
    """The draft changed since the caller loaded it (another tab saved, discarded or deployed it)."""

    code = "draft_conflict"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # "exists" (a first save, but a draft is there) | "stale" | "gone"


def get(session: Session, process_id: str, owner: str) -> ModelerDraft | None:
    return session.scalar(select(ModelerDraft).where(ModelerDraft.process_id == process_id,
                                                     ModelerDraft.owner == owner))


def others(session: Session, process_id: str, owner: str) -> list[dict]:
    """The other owners with a draft of this process: [{owner, created_at, updated_at}], most recent first."""
    rows = session.execute(select(ModelerDraft.owner, ModelerDraft.created_at, ModelerDraft.updated_at)
                           .where(ModelerDraft.process_id == process_id, ModelerDraft.owner != owner)
                           .order_by(ModelerDraft.updated_at.desc(), ModelerDraft.owner)).all()
    return [{"owner": o, "created_at": created, "updated_at": updated} for o, created, updated in rows]


def counts(session: Session) -> dict[str, list[str]]:
    """process id -> the owners holding a draft of it."""
    result: dict[str, list[str]] = {}
    for pid, owner in session.execute(select(ModelerDraft.process_id, ModelerDraft.owner)
                                      .order_by(ModelerDraft.process_id, ModelerDraft.owner)):
        result.setdefault(pid, []).append(owner)
    return result


def save(session: Session, *, process_id: str, owner: str, bpmn_path: str, xml: str, forms: dict,
         row_version: int | None, base_version_id: int | None, now: dt.datetime) -> ModelerDraft:
    """Create (``row_version`` None) or update the owner's draft; DraftConflict if it moved meanwhile."""
    if row_version is None:
        if get(session, process_id, owner) is not None:
            raise DraftConflict(f"a draft of {process_id} was saved meanwhile (another tab?)", reason="exists")
        draft = ModelerDraft(process_id=process_id, owner=owner, bpmn_path=bpmn_path, xml=xml, forms=forms,
                             base_version_id=base_version_id, row_version=1, created_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(draft)
                session.flush()
        except IntegrityError:
            raise DraftConflict(f"a draft of {process_id} was saved meanwhile (another tab?)",
                                reason="exists") from None
        return draft
    result = session.execute(update(ModelerDraft)
                             .where(ModelerDraft.process_id == process_id, ModelerDraft.owner == owner,
                                    ModelerDraft.row_version == row_version)
                             .values(xml=xml, forms=forms, row_version=row_version + 1, updated_at=now)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        current = get(session, process_id, owner)
        if current is None:
            raise DraftConflict(f"the draft of {process_id} was discarded or deployed meanwhile", reason="gone")
        raise DraftConflict(f"the draft of {process_id} was saved meanwhile (row version {current.row_version}, "
                            f"not {row_version})", reason="stale")
    draft = get(session, process_id, owner)
    session.refresh(draft)
    return draft


def discard(session: Session, process_id: str, owner: str) -> bool:
    """Delete the owner's draft; False if there was none."""
    return session.execute(delete(ModelerDraft).where(ModelerDraft.process_id == process_id,
                                                      ModelerDraft.owner == owner)).rowcount > 0
