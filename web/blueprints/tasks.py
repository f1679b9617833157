"""The task page: header, diagram, timeline, documents and the form; and the actions on a task.

Every action is one engine command (the engine checks role and scope again and records an
event); a refused action shows the engine's message with its 4xx status, and a colleague's
action that won (409) is said in people's words (``conflict_message``).

Opening a task one may take claims it (``claim_on_open``): an official clears 全部待办 without a
separate claim step. An applicant's own step is shown in the portal's layout (``portal.task``).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import Conflict, EngineError
from web import access, error_words, formkit, people, task_forms, vocab
from web.attachments import attachments_of, send_stored
from web.extensions import engine
from web.objections import REVIEW_TASKS, evidence_download_name, objection_of, objections_of
from web.status import status_label_of
from web.submission import start_form_entries
from web.task_forms import due_in_working_days, form_parts, submit_form
from web.timeline import people_of, person_name, timeline_for

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


def render_task(task: dict, *, values: dict | None = None, errors: dict | None = None, status: int = 200,
                kept: dict[str, str] | None = None):
    """The task page; ``kept`` names files a re-shown form keeps (sha256 -> file name)."""
    eng = engine()
    actor = current_user.actor
    instance = eng.instance(task["instance_id"])
    schema, ui = form_parts(task)
    taken_by_other = bool(task["assignee"]) and task["assignee"] != actor.username
    can_act = task["status"] == "open" and access.may_act_on(actor, task) and not taken_by_other
    is_delegate = bool(task["owner"]) and task["assignee"] == actor.username
    if values is None:
        values = task_forms.initial_values(task, schema, instance["data"])
    with eng.db.session() as session:
        transfer_to = people.same_role_and_scope(session, task["role"], task["scope"], exclude=actor.username)
        delegate_to = people.same_org_unit(session, task["scope"], exclude=actor.username)
        cc_to = people.officials_near(session, access.scopes_above(task["scope"]), exclude=actor.username)
        documents = attachments_of(session, task["instance_id"])
        under_review = objections_of(session, task["instance_id"]) if task["bpmn_id"] in REVIEW_TASKS else []
    filenames = {**(kept or {}), **{d.sha256: d.filename for d in documents}}
    fields = None
    if schema and (can_act or is_delegate):
        fields = formkit.build_fields(schema, ui, values, errors or {}, filenames=filenames,
                                      file_url=lambda sha: url_for("instances.download", instance_id=task["instance_id"],
                                                                   sha256=sha))
    names = people_of([task["assignee"], task["owner"], task["completed_by"], *task["cc"],
                       *(d.uploaded_by for d in documents)])
    due_date, days_left = due_in_working_days(task)
    return render_template(
        "tasks/show.html", task=task, instance=instance, summary=instance["summary"], fields=fields,
        can_act=can_act, is_delegate=is_delegate, supervises=access.supervises(actor, task),
        claimed_by_me=task["assignee"] == actor.username, taken_by_other=taken_by_other,
        holds=actor.holds(task["role"], task["scope"]), transfer_to=transfer_to, delegate_to=delegate_to,
        cc_to=cc_to, documents=documents, timeline=timeline_for(instance), due_date=due_date,
        days_left=days_left, submitted=start_form_entries(instance, filenames), names=names,
        instance_status=status_label_of(instance["id"], instance["status"]),
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


def _is_prefetch() -> bool:
    """A browser's speculative load (link prefetch or prerender) is not a person opening the task."""
    purpose = (request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or "").lower()
    return "prefetch" in purpose or "prerender" in purpose


def claim_on_open(task: dict) -> dict:
    """Opening a task one may take claims it (认领): the inbox's 全部待办 needs no claim step.

    Only an unassigned, undelegated open task of the viewer's own role and scope; a colleague
    who claimed it a moment earlier wins, and the page then says so (read only).
    """
    actor = current_user.actor
    if (task["status"] != "open" or task["assignee"] or task["owner"] or not actor.holds(task["role"], task["scope"])
            or _is_prefetch()):
        return task
    try:
        engine().claim(task["id"], actor=actor)
    except EngineError:  # a colleague was quicker (the page says who), or an instance in an incident
        pass
    return engine().task(task["id"])


def conflict_message(task_id: int, err: Conflict | None = None) -> str:
    """Why a colleague's action won: who completed or claimed the task, in people's words; else the
    engine's refusal in words (e.g. a panel expert's own task cannot be released)."""
    task = engine().task(task_id)
    if err is not None and err.message.endswith(("alone and cannot be released", "alone and cannot be transferred",
                                                  "alone and cannot be delegated")):
        return error_words.for_people(err.message)  # a panel expert's own task: not even a supervisor moves it
    if task["status"] == "completed":
        return _("该事项已由 %(who)s 办理，无需再办", who=who(task["completed_by"]))
    if task["status"] != "open":
        return _("该事项已结束，无需再办")
    if task["assignee"] and task["assignee"] != current_user.actor.username:
        return _("该事项已由 %(who)s 认领；如需办理，请联系其释放或由上级转办", who=who(task["assignee"]))
    return _("该事项刚被他人处理，请查看最新情况")


def who(username: str | None) -> str:
    """A person as the page shows them: name and unit, 系统 or 公众 (never a username)."""
    return person_name(username)


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):
    task = load_task(task_id)
    actor = current_user.actor
    if task["role"] == "applicant" and actor.holds(task["role"], task["scope"]):
        from web.blueprints.portal import render_own_task  # applicants act in their portal's layout

        return render_own_task(task)
    return render_task(claim_on_open(task))


@bp.post("/<int:task_id>")
@login_required
def submit(task_id: int):
    """Submit the form: complete the task (or, for a delegate, return the proposal for sign-off)."""
    task = load_task(task_id)
    if not access.may_act_on(current_user.actor, task):
        access.deny(_("您不能办理事项 %(id)s", id=task_id))
    if task["role"] == "applicant" and current_user.actor.holds(task["role"], task["scope"]):
        from web.blueprints.portal import render_own_task

        return submit_form(task, render_own_task, url_for("portal.index"), conflict_message=conflict_message)
    done = url_for("portal.index") if current_user.actor.has_role("applicant") else url_for("inbox.index")
    return submit_form(task, render_task, done, conflict_message=conflict_message)


def _action(task_id: int, run, message: str):
    """Run an action on the task; a colleague's action that won (409) is said plainly, on the page."""
    load_task(task_id)
    try:
        run(current_user.actor)
    except Conflict as err:
        flash(conflict_message(task_id, err), "error")
        return render_task(load_task(task_id), status=409)
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
    try:
        engine().transfer(task_id, to, actor=current_user.actor, note=note)
    except Conflict as err:
        flash(conflict_message(task_id, err), "error")
        return render_task(load_task(task_id), status=409)
    flash(_("已转办给 %(user)s", user=who(to)), "success")
    return redirect(url_for("inbox.index"), code=303)


@bp.post("/<int:task_id>/delegate")
@login_required
def delegate(task_id: int):
    to, note = request.form.get("to_user", ""), request.form.get("note", "")
    return _action(task_id, lambda a: engine().delegate(task_id, to, actor=a, note=note),
                   _("已委派给 %(user)s，办理后退回您签发", user=who(to)))


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
