"""The applicant portal: an enterprise or park applies, follows its applications and answers returns."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from engine.clock import CHINA
from engine.errors import EngineError, InvalidInput
from engine.models import HumanTask, InstanceFacet, ProcessInstance
from handlers.application_windows import open_windows
from handlers.divisions import city_of
from handlers.green_codes import GreenCode, code_of
from handlers.records import ApplicationRecord, Evaluator, Unit
from web import access, formkit, vocab
from web.attachments import PendingUploads, attachments_of, unknown_kept_files
from web.extensions import engine
from web.i18n import term
from web.status import status_label_of, status_labels
from web.submission import start_form_entries
from web.task_forms import due_in_working_days, form_parts, initial_values, kept_filenames, submit_form
from web.timeline import form_lookup, people_of, timeline_for
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
    mine = set(scopes)
    waiting = [(inst, t) for inst in instances for t in steps.get(inst.id, []) if t.scope in mine]
    return render_template("portal/index.html", instances=instances, steps=steps, records=records, waiting=waiting,
                           scopes=set(scopes), outcomes=OUTCOMES, vocab=vocab, codes=codes,
                           statuses=status_labels((i.id, i.status) for i in instances))


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


def _render_apply(values: dict, errors: dict | None = None, status: int = 200, kept: dict | None = None):
    schema, ui, _version = _form_parts()
    # Offer the registered evaluators as choices (the rules still judge whatever id arrives).
    shown = copy.deepcopy(schema)
    shown["properties"]["evaluator_id"]["oneOf"] = [{"const": k, "title": n} for k, n in _evaluators()]
    fields = formkit.build_fields(shown, ui, values, errors or {}, filenames=kept or {})
    return render_template("portal/apply.html", fields=fields, schema=schema, errors=errors or {},
                           top_errors=formkit.unplaced_errors(fields, errors or {})), status


def open_application_year(county_code: str | None = None) -> int:
    """The year applications are open for (第十四条): that of the application notice open today for
    the unit's city (else any notice open today, else the soonest to come); the current year in
    China when no notice is published (docs/usability.md)."""
    today = engine().clock.now().astimezone(CHINA).date()
    with engine().db.session() as session:
        notices = open_windows(session, today)
    city = city_of(county_code) if county_code and county_code.isdigit() else county_code
    ranked = sorted(notices, key=lambda w: (w["state"] != "open", w["scope"] != city, w["opens_on"]))
    return ranked[0]["year"] if ranked else today.year


def prefill(schema: dict) -> dict:
    """What the platform already knows, so the clerk does not type it: the open application year,
    the unit's name and credit code (its account), and from the unit's record (an earlier
    application) its county, industry and type; else the county of the credit code's
    registration division, when the form offers it."""
    actor = current_user.actor
    credit_code = actor.scopes("applicant")[0].removeprefix("unit:")
    values: dict = {"credit_code": credit_code}
    if actor.display_name:
        values["unit_name"] = actor.display_name
    with engine().db.session() as session:
        unit = session.scalar(select(Unit).where(Unit.credit_code == credit_code))
    offered = {o.get("const") for o in schema["properties"].get("county_code", {}).get("oneOf", [])}
    county = unit.county_code if unit is not None else credit_code[2:8]
    if county in offered:
        values["county_code"] = county
    if unit is not None:
        values.update({k: v for k, v in (("industry_code", unit.industry_code), ("unit_type", unit.unit_type),
                                         ("park_level", unit.park_level)) if v})
    values["year"] = open_application_year(values.get("county_code"))
    return values


@bp.get("/apply")
@login_required
def apply():
    _applicant()
    schema, _ui, _version = _form_parts()
    return _render_apply(prefill(schema))


@bp.post("/apply")
@login_required
def submit_application():
    _applicant()
    schema, ui, _version = _form_parts()
    store = FileStore(Path(current_app.config["GREENFLOW"].upload_dir))
    parsed = formkit.parse_submission(schema, ui, request.form, request.files, store)
    with PendingUploads(store, parsed.files) as pending:  # discarded unless kept below
        errors: dict[str, str] = {}
        kept = kept_filenames(parsed.files)
        if parsed.action:
            pending.forget(parsed.values, errors)
            return _render_apply(parsed.values, errors, kept=kept)
        errors = unknown_kept_files(parsed.files, None)
        errors.update(formkit.validation_errors(schema, parsed, form_name=schema.get("title", "")))  # said with the field's name
        if errors:
            pending.forget(parsed.values, errors)
            return _render_apply(parsed.values, errors, 422, kept=kept)
        try:
            outcome = engine().start(PROCESS, parsed.data, actor=current_user.actor)
        except InvalidInput as exc:
            errors = dict(exc.fields or {"data": exc.message})
            pending.forget(parsed.values, errors)
            return _render_apply(parsed.values, errors, 422, kept=kept)
        pending.keep(outcome.instance_id, by=current_user.actor.username)
    flash(_("申报已提交"), "success")
    return redirect(url_for("portal.application", instance_id=outcome.instance_id), code=303)


# --- the applicant's own steps (修改申报材料, 填报动态管理表 …) ----------------------------------

def _own_task(task_id: int) -> dict:
    """An open or finished task of the applicant's unit. 404 if there is none; 403 if not the unit's."""
    _applicant()
    try:
        task = engine().task(task_id)
    except EngineError:
        access.not_found(_("事项不存在"))
    if task["role"] != "applicant" or not current_user.actor.holds(task["role"], task["scope"]):
        access.deny(_("这不是本单位需要办理的事项"))
    return task


def return_reason(instance: dict, task: dict) -> dict | None:
    """Why the application came back: the latest answer with a reason before ``task`` opened
    (退回修改 and its reason, who decided and when)."""
    names_needed = []
    found = None
    for event in instance["events"]:
        if event["type"] == "task_opened" and (event.get("payload") or {}).get("task_id") == task["id"]:
            break
        data = (event.get("payload") or {}).get("data") or {}
        if event["type"] == "task_completed" and isinstance(data.get("reason"), str) and data["reason"].strip():
            found = event
    if found is None:
        return None
    payload = found["payload"]
    names_needed.append(found["actor"])
    schema = form_lookup(instance)(payload.get("task_id"))
    decision = (payload.get("data") or {}).get("decision")
    prop = ((schema or {}).get("properties") or {}).get("decision")
    return {"text": payload["data"]["reason"], "step": term(payload.get("name", "")),
            "decision": vocab.decision_label(decision, prop) if decision else "",
            "by": vocab.actor_label(found["actor"], people_of(names_needed)),
            "at": dt.datetime.fromisoformat(found["at"])}


def render_own_task(task: dict, *, values: dict | None = None, errors: dict | None = None, status: int = 200,
                    kept: dict | None = None):
    """The applicant's layout: the reason on top, the deadline, the fields to fix, the files kept."""
    eng = engine()
    instance = eng.instance(task["instance_id"])
    schema, ui = form_parts(task)
    with eng.db.session() as session:
        documents = attachments_of(session, task["instance_id"])
    filenames = {**(kept or {}), **{d.sha256: d.filename for d in documents}}
    can_act = task["status"] == "open"
    if values is None:
        values = initial_values(task, schema, instance["data"])
    fields = None
    if schema and can_act:
        fields = formkit.build_fields(schema, ui, values, errors or {}, filenames=filenames,
                                      file_url=lambda sha: url_for("instances.download", instance_id=task["instance_id"],
                                                                   sha256=sha))
    due_date, days_left = due_in_working_days(task)
    return render_template(
        "portal/task.html", task=task, instance=instance, summary=instance["summary"], fields=fields,
        can_act=can_act, reason=return_reason(instance, task), due_date=due_date, days_left=days_left,
        documents=documents, form_schema=schema, errors=errors or {}, vocab=vocab,
        top_errors=formkit.unplaced_errors(fields or [], errors or {}),
        instance_status=status_label_of(instance["id"], instance["status"])), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    return render_own_task(_own_task(task_id))


@bp.post("/tasks/<int:task_id>")
@login_required
def submit_task(task_id: int):
    found = _own_task(task_id)
    done = url_for("portal.index")  # the list says where every application stands now
    return submit_form(found, render_own_task, done, conflict_message=lambda _id: _("该事项已办理，无需重复提交"))


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
                           my_tasks=my_tasks, timeline=timeline_for(view, events), documents=documents,
                           eligibility=eligibility, outcomes=OUTCOMES, vocab=vocab,
                           instance_status=status_label_of(instance_id, view["status"]),
                           names=people_of(d.uploaded_by for d in documents),
                           submitted=start_form_entries(view, {d.sha256: d.filename for d in documents}))
