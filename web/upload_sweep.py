"""The upload sweep: remove from the store what no database record points to.

Forms stage their uploads and commit them only after their records are written
(``web.attachments.PendingUploads``), so a refused form leaves nothing. What a crash, a killed
process or an older version left behind is removed here, once older than a grace period
(``DEFAULT_GRACE``, 24 hours: an upload being received or waiting for its command is fresh):

- temporaries (``<upload_dir>/.upload-…``): an upload received but never committed or discarded;
- stored files (``<upload_dir>/ab/cd/<sha256>``) that no record references.

A record is an ``attachment`` row (every file a form or a complaint kept), an objection's
evidence (``Objection.evidence`` names it as ``sha256:<hex>``; it is deliberately not an
attachment of the application), and the ``evidence_file`` of a complaint, a change report or an
incident report. Content-addressed files are shared, so a file is removed only when none of them
points to it, and each is asked again after it was hidden (``FileStore.remove_unless``).

Run by ``greenflow uploads sweep`` and, every ``SWEEP_INTERVAL``, by the scheduling leader of
``greenflow serve`` / ``greenflow worker`` (``UploadSweeper``, a job of ``engine.worker.TimerWorker``).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.api import WorkflowEngine
from engine.models import Attachment
from handlers.changes import UnitChange
from handlers.complaints import Complaint
from handlers.credit_records import CreditImport, CreditRecord
from handlers.interchange import NationalListImport
from handlers.records import Objection
from handlers.unit_incidents import UnitIncident
from web.uploads import FileStore

log = logging.getLogger(__name__)

DEFAULT_GRACE = dt.timedelta(hours=24)
SWEEP_INTERVAL = dt.timedelta(hours=1)
_REF = re.compile(r"sha256:([0-9a-f]{64})")
# Columns holding one "sha256:<hex>" reference each.
_FILE_COLUMNS = (Complaint.evidence_file, UnitChange.evidence_file, UnitIncident.evidence_file,
                 # issue 16: a credit record's source document, the imported credit and national-list files
                 CreditRecord.document_file, CreditImport.file_ref, NationalListImport.file_ref)


@dataclass(frozen=True)
class SweepReport:
    temporaries: int  # stale temporaries removed
    orphans: int  # stored files no record pointed to, removed
    freed_bytes: int
    kept: int  # old stored files kept because a record points to them


def referenced_hashes(session: Session, only: str | None = None) -> set[str]:
    """Every stored file a record points to (or, with ``only``, whether that one is: {only} or empty)."""
    found: set[str] = set()
    query = select(Attachment.sha256)
    if only is not None:
        query = query.where(Attachment.sha256 == only)
    found.update(session.scalars(query))
    for column in _FILE_COLUMNS:
        query = select(column).where(column.is_not(None))
        if only is not None:
            query = query.where(column == f"sha256:{only}")
        found.update(match.group(1) for value in session.scalars(query) if (match := _REF.fullmatch(value or "")))
    query = select(Objection.evidence).where(Objection.evidence.like("%sha256:%"))
    if only is not None:
        query = query.where(Objection.evidence.like(f"%sha256:{only}%"))
    for evidence in session.scalars(query):
        found.update(_REF.findall(evidence or ""))
    return found if only is None else found & {only}


def sweep_uploads(eng: WorkflowEngine, store: FileStore, *, older_than: dt.timedelta = DEFAULT_GRACE,
                  now: float | None = None) -> SweepReport:
    """Remove stale temporaries and unreferenced stored files older than ``older_than``."""
    temporaries, stored = store.sweep_candidates(older_than.total_seconds(), now=now)
    removed_temporaries = freed = 0
    for path in temporaries:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:  # committed or discarded meanwhile
            continue
        removed_temporaries += 1
        freed += size
    with eng.db.session() as session:
        referenced = referenced_hashes(session)
    orphans = kept = 0
    for sha in stored:
        if sha in referenced:
            kept += 1
            continue
        size = store.remove_unless(sha, lambda digest: _still_referenced(eng, digest))
        if size is None:
            kept += 1
        else:
            orphans += 1
            freed += size
    report = SweepReport(temporaries=removed_temporaries, orphans=orphans, freed_bytes=freed, kept=kept)
    if removed_temporaries or orphans:
        log.info("upload sweep: removed %d temporaries and %d unreferenced files (%d bytes)",
                 removed_temporaries, orphans, freed)
    return report


def _still_referenced(eng: WorkflowEngine, sha: str) -> bool:
    with eng.db.session() as session:
        return bool(referenced_hashes(session, only=sha))


class UploadSweeper:
    """A leader job of the timer worker: sweeps the upload store at most once every ``interval``."""

    __name__ = "upload_sweep"

    def __init__(self, eng: WorkflowEngine, upload_dir: str | Path, *, interval: dt.timedelta = SWEEP_INTERVAL,
                 older_than: dt.timedelta = DEFAULT_GRACE):
        self.engine = eng
        self.store = FileStore(Path(upload_dir))
        self.interval = interval.total_seconds()
        self.older_than = older_than
        self._last: float | None = None

    def __call__(self) -> SweepReport | None:
        started = time.monotonic()
        if self._last is not None and started - self._last < self.interval:
            return None
        self._last = started
        return sweep_uploads(self.engine, self.store, older_than=self.older_than)
