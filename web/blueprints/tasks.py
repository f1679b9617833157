"""The task page: header, diagram, timeline, documents and the form; and the actions on a task.

Every action is one engine command (the engine checks role and scope again and records an
event); a refused action shows the engine's message with its 4xx status.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import calendar
from engine.clock import CHINA
from engine.errors import EngineError, InvalidInput
from web import access, formkit, people, vocab
from web.api.inputs import MAX_ID
from web.attachments import PendingUploads, attachments_of, send_stored, unknown_kept_files
from web.extensions import engine
from web.objections import REVIEW_TASKS, evidence_download_name, objection_of, objections_of
from web.submission import start_form_entries
from web.timeline import timeline_of
from web.uploads import FileStore

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def load_task(task_id: int) -> dict:
    """The task if the current user may see it. 404 if there is none; 403 if it is not theirs to see."""
    eng = engine()
    try:
        task = eng.task(task_id)
    except EngineError:
        access.not_found(_("事项 %(id)s 不存在", id=task_id))
    with eng.db.session() as session:
        if access.may_read_task(session, current_user.actor, task):
            return task
    access.deny(_("无权查看事项 %(id)s", id=task_id))


def _back(task_id: int) -> str:
    target = request.values.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("tasks.show", task_id=task_id)


def _form_parts(task: dict) -> tuple[dict | None, dict | None]:
    eng = engine()
    schema = eng.form(task["version_id"], task["form"])
    ui_name = (task["form"] or "").replace(".schema.json", ".ui.json") if task["form"] else None
    ui = eng.form(task["version_id"], ui_name) if ui_name else None
    return schema, ui


def initial_values(task: dict, schema: dict | None, data: dict) -> dict:
    """What the form starts with: the delegate's draft, else the fields the form prefills (``x-prefill``)."""
    if task.get("draft"):
        return dict(task["draft"])
    source = (schema or {}).get("x-prefill")
    prefill = data.get(source) if source else None
    if not isinstance(prefill, dict):
        return {}
    return {k: v for k, v in prefill.items() if k in (schema or {}).get("properties", {})}


def _due(task: dict) -> tuple[dt.date | None, int | None]:
    if not task["due_at"]:
        return None, None
    eng = engine()
    due_day = dt.datetime.fromisoformat(task["due_at"]).astimezone(CHINA).date()
    today = eng.clock.now().astimezone(CHINA).date()
    try:
        with eng.db.session() as session:
            return due_day, calendar.load_calendar(session).working_days_between(today, due_day)
    except EngineError:
        return due_day, (due_day - today).days


def render_task(task: dict, *, values: dict | None = None, errors: dict | None = None, status: int = 200):
    eng = engine()
    actor = current_user.actor
    instance = eng.instance(task["instance_id"])
    schema, ui = _form_parts(task)
    can_act = task["status"] == "open" and access.may_act_on(actor, task)
    is_delegate = bool(task["owner"]) and task["assignee"] == actor.username
    if values is None:
        values = initial_values(task, schema, instance["data"])
    with eng.db.session() as session:
        transfer_to = people.same_role_and_scope(session, task["role"], task["scope"], exclude=actor.username)
        delegate_to = people.same_org_unit(session, task["scope"], exclude=actor.username)
        cc_to = people.officials_near(session, access.scopes_above(task["scope"]), exclude=actor.username)
        documents = attachments_of(session, task["instance_id"])
        under_review = objections_of(session, task["instance_id"]) if task["bpmn_id"] in REVIEW_TASKS else []
    fields = None
    if schema and (can_act or is_delegate):
        fields = formkit.build_fields(schema, ui, values, errors or {}, filenames={d.sha256: d.filename for d in documents},
                                      file_url=lambda sha: url_for("instances.download", instance_id=task["instance_id"],
                                                                   sha256=sha))
    due_date, days_left = _due(task)
    return render_template(
        "tasks/show.html", task=task, instance=instance, summary=instance["summary"], fields=fields,
        can_act=can_act, is_delegate=is_delegate, supervises=access.supervises(actor, task),
        claimed_by_me=task["assignee"] == actor.username, transfer_to=transfer_to, delegate_to=delegate_to,
        cc_to=cc_to, documents=documents, timeline=timeline_of(instance["events"]), due_date=due_date,
        days_left=days_left, submitted=start_form_entries(instance, {d.sha256: d.filename for d in documents}),
        top_errors=formkit.unplaced_errors(fields or [], errors or {}), overdue=bool(task["due_at"]) and task["status"] == "open"
        and dt.datetime.fromisoformat(task["due_at"]) < eng.clock.now(), vocab=vocab, form_schema=schema,
        errors=errors or {}, objections=under_review), status


@bp.get("/<int:task_id>/objections/<int:objection_id>/evidence")
@login_required
def objection_evidence(task_id: int, objection_id: int):
    """The evidence file of an objection, for those who may read the 核实异议 task (第二十条)."""
    task = load_task(task_id)
    if task["bpmn_id"] not in REVIEW_TASKS:
        access.not_found(_("该事项没有异议材料"))
    with engine().db.session() as session:
        objection = objection_of(session, task["instance_id"], objection_id)
    sha = objection.evidence_sha256 if objection else None
    if sha is None:
        access.not_found(_("异议材料不存在"))
    filename, content_type = evidence_download_name(objection, sha)
    return send_stored(sha, filename=filename, content_type=content_type, missing=_("异议材料不存在"))


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):
    return render_task(load_task(task_id))


class MalformedField(EngineError):
    """A form field the page itself fills in (the hidden ``row_version``) holds something else: 400."""

    code = "bad_request"
    http_status = 400


def expected_row_version() -> int | None:
    """The form's hidden ``row_version`` (the instance's version when the page was drawn); None if not sent.

    Anything but a whole number is refused (400 naming the field), never ignored: ignoring it would
    complete the task over changes the official has not seen.
    """
    raw = request.form.get("row_version")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or int(raw) > MAX_ID:
        message = _("row_version 应为整数")
        raise MalformedField(message, fields={"row_version": message})
    return int(raw)


@bp.post("/<int:task_id>")
@login_required
def submit(task_id: int):
    """Submit the form: complete the task (or, for a delegate, return the proposal for sign-off)."""
    task = load_task(task_id)
    eng = engine()
    actor = current_user.actor
    if not access.may_act_on(actor, task):
        access.deny(_("您不能办理事项 %(id)s", id=task_id))
    expected = expected_row_version()
    schema, ui = _form_parts(task)
    store = FileStore(Path(current_app.config["GREENFLOW"].upload_dir))
    parsed = formkit.parse_submission(schema or {"type": "object", "properties": {}}, ui, request.form,
                                      request.files, store, current=task.get("draft") or {})
    with PendingUploads(store, parsed.files) as pending:  # discarded unless kept below
        errors: dict[str, str] = {}
        if parsed.action:  # add or remove a row of a repeated group: show the form again, validate nothing
            pending.forget(parsed.values, errors)
            return render_task(task, values=parsed.values, errors=errors)
        errors = unknown_kept_files(parsed.files, task["instance_id"])
        if parsed.errors or errors:
            errors.update(formkit.validation_errors(schema or {}, parsed, form_name=task["name"]))
            pending.forget(parsed.values, errors)
            return render_task(task, values=parsed.values, errors=errors, status=422)
        try:
            if task["owner"] and task["assignee"] == actor.username:
                eng.resolve_delegation(task_id, parsed.data, actor=actor, note=request.form.get("note", ""))
                message = _("已提交拟办意见，退回委派人签发")
            else:
                eng.complete(task_id, parsed.data, actor=actor, expected_row_version=expected)
                message = _("已办理：%(name)s", name=task["name"])
        except InvalidInput as exc:
            errors = dict(exc.fields or {"data": exc.message})
            pending.forget(parsed.values, errors)
            return render_task(task, values=parsed.values, errors=errors, status=422)
        pending.keep(task["instance_id"], by=actor.username)
    flash(message, "success")
    return redirect(url_for("portal.index") if actor.has_role("applicant") else url_for("inbox.index"))


def _action(task_id: int, run, message: str):
    load_task(task_id)
    run(current_user.actor)
    flash(message, "success")
    return redirect(_back(task_id), code=303)


@bp.post("/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    return _action(task_id, lambda a: engine().claim(task_id, actor=a), _("已认领"))


@bp.post("/<int:task_id>/release")
@login_required
def release(task_id: int):
    return _action(task_id, lambda a: engine().release(task_id, actor=a), _("已释放，其他同事可认领"))


@bp.post("/<int:task_id>/transfer")
@login_required
def transfer(task_id: int):
    to, note = request.form.get("to_user", ""), request.form.get("note", "")
    load_task(task_id)
    engine().transfer(task_id, to, actor=current_user.actor, note=note)
    flash(_("已转办给 %(user)s", user=to), "success")
    return redirect(url_for("inbox.index"), code=303)


@bp.post("/<int:task_id>/delegate")
@login_required
def delegate(task_id: int):
    to, note = request.form.get("to_user", ""), request.form.get("note", "")
    return _action(task_id, lambda a: engine().delegate(task_id, to, actor=a, note=note),
                   _("已委派给 %(user)s，办理后退回您签发", user=to))


@bp.post("/<int:task_id>/cc")
@login_required
def cc(task_id: int):
    names = [n for n in request.form.getlist("to_users") if n.strip()]
    note = request.form.get("note", "")
    return _action(task_id, lambda a: engine().cc(task_id, names, actor=a, note=note),
                   _("已抄送 %(n)d 人", n=len(names)))


@bp.post("/<int:task_id>/urge")
@login_required
def urge(task_id: int):
    note = request.form.get("note", "")
    return _action(task_id, lambda a: engine().urge(task_id, actor=a, note=note), _("已催办"))


@bp.post("/<int:task_id>/comment")
@login_required
def comment(task_id: int):
    text = request.form.get("text", "")
    return _action(task_id, lambda a: engine().comment(task_id, text, actor=a), _("已添加意见"))
