"""专家库与评审组 (issue 16 item 4; 第十八条 组织专家评审): the province keeps the expert pool and reads
each application's panel. Thin views over ``handlers.experts``.

- ``/experts/``: the pool (fields, home division, evaluator, in the pool or not), the panels waiting
  for more experts (the pool was too small), and the form to add an expert;
- ``/experts/<username>``: edit one expert; ``POST /experts/`` saves (add or edit);
- ``/experts/panels/<instance id>``: one application's panel: the draws (seed, drawn, avoided and why)
  and the seats; scores appear only once the whole panel has answered (docs/expert-panel.md).

Only the provincial department (省工信厅). Bad input is a 422 naming the field and changes nothing.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.errors import InvalidInput
from engine.models import ProcessInstance
from handlers import experts
from handlers.divisions import cities, counties_of, division
from handlers.records import Evaluator
from web.blueprints.auth import require_role
from web.extensions import engine

bp = Blueprint("experts", __name__, url_prefix="/experts")
ROLES = ("province_official",)
FIELD_LABELS = {"username": "专家账号", "fields": "评审领域", "home_division": "所在地区",
                "evaluator_id": "所属第三方评价机构", "active": "是否在库"}


def _divisions() -> list[tuple[str, str]]:
    rows = []
    for city in cities():
        rows.append((city.code, city.name))
        rows += [(c.code, f"{city.name} {c.name}") for c in counties_of(city.code)]
    return rows


def _place(code: str) -> str:
    try:
        found = division(code)
    except InvalidInput:
        return code
    parent = division(found.parent_code).name if found.level == "county" and found.parent_code else ""
    return f"{parent} {found.name}".strip()


def _choices(session) -> dict:
    evaluators = session.execute(select(Evaluator.id, Evaluator.name).order_by(Evaluator.id)).all()
    return {"field_choices": experts.field_choices(), "divisions": _divisions(),
            "evaluators": [(e.id, e.name) for e in evaluators], "field_label": experts.field_label, "place": _place}


def _render_index(errors: dict | None = None, values: dict | None = None, status: int = 200):
    with engine().db.session() as session:
        pool = experts.pool(session)
        in_pool = {e.username for e in pool}
        candidates = [(u, n) for u, n in experts.expert_users(session) if u not in in_pool]
        waiting = experts.panels_waiting(session)
        evaluator_names = dict(session.execute(select(Evaluator.id, Evaluator.name)).all())
        choices = _choices(session)
    return render_template("experts/index.html", pool=pool, candidates=candidates, waiting=waiting,
                           evaluator_names=evaluator_names, errors=_worded(errors), values=values or {},
                           settings=experts.settings(), **choices), status


def _worded(errors: dict | None) -> dict:
    """Field errors keyed by the field's words, not its code (people's words on pages)."""
    return {_(FIELD_LABELS.get(k, "表单")): v for k, v in (errors or {}).items()}


@bp.get("/")
@login_required
def index():
    require_role(*ROLES)
    return _render_index()


@bp.get("/<username>")
@login_required
def edit(username: str):
    require_role(*ROLES)
    with engine().db.session() as session:
        found = experts.entry(session, username)
        if found is None:
            abort(404, description=_("专家库中没有账号 %(name)s", name=username))
        choices = _choices(session)
    return render_template("experts/edit.html", expert=found, errors={}, **choices)


def _values() -> dict:
    return {"username": request.form.get("username", "").strip(), "fields": request.form.getlist("fields"),
            "home_division": request.form.get("home_division", ""),
            "evaluator_id": request.form.get("evaluator_id", ""),
            "active": request.form.get("active", "yes") == "yes"}


@bp.post("/")
@login_required
def save():
    """Add or update an expert: 422 naming the field for bad input (第十八条), else back to the pool."""
    require_role(*ROLES)
    values = _values()
    try:
        with engine().db.unit_of_work() as session:
            experts.save_profile(session, values, actor=current_user.actor.username, now=engine().clock.now())
    except InvalidInput as err:
        if request.form.get("edit") == "yes":
            with engine().db.session() as session:
                found = experts.entry(session, values["username"])
                choices = _choices(session)
            if found is not None:
                return render_template("experts/edit.html", expert=found, errors=_worded(
                    err.fields or {err.field or "form": err.message}), **choices), 422
        return _render_index(err.fields or {err.field or "form": err.message}, values, 422)
    flash(_("已保存专家库信息"), "success")
    return redirect(url_for("experts.index"), code=303)


@bp.get("/panels/<int:instance_id>")
@login_required
def panel(instance_id: int):
    require_role(*ROLES)
    with engine().db.session() as session:
        if session.get(ProcessInstance, instance_id) is None:
            abort(404, description=_("流程实例 %(id)s 不存在", id=instance_id))
        view = experts.panel_view(session, instance_id)
    return render_template("experts/panel.html", panel=view, instance_id=instance_id)
