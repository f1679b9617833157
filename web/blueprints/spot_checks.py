"""现场抽查复核 (issue 16 item 7; 第二十六条): the spot checks an official may see, each with its sample and
progress.  A spot check starts from its start form (/processes/spot_check/start: level, type, size or rate,
seed); the site checks are inbox tasks.  Thin views over ``handlers.spot_checks``.
"""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from handlers import spot_checks
from web.blueprints.auth import require_role
from web.extensions import engine

bp = Blueprint("spot_checks", __name__, url_prefix="/spot-checks")
READERS = ("city_official", "province_official", "auditor")


@bp.get("/")
@login_required
def index():
    require_role(*READERS)
    actor = current_user.actor
    with engine().db.session() as session:
        rows = spot_checks.spot_checks_for(session, actor)
    can_start = actor.has_role("city_official") or actor.has_role("province_official")
    return render_template("spot_checks/index.html", checks=rows, can_start=can_start)


@bp.get("/<int:spot_check_id>")
@login_required
def show(spot_check_id: int):
    """One spot check: parameters, seed, population size, the drawn units and their findings (404, 403)."""
    require_role(*READERS)
    with engine().db.session() as session:
        check = spot_checks.spot_check(session, current_user.actor, spot_check_id)
    return render_template("spot_checks/show.html", check=check)
