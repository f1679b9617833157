"""Files attached to instances: recorded after the command that used them, listed on the task page.

The bytes are stored content-addressed by ``web.uploads.FileStore`` before the command runs;
the ``attachment`` row (who may download what) is written once the command succeeded. A file
whose command failed stays unreferenced and is never served.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Attachment
from web.extensions import engine


def record_attachments(instance_id: int, files: list, *, by: str) -> None:
    """Attach stored files (records with sha256, filename, content_type, size, field) to an instance."""
    if not files:
        return
    eng = engine()
    now = eng.clock.now()
    with eng.db.unit_of_work() as session:
        for f in files:
            exists = session.scalar(select(Attachment.id).where(
                Attachment.instance_id == instance_id, Attachment.sha256 == f.sha256, Attachment.field == f.field))
            if exists is None:
                session.add(Attachment(instance_id=instance_id, sha256=f.sha256, field=f.field, filename=f.filename,
                                       content_type=f.content_type, size=f.size, uploaded_by=by, uploaded_at=now))


def attachments_of(session: Session, instance_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                .order_by(Attachment.uploaded_at, Attachment.id)))


def attachment(session: Session, instance_id: int, sha256: str) -> Attachment | None:
    return session.scalar(select(Attachment).where(Attachment.instance_id == instance_id,
                                                   Attachment.sha256 == sha256).limit(1))
