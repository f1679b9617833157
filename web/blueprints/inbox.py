"""The officials' inbox: 全部待办 (the default: everything I can work on, most urgent first) / 我的待办 /
可认领 / 已办 / 抄送我的 / 逾期, with filters, counts and bulk answers."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import calendar
from engine.clock import CHINA
from engine.errors import Conflict, EngineError, InvalidInput
from engine.inbox import TABS, InboxPage, InboxQuery, InboxRow
from handlers.divisions import PROVINCE, cities, counties_of, division
from web import access, error_words, process_menu, vocab
from web.extensions import engine
from web.blueprints.tasks import conflict_message
from web.navigation import OFFICIAL_ROLES
from web.timeline import people_of

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

TAB_LABELS = {"all": "全部待办", "todo": "我的待办", "claimable": "可认领", "done": "已办", "cc": "抄送我的",
              "overdue": "逾期"}
TAB_HINTS = {"all": "本人已认领和本单位可认领的事项，按到期先后排列；打开即认领", "todo": "已由您认领、转办或委派给您的事项",
             "claimable": "本单位尚无人认领的事项", "done": "您已办理的事项", "cc": "同事抄送给您知悉的事项",
             "overdue": "已超过办理期限的事项"}
DEFAULT_TAB = "all"
FACET_PARAMS = {"level": "target_level", "unit_type": "unit_type", "city": "city_code", "county": "county_code"}
DUE_SOON_WORKING_DAYS = 2
MAX_BULK = 100


@dataclass(frozen=True)
class Due:
    """How a due date reads in the inbox: the date in China time and working days left."""

    date: dt.date | None
    days_left: int | None
    css: str  # "overdue", "due-soon" or ""


def query_from_args(args) -> InboxQuery:
    """An InboxQuery from the page's query string; InvalidInput (422) names a bad parameter."""
    facets = {facet: args.get(param, "").strip() for param, facet in FACET_PARAMS.items() if args.get(param)}
    due_by = None
    if args.get("due_by"):
        try:
            due_by = calendar.end_of_day(dt.date.fromisoformat(args["due_by"]))
        except ValueError:
            raise InvalidInput(_("日期格式应为 YYYY-MM-DD"), field="due_by") from None
    return InboxQuery(tab=args.get("tab") or DEFAULT_TAB, process_id=args.get("process") or None, facets=facets,
                      due_by=due_by, search=(args.get("q") or "").strip() or None, sort=args.get("sort", "due"),
                      page=_int_arg(args, "page", 1), per_page=_int_arg(args, "per_page", 20))


def _int_arg(args, name: str, default: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(_("应为整数"), field=name) from None


def due_of(row: InboxRow, today: dt.date, cal) -> Due:
    if row.due_at is None:
        return Due(None, None, "")
    due_day = row.due_at.astimezone(CHINA).date()
    try:
        left = cal.working_days_between(today, due_day)
    except EngineError:  # a year without a calendar: count calendar days instead
        left = (due_day - today).days
    if row.status == "open" and row.due_at < engine().clock.now():
        css = "overdue"
    elif row.status == "open" and left <= DUE_SOON_WORKING_DAYS:
        css = "due-soon"
    else:
        css = ""
    return Due(due_day, left, css)


def bulk_action(row: InboxRow) -> dict | None:
    """The form's ``x-bulk`` answer (e.g. 无异议 for a bureau opinion) if the row may be answered in bulk."""
    if row.status != "open" or not row.form:
        return None
    schema = engine().form(row.version_id, row.form) or {}
    return schema.get("x-bulk")


def filter_choices(actor) -> dict:
    """The options of the filter bar: the processes with steps for the actor's roles, levels, unit
    types, and the cities and counties the actor covers (a city bureau: its own city only)."""
    city_list = _cities_covered(actor)
    county_codes = {scope for role, scope in actor.grants if _level_of(scope) == "county"}
    selected_city = request.args.get("city")
    county_list = []
    for city in city_list:
        if selected_city and city.code != selected_city:
            continue
        county_list += [c for c in counties_of(city.code) if not county_codes or c.code in county_codes]
    return {"processes": process_menu.choices(actor), "levels": vocab.options(vocab.LEVELS),
            "unit_types": vocab.options(vocab.UNIT_TYPES), "cities": city_list, "counties": county_list}


def _cities_covered(actor) -> list:
    """The city-level divisions whose work the actor may see: all of them at the province."""
    codes: set[str] = set()
    for _role, scope in actor.grants:
        level = _level_of(scope)
        if level == "province":
            return list(cities())
        if level == "county":
            codes.add(_city_of(scope) or "")
        elif level == "city":
            codes.add(scope)
    return [c for c in cities() if c.code in codes]


def _level_of(scope: str) -> str | None:
    """``province``, ``city`` or ``county`` for a division code; None for other scopes."""
    try:
        found = division(scope)
    except EngineError:
        return None
    if found.code == PROVINCE:
        return "province"
    return "city" if found.is_city else "county"


def _city_of(county_code: str) -> str | None:
    try:
        return division(county_code).parent_code
    except EngineError:
        return None


def _page_url(page: int) -> str:
    args = request.args.to_dict()
    args["page"] = str(page)
    return url_for("inbox.index", **args)


@bp.get("/")
@login_required
def index():
    actor = current_user.actor
    if not any(actor.has_role(r) for r in OFFICIAL_ROLES):
        return redirect(url_for("portal.index") if actor.has_role("applicant") else url_for("home.index"))
    eng = engine()
    query = query_from_args(request.args)
    page: InboxPage = eng.inbox(actor, query)
    with eng.db.session() as session:
        cal = calendar.load_calendar(session)
    today = eng.clock.now().astimezone(CHINA).date()
    rows = [(row, due_of(row, today, cal), bulk_action(row)) for row in page.rows]
    names = people_of({u for row in page.rows for u in (row.assignee, row.owner, row.completed_by)})
    outcomes = {row.task_id: vocab.outcome_label(row.outcome, _schema(row)) for row in page.rows if row.outcome}
    return render_template("inbox/index.html", page=page, rows=rows, tabs=TABS, tab_labels=TAB_LABELS,
                           tab_hints=TAB_HINTS, choices=filter_choices(actor), args=request.args, page_url=_page_url,
                           vocab=vocab, any_bulk=any(b for _, _, b in rows), names=names, outcomes=outcomes,
                           me=actor.username, holds=actor.holds)


def _schema(row: InboxRow) -> dict | None:
    return engine().form(row.version_id, row.form) if row.form else None


@bp.post("/bulk")
@login_required
def bulk():
    """Answer several tasks with their form's ``x-bulk`` data; each is its own command and event."""
    actor = current_user.actor
    if not any(actor.has_role(r) for r in OFFICIAL_ROLES):
        access.deny(_("仅工作人员可批量办理"))
    eng = engine()
    ids = request.form.getlist("task_id")
    back = request.form.get("next") or url_for("inbox.index")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("inbox.index")
    if not ids:
        flash(_("请先勾选要办理的事项"), "error")
        return redirect(back)
    if len(ids) > MAX_BULK:
        raise InvalidInput(_("一次最多办理 %(n)d 项", n=MAX_BULK), field="task_id")
    done, failed = 0, []
    for raw in ids:
        if not (raw.isascii() and raw.isdigit() and int(raw) <= 2**31 - 1):
            failed.append(_("“%(raw)s”不是有效的事项编号", raw=raw[:20]))
            continue
        task_id = int(raw)
        try:
            task = eng.task(task_id)
            answer = (eng.form(task["version_id"], task["form"]) or {}).get("x-bulk")
            if not answer:
                raise InvalidInput(_("该事项不能批量办理"), field="task_id")
            eng.complete(task_id, dict(answer["data"]), actor=actor)
            done += 1
        except Conflict:  # a colleague was quicker: say who
            failed.append(conflict_message(task_id))
        except EngineError as exc:  # not this official's, or not a bulk step: in people's words
            failed.append(error_words.for_people(exc.message))
    if done:
        flash(_("已批量办理 %(n)d 项", n=done), "success")
    for message in failed:
        flash(message, "error")
    return redirect(back)
