"""A task's form: its parts, what it starts with, and one submission from parse to command.

Shared by the officials' task page (``web.blueprints.tasks``) and the applicants' portal
(``web.blueprints.portal``), which show the same forms in different layouts: each passes its own
``render(task, values=…, errors=…, status=…)`` and the page to go to when done.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from flask import current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from engine import calendar
from engine.clock import CHINA
from engine.errors import Conflict, EngineError, InvalidInput, StaleVersion
from web import eligibility_form, formkit
from web.api.inputs import MAX_ID
from web.attachments import PendingUploads, unknown_kept_files
from web.extensions import engine
from web.i18n import term
from web.uploads import FileStore

Render = Callable[..., object]


def form_parts(task: dict) -> tuple[dict | None, dict | None]:
    """The task's JSON Schema and UI hints, from the version its instance runs."""
    eng = engine()
    schema = eng.form(task["version_id"], task["form"])
    if eligibility_form.needs_instance_data(schema):  # one reason field per 原则上 flag (docs/eligibility.md)
        schema = eligibility_form.expand_keyed(schema, eng.instance(task["instance_id"])["data"])
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


def kept_filenames(files: list) -> dict[str, str]:
    """sha256 -> file name of the files a re-shown form keeps, so it names them, not their hash."""
    return {f.sha256: f.filename for f in files if not getattr(f, "new", True) and f.filename}


def submit_form(task: dict, render: Render, done_url: str, *, conflict_message: Callable[[int], str]):
    """Parse the post, validate, run the command (complete, or a delegate's proposal); render again
    with the problems (422), or say plainly why a colleague's action won (409); else go to ``done_url``.
    """
    eng = engine()
    actor = current_user.actor
    expected = expected_row_version()
    schema, ui = form_parts(task)
    store = FileStore(Path(current_app.config["GREENFLOW"].upload_dir))
    parsed = formkit.parse_submission(schema or {"type": "object", "properties": {}}, ui, request.form,
                                      request.files, store, current=task.get("draft") or {})
    kept = kept_filenames(parsed.files)
    with PendingUploads(store, parsed.files) as pending:  # discarded unless kept below
        errors: dict[str, str] = {}
        if parsed.action:  # add or remove a row of a repeated group: show the form again, validate nothing
            pending.forget(parsed.values, errors)
            return render(task, values=parsed.values, errors=errors, kept=kept)
        errors = unknown_kept_files(parsed.files, task["instance_id"])
        errors.update(formkit.validation_errors(schema or {}, parsed, form_name=task["name"]))  # said with the field's name
        if errors:
            pending.forget(parsed.values, errors)
            return render(task, values=parsed.values, errors=errors, status=422, kept=kept)
        try:
            if task["owner"] and task["assignee"] == actor.username:
                eng.resolve_delegation(task["id"], parsed.data, actor=actor, note=request.form.get("note", ""))
                message = _("已提交拟办意见，退回委派人签发")
            else:
                eng.complete(task["id"], parsed.data, actor=actor, expected_row_version=expected)
                message = _("已办理：%(name)s", name=term(task["name"]))
        except InvalidInput as exc:
            errors = dict(exc.fields or {"data": exc.message})
            pending.forget(parsed.values, errors)
            return render(task, values=parsed.values, errors=errors, status=422, kept=kept)
        except StaleVersion:
            flash(_("该申报在您打开页面后有了新的变化，请核对后再提交"), "error")
            pending.forget(parsed.values, {})
            return render(eng.task(task["id"]), values=parsed.values, status=409, kept=kept)
        except Conflict:
            flash(conflict_message(task["id"]), "error")
            pending.forget(parsed.values, {})
            return render(eng.task(task["id"]), status=409)
        pending.keep(task["instance_id"], by=actor.username)
    flash(message, "success")
    return redirect(done_url)


def due_in_working_days(task: dict) -> tuple[dt.date | None, int | None]:
    """The task's due day (China) and the working days left until it (calendar days for a year
    whose calendar is not loaded); (None, None) for a task without a due date."""
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
