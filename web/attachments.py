"""Files attached to instances: recorded after the command that used them, listed on the task page.

A form's fresh uploads are staged by ``web.uploads.FileStore`` while the form is parsed; the
command runs; once it succeeded the ``attachment`` rows (who may download what) are written and
only then are the files committed to the content-addressed store (``PendingUploads.keep``).
Whatever else happens — the form is refused (422), the command fails, a row is added to a
repeated group — the staged files are discarded when the request leaves ``PendingUploads``, and
the re-shown form asks for them again. Nothing stays on disk that no record points to
(``web.upload_sweep`` removes what a crash left behind).
"""
from __future__ import annotations

from pathlib import Path
from types import TracebackType

from flask import current_app, send_file
from flask import session as web_session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.models import Attachment
from web import access
from web.extensions import engine
from web.uploads import FileStore


MAX_REMEMBERED = 50


def remember_uploads(files: list) -> None:
    """Remember, in the user's session, the files this user uploaded (a re-shown form keeps them)."""
    new = [f.sha256 for f in files if getattr(f, "new", True)]
    if new:
        known = [sha for sha in web_session.get("uploads", []) if sha not in new]
        web_session["uploads"] = (known + new)[-MAX_REMEMBERED:]


def unknown_kept_files(files: list, instance_id: int | None) -> dict[str, str]:
    """Errors for files a form claims to keep but this user never uploaded nor the instance holds.

    A hidden ``sha256:`` input is only a claim: knowing a file's hash must not let anyone
    attach (and so download) somebody else's file.
    """
    uploaded = set(web_session.get("uploads", []))
    errors: dict[str, str] = {}
    eng = engine()
    with eng.db.session() as session:
        for f in files:
            if getattr(f, "new", True) or f.sha256 in uploaded:
                continue
            if instance_id is not None and attachment(session, instance_id, f.sha256) is not None:
                continue
            errors[f.field] = _("请重新上传该文件")
    return errors


class PendingUploads:
    """The fresh uploads of one submission: kept with ``keep`` once the command succeeded, else discarded.

    ``with PendingUploads(store, parsed.files) as pending: … pending.keep(instance_id, by=…)``.
    """

    def __init__(self, store: FileStore, files: list):
        self.store = store
        self.files = files
        self.kept = False

    def __enter__(self) -> "PendingUploads":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not self.kept:
            for f in self.files:
                if getattr(f, "stored", None) is not None:
                    self.store.discard(f.stored)

    def keep(self, instance_id: int, *, by: str) -> None:
        """Record the files on the instance, then commit the staged ones (records first: see ``web.uploads``)."""
        record_attachments(instance_id, self.files, by=by)
        for f in self.files:
            if getattr(f, "stored", None) is not None:
                self.store.commit(f.stored)
        self.kept = True
        remember_uploads(self.files)

    def forget(self, values: dict, errors: dict[str, str]) -> None:
        """For a form shown again: its fresh uploads are not kept, so clear their fields and ask for them."""
        for f in self.files:
            if getattr(f, "new", True):
                _drop(values, f.field.split("."))
                errors.setdefault(f.field, _("请重新上传该文件"))


def _drop(values: object, path: list[str]) -> None:
    """Remove the value at a dotted path (``members.0.file``) of nested dicts and lists, if it is there."""
    *parents, last = path
    node = values
    for key in parents:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return
    if isinstance(node, dict):
        node.pop(last, None)


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


def send_stored(sha256: str, *, filename: str, content_type: str, missing: str):
    """Send a stored file as a download; 404 with ``missing`` if the store does not hold it.

    Callers check who may have it first: a file is never served by its hash alone.
    """
    try:
        path = FileStore(Path(current_app.config["GREENFLOW"].upload_dir)).path_of(sha256)
    except EngineError:
        access.not_found(missing)
    return send_file(path, mimetype=content_type, as_attachment=True, download_name=filename)
