"""The objections an official verifies (核实异议, 第二十条): what the task page shows, and their evidence.

The public objection form stores the objector's words in ``Objection`` and the evidence file
in the content-addressed store; the file is deliberately not attached to the application
instance (its applicant reads those attachments). The officials who may read the 核实异议
task see every objection of the instance's notices here, with a download link for the
evidence, served through the task (``tasks.objection_evidence``) and never by hash alone.
"""
from __future__ import annotations

import datetime as dt
import mimetypes
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import CHINA
from handlers.records import Notice, Objection

# Tasks whose page lists the objections of their instance.
REVIEW_TASKS = frozenset({"review_objection"})
_EVIDENCE_REF = re.compile(r"sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class ObjectionView:
    id: int
    notice_id: int
    received_at: dt.datetime  # China time
    name: str
    organisation: str | None
    id_number: str | None
    contact: str
    matter: str
    evidence: str | None
    evidence_sha256: str | None
    upheld: bool | None
    reply: str | None


def evidence_sha(evidence: str | None) -> str | None:
    """The stored evidence file named in the objection's evidence text, if any."""
    match = _EVIDENCE_REF.search(evidence or "")
    return match.group(1) if match else None


def objections_of(session: Session, instance_id: int) -> list[ObjectionView]:
    """Every objection raised against the notices of ``instance_id``, oldest first."""
    rows = session.scalars(select(Objection).join(Notice, Notice.id == Objection.notice_id)
                           .where(Notice.instance_id == instance_id)
                           .order_by(Objection.received_at, Objection.id)).all()
    return [ObjectionView(id=o.id, notice_id=o.notice_id, received_at=o.received_at.astimezone(CHINA), name=o.name,
                          organisation=o.organisation, id_number=o.id_number, contact=o.contact, matter=o.matter,
                          evidence=o.evidence, evidence_sha256=evidence_sha(o.evidence), upheld=o.upheld,
                          reply=o.reply)
            for o in rows]


def objection_of(session: Session, instance_id: int, objection_id: int) -> ObjectionView | None:
    """One objection of ``instance_id``'s notices; None if it belongs to another instance."""
    return next((o for o in objections_of(session, instance_id) if o.id == objection_id), None)


def evidence_download_name(objection: ObjectionView, sha256: str) -> tuple[str, str]:
    """(file name, content type) for the evidence: the name the objector gave, else one from the id."""
    match = re.search(r"[：:]\s*(.+?)\s*[（(]sha256:" + sha256, objection.evidence or "")
    filename = match.group(1) if match else f"objection-{objection.id}-evidence"
    return filename, mimetypes.guess_type(filename)[0] or "application/octet-stream"
