"""``/api/v1/audit/…``: verification, checkpoints, exports and the access log, for auditors only.

- ``GET /audit/verify``: verify every history, the checkpoint chain and the logs, against the newest
  stored checkpoint; ``POST /audit/verify`` with ``{"statement": "<the signed text>"}``: against a
  checkpoint statement the auditor kept. 200 with the report either way (``ok`` says whether all
  is intact); 422 if the statement cannot be read.
- ``GET /audit/checkpoints`` (paged), ``POST /audit/checkpoints`` (take one now, 201),
  ``GET /audit/checkpoints/{id}``, ``GET /audit/checkpoints/{id}/statement`` (the signed text),
  ``GET /audit/public-key`` (PEM).
- ``GET /audit/export?format=xes|ocel|csv`` with the filters ``process_id``, ``status``, ``since``,
  ``until`` (China dates of the start) and ``personal_data=true`` (403 without the right).
- ``GET /audit/access-log``: the access log, newest first, filtered and paged.

Anyone but an auditor gets 403, and the refusal goes into the access log like every use here.
"""
from __future__ import annotations

import datetime as dt
import re

from flask import Response, request, send_file, url_for

from engine.errors import InvalidInput, NotPermitted
from engine.evidence import checkpoints
from engine.evidence.statement import MAX_BYTES
from engine.exports import FORMATS, ExportFilter
from engine.identity import Actor
from engine.models import INSTANCE_STATUSES
from web import evidence
from web.access_log import RESULTS, AccessQuery, access_page, record_access
from web.api import ID, bp
from web.api.auth import current_actor, writes
from web.api.inputs import json_body, query_choice, query_int, query_text, text
from web.extensions import engine

MAX_PER_PAGE = 100
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _auditor() -> Actor:
    actor = current_actor()
    if not evidence.is_auditor(actor):
        record_access("audit.api", request.path, result="denied")
        raise NotPermitted("只有审计人员可以使用审计接口 / only auditors may use the audit API")
    return actor


def _query_date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD", field=name) from None


def _report(statement_bytes: bytes | None):
    report = evidence.verify(engine(), statement_bytes=statement_bytes)
    anchor = report.anchor or {}
    record_access("audit.verify", f"checkpoint:{anchor['id']}" if anchor else "histories:all",
                  detail={"ok": report.ok, "instances": report.instances, "events": report.events,
                          "problems": report.problem_count, "against": anchor.get("source")})
    return report.to_dict()


@bp.get("/audit/verify")
def audit_verify():
    """Verify everything against the newest stored checkpoint."""
    _auditor()
    return _report(None)


@bp.post("/audit/verify")
@writes
def audit_verify_statement():
    """Verify everything against a checkpoint statement kept outside the system."""
    _auditor()
    body = json_body(allowed={"statement"})
    kept = text(body, "statement", required=True, max_length=MAX_BYTES)
    return _report(kept.encode("utf-8"))


@bp.get("/audit/checkpoints")
def audit_checkpoints():
    _auditor()
    page = query_int("page", default=1)
    per_page = query_int("per_page", default=20, high=MAX_PER_PAGE)
    with engine().db.session() as session:
        items, total = checkpoints.page(session, page=page, per_page=per_page)
    return {"items": [item.to_dict() for item in items], "total": total, "page": page, "per_page": per_page,
            "pages": max(1, -(-total // per_page)), "key": key.fingerprint if (key := evidence.signing_key()) else None}


@bp.post("/audit/checkpoints")
@writes
def audit_checkpoints_create():
    actor = _auditor()
    json_body(allowed=set())
    point = evidence.take_checkpoint(engine(), by=actor.username)
    record_access("audit.checkpoint.create", f"checkpoint:{point.id}",
                  detail={"instances": point.instances, "events": point.events, "merkle_root": point.merkle_root})
    return point.to_dict(), 201, {"Location": url_for("api.audit_checkpoint", checkpoint_id=point.id)}


@bp.get(f"/audit/checkpoints/<{ID}:checkpoint_id>")
def audit_checkpoint(checkpoint_id: int):
    _auditor()
    with engine().db.session() as session:
        return checkpoints.get(session, checkpoint_id).to_dict()


@bp.get(f"/audit/checkpoints/<{ID}:checkpoint_id>/statement")
def audit_checkpoint_statement(checkpoint_id: int):
    _auditor()
    statement = evidence.statement_of(engine(), checkpoint_id)
    record_access("audit.checkpoint.download", f"checkpoint:{checkpoint_id}", detail={"via": "api"})
    return Response(statement, mimetype="text/plain", headers={
        "Content-Disposition": f"attachment; filename={evidence.statement_filename(checkpoint_id)}"})


@bp.get("/audit/public-key")
def audit_public_key():
    _auditor()
    return Response(evidence.require_signing_key().public_pem(), mimetype="application/x-pem-file")


@bp.get("/audit/export")
def audit_export():
    actor = _auditor()
    fmt = query_choice("format", tuple(FORMATS), default=None)
    if fmt is None:
        raise InvalidInput(f"format is required: one of {', '.join(FORMATS)}", field="format")
    flt = ExportFilter(process_id=query_text("process_id", max_length=120),
                       status=query_choice("status", INSTANCE_STATUSES, default=None),
                       since=_query_date("since"), until=_query_date("until"))
    unmasked = query_choice("personal_data", ("true", "false"), default="false") == "true"
    if unmasked and not evidence.may_unmask(actor):
        record_access("audit.export", f"export:{fmt}", result="denied", detail={"personal_data": True, "via": "api"})
        raise NotPermitted("无权导出未遮盖的个人信息 / you may not export personal data unmasked",
                           fields={"personal_data": "requires the personal_data right"})
    eng = engine()
    spool, summary = evidence.export_to_file(eng, fmt, flt, unmasked=unmasked)
    record_access("audit.export", f"export:{fmt}", detail={**evidence.export_detail(fmt, flt, summary), "via": "api"})
    response = send_file(spool, mimetype=FORMATS[fmt][0], as_attachment=True,
                         download_name=evidence.export_filename(fmt, eng.clock.now()))
    response.headers["X-Content-SHA256"] = summary.sha256
    return response


@bp.get("/audit/access-log")
def audit_access_log():
    _auditor()
    query = AccessQuery(username=query_text("username", max_length=120), action=query_text("action", max_length=60),
                        result=query_choice("result", RESULTS, default=None), since=_query_date("since"),
                        until=_query_date("until"), page=query_int("page", default=1),
                        per_page=query_int("per_page", default=20, high=MAX_PER_PAGE))
    items, total = access_page(engine(), query)
    record_access("audit.access_log.view", "access_log", detail={"page": query.page, "via": "api"})
    return {"items": [{**item, "at": item["at"].isoformat()} for item in items], "total": total, "page": query.page,
            "per_page": query.per_page, "pages": max(1, -(-total // query.per_page))}


# --- the OpenAPI description (web/api/openapi.py collects it) -------------------------------------

from web.api import openapi as _openapi  # noqa: E402

_openapi.TAGS.append("audit")
_DATE_PARAM = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10}
_PROBLEM = _openapi._object({
    "kind": {"enum": ["chain", "rewritten", "truncated", "deleted", "checkpoint", "statement", "log"]},
    "label_zh": _openapi.STRING, "label_en": _openapi.STRING, "subject": _openapi.STRING,
    "instance_id": {"type": ["integer", "null"]},
    "seq": {"type": ["integer", "null"], "description": "The first bad event (or log entry)"},
    "seq_to": {"type": ["integer", "null"], "description": "With seq: the range the change lies in"},
    "reason": _openapi.STRING})
_openapi.SCHEMAS.update({
    "VerifyProblem": _PROBLEM,
    "VerifyReport": _openapi._object({
        "ok": {"type": "boolean", "description": "true when every chain, log and checkpoint is intact"},
        "checked_at": _openapi.WHEN, "instances": _openapi.INTEGER, "events": _openapi.INTEGER,
        "intact": _openapi.INTEGER, "broken_instances": {"type": "array", "items": _openapi.INTEGER},
        "problem_count": _openapi.INTEGER,
        "problems": {"type": "array", "items": _openapi._ref("VerifyProblem"), "description": "At most 1000 listed"},
        "checkpoints": {"type": "integer", "description": "Stored checkpoints whose chain was checked"},
        "anchor": {"type": ["object", "null"], "description": "The checkpoint compared with: id, source "
                                                              "(statement or database), signature"},
        "access_log": _openapi._object({"entries": _openapi.INTEGER, "ok": {"type": "boolean"}}),
    }),
    "VerifyStatement": _openapi._object({"statement": {
        **_openapi.text_schema(MAX_BYTES, required=True), "description": "The signed checkpoint statement, as text"}},
        extra=False),
    "Checkpoint": _openapi._object({
        "id": _openapi.INTEGER, "created_at": _openapi.WHEN, "created_by": _openapi.STRING,
        "instances": _openapi.INTEGER, "events": _openapi.INTEGER, "merkle_root": _openapi.STRING,
        "logs": {"type": "object", "description": "Heads of the access, deployment and login logs"},
        "broken": {"type": "array", "items": _openapi.INTEGER, "description": "Instances already broken then"},
        "prev_hash": _openapi.STRING, "hash": _openapi.STRING}),
    "CheckpointList": _openapi._object({
        "items": {"type": "array", "items": _openapi._ref("Checkpoint")}, "total": _openapi.INTEGER,
        "page": _openapi.INTEGER, "per_page": _openapi.INTEGER, "pages": _openapi.INTEGER,
        "key": {"type": ["string", "null"], "description": "Fingerprint of the signing key (ed25519:…); "
                                                           "null before greenflow init made one"}}),
    "AccessLogEntry": _openapi._object({
        "seq": _openapi.INTEGER, "at": _openapi.WHEN, "username": _openapi.STRING, "roles": _openapi.STRING,
        "action": _openapi.STRING, "action_zh": _openapi.STRING, "object": _openapi.STRING,
        "result": {"enum": list(RESULTS)}, "address": _openapi.STRING, "detail": _openapi.OBJECT,
        "hash": _openapi.STRING}),
    "AccessLogPage": _openapi._page_of("AccessLogEntry"),
})


def _file(media_type: str, description: str) -> dict:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _audit_operation(operation_id: str, summary: str, ok: tuple[str, str], errors: list[str], **kw) -> dict:
    return _openapi._operation(operation_id, summary, "audit", ok=ok, errors=errors, **kw)


_READ = ["403", "404"]
# OCEL 2.0 is one JSON document; XES and CSV are files of text.
_EXPORT_BODY = {"application/json": {"type": "object", "description": "The OCEL 2.0 JSON document"}}
_verify_post = _audit_operation("verifyHistoriesAgainstStatement", "Verify everything against a kept checkpoint "
                                "statement (auditors)", ("200", "VerifyReport"),
                                ["403", "413", "415", "422", "429"], body="VerifyStatement")
_create = _audit_operation("createCheckpoint", "Take a checkpoint now (auditors)", ("201", "Checkpoint"),
                           ["403", "413", "415", "422", "429"], body="Empty")
_create["responses"]["201"].pop("headers", None)
_create["responses"]["201"]["headers"] = {"Location": {"schema": _openapi.STRING,
                                                       "description": "URL of the new checkpoint"}}
_statement = _audit_operation("getCheckpointStatement", "A checkpoint as a signed text to keep outside the system "
                              "(409 no_signing_key before greenflow init made the key)", ("200", "Checkpoint"),
                              [*_READ, "409"], parameters=[_openapi._param("CheckpointId")])
_statement["responses"]["200"] = _file("text/plain", "The signed statement (Ed25519)")
_public_key = _audit_operation("getAuditPublicKey", "The public key that checks the statements (409 no_signing_key "
                               "before greenflow init made the key)", ("200", "Checkpoint"), ["403", "409"])
_public_key["responses"]["200"] = _file("application/x-pem-file", "The Ed25519 public key (PEM)")
_export = _audit_operation("exportHistories", "Export the filtered histories as XES, OCEL 2.0 or CSV (auditors)",
                           ("200", "Checkpoint"), ["403", "422"], parameters=[
                               _openapi._query("format", {"enum": list(FORMATS)}, "xes, ocel or csv (required)"),
                               _openapi._query("process_id", _openapi._filter(120), "Only this process"),
                               _openapi._query("status", {"enum": list(INSTANCE_STATUSES)}, "Only this status"),
                               _openapi._query("since", _DATE_PARAM, "Started on or after this China date"),
                               _openapi._query("until", _DATE_PARAM, "Started on or before this China date "
                                               "(not before since: 422 naming until)"),
                               _openapi._query("personal_data", {"enum": ["true", "false"], "default": "false"},
                                               "Unmasked personal data (needs the personal_data right)")])
_export["parameters"][0]["required"] = True
_export["responses"]["200"] = {"description": "The export file (X-Content-SHA256: its hash)",
                               "content": {media: {"schema": _EXPORT_BODY.get(media, {"type": "string"})}
                                           for media in sorted({m for m, _ in FORMATS.values()})}}
_openapi.PARAMETERS["CheckpointId"] = {"name": "checkpoint_id", "in": "path", "required": True,
                                       "schema": _openapi.ROW_ID}
_openapi.PATHS.update({
    "/audit/verify": {
        "get": _audit_operation("verifyHistories", "Verify every history, the checkpoints and the logs (auditors)",
                                ("200", "VerifyReport"), ["403"]),
        "post": _verify_post,
    },
    "/audit/checkpoints": {
        "get": _audit_operation("listCheckpoints", "The chained checkpoints, newest first (auditors)",
                                ("200", "CheckpointList"), ["403", "422"],
                                parameters=[_openapi._param("Page"), _openapi._param("PerPage")]),
        "post": _create,
    },
    "/audit/checkpoints/{checkpoint_id}": {
        "get": _audit_operation("getCheckpoint", "One checkpoint (auditors)", ("200", "Checkpoint"), _READ,
                                parameters=[_openapi._param("CheckpointId")]),
    },
    "/audit/checkpoints/{checkpoint_id}/statement": {"get": _statement},
    "/audit/public-key": {"get": _public_key},
    "/audit/export": {"get": _export},
    "/audit/access-log": {
        "get": _audit_operation("listAccessLog", "The access log of sensitive reads and exports, newest first "
                                "(auditors)", ("200", "AccessLogPage"), ["403", "422"], parameters=[
                                    _openapi._query("username", _openapi._filter(120), "Only this user"),
                                    _openapi._query("action", _openapi._filter(60), "Only this action"),
                                    _openapi._query("result", {"enum": list(RESULTS)}, "Only this result"),
                                    _openapi._query("since", _DATE_PARAM, "On or after this China date"),
                                    _openapi._query("until", _DATE_PARAM, "On or before this China date"),
                                    _openapi._param("Page"), _openapi._param("PerPage")]),
    },
})
