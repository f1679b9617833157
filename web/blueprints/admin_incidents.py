"""Administration: incidents — commands that failed inside the engine — for operators.

``/admin/incidents`` lists them (process, instance, failing element, error, attempts, status)
with a tab per status; each open one can be retried, or resolved / dismissed with a note that
goes into the instance's history. Only ``web.access.INCIDENT_ROLES`` (the process owner).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import InvalidInput
from engine.incidents import IncidentRaised
from engine.models import INCIDENT_STATUSES
from web import vocab
from web.access import INCIDENT_ROLES
from web.blueprints.admin import bp
from web.blueprints.auth import require_role
from web.extensions import engine

PER_PAGE = 50
TABS = (*INCIDENT_STATUSES, "all")
INCIDENT_STATUS_WORDS = {"open": ("待处理", "Open"), "resolved": ("已解决", "Resolved"),
                         "dismissed": ("已忽略", "Dismissed"), "all": ("全部", "All")}


def _tab() -> str:
    tab = request.args.get("status", "open")
    return tab if tab in TABS else "open"


def _render(status_code: int = 200, *, errors: dict[int, str] | None = None, notes: dict[int, str] | None = None):
    tab = _tab()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    eng = engine()
    items, total = eng.incident_page(status=None if tab == "all" else tab, page=page, per_page=PER_PAGE)
    return render_template("admin/incidents.html", items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), tab=tab, tabs=TABS, words=INCIDENT_STATUS_WORDS,
                           processes=eng.process_names(), vocab=vocab, errors=errors or {},
                           notes=notes or {}), status_code


def _back():
    return redirect(url_for("admin.incidents_page", status=_tab()), code=303)


@bp.get("/incidents")
@login_required
def incidents_page():
    require_role(*INCIDENT_ROLES)
    return _render()


@bp.post("/incidents/<int:incident_id>/retry")
@login_required
def incident_retry(incident_id: int):
    require_role(*INCIDENT_ROLES)
    try:
        outcome = engine().retry_incident(incident_id, operator=current_user.actor.username)
    except IncidentRaised as err:
        flash(_("重试仍然失败，故障保持待处理：%(error)s", error=err.message), "error")
        return _back()
    if outcome.result.get("ran") is False:
        flash(_("故障 #%(id)d 已解决（该命令已无法执行）：%(note)s", id=incident_id, note=outcome.result["note"]))
    else:
        flash(_("故障 #%(id)d 重试成功，已解决", id=incident_id), "success")
    return _back()


def _close(incident_id: int, how: str):
    require_role(*INCIDENT_ROLES)
    note = request.form.get("note", "")
    eng = engine()
    close = eng.resolve_incident if how == "resolve" else eng.dismiss_incident
    try:
        close(incident_id, note=note, operator=current_user.actor.username)
    except InvalidInput as err:
        return _render(422, errors={incident_id: err.message}, notes={incident_id: note})
    flash(_("故障 #%(id)d 已解决", id=incident_id) if how == "resolve" else _("故障 #%(id)d 已忽略", id=incident_id),
          "success")
    return _back()


@bp.post("/incidents/<int:incident_id>/resolve")
@login_required
def incident_resolve(incident_id: int):
    return _close(incident_id, "resolve")


@bp.post("/incidents/<int:incident_id>/dismiss")
@login_required
def incident_dismiss(incident_id: int):
    return _close(incident_id, "dismiss")
