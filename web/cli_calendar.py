"""``greenflow calendar``: show, compute with and import the working-day calendar.

Each command wraps a plain function of ``engine.calendar`` on the app's database. Engine
errors (an invalid file, a year not loaded) print their message and exit with code 2.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import calendar as wcal
from engine.errors import InvalidInput
from engine.models import CalendarYearRecord
from web.cli import _EngineErrors, _emit, _engine, json_option


class _IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO date (YYYY-MM-DD)", param, ctx)


ISO_DATE = _IsoDate()


def _calendar() -> wcal.WorkingCalendar:
    with _engine().db.session() as session:
        return wcal.load_calendar(session)


@click.group("calendar", cls=_EngineErrors)
def calendar_group() -> None:
    """The working-day calendar (holidays and make-up working days per year)."""


@calendar_group.command("show")
@click.argument("year", type=int)
@json_option
@with_appcontext
def calendar_show(year: int, as_json: bool) -> None:
    """List the holidays and make-up working days of YEAR."""
    cal = _calendar()
    rows = cal.describe(year)
    value = {"year": year, "source": cal.get_year(year).source,
             "days": [{"date": d.isoformat(), "kind": kind, "name": name} for d, kind, name in rows]}

    def human(v):
        click.echo(f"{v['year']}: {v['source']}")
        for row in v["days"]:
            label = "放假 holiday" if row["kind"] == "holiday" else "上班 workday"
            click.echo(f"  {row['date']}  {label:<12}  {row['name']}")

    _emit(value, as_json, human)


@calendar_group.command("add-days")
@click.argument("date", type=ISO_DATE)
@click.argument("n", type=click.IntRange(min=0))
@with_appcontext
def calendar_add_days(date: dt.date, n: int) -> None:
    """Print the date N working days after DATE (DATE itself not counted)."""
    click.echo(_calendar().add_working_days(date, n).isoformat())


@calendar_group.command("notice-end")
@click.argument("date", type=ISO_DATE)
@click.argument("n", type=click.IntRange(min=1))
@click.option("--start-day-counts/--start-day-not-counted", "start_day_counts", default=None,
              help="Does the publication day count as day 1? Default: the notice_start_day_counts setting.")
@with_appcontext
def calendar_notice_end(date: dt.date, n: int, start_day_counts: bool | None) -> None:
    """Print the last day of an N-working-day notice published on DATE."""
    if start_day_counts is None:
        start_day_counts = current_app.config["GREENFLOW"].notice_start_day_counts
    _, last = _calendar().notice_period(date, n, start_day_counts=start_day_counts)
    click.echo(last.isoformat())


@calendar_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "imported_by", default="operator", show_default=True, help="Who imports (recorded).")
@json_option
@with_appcontext
def calendar_import(file: Path, imported_by: str, as_json: bool) -> None:
    """Check FILE (one year, TOML like config/calendar/2026.toml) and store it, replacing that year."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file.name}: 不是 UTF-8 文本 / not UTF-8 text", field="file") from None
    year = wcal.parse_year(text, file_name=file.name)
    with _engine().db.unit_of_work() as session:
        previous = session.get(CalendarYearRecord, year.year)
        before = previous.sha256 if previous is not None else None
        record = wcal.import_year(session, year, by=imported_by)
        value = {"year": record.year, "holidays": len(year.holidays), "workdays": len(year.workdays),
                 "sha256": record.sha256, "source": record.source, "imported_by": record.imported_by,
                 "status": "new" if before is None else ("unchanged" if before == record.sha256 else "replaced")}
    _emit(value, as_json, lambda v: click.echo(
        f"calendar {v['year']} imported ({v['status']}): {v['holidays']} holidays, {v['workdays']} make-up workdays,"
        f" sha256 {v['sha256'][:12]}, by {v['imported_by']}"))
