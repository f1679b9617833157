"""Administration: the working-day calendar (process owners load a year when it is published) and,
in ``web.blueprints.admin_incidents``, the incidents."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select

from engine import calendar
from engine.errors import InvalidInput
from engine.models import CalendarYearRecord
from web.blueprints.auth import require_role
from web.extensions import engine
from web.timeline import people_of

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_ROLES = ("process_owner",)
MAX_CALENDAR_BYTES = 64 * 1024


class CalendarImportForm(FlaskForm):
    file = FileField("年度放假安排文件 (TOML)", validators=[FileRequired()])


def _years() -> list[dict]:
    with engine().db.session() as session:
        rows = session.scalars(select(CalendarYearRecord).order_by(CalendarYearRecord.year)).all()
        return [{"year": r.year, "holidays": len(r.data.get("holidays", {})), "workdays": len(r.data.get("workdays", {})),
                 "source": r.source, "imported_by": r.imported_by, "imported_at": r.imported_at, "sha256": r.sha256}
                for r in rows]


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar_page():
    require_role(*ADMIN_ROLES)
    form = CalendarImportForm()
    status = 200
    if form.validate_on_submit():
        raw = form.file.data.read(MAX_CALENDAR_BYTES + 1)
        try:
            if len(raw) > MAX_CALENDAR_BYTES:
                raise InvalidInput(f"文件过大（上限 {MAX_CALENDAR_BYTES // 1024} KiB）/ file too large", field="file")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("文件须为 UTF-8 编码 / the file must be UTF-8", field="file") from None
            year = calendar.parse_year(text, file_name=form.file.data.filename or "upload.toml")
            with engine().db.unit_of_work() as session:
                calendar.import_year(session, year, by=current_user.actor.username, now=engine().clock.now())
        except InvalidInput as err:
            form.file.errors.append(err.message)
            status = 422
        else:
            flash(f"已导入 {year.year} 年：{len(year.holidays)} 个放假日，{len(year.workdays)} 个调休上班日 / "
                  f"imported {year.year}")
            return redirect(url_for("admin.calendar_page"))
    elif form.is_submitted():
        status = 422
    years = _years()
    return render_template("admin/calendar.html", form=form, years=years,
                           names=people_of(y["imported_by"] for y in years)), status


# The incidents pages add their views to ``bp``.
from web.blueprints import admin_incidents  # noqa: E402,F401
