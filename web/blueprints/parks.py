"""入园企业 (issue 16 item 3; 第二十三、二十七条): a park's managing body keeps its member enterprises, the
county department of the park's place confirms them.  Thin views over ``handlers.park_members``.

- ``/parks/``: the parks a user may read (a park's own account: its park), and the proposals waiting
  for a county's (a county-less park's city's) confirmation;
- ``/parks/<credit code>``: the members with their dates and state; the park adds members and reports
  leavings, the county confirms or rejects each proposal.

Bad input is a 422 naming the field and changes nothing; another park's or county's rows a 403.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.clock import china_date
from engine.errors import Conflict, InvalidInput
from handlers import park_members
from web.blueprints.auth import require_role
from web.extensions import engine

bp = Blueprint("parks", __name__, url_prefix="/parks")
READERS = ("applicant", "county_official", "city_official", "province_official", "auditor")


def sees_parks(actor) -> bool:
    """For the navigation: officials and auditors, and the account of a park (one query, applicants only)."""
    if any(actor.has_role(r) for r in READERS if r != "applicant"):
        return True
    if not actor.has_role("applicant"):
        return False
    with engine().db.session() as session:
        return bool(park_members.parks_for(session, actor))


def _today():
    return china_date(engine().clock.now())


@bp.get("/")
@login_required
def index():
    require_role(*READERS)
    actor = current_user.actor
    with engine().db.session() as session:
        parks = park_members.parks_for(session, actor)
        pending = park_members.pending_for(session, actor)
    return render_template("parks/index.html", parks=parks, pending=pending)


def _render_park(park_code: str, errors: dict | None = None, values: dict | None = None, status: int = 200):
    with engine().db.session() as session:
        park = park_members.park_page(session, current_user.actor, park_code, today=_today())
    return render_template("parks/park.html", park=park, errors=errors or {}, values=values or {},
                           today=_today().isoformat()), status


@bp.get("/<park_code>")
@login_required
def park(park_code: str):
    return _render_park(park_code)


@bp.post("/<park_code>/members")
@login_required
def add_member(park_code: str):
    """The park's body proposes a member: 422 naming the field, 409 when already a member or proposed."""
    values = {key: request.form.get(key, "") for key in ("member_credit_code", "member_name", "joined_on")}
    try:
        with engine().db.unit_of_work() as session:
            row = park_members.propose_member(session, park_code, values, actor=current_user.actor,
                                              now=engine().clock.now(), today=_today())
            name = row.member_name
    except (InvalidInput, Conflict) as err:
        return _render_park(park_code, err.fields or {"member_credit_code": err.message}, values,
                            422 if isinstance(err, InvalidInput) else 409)
    flash(_("已提交入园企业：%(name)s，待县级工信部门确认", name=name), "success")
    return redirect(url_for("parks.park", park_code=park_code), code=303)


def _park_of_member(member_id: int) -> str:
    with engine().db.session() as session:
        row = session.get(park_members.ParkMember, member_id)
        if row is None:
            from flask import abort
            abort(404)
        return row.park_credit_code


@bp.post("/members/<int:member_id>/leave")
@login_required
def leave(member_id: int):
    park_code = _park_of_member(member_id)
    try:
        with engine().db.unit_of_work() as session:
            park_members.propose_leave(session, member_id, request.form.get("left_on", ""), actor=current_user.actor,
                                       now=engine().clock.now(), today=_today())
    except (InvalidInput, Conflict) as err:
        return _render_park(park_code, err.fields or {"left_on": err.message}, None,
                            422 if isinstance(err, InvalidInput) else 409)
    flash(_("已提交迁出，待县级工信部门确认"), "success")
    return redirect(url_for("parks.park", park_code=park_code), code=303)


@bp.post("/members/<int:member_id>/decision")
@login_required
def decision(member_id: int):
    park_code = _park_of_member(member_id)
    try:
        with engine().db.unit_of_work() as session:
            park_members.decide(session, member_id, request.form.get("decision", ""), actor=current_user.actor,
                                now=engine().clock.now(), note=request.form.get("note"))
    except (InvalidInput, Conflict) as err:
        return _render_park(park_code, err.fields or {"decision": err.message}, None,
                            422 if isinstance(err, InvalidInput) else 409)
    flash(_("已确认") if request.form.get("decision") == "confirm" else _("已不予确认"), "success")
    target = request.form.get("next") == "index"
    return redirect(url_for("parks.index") if target else url_for("parks.park", park_code=park_code), code=303)
