"""名单事务 (officials): application notices (第十四条), credit records (第二十七条) and the interchange
with the national platform (第八条).  Thin views over ``handlers.application_windows``,
``handlers.credit_records`` and ``handlers.interchange``; the applicants' portal shows the open
notices through ``open_application_windows()`` (web/templates/portal/_open_windows.html).

Files are previewed first (a dry run that writes nothing); the previewed file is kept in the file
store and named in the user's session, and only a file this user previewed can be imported.
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import (Blueprint, Response, current_app, flash, redirect, render_template, request, session as web_session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.clock import china_date
from engine.errors import InvalidInput
from handlers import credit_records, interchange
from handlers.application import UNIT_TYPES
from handlers.application_windows import open_windows, publish_window, windows, withdraw_window
from handlers.divisions import cities
from web.blueprints.auth import require_role
from web.extensions import engine
from web.uploads import FileStore, StoredFile

bp = Blueprint("records", __name__, url_prefix="/records")
WINDOW_READERS = ("county_official", "city_official", "province_official")
RECORDERS = ("city_official", "province_official")
PROVINCE_ONLY = ("province_official",)
TABLE_FILES = (".csv", ".xlsx")
DOCUMENT_FILES = (".pdf", ".png", ".jpg", ".jpeg", ".ofd")
MAX_TABLE_BYTES = 5 * 1024 * 1024
PREVIEWED = "records_previewed"  # session: {sha256: filename} of the files this user previewed


def _store() -> FileStore:
    return FileStore(Path(current_app.config["GREENFLOW"].upload_dir))


def _today():
    return china_date(engine().clock.now())


def _actor() -> str:
    return current_user.actor.username


@bp.app_context_processor
def _portal_helpers():
    """``open_application_windows()`` for the portal's partial: the notices open today or to come."""
    def open_application_windows() -> list[dict]:
        with engine().db.session() as session:
            return open_windows(session, _today())
    return {"open_application_windows": open_application_windows}


@bp.get("/")
@login_required
def index():
    require_role(*WINDOW_READERS)
    return render_template("records/index.html", active="index")


# --------------------------------------------------------------------------- application windows

def _render_windows(errors: dict | None = None, values: dict | None = None, status: int = 200):
    with engine().db.session() as session:
        rows = windows(session, _today())
    actor = current_user.actor
    return render_template("records/windows.html", windows=rows, errors=errors or {}, values=values or {},
                           can_publish=any(actor.has_role(r) for r in RECORDERS),
                           city_scopes=actor.scopes("city_official"),
                           is_province=actor.has_role("province_official"), cities=cities(), unit_types=UNIT_TYPES,
                           active="windows"), status


@bp.get("/windows")
@login_required
def windows_page():
    require_role(*WINDOW_READERS)
    return _render_windows()


@bp.post("/windows")
@login_required
def publish():
    """Publish a notice: 422 naming the field, 403 for another department's notice, 409 for an overlap."""
    require_role(*RECORDERS)
    fields = {key: request.form.get(key, "") for key in ("level", "scope", "year", "opens_on", "closes_on", "title",
                                                         "notice_ref", "guide_version", "notice_url")}
    fields["unit_types"] = request.form.getlist("unit_types")
    try:
        with engine().db.unit_of_work() as session:
            made = publish_window(session, fields, actor=_actor(), now=engine().clock.now())
    except InvalidInput as err:
        return _render_windows(err.fields or {"form": err.message}, fields, 422)
    flash(_("已发布申报通知：%(title)s", title=made["title"]), "success")
    return redirect(url_for("records.windows_page"), code=303)


@bp.post("/windows/<int:window_id>/withdraw")
@login_required
def withdraw(window_id: int):
    require_role(*RECORDERS)
    try:
        with engine().db.unit_of_work() as session:
            withdraw_window(session, window_id, actor=_actor(), reason=request.form.get("reason", ""),
                            now=engine().clock.now())
    except InvalidInput as err:
        return _render_windows({"reason": err.message}, None, 422)
    flash(_("申报通知已撤回"), "success")
    return redirect(url_for("records.windows_page"), code=303)


# --------------------------------------------------------------------------- files previewed, then imported

def _receive_table(field: str = "file") -> tuple[bytes, StoredFile]:
    """The uploaded table, kept in the store and remembered as previewed by this user."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择 CSV 或 XLSX 文件"), field=field)
    stored = _store().save(upload.stream, upload.filename, upload.mimetype, max_bytes=MAX_TABLE_BYTES,
                           allowed=TABLE_FILES, field=field)
    previewed = dict(web_session.get(PREVIEWED, {}))
    previewed[stored.sha256] = stored.filename
    web_session[PREVIEWED] = dict(list(previewed.items())[-20:])
    return _store().path_of(stored.sha256).read_bytes(), stored


def _previewed_table() -> tuple[bytes, str, str]:
    """(content, filename, ref) of the file this user previewed and now confirms; InvalidInput otherwise."""
    sha = request.form.get("file_sha256", "")
    filename = web_session.get(PREVIEWED, {}).get(sha)
    if filename is None or not _store().exists(sha):
        raise InvalidInput(_("请重新上传并预览该文件"), field="file")
    return _store().path_of(sha).read_bytes(), filename, f"sha256:{sha}"


# --------------------------------------------------------------------------- credit records

def _render_credit(preview: dict | None = None, stored: StoredFile | None = None, errors: dict | None = None,
                   values: dict | None = None, status: int = 200):
    code = (request.args.get("credit_code") or "").strip()[:18]
    with engine().db.session() as session:
        rows = credit_records.records(session, credit_code=code or None)
        batches = credit_records.imports(session, limit=10)
    return render_template("records/credit.html", records=rows, imports=batches, preview=preview, stored=stored,
                           errors=errors or {}, values=values or {}, columns=credit_records.COLUMNS,
                           kinds=credit_records.KINDS, credit_code=code, max_rows=credit_records.MAX_ROWS,
                           active="credit"), status


@bp.get("/credit")
@login_required
def credit_page():
    require_role(*RECORDERS)
    return _render_credit()


@bp.post("/credit/import")
@login_required
def credit_import():
    """``action=preview`` (a dry run of an uploaded file) or ``action=confirm`` (import the previewed file)."""
    require_role(*RECORDERS)
    try:
        if request.form.get("action") == "confirm":
            data, filename, ref = _previewed_table()
            result = credit_records.import_file(engine(), data, filename, actor=_actor(), file_ref=ref)
            flash(_("已导入 %(new)d 条信用记录（重复 %(dup)d 条跳过），发起移出 %(removals)d 件",
                    new=len(result["records"]), dup=result["preview"]["counts"]["duplicate"],
                    removals=len(result["removals"])), "success")
            return redirect(url_for("records.credit_page"), code=303)
        data, stored = _receive_table()
        preview = credit_records.preview_file(engine(), data, stored.filename, actor=_actor())
        return _render_credit(preview, stored, status=200 if preview["ok"] else 422)
    except InvalidInput as err:
        return _render_credit(errors=err.fields or {"file": err.message}, status=422)


@bp.post("/credit/manual")
@login_required
def credit_manual():
    """One record entered by hand with its source document (kept only when the record is written)."""
    require_role(*RECORDERS)
    values = {c.key: request.form.get(c.key, "") for c in credit_records.COLUMNS}
    store, staged = _store(), None
    try:
        upload = request.files.get("document_file")
        if upload is not None and upload.filename:
            staged = store.stage(upload.stream, upload.filename, upload.mimetype, allowed=DOCUMENT_FILES,
                                 field="document_file")
        result = credit_records.record_by_hand(
            engine(), values, actor=_actor(), document=(staged.ref, staged.filename) if staged else None)
    except InvalidInput as err:
        if staged is not None:
            store.discard(staged)
        return _render_credit(errors=err.fields or {"record": err.message}, values=values, status=422)
    if staged is not None:
        store.commit(staged)
    flash(_("已登记信用记录；发起移出 %(n)d 件", n=len(result["removals"])), "success")
    return redirect(url_for("records.credit_page"), code=303)


# --------------------------------------------------------------------------- interchange (第八条)

def _render_interchange(preview: dict | None = None, stored: StoredFile | None = None, errors: dict | None = None,
                        values: dict | None = None, status: int = 200, result: dict | None = None):
    with engine().db.session() as session:
        history = interchange.national_imports(session)
    return render_template("records/interchange.html", preview=preview, stored=stored, errors=errors or {},
                           values=values or {}, history=history, result=result,
                           columns=interchange.NATIONAL_LIST_COLUMNS, unit_columns=interchange.UNIT_COLUMNS,
                           listing_columns=interchange.LISTING_COLUMNS, active="interchange"), status


@bp.get("/interchange")
@login_required
def interchange_page():
    require_role(*PROVINCE_ONLY)
    return _render_interchange()


@bp.get("/interchange/export.<fmt>")
@login_required
def export(fmt: str):
    """Units and listings (filters: level, year, status) as JSON or XLSX; 422 naming a bad filter."""
    require_role(*PROVINCE_ONLY)
    if fmt not in ("json", "xlsx"):
        raise InvalidInput(_("导出格式应为 json 或 xlsx"), field="format")
    year = request.args.get("year") or None
    if year is not None and not year.isdigit():
        raise InvalidInput(_("年度应为数字"), field="year")
    with engine().db.session() as session:
        document = interchange.export_document(session, now=engine().clock.now(),
                                               level=request.args.get("level") or None,
                                               year=int(year) if year else None,
                                               status=request.args.get("status") or None)
    stamp = document["generated_at"][:10]
    if fmt == "json":
        body = json.dumps(document, ensure_ascii=False, indent=2)
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="greenflow-units-listings-{stamp}.json"'})
    return Response(interchange.export_xlsx(document),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="greenflow-units-listings-{stamp}.xlsx"'})


@bp.post("/interchange/national-list")
@login_required
def national_list():
    """MIIT's published list: ``action=preview`` (dry run) or ``action=confirm`` (apply the previewed file)."""
    require_role(*PROVINCE_ONLY)
    fields = {key: request.form.get(key, "") for key in ("year", "notice_ref", "published_on")}
    fields["complete"] = request.form.get("complete") == "1"
    try:
        if request.form.get("action") == "confirm":
            data, filename, ref = _previewed_table()
            result = interchange.import_national_list(engine(), data, filename, fields, actor=_actor(), file_ref=ref)
            return _render_interchange(result=result)
        data, stored = _receive_table()
        preview = interchange.preview_national_list(engine(), data, stored.filename, fields, actor=_actor())
        return _render_interchange(preview, stored, values=fields, status=200 if preview["ok"] else 422)
    except InvalidInput as err:
        return _render_interchange(errors=err.fields or {"file": err.message}, values=fields, status=422)
