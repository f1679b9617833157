"""The public portal (no login): notices and objections, real-name complaints, the published lists.

- 公示 (第二十条): the notices running today (China time, on the engine's clock) and those that
  ended lately, each with its period and unit; during the period anyone may object under a
  real name. The objection goes to the application's instance as the message
  ``notice_objection``; its message hook (``handlers.notices.take_objection``) files it or
  refuses it (late, early, anonymous), and the page shows the refusal's reason. A filed
  objection gets a receipt number and an access code (查询码, ``handlers.receipts``); with both
  the objector may look up the objection's status (under verification / answered, and the
  answer), and nothing else.
- 实名举报 (第三十二条): a complaint about a listed unit or an evaluator starts the process
  ``complaint``; its start hook (``handlers.complaints``) refuses anonymous complaints and
  unlisted units, and routes the intake to the competent authority. The reporter gets a
  receipt number and an access code and may look up its status, and nothing else, with both.
- 名单 (第三条、第七条): the listings, filtered and paged (``web.blueprints.public_lists``).

Receipt numbers are sequential, so a status page answers only for a receipt number with its
access code; a missing or wrong code is the same plain 404 as an unknown number, so the page
never tells whether a number exists.

Every form carries a CSRF token and every POST is rate-limited per client. Uploaded evidence
is checked in memory and written to the content-addressed store (``web.uploads``) only once
the submission is accepted, so a refused objection or complaint leaves nothing behind. A
complaint's evidence is attached to its instance (the intake official's task page lists it);
an objection's is not attached to the application, whose applicant reads its attachments.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import Conflict, InvalidInput
from engine.identity import public_actor
from engine.models import Event, ProcessInstance
from handlers.complaints import PROCESS_ID as COMPLAINT_PROCESS, Complaint, complaint_status, normalise_complaint
from handlers.divisions import PROVINCE, city_of, division
from handlers.notices import OBJECTION_MESSAGE, objection_access_code, objection_receipt, objection_status
from handlers.records import ApplicationRecord, Evaluator, Notice, Objection, Unit
from web import uploads, vocab
from web.attachments import record_attachments
from web.extensions import engine, limiter
from web.formkit import UploadedFile

bp = Blueprint("public", __name__, url_prefix="/public")


POST_LIMIT = "5 per minute"  # per client address, for every form of the portal
LOOKUP_LIMIT = "30 per minute"  # the receipt lookup: enough for a person, not for guessing codes
PAGE_SIZE = 20
RECENT_DAYS = 30  # notices that ended this many days ago or less are still shown
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
NOTICE_ARTICLE = "第二十条"
OBJECTION_FIELDS = ("name", "id_number", "organisation", "contact", "matter", "evidence")
COMPLAINT_FIELDS = ("subject_kind", "unit", "evaluator_id", "reporter_name", "id_number", "contact", "matter",
                    "evidence")
OBJECTION_STATUSES = {"verifying": ("核实中", "Under verification"),
                      "answered": ("已答复", "Answered")}
OBJECTION_OUTCOMES = {"upheld": ("异议成立", "Objection upheld"),
                      "rejected": ("异议不成立", "Objection not upheld")}
COMPLAINT_STATUSES = {"received": ("已收到，待受理", "Received, awaiting intake"),
                      "accepted": ("已受理，处理中", "Accepted, in process"),
                      "closed": ("已办结", "Closed")}


@bp.context_processor
def _words() -> dict[str, Any]:
    """Labels of the domain's codes in the current language, for the portal's templates."""
    return {"level_word": lambda key: vocab.word(vocab.LEVELS, key),
            "unit_type_word": lambda key: vocab.word(vocab.UNIT_TYPES, key)}


# --------------------------------------------------------------------------- notices

@dataclass(frozen=True)
class NoticeView:
    """One notice (one unit's proposed listing) as the public sees it."""

    id: int
    level: str
    scope: str
    issuer: str
    first_day: dt.date
    last_day: dt.date
    is_open: bool
    unit_name: str
    credit_code: str
    county: str
    unit_type: str | None


@dataclass(frozen=True)
class NoticeBatch:
    """Notices of one authority and level over the same period: one 公示 on the official site."""

    level: str
    issuer: str
    first_day: dt.date
    last_day: dt.date
    notices: list[NoticeView]


def _issuer(level: str, scope: str) -> str:
    """The publishing authority (第二十条): a city's industry department or the province's."""
    if level == "province" or scope == PROVINCE:
        return _("贵州省工业和信息化厅")
    try:
        name = division(scope).name
    except InvalidInput:
        name = scope
    return _("%(city)s工业和信息化主管部门", city=name)


def _place(county_code: str | None) -> str:
    """``遵义市 红花岗区`` for a county, the city's name alone for a city-level code."""
    if not county_code:
        return ""
    try:
        county = division(county_code)
        city = division(city_of(county_code))
    except InvalidInput:
        return county_code
    return city.name if county.code == city.code else f"{city.name} {county.name}"


def _is_open(notice: Notice, now: dt.datetime) -> bool:
    """Objections are taken from publication until 24:00 of the last day (handlers.notices)."""
    return notice.closed_at is None and notice.starts_at <= now < notice.ends_at


def _view(notice: Notice, unit: Unit | None, record: ApplicationRecord | None, now: dt.datetime) -> NoticeView:
    last_moment = notice.ends_at - dt.timedelta(microseconds=1)
    return NoticeView(
        id=notice.id, level=notice.level, scope=notice.scope, issuer=_issuer(notice.level, notice.scope),
        first_day=notice.first_day or china_date(notice.starts_at), last_day=notice.last_day or china_date(last_moment),
        is_open=_is_open(notice, now), unit_name=notice.unit_name, credit_code=notice.credit_code,
        county=_place(unit.county_code if unit else None),
        unit_type=record.unit_type if record else (unit.unit_type if unit else None),
    )


def _notices(session: Session, now: dt.datetime, *conditions: Any) -> list[NoticeView]:
    rows = session.execute(
        select(Notice, Unit, ApplicationRecord)
        .outerjoin(Unit, Unit.credit_code == Notice.credit_code)
        .outerjoin(ApplicationRecord, ApplicationRecord.instance_id == Notice.instance_id)
        .where(*conditions)
        .order_by(Notice.ends_at.desc(), Notice.level, Notice.scope, Notice.unit_name, Notice.id)
    ).all()
    return [_view(notice, unit, record, now) for notice, unit, record in rows]


def _batches(views: list[NoticeView]) -> list[NoticeBatch]:
    """Group notices by authority, level and period, keeping the order of ``views``."""
    groups: dict[tuple[str, str, dt.date, dt.date], list[NoticeView]] = {}
    for view in views:
        groups.setdefault((view.level, view.scope, view.first_day, view.last_day), []).append(view)
    return [NoticeBatch(level=key[0], issuer=items[0].issuer, first_day=key[2], last_day=key[3], notices=items)
            for key, items in groups.items()]


def _notice_or_404(session: Session, notice_id: int) -> tuple[Notice, NoticeView]:
    row = session.execute(
        select(Notice, Unit, ApplicationRecord)
        .outerjoin(Unit, Unit.credit_code == Notice.credit_code)
        .outerjoin(ApplicationRecord, ApplicationRecord.instance_id == Notice.instance_id)
        .where(Notice.id == notice_id)
    ).first()
    if row is None:
        abort(404, description=_("公示不存在"))
    return row[0], _view(row[0], row[1], row[2], engine().clock.now())


@bp.get("/")
def index():
    return redirect(url_for("public.notices"))


@bp.get("/notices")
def notices():
    """The notices running today (not of a cancelled application), then those that ended lately."""
    now = engine().clock.now()
    with engine().db.session() as session:
        withdrawn = select(ProcessInstance.id).where(ProcessInstance.status == "cancelled")
        running = _notices(session, now, Notice.closed_at.is_(None), Notice.starts_at <= now, Notice.ends_at > now,
                           Notice.instance_id.not_in(withdrawn))
        ended = _notices(session, now, or_(Notice.closed_at.is_not(None), Notice.ends_at <= now),
                         Notice.ends_at > now - dt.timedelta(days=RECENT_DAYS))
    return render_template("public/notices.html", running=_batches(running), ended=_batches(ended),
                           running_count=len(running), ended_count=len(ended), today=china_date(now),
                           recent_days=RECENT_DAYS)


@bp.get("/notices/<int:notice_id>")
def notice(notice_id: int):
    with engine().db.session() as session:
        _, view = _notice_or_404(session, notice_id)
    return render_template("public/notice.html", notice=view)


# --------------------------------------------------------------------------- evidence uploads

@dataclass(frozen=True)
class Upload:
    """An evidence file held in memory until the submission it belongs to is accepted."""

    field: str  # the form field, also the attachment's field on the instance
    data: bytes
    filename: str
    content_type: str
    sha256: str

    @property
    def reference(self) -> str:
        return f"sha256:{self.sha256}"


def _read_upload(form_field: str) -> Upload | None:
    """The file posted as ``form_field``, checked as ``web.uploads.FileStore`` will check it.

    Size, extension and leading bytes are checked here, in memory, so that a file is written
    to the store only once its objection or complaint has been accepted, and the store can
    then not refuse it. None when no file was chosen; InvalidInput names ``form_field``.
    """
    posted = request.files.get(form_field)
    if posted is None or not posted.filename:
        return None
    filename = uploads.safe_filename(posted.filename)
    extension = uploads.extension_of(filename)
    if extension not in uploads.DEFAULT_ALLOWED:
        raise InvalidInput(_("佐证材料仅接受以下格式：%(types)s", types=" ".join(uploads.DEFAULT_ALLOWED)),
                           field=form_field)
    data = posted.stream.read(MAX_EVIDENCE_BYTES + 1)
    if len(data) > MAX_EVIDENCE_BYTES:
        raise InvalidInput(_("佐证材料不得超过%(mb)s MB", mb=MAX_EVIDENCE_BYTES // uploads.MiB), field=form_field)
    if not data:
        raise InvalidInput(_("上传的文件是空的"), field=form_field)
    magics = uploads.MAGIC.get(extension)
    if magics and not data.startswith(magics):
        raise InvalidInput(_("文件内容与扩展名不符：%(name)s", name=filename), field=form_field)
    return Upload(field=form_field, data=data, filename=filename,
                  content_type=posted.mimetype or "application/octet-stream", sha256=hashlib.sha256(data).hexdigest())


def _keep(upload: Upload | None, *, actor: str, attach_to: int | None = None) -> bool:
    """Store an accepted submission's evidence; with ``attach_to``, attach it to that instance.

    An attachment is listed on the task pages of everyone who may read the instance. Returns
    False if storing failed: the submission stands, and the receipt page says so.
    """
    if upload is None:
        return True
    store = uploads.FileStore(Path(current_app.config["GREENFLOW"].upload_dir))
    try:
        stored = store.save(io.BytesIO(upload.data), upload.filename, upload.content_type,
                            max_bytes=MAX_EVIDENCE_BYTES, field=upload.field)
        if attach_to is not None:
            record_attachments(attach_to, [UploadedFile(field=upload.field, sha256=stored.sha256,
                                                         filename=stored.filename, content_type=stored.content_type,
                                                         size=stored.size)], by=actor)
    except (OSError, InvalidInput, SQLAlchemyError):
        current_app.logger.exception("evidence %s could not be kept", upload.reference)
        return False
    return True


def _form_values(names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in names}


def _refusal(err: InvalidInput) -> dict[str, Any]:
    """What a form page shows for a refused submission: the message, its article and the fields."""
    return {"message": err.message, "article": getattr(err, "article", None), "fields": dict(err.fields)}


# --------------------------------------------------------------------------- objections (第二十条)

def _closed_message(view: NoticeView) -> str:
    return _("公示期为 %(first)s 至 %(last)s，当前不在公示期内，不受理异议（第二十条）",
             first=view.first_day.isoformat(), last=view.last_day.isoformat())


def _filed_objection(session: Session, instance_id: int, actor: str) -> Objection | None:
    """The objection this submission filed, found by its one-off actor in the instance's history."""
    payload = session.scalar(select(Event.payload).where(Event.instance_id == instance_id, Event.actor == actor,
                                                         Event.type == "objection_filed"))
    objection_id = json.loads(payload).get("objection_id") if payload else None
    return session.get(Objection, objection_id) if isinstance(objection_id, int) else None


@bp.route("/notices/<int:notice_id>/objection", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def objection(notice_id: int):
    """The objection form of a running notice; a filed objection gets a receipt number."""
    eng = engine()
    with eng.db.session() as session:
        row, view = _notice_or_404(session, notice_id)
    values = _form_values(OBJECTION_FIELDS)
    if request.method == "GET":
        return render_template("public/objection.html", notice=view, values=values, refusal=None)
    refusal: dict[str, Any] | None = None
    upload: Upload | None = None
    if not view.is_open:
        refusal = {"message": _closed_message(view), "article": NOTICE_ARTICLE, "fields": {}}
    else:
        actor = public_actor(f"objection-{secrets.token_hex(8)}")
        try:
            upload = _read_upload("evidence_file")
            evidence = values["evidence"]
            if upload is not None:
                evidence = "\n".join(filter(None, [evidence, _("附件：%(name)s（%(ref)s，%(size)s 字节）",
                                                               name=upload.filename, ref=upload.reference,
                                                               size=len(upload.data))]))
            payload = {**{k: values[k] or None for k in OBJECTION_FIELDS}, "evidence": evidence or None,
                       "notice_id": row.id}
            eng.deliver(row.instance_id, OBJECTION_MESSAGE, payload, actor=actor)
        except Conflict:  # the application has ended meanwhile
            refusal = {"message": _closed_message(view), "article": NOTICE_ARTICLE, "fields": {}}
        except InvalidInput as err:
            refusal = _refusal(err)
    if refusal is not None:
        return render_template("public/objection.html", notice=view, values=values, refusal=refusal), 422
    # Not attached to the application: its applicant reads that instance's attachments, and an
    # objector's evidence is for the publishing authority (the hash is in Objection.evidence).
    stored = _keep(upload, actor=actor.username)
    with eng.db.session() as session:
        filed = _filed_objection(session, row.instance_id, actor.username)
        receipt = objection_receipt(filed) if filed else None
        code = objection_access_code(filed) if filed else None  # of the row as read back from the database
        received_at = filed.received_at if filed else eng.clock.now()
    return render_template("public/objection_receipt.html", notice=view, receipt=receipt, code=code,
                           received_on=china_date(received_at), evidence_stored=stored)


def _lookup_args() -> tuple[str, str]:
    """The receipt number and the access code of a status query, as typed (trimmed, bounded)."""
    return request.args.get("receipt", "").strip()[:40], request.args.get("code", "").strip()[:40]


@bp.get("/objections/status")
@limiter.limit(LOOKUP_LIMIT)
def objection_status_page():
    """An objection by its receipt number and access code: received on, the notice, under verification
    or answered and the answer; nothing about the objector, the matter or the officials' finding.
    A missing or wrong code is the same 404 as an unknown receipt."""
    receipt, code = _lookup_args()
    if not receipt:  # the empty form
        return render_template("public/objection_status.html", receipt="", code=code, status=None)
    with engine().db.session() as session:
        status = objection_status(session, receipt, code)
        view = _notice_or_404(session, status["notice_id"])[1] if status else None
    if status is None:
        return render_template("public/objection_status.html", receipt=receipt, code=code, status=None), 404
    return render_template("public/objection_status.html", receipt=receipt, code=code, status=status, notice=view,
                           label=vocab.word(OBJECTION_STATUSES, status["status"]),
                           outcome=vocab.word(OBJECTION_OUTCOMES, status["outcome"]))


# --------------------------------------------------------------------------- complaints (第三十二条)

def _evaluators(session: Session) -> list[Evaluator]:
    return list(session.scalars(select(Evaluator).order_by(Evaluator.id)))


@bp.route("/complaints/new", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def complaint_new():
    """The real-name complaint form; a complaint taken starts the ``complaint`` process."""
    eng = engine()
    with eng.db.session() as session:
        evaluators = _evaluators(session)
    values = _form_values(COMPLAINT_FIELDS)
    upload: Upload | None = None
    if request.method == "GET":
        values["subject_kind"] = request.args.get("subject_kind", "unit")
        values["unit"] = request.args.get("unit", "").strip()[:200]
        return render_template("public/complaint.html", values=values, evaluators=evaluators, refusal=None)
    try:
        upload = _read_upload("evidence_file")
        fields: dict[str, Any] = {k: v for k, v in values.items() if v}
        if values["subject_kind"] == "unit":
            fields.pop("evaluator_id", None)
        elif values["subject_kind"] == "evaluator":
            fields.pop("unit", None)
        if upload is not None:
            fields.update(evidence_file=upload.reference, evidence_filename=upload.filename)
        with eng.db.session() as session:
            normalise_complaint(session, fields)  # 第三十二条 reasons before the schema's terse ones
        actor = public_actor(f"complaint-{secrets.token_hex(8)}")
        outcome = eng.start(COMPLAINT_PROCESS, fields, actor=actor)
    except InvalidInput as err:
        return render_template("public/complaint.html", values=values, evaluators=evaluators,
                               refusal=_refusal(err)), 422
    stored = _keep(upload, actor=actor.username, attach_to=outcome.instance_id)
    with eng.db.session() as session:
        filed = session.scalar(select(Complaint).where(Complaint.instance_id == outcome.instance_id))
        receipt = filed.receipt if filed else None
        code = filed.access_code if filed else None  # of the row as read back from the database
    return render_template("public/complaint_receipt.html", receipt=receipt, code=code, evidence_stored=stored)


@bp.get("/complaints/status")
@limiter.limit(LOOKUP_LIMIT)
def complaint_status_page():
    """The status of a complaint by its receipt number and access code: received, in process or
    closed; nothing else. A missing or wrong code is the same 404 as an unknown receipt."""
    receipt, code = _lookup_args()
    if not receipt:  # the empty form
        return render_template("public/complaint_status.html", receipt="", code=code, status=None, label=None)
    with engine().db.session() as session:
        status = complaint_status(session, receipt, code)
    if status is None:
        return render_template("public/complaint_status.html", receipt=receipt, code=code, status=None,
                               label=None), 404
    return render_template("public/complaint_status.html", receipt=receipt, code=code, status=status,
                           label=vocab.word(COMPLAINT_STATUSES, status["status"]))


# The published lists (第三条、第七条) register on this blueprint from their own module.
from web.blueprints import public_lists  # noqa: E402,F401
