"""The applicant portal: an enterprise or park applies, follows its applications and answers returns."""
from __future__ import annotations

import copy
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from engine.errors import InvalidInput
from engine.models import HumanTask, InstanceFacet, ProcessInstance
from handlers.green_codes import GreenCode, code_of
from handlers.records import ApplicationRecord, Evaluator
from web import access, formkit, vocab
from web.attachments import PendingUploads, attachments_of, unknown_kept_files
from web.extensions import engine
from web.submission import start_form_entries
from web.timeline import timeline_of
from web.uploads import FileStore

bp = Blueprint("portal", __name__, url_prefix="/portal")

PROCESS = "green_application"
START_FORM = "application.schema.json"
OUTCOMES = {
    "refused": ("不予受理", "Refused"), "rejected": ("不予通过", "Rejected"),
    "listed_city": ("列入市级名单", "Listed (city)"), "listed_province": ("列入省级名单", "Listed (province)"),
    "listed_national": ("列入国家级名单", "Listed (national)"), "not_recommended": ("未推荐", "Not recommended"),
    "miit_not_listed": ("未列入国家级名单", "Not listed by MIIT"),
    "removed_after_notice": ("公示异议成立，不予列入", "Removed after the notice"),
}
# What an applicant sees of its own history: the decisions, not the officials' internal work.
APPLICANT_EVENTS = {"instance_started", "task_completed", "outcome_recorded", "notice_opened", "notice_closed",
                    "listing_recorded", "instance_completed", "instance_cancelled"}


def _applicant() -> list[str]:
    """The unit scopes (``unit:<credit code>``) of the logged-in applicant; 403 for anyone else."""
    actor = current_user.actor
    scopes = actor.scopes("applicant")
    if not scopes:
        access.deny(_("仅申报单位可使用申报门户"))
    return scopes


def _own_instance(instance_id: int) -> ProcessInstance:
    scopes = _applicant()
    with engine().db.session() as session:
        owned = session.scalar(select(InstanceFacet.instance_id).where(
            InstanceFacet.instance_id == instance_id, InstanceFacet.key == "applicant_scope",
            InstanceFacet.value.in_(scopes)))
        instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        access.not_found(_("申报不存在"))
    if owned is None:
        access.deny(_("这不是本单位的申报"))
    return instance


@bp.get("/")
@login_required
def index():
    scopes = _applicant()
    eng = engine()
    with eng.db.session() as session:
        ids = select(InstanceFacet.instance_id).where(InstanceFacet.key == "applicant_scope",
                                                      InstanceFacet.value.in_(scopes))
        instances = session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))
                                    .order_by(ProcessInstance.id.desc())).all()
        open_tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids),
                                                             HumanTask.status == "open")).all()
        records = {r.instance_id: r for r in session.scalars(
            select(ApplicationRecord).where(ApplicationRecord.instance_id.in_(ids)))}
        codes = [code for code in (_latest_green_code(session, scope.removeprefix("unit:")) for scope in scopes)
                 if code]
    steps: dict[int, list[HumanTask]] = {}
    for task in open_tasks:
        steps.setdefault(task.instance_id, []).append(task)
    return render_template("portal/index.html", instances=instances, steps=steps, records=records,
                           scopes=set(scopes), outcomes=OUTCOMES, vocab=vocab, codes=codes)


def _latest_green_code(session, credit_code: str) -> dict | None:
    """The unit's newest enterprise green code and its position (第二十五条), if one was computed."""
    year = session.scalar(select(func.max(GreenCode.year)).where(GreenCode.credit_code == credit_code))
    return code_of(session, credit_code, year) if year else None


def _form_parts() -> tuple[dict, dict | None, int]:
    eng = engine()
    versions = [v for v in eng.versions() if PROCESS in v["processes"]]
    if not versions:
        access.not_found(_("申报流程尚未部署"))
    version_id = versions[-1]["version"]
    return eng.form(version_id, START_FORM), eng.form(version_id, "application.ui.json"), version_id


def _evaluators() -> list[tuple[str, str]]:
    with engine().db.session() as session:
        return [(e.id, e.name) for e in session.scalars(select(Evaluator).order_by(Evaluator.id))]


def _render_apply(values: dict, errors: dict | None = None, status: int = 200):
    schema, ui, _version = _form_parts()
    # Offer the registered evaluators as choices (the rules still judge whatever id arrives).
    shown = copy.deepcopy(schema)
    shown["properties"]["evaluator_id"]["oneOf"] = [{"const": k, "title": n} for k, n in _evaluators()]
    fields = formkit.build_fields(shown, ui, values, errors or {})
    return render_template("portal/apply.html", fields=fields, schema=schema, errors=errors or {},
                           top_errors=formkit.unplaced_errors(fields, errors or {})), status


@bp.get("/apply")
@login_required
def apply():
    scopes = _applicant()
    credit_code = scopes[0].removeprefix("unit:")
    return _render_apply({"credit_code": credit_code})


@bp.post("/apply")
@login_required
def submit_application():
    _applicant()
    schema, ui, _version = _form_parts()
    store = FileStore(Path(current_app.config["GREENFLOW"].upload_dir))
    parsed = formkit.parse_submission(schema, ui, request.form, request.files, store)
    with PendingUploads(store, parsed.files) as pending:  # discarded unless kept below
        errors: dict[str, str] = {}
        if parsed.action:
            pending.forget(parsed.values, errors)
            return _render_apply(parsed.values, errors)
        errors = unknown_kept_files(parsed.files, None)
        if parsed.errors or errors:
            errors.update(formkit.validation_errors(schema, parsed, form_name=schema.get("title", "")))
            pending.forget(parsed.values, errors)
            return _render_apply(parsed.values, errors, 422)
        try:
            outcome = engine().start(PROCESS, parsed.data, actor=current_user.actor)
        except InvalidInput as exc:
            errors = dict(exc.fields or {"data": exc.message})
            pending.forget(parsed.values, errors)
            return _render_apply(parsed.values, errors, 422)
        pending.keep(outcome.instance_id, by=current_user.actor.username)
    flash(_("申报已提交"), "success")
    return redirect(url_for("portal.application", instance_id=outcome.instance_id), code=303)


@bp.get("/applications/<int:instance_id>")
@login_required
def application(instance_id: int):
    _own_instance(instance_id)
    eng = engine()
    view = eng.instance(instance_id)
    with eng.db.session() as session:
        record = session.scalar(select(ApplicationRecord).where(ApplicationRecord.instance_id == instance_id))
        documents = attachments_of(session, instance_id)
    scopes = set(current_user.actor.scopes("applicant"))
    my_tasks = [t for t in view["tasks"] if t["status"] == "open" and t["scope"] in scopes]
    events = [e for e in view["events"] if e["type"] in APPLICANT_EVENTS]
    eligibility = view["data"].get("eligibility") or {}
    return render_template("portal/application.html", instance=view, summary=view["summary"], record=record,
                           my_tasks=my_tasks, timeline=timeline_of(events), documents=documents,
                           eligibility=eligibility, outcomes=OUTCOMES, vocab=vocab,
                           submitted=start_form_entries(view, {d.sha256: d.filename for d in documents}))
