"""完整性校验、检查点与导出 (issue 14): the auditors' evidence pages under ``/audit``.

- ``/audit/verify``: verify every history (and the logs and checkpoints) at once, or against a
  checkpoint statement an auditor kept; a summary and the broken ones, each with its first bad event;
- ``/audit/checkpoints``: the chained checkpoints; take one now; download any as a signed statement,
  and the public key that checks them;
- ``/audit/export``: download XES, OCEL 2.0 or CSV of the filtered histories (personal data masked
  unless the auditor holds the personal-data right and asks for it);
- ``/audit/access-log``: the access log of sensitive reads and exports.

Auditors only (``web.evidence.AUDITOR_ROLES``); a refused request is recorded in the access log.
Every verification, checkpoint, download and export is recorded there too.
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import InvalidInput
from engine.evidence import checkpoints
from engine.evidence.statement import MAX_BYTES
from engine.evidence.verify import KINDS
from engine.exports import FORMATS
from engine.identity import Actor
from engine.models import INSTANCE_STATUSES
from web import access, evidence, vocab
from web.access_log import ACTIONS, RESULTS, AccessQuery, access_page, record_access
from web.extensions import engine
from web.i18n import lang

bp = Blueprint("audit_evidence", __name__, url_prefix="/audit")
PER_PAGE = 50
FORMAT_NAMES = {"xes": "XES", "ocel": "OCEL 2.0", "csv": "CSV"}


@bp.context_processor
def _words() -> dict:
    """Words for the evidence pages: problem subjects, access-log actions and results."""
    def subject_of(problem) -> str:
        logs = {"access log": _("访问日志"), "login log": _("登录日志"), "deployment log": _("部署日志")}
        if problem.subject in logs:
            return logs[problem.subject]
        if problem.subject.startswith("checkpoint"):
            number = problem.subject.split()[1]
            return _("检查点 #%(id)s（文件）", id=number) if "(file)" in problem.subject else _("检查点 #%(id)s", id=number)
        return problem.subject

    def action_word(action: str) -> str:
        words = ACTIONS.get(action)
        return (words[1] if lang() == "en" else words[0]) if words else action

    def result_word(result: str) -> str:
        return {"ok": _("成功"), "denied": _("拒绝"), "failed": _("失败")}.get(result, result)

    return {"subject_of": subject_of, "action_word": action_word, "result_word": result_word}


def _auditor() -> Actor:
    """The logged-in auditor; 403 for anyone else (recorded in the access log as denied)."""
    actor = current_user.actor
    if not evidence.is_auditor(actor):
        record_access("audit.page", request.path, result="denied")
        access.deny(_("只有审计人员可以使用此页面"))
    return actor


# --- verification --------------------------------------------------------------------------------

def _render_verify(report=None, error: str | None = None, status: int = 200):
    return render_template("audit/verify.html", active="verify", report=report, error=error, kinds=KINDS,
                           max_kib=MAX_BYTES // 1024), status


@bp.get("/verify")
@login_required
def verify_page():
    _auditor()
    return _render_verify()


@bp.post("/verify")
@login_required
def verify_run():
    """Verify every history; against the uploaded checkpoint statement when one is sent."""
    _auditor()
    upload = request.files.get("statement")
    data = upload.read(MAX_BYTES + 1) if upload is not None and upload.filename else None
    try:
        report = evidence.verify(engine(), statement_bytes=data)
    except InvalidInput as err:
        record_access("audit.verify", "histories:all", result="failed", detail={"error": err.message})
        return _render_verify(error=err.message, status=422)
    anchor = report.anchor or {}
    record_access("audit.verify", f"checkpoint:{anchor['id']}" if anchor else "histories:all",
                  detail={"ok": report.ok, "instances": report.instances, "events": report.events,
                          "problems": report.problem_count, "against": anchor.get("source")})
    return _render_verify(report)


# --- checkpoints ---------------------------------------------------------------------------------

@bp.get("/checkpoints")
@login_required
def checkpoints_page():
    _auditor()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    eng = engine()
    with eng.db.session() as session:
        items, total = checkpoints.page(session, page=page, per_page=PER_PAGE)
    return render_template("audit/checkpoints.html", active="checkpoints", items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), key=evidence.signing_key())


@bp.post("/checkpoints")
@login_required
def checkpoints_create():
    """Take a checkpoint now (the worker takes one daily)."""
    actor = _auditor()
    point = evidence.take_checkpoint(engine(), by=actor.username)
    record_access("audit.checkpoint.create", f"checkpoint:{point.id}",
                  detail={"instances": point.instances, "events": point.events, "merkle_root": point.merkle_root})
    flash(_("已生成检查点 #%(id)d：%(n)d 个流程实例，%(e)d 个事件", id=point.id, n=point.instances, e=point.events),
          "success")
    return redirect(url_for("audit_evidence.checkpoints_page"), code=303)


@bp.get("/checkpoints/<int:checkpoint_id>.txt")
@login_required
def checkpoint_statement(checkpoint_id: int):
    """The checkpoint as a signed statement, to keep outside the system."""
    _auditor()
    text = evidence.statement_of(engine(), checkpoint_id)
    record_access("audit.checkpoint.download", f"checkpoint:{checkpoint_id}")
    return Response(text, mimetype="text/plain", headers={
        "Content-Disposition": f"attachment; filename={evidence.statement_filename(checkpoint_id)}"})


@bp.get("/checkpoints/public-key.pem")
@login_required
def public_key():
    """The public key that checks every statement (anyone holding it can check one)."""
    _auditor()
    return Response(evidence.require_signing_key().public_pem(), mimetype="application/x-pem-file",
                    headers={"Content-Disposition": "attachment; filename=greenflow-audit-public-key.pem"})


# --- exports -------------------------------------------------------------------------------------

def _render_export(errors: dict[str, str] | None = None, status: int = 200):
    actor = current_user.actor
    return render_template("audit/export.html", active="export", formats=FORMAT_NAMES, args=request.args,
                           processes=engine().process_names(), statuses=INSTANCE_STATUSES, vocab=vocab,
                           may_unmask=evidence.may_unmask(actor), errors=errors or {}), status


@bp.get("/export")
@login_required
def export_page():
    _auditor()
    return _render_export()


@bp.get("/export/download")
@login_required
def export_download():
    """The export file of the filters, in the format of the button pressed."""
    actor = _auditor()
    try:
        fmt = evidence.export_format(request.args.get("format"))
        flt = evidence.parse_filter(request.args)
    except InvalidInput as err:
        return _render_export(err.fields, 422)
    unmasked = request.args.get("personal_data") == "1"
    if unmasked and not evidence.may_unmask(actor):
        record_access("audit.export", f"export:{fmt}", result="denied", detail={"personal_data": True})
        access.deny(_("您没有查阅个人信息的权限，导出内容中的个人信息将被遮盖"))
    eng = engine()
    spool, summary = evidence.export_to_file(eng, fmt, flt, unmasked=unmasked)
    record_access("audit.export", f"export:{fmt}", detail=evidence.export_detail(fmt, flt, summary))
    return send_file(spool, mimetype=FORMATS[fmt][0], as_attachment=True,
                     download_name=evidence.export_filename(fmt, eng.clock.now()))


# --- the access log ------------------------------------------------------------------------------

@bp.get("/access-log")
@login_required
def access_log_page():
    _auditor()
    errors: dict[str, str] = {}
    args = request.args
    try:
        since, until = evidence.parse_date(args, "since"), evidence.parse_date(args, "until")
    except InvalidInput as err:
        errors, since, until = err.fields, None, None
    result = args.get("result") if args.get("result") in RESULTS else None
    query = AccessQuery(username=(args.get("username") or "").strip()[:120] or None,
                        action=(args.get("action") or "").strip()[:60] or None, result=result, since=since,
                        until=until, page=max(1, args.get("page", 1, type=int) or 1), per_page=PER_PAGE)
    items, total = access_page(engine(), query)
    record_access("audit.access_log.view", "access_log", detail={"page": query.page})
    return render_template("audit/access_log.html", active="access", items=items, total=total, page=query.page,
                           pages=max(1, -(-total // PER_PAGE)), args=args, actions=ACTIONS, results=RESULTS,
                           errors=errors), 422 if errors else 200
