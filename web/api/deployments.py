"""``/api/v1/deployments`` and the versions of a process: for process owners only (anyone else 403).

``POST /deployments`` takes ``multipart/form-data``: one ``files`` part per .bpmn / .dmn / form .json
file (or a .zip of them), an optional ``note`` and an optional ``mode``: ``overlay`` (the default:
the files replace those of the same path in the newest bundle and add new ones) or ``replace``
(deploy exactly the uploaded files, which must be the whole bundle). Every deploy check runs
(and bpmnlint); 201 with the processes and their versions when a new version was stored, 200 with
the existing versions for identical content, 422 with ``problems`` — each naming file, element id
and line — and nothing stored. The same pipeline as ``greenflow deploy`` and the modeler
(``web.modeler.deploys``).
"""
from __future__ import annotations

import base64

from flask import request
from sqlalchemy import select

from engine.clock import isoformat_utc
from engine.deploy import MAX_FILE_BYTES
from engine.errors import DeployError, EngineError, InvalidInput, NotFound, NotPermitted
from engine.identity import Actor
from engine.models import DefinitionFile, DefinitionVersion
from web.api import ID, bp
from web.api.auth import current_actor, writes
from web.inputs_guard import check_form_body
from web.extensions import engine
from web.modeler import bundles, catalog, deploys

OWNER_ROLES = ("process_owner",)
MAX_NOTE = 500
MODES = ("overlay", "replace")


class DeployRefused(EngineError):
    code = "deploy_refused"
    http_status = 422

    def __init__(self, problems: list[dict]):
        super().__init__(f"deployment refused, {len(problems)} problem(s)")
        self.problems = problems

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problems": self.problems}


class NotMultipart(EngineError):
    code = "unsupported_media_type"
    http_status = 415


def _owner() -> Actor:
    actor = current_actor()
    if not any(actor.has_role(role) for role in OWNER_ROLES):
        raise NotPermitted(f"只有流程管理员可以部署和查看流程版本 / only {', '.join(OWNER_ROLES)} may do this")
    return actor


def _newest_paths() -> set[str]:
    with engine().db.session() as session:
        newest = session.scalar(select(DefinitionVersion.id).order_by(DefinitionVersion.id.desc()).limit(1))
        if newest is None:
            return set()
        return set(session.scalars(select(DefinitionFile.path).where(DefinitionFile.version_id == newest)))


def _form_field(name: str) -> str | None:
    values = request.form.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"{name} is given more than once", field=name)
    return values[0] if values else None


@bp.post("/deployments")
@writes
def deployments_create():
    """Deploy uploaded files (overlay on the newest bundle, or ``mode=replace``) with an optional note."""
    actor = _owner()
    if request.mimetype != "multipart/form-data":
        raise NotMultipart(f"send multipart/form-data with one 'files' part per file, not "
                           f"{request.mimetype or 'no content type'}", fields={"body": "expected multipart/form-data"})
    check_form_body()
    unknown = sorted((set(request.form) | set(request.files)) - {"files", "note", "mode"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}", fields={name: "unknown field" for name in unknown})
    note = (_form_field("note") or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"note is longer than {MAX_NOTE} characters", field="note")
    mode = _form_field("mode") or "overlay"
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}", field="mode")
    parts = request.files.getlist("files")
    if not parts:
        raise InvalidInput("send one 'files' part per .bpmn / form .json file", field="files")
    uploads = [(part.filename or "", part.read(MAX_FILE_BYTES * 10 + 1)) for part in parts]
    try:
        files = bundles.read_uploads(uploads, _newest_paths())
        deployed = deploys.deploy(engine(), files, deployed_by=actor.username, note=note, source="api",
                                  overlay=mode == "overlay")
    except DeployError as err:
        raise DeployRefused([deploys.problem_dict(p) for p in err.problems]) from None
    except deploys.Refused as refused:
        raise DeployRefused(refused.problems) from None
    result = deployed.result
    body = {"definition_version": result.version_id, "created": result.created, "bundle_sha256": result.sha256,
            "deployment_id": result.deployment_id, "processes": deploys.process_rows(engine(), result),
            "warnings": deployed.warnings}
    if not result.created:
        return body, 200
    return body, 201, {"Location": f"/api/v1/definitions/{result.changed[0]}/versions" if result.changed
                       else "/api/v1/definitions"}


_iso = isoformat_utc


@bp.get("/definitions/<key>/versions")
def process_versions(key: str):
    """Every version of one process, newest first, with its note, deployer and instance counts."""
    _owner()
    rows = catalog.version_list(engine(), key)
    if not rows:
        raise NotFound(f"no process {key!r} has been deployed")
    return {"key": key, "name": engine().process_names().get(key, key),
            "items": [{**row, "deployed_at": _iso(row["deployed_at"])} for row in rows]}


@bp.get(f"/definitions/<key>/versions/<{ID}:number>")
def process_version(key: str, number: int):
    """One version of a process with its files: the .bpmn and the forms its tasks name."""
    _owner()
    found = catalog.content(engine(), key, number)
    if found is None:
        raise NotFound(f"process {key!r} has no version {number}")
    counts = next((r["instances"] for r in catalog.version_list(engine(), key) if r["version"] == number),
                  {"running": 0, "finished": 0})
    view = found.version
    files = []
    for path, content in sorted(found.files().items()):
        try:
            files.append({"path": path, "encoding": "utf-8", "content": content.decode("utf-8")})
        except UnicodeDecodeError:  # deploy only stores UTF-8 text, but never fail a read on it
            files.append({"path": path, "encoding": "base64", "content": base64.b64encode(content).decode()})
    return {"key": key, "name": found.name, "version": view.number, "note": view.note,
            "deployed_by": view.deployed_by, "deployed_at": _iso(view.deployed_at),
            "definition_version": view.definition_version, "content_sha256": view.content_sha256,
            "instances": counts, "bpmn_path": found.bpmn_path, "files": files}
