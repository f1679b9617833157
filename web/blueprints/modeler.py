"""流程建模: process owners change a process in the browser, see what the change does, and deploy
it as a new immutable version (docs/modeler.md).

Pages: ``/modeler/`` (the processes, their drafts, the deployment log, upload), ``/modeler/<key>``
(the bpmn-js Modeler; its template and JavaScript are ``modeler/edit.html`` and
``static/js/modeler*.js``), ``/modeler/<key>/versions`` (every version; one read-only; the diff of
two), ``/modeler/<key>/bundle.zip`` and ``POST /modeler/upload`` (for Camunda Modeler users).

JSON for the browser under ``/modeler/api/`` (``web.blueprints.modeler_api``): meta, the draft
(GET/PUT/DELETE), validate, diff, deploy, form preview. Errors there are JSON ``{"error", "message", …}``; CSRF comes in the
``X-CSRFToken`` header (the page carries it in ``<meta name="csrf-token">``).

Every route: logged in, role ``process_owner``; anyone else 403.
"""
from __future__ import annotations

import io
import json

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from engine import text
from engine.clock import isoformat_utc
from engine.deploy import MAX_FILE_BYTES
from engine.errors import DeployError, EngineError
from engine.models import DefinitionFile, DefinitionVersion
from web.api.inputs import MAX_ID
from web.blueprints.auth import require_role
from web.extensions import engine
from web.modeler import bundles, catalog, deploys

bp = Blueprint("modeler", __name__, url_prefix="/modeler")
OWNER_ROLES = ("process_owner",)
MAX_NOTE = 500
API_PREFIX = "/modeler/api/"
NUMBER = f"int(max={MAX_ID})"  # version numbers in paths; larger ones are 404


def _number(raw: str) -> int:
    """A version number; 404 when ``raw`` is not one."""
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        abort(404, description=_("版本号无效：%(n)s", n=text.safe(raw)[:20]))
    return int(raw)


def _number_arg(name: str, default: int | None = None) -> int | None:
    """A version number from the query string (``default`` when absent); 404 when it is not one."""
    raw = request.args.get(name)
    return default if raw is None or raw == "" else _number(raw)


@bp.before_request
def _owners_only():
    """Log in first; then only process owners (403 for everyone else)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require_role(*OWNER_ROLES)
    return None


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    message = text.safe(err.description or "")
    if _is_api():
        return jsonify({"error": err.name.lower().replace(" ", "_"), "message": message}), err.code
    return render_template("error.html", status=err.code, message=message, fields={}), err.code


@bp.errorhandler(EngineError)
def _engine_error(err: EngineError):
    body = text.safe(err.to_dict())
    if _is_api():
        return jsonify(body), err.http_status
    return render_template("error.html", status=err.http_status, message=body["message"],
                           fields=body["fields"]), err.http_status


def _json_error(status: int, error: str, message: str, **extra):
    return jsonify({"error": error, "message": message, **extra}), status


def _me() -> str:
    return current_user.actor.username


_iso = isoformat_utc


def _others(rows: list[dict]) -> list[dict]:
    return [{"owner": r["owner"], "updated_at": _iso(r["updated_at"]), "created_at": _iso(r["created_at"])}
            for r in rows]


def _process(key: str):
    """The newest version of process ``key``, or 404."""
    latest = catalog.latest(engine(), key)
    if latest is None:
        abort(404, description=_("流程 %(key)s 不存在（尚未部署）", key=key))
    return latest


def _content(key: str, number: int | None):
    found = catalog.content(engine(), key, number)
    if found is None:
        abort(404, description=_("流程 %(key)s 没有版本 %(n)s", key=key, n=number))
    return found


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description=_("请求体须为 JSON 对象"))
    return data


def _urls(key: str) -> dict:
    return {"index": url_for(".index"), "meta": url_for(".api_meta"), "draft": url_for(".api_draft", key=key),
            "validate": url_for(".api_validate", key=key), "diff": url_for(".api_diff", key=key),
            "deploy": url_for(".api_deploy", key=key), "form_preview": url_for(".api_form_preview"),
            "versions": url_for(".versions_page", key=key), "bundle": url_for(".bundle", key=key),
            "upload": url_for(".upload")}


def _note(value) -> str | None:
    """The change note: required, at most MAX_NOTE characters; None (with nothing said) if it is not."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= MAX_NOTE and not text.text_problem(value) else None


def _note_message() -> str:
    return _("请填写变更说明（1–%(n)d 字）", n=MAX_NOTE)


# --- pages -----------------------------------------------------------------------------------

def _render_index(status: int = 200, *, problems: list[dict] | None = None, note: str = ""):
    eng = engine()
    return render_template("modeler/index.html", processes=catalog.overview(eng), me=_me(),
                           deployments=catalog.recent_deployments(eng), problems=problems or [],
                           note=note, max_note=MAX_NOTE), status


@bp.get("/")
def index():
    return _render_index()


@bp.get("/<key>")
def edit(key: str):
    latest = _process(key)
    draft, base, others = catalog.draft_of(engine(), key, _me())
    process = {"key": key, "name": engine().process_names().get(key, key), "latest_version": latest.number}
    draft_view = None if draft is None else {
        "row_version": draft.row_version, "base_version": base, "bpmn_path": draft.bpmn_path,
        "created_at": _iso(draft.created_at), "updated_at": _iso(draft.updated_at)}
    return render_template("modeler/edit.html", process=process, draft=draft_view, others=_others(others),
                           urls=_urls(key))


@bp.get("/<key>/versions")
def versions_page(key: str):
    latest = _process(key)
    a, b = _number_arg("a"), _number_arg("b")
    if a and b:
        return redirect(url_for(".diff_page", key=key, a=a, b=b))
    return render_template("modeler/versions.html", key=key, name=engine().process_names().get(key, key),
                           latest=latest.number, rows=catalog.version_list(engine(), key))


@bp.get(f"/<key>/versions/<{NUMBER}:number>")
def version_page(key: str, number: int):
    found = _content(key, number)
    counts = next((r["instances"] for r in catalog.version_list(engine(), key) if r["version"] == number),
                  {"running": 0, "finished": 0})
    forms = {name: json.dumps(schema, ensure_ascii=False, indent=2) for name, schema in found.forms.items()}
    return render_template("modeler/version.html", key=key, content=found, version=found.version, counts=counts,
                           forms=forms, latest=_process(key).number)


@bp.get(f"/<key>/versions/<{NUMBER}:number>/diagram.json")
def version_diagram(key: str, number: int):
    """One version's diagram for the read-only viewer (static/js/diagram.js)."""
    found = _content(key, number)
    return jsonify({"diagrams": [{"process_id": key, "name": found.name, "xml": found.xml,
                                  "completed": [], "current": []}]})


@bp.get(f"/<key>/versions/<{NUMBER}:a>/diff/<{NUMBER}:b>")
def diff_page(key: str, a: int, b: int):
    before, after = _content(key, a), _content(key, b)
    changes = bundles.forms_diff(before.forms, after.forms)
    for change in changes:
        change["before_text"] = json.dumps(change["before"], ensure_ascii=False, indent=2) if change["before"] else ""
        change["after_text"] = json.dumps(change["after"], ensure_ascii=False, indent=2) if change["after"] else ""
    return render_template("modeler/diff.html", key=key, name=after.name, a=before.version, b=after.version,
                           forms=changes, diagram_changed=before.xml != after.xml,
                           diff_src=url_for(".api_diff", key=key, **{"from": a, "to": b}))


@bp.get("/<key>/bundle.zip")
def bundle(key: str):
    """The process's .bpmn and its forms as deployed (the latest version, or ``?version=n``), zipped
    with their bundle paths; uploading the zip again puts every file back in its place."""
    found = _content(key, _number_arg("version"))
    data = bundles.write_zip(found.files())
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"{key}-v{found.version.number}.zip")


@bp.post("/upload")
def upload():
    """Deploy uploaded .bpmn / .json files (or a .zip of them) over the newest bundle, with a note."""
    note_text = request.form.get("note", "")
    note = _note(note_text)
    if note is None:
        return _render_index(422, problems=[{"file": "", "element_id": None, "line": None,
                                             "message": _note_message(), "severity": "error"}], note=note_text)
    eng = engine()
    with eng.db.session() as session:
        newest = session.scalar(select(DefinitionVersion.id).order_by(DefinitionVersion.id.desc()).limit(1))
        existing = set(session.scalars(select(DefinitionFile.path).where(DefinitionFile.version_id == newest))) \
            if newest else set()
    uploads = [(f.filename or "", f.read(MAX_FILE_BYTES * 10 + 1)) for f in request.files.getlist("files")]
    try:
        files = bundles.read_uploads(uploads, existing)
        deployed = deploys.deploy(eng, files, deployed_by=_me(), note=note, source="upload", overlay=True)
    except DeployError as err:
        return _render_index(422, problems=[deploys.problem_dict(p) for p in err.problems], note=note_text)
    except deploys.Refused as refused:
        return _render_index(422, problems=refused.problems, note=note_text)
    result = deployed.result
    if result.created:
        changed = ", ".join(f"{pid} v{result.versions.get(pid)}" for pid in result.changed) or _("无流程内容变化")
        flash(_("已部署定义版本 %(v)d：%(changed)s", v=result.version_id, changed=changed), "success")
    else:
        flash(_("内容与当前版本相同，未产生新版本"), "success")
    for warning in deployed.warnings:
        flash(_("提示：%(message)s", message=warning["message"]))
    return redirect(url_for(".index"), code=303)


# The JSON the browser modeler talks to registers on this blueprint from its own module.
from web.blueprints import modeler_api  # noqa: E402,F401
