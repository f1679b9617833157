"""发起流程: start a process from its start form (a change report, an incident report, a list
publication, a finding, a cultivation plan …). Applications start in the portal and complaints
on the public pages; scheduled processes start by themselves.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import config
from engine.errors import InvalidInput
from web import access, formkit
from web.attachments import PendingUploads, unknown_kept_files
from web.extensions import engine
from web.uploads import FileStore

bp = Blueprint("processes", __name__, url_prefix="/processes")
# Started elsewhere: applications in the applicant portal, complaints on the public pages.
STARTED_ELSEWHERE = {"green_application", "complaint"}


def offered_to(actor) -> list[dict]:
    """The processes ``actor`` may start here: those of a role it holds, and those whose start hook
    decides who may start them (no role on the start event) for officials."""
    roles = config.roles()
    official = any(role != "applicant" and not roles.get(role, {}).get("read_only") for role, _ in actor.grants)
    return [p for p in engine().startable() if p["process_id"] not in STARTED_ELSEWHERE
            and (actor.has_role(p["role"]) if p["role"] else official)]


def _process(process_id: str) -> dict:
    found = next((p for p in offered_to(current_user.actor) if p["process_id"] == process_id), None)
    if found is None:
        access.deny(_("您不能发起该流程"))
    return found


def _render(process: dict, values: dict, errors: dict | None = None, status: int = 200):
    schema = engine().form(process["version_id"], process["form"])
    fields = formkit.build_fields(schema, None, values, errors or {})
    return render_template("processes/start.html", process=process, schema=schema, fields=fields,
                           errors=errors or {}, top_errors=formkit.unplaced_errors(fields, errors or {})), status


@bp.get("/")
@login_required
def index():
    return render_template("processes/index.html", processes=offered_to(current_user.actor))


@bp.get("/<process_id>/start")
@login_required
def start_form(process_id: str):
    return _render(_process(process_id), {})


@bp.post("/<process_id>/start")
@login_required
def start(process_id: str):
    process = _process(process_id)
    schema = engine().form(process["version_id"], process["form"])
    store = FileStore(Path(current_app.config["GREENFLOW"].upload_dir))
    parsed = formkit.parse_submission(schema, None, request.form, request.files, store)
    with PendingUploads(store, parsed.files) as pending:  # discarded unless kept below
        errors: dict[str, str] = {}
        if parsed.action:
            pending.forget(parsed.values, errors)
            return _render(process, parsed.values, errors)
        errors = unknown_kept_files(parsed.files, None)
        errors.update(formkit.validation_errors(schema, parsed, form_name=process["name"]))  # said with the field's name
        if errors:
            pending.forget(parsed.values, errors)
            return _render(process, parsed.values, errors, 422)
        try:
            outcome = engine().start(process_id, parsed.data, actor=current_user.actor)
        except InvalidInput as exc:
            errors = dict(exc.fields or {"data": exc.message})
            pending.forget(parsed.values, errors)
            return _render(process, parsed.values, errors, 422)
        pending.keep(outcome.instance_id, by=current_user.actor.username)
    flash(_("已发起：%(name)s", name=process["name"]), "success")
    return redirect(url_for("instances.show", instance_id=outcome.instance_id), code=303)
