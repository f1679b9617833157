"""Application windows: the yearly application notices of each level (申报通知, 第十四条).

第十四条: 国家层面绿色制造名单申报时间，根据《绿色工厂梯度培育及管理暂行办法》或有关通知要求。省层面……根据
贵州省工业和信息化厅按年度发布的申报通知要求……及时公开省层面绿色制造名单申报通知和《贵州省绿色制造体系
建设评价指南》。市层面……根据市级工业和信息化主管部门发布的申报通知要求。

Each notice is published here as an ``ApplicationWindow``: its level and scope (a city's own
notice, the province's, or MIIT's national notice as the province relays it), the year it is
for, the first and last day applications are accepted (China dates, both included), the unit
types it accepts and the version of the evaluation guide it names.  ``handlers.rules.admission``
refuses an application that no open window covers (第十四条), and the applicants' portal shows
the windows that are open or coming.

Who publishes (decision, docs/application-windows.md): a city department its city's notice,
the province its own notice and MIIT's national one.  A published window is never edited:
a wrong one is withdrawn with a reason and a correct one published, so what applicants saw
stays on record.  Two published windows of one level, scope and year may not overlap for a
unit type (which notice would an application follow?).

This module also holds the one check 第二十一条 puts on the national step inside an
application: ``check_national_recommendation_deadline`` refuses a recommendation after July 31
of the application's year, as the yearly batch (``handlers.national_recommendation``) does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import china_date
from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from engine.identity import load_actor
from engine.services import ServiceContext, service_task
from handlers.application import TARGET_LEVELS, UNIT_TYPES
from handlers.divisions import PROVINCE, city_of, division
from handlers.national_recommendation import deadline_end

__all__ = [
    "ARTICLE", "ApplicationWindow", "window_scope", "publisher_grant", "normalise_window", "publish_window",
    "withdraw_window", "window_view", "windows", "open_windows", "covering_window",
    "check_national_recommendation_deadline",
]

ARTICLE = "第十四条"
STATUSES = ("published", "withdrawn")
LEVEL_ZH = {"city": "市级", "province": "省级", "national": "国家级"}
UNIT_TYPE_ZH = {"factory": "绿色工厂", "supply_chain": "绿色供应链管理企业", "park": "绿色工业园区"}
_LIMITS = {"notice_ref": 200, "title": 300, "guide_version": 100, "notice_url": 500, "reason": 2000}
_YEARS = range(2000, 2101)


class ApplicationWindow(Base):
    """One yearly application notice of a level and scope (第十四条): when applications are accepted."""

    __tablename__ = "application_windows"
    __table_args__ = (
        CheckConstraint("level IN ('city', 'province', 'national')", name="level"),
        CheckConstraint("status IN ('published', 'withdrawn')", name="status"),
        CheckConstraint("opens_on <= closes_on", name="dates"),
        Index("ix_application_windows_lookup", "level", "scope", "year", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))  # city code, "520000" or "national"
    year: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[dt.date] = mapped_column(Date)  # first day applications are accepted (China)
    closes_on: Mapped[dt.date] = mapped_column(Date)  # last day, included
    unit_types: Mapped[list[str]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(300))
    notice_ref: Mapped[str] = mapped_column(String(200))  # the notice's document number
    guide_version: Mapped[str] = mapped_column(String(100))  # 《贵州省绿色制造体系建设评价指南》 version
    notice_url: Mapped[str | None] = mapped_column(String(500))  # where the department's site shows it
    status: Mapped[str] = mapped_column(String(16), default="published")
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(120))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


def window_scope(level: str, county_code: str) -> str:
    """Whose notice an application of ``level`` from ``county_code`` follows: its city, the province, MIIT."""
    return {"city": city_of(county_code), "province": PROVINCE, "national": "national"}[level]


def scope_name(level: str, scope: str) -> str:
    if level == "national":
        return "工业和信息化部"
    return division(scope).name


def publisher_grant(level: str, scope: str) -> tuple[str, str]:
    """(role, scope) that publishes a window: the city department, or the province (also for MIIT's notice)."""
    return ("city_official", scope) if level == "city" else ("province_official", PROVINCE)


# --------------------------------------------------------------------------- input

def _text(fields: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = fields.get(key)
    text = str(value).strip() if value is not None else ""
    if len(text) > _LIMITS[key]:
        raise InvalidInput(f"{key} 超过{_LIMITS[key]}个字符 / {key} is too long", field=key)
    if required and not text:
        raise InvalidInput(f"{key} 必填 / {key} is required", field=key)
    return text or None


def _date(fields: Mapping[str, Any], key: str) -> dt.date:
    value = fields.get(key)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidInput(f"{key} 应为日期 YYYY-MM-DD / {key} must be a date", field=key) from None


def normalise_window(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The window's fields checked and normalised; InvalidInput naming the first bad field.

    ``level`` and ``scope`` (a city code for a city notice; ignored for the province and MIIT),
    ``year``, ``opens_on`` ≤ ``closes_on``, ``unit_types`` (a non-empty subset), ``title``,
    ``notice_ref``, ``guide_version``, optional ``notice_url``.
    """
    if not isinstance(fields, Mapping):
        raise InvalidInput("申报通知应为对象 / the notice must be an object", field="window")
    level = fields.get("level")
    if level not in TARGET_LEVELS:
        raise InvalidInput(f"层级应为 city / province / national，实为 {level!r} / unknown level", field="level")
    if level == "city":
        scope = str(fields.get("scope") or "").strip().upper()
        found = division(scope, field="scope") if scope else None
        if found is None or not found.is_city:
            raise InvalidInput(f"{scope or '（空）'} 不是市（州）级行政区划 / not a city-level division", field="scope")
    else:
        scope = PROVINCE if level == "province" else "national"
    try:
        year = int(fields.get("year"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        year = -1
    if year not in _YEARS:
        raise InvalidInput(f"年度无效：{fields.get('year')!r} / invalid year", field="year")
    opens_on, closes_on = _date(fields, "opens_on"), _date(fields, "closes_on")
    if closes_on < opens_on:
        raise InvalidInput("截止日期早于开始日期 / the window closes before it opens", field="closes_on")
    if not year - 1 <= opens_on.year <= year:
        raise InvalidInput(f"开始日期应在{year - 1}或{year}年内 / the window must open in or just before its year",
                           field="opens_on")
    raw_types = fields.get("unit_types")
    types = [raw_types] if isinstance(raw_types, str) else list(raw_types or [])
    if not types or any(t not in UNIT_TYPES for t in types):
        raise InvalidInput(f"受理类型应为 {' / '.join(UNIT_TYPES)} 中的一种或几种 / choose the unit types accepted",
                           field="unit_types")
    return {"level": level, "scope": scope, "year": year, "opens_on": opens_on, "closes_on": closes_on,
            "unit_types": [t for t in UNIT_TYPES if t in types],
            "title": _text(fields, "title", required=True), "notice_ref": _text(fields, "notice_ref", required=True),
            "guide_version": _text(fields, "guide_version", required=True),
            "notice_url": _text(fields, "notice_url", required=False)}


# --------------------------------------------------------------------------- publishing

def publish_window(session: Session, fields: Mapping[str, Any], *, actor: str, now: dt.datetime) -> dict[str, Any]:
    """Publish a window (第十四条); returns its view.

    Raises InvalidInput (a bad field), NotPermitted (not the publishing department), Conflict
    (a published window of the same level, scope and year overlaps it for a unit type).
    """
    window = normalise_window(fields)
    role, scope = publisher_grant(window["level"], window["scope"])
    if not load_actor(session, actor).holds(role, scope):
        raise NotPermitted(f"{actor} 不能发布{scope_name(window['level'], window['scope'])}的{LEVEL_ZH[window['level']]}"
                           f"申报通知（{ARTICLE}）/ only the {role} of {scope} publishes this notice")
    for other in session.scalars(select(ApplicationWindow).where(
            ApplicationWindow.level == window["level"], ApplicationWindow.scope == window["scope"],
            ApplicationWindow.year == window["year"], ApplicationWindow.status == "published")):
        shared = set(other.unit_types) & set(window["unit_types"])
        if shared and other.opens_on <= window["closes_on"] and window["opens_on"] <= other.closes_on:
            raise Conflict(f"与已发布的申报通知“{other.title}”（{other.opens_on}至{other.closes_on}）时间重叠；"
                           f"如需调整请先撤回该通知 / overlaps the published notice {other.id}; withdraw it first",
                           fields={"opens_on": "overlap"})
    row = ApplicationWindow(**window, status="published", published_by=actor, published_at=now)
    session.add(row)
    session.flush()
    return window_view(row)


def withdraw_window(session: Session, window_id: int, *, actor: str, reason: str, now: dt.datetime) -> dict[str, Any]:
    """Withdraw a published window with a reason; applications already made are not affected.

    Raises NotFound, NotPermitted (not its publisher's department), InvalidInput (no reason),
    Conflict (already withdrawn).
    """
    row = session.get(ApplicationWindow, window_id)
    if row is None:
        raise NotFound(f"申报通知 {window_id} 不存在 / no such notice")
    role, scope = publisher_grant(row.level, row.scope)
    if not load_actor(session, actor).holds(role, scope):
        raise NotPermitted(f"{actor} 不能撤回该申报通知 / only the {role} of {scope} withdraws it")
    reason = _text({"reason": reason}, "reason", required=True) or ""
    if row.status != "published":
        raise Conflict("该申报通知已撤回 / the notice is already withdrawn")
    row.status, row.withdrawn_by, row.withdrawn_at, row.withdraw_reason = "withdrawn", actor, now, reason
    session.flush()
    return window_view(row)


# --------------------------------------------------------------------------- reading

def window_view(row: ApplicationWindow, today: dt.date | None = None) -> dict[str, Any]:
    """A window as pages show it; ``state`` (``open`` / ``upcoming`` / ``closed`` / ``withdrawn``) needs ``today``."""
    state = None
    if row.status == "withdrawn":
        state = "withdrawn"
    elif today is not None:
        state = "upcoming" if today < row.opens_on else "closed" if today > row.closes_on else "open"
    return {"id": row.id, "level": row.level, "level_zh": LEVEL_ZH[row.level], "scope": row.scope,
            "scope_name": scope_name(row.level, row.scope), "year": row.year,
            "opens_on": row.opens_on.isoformat(), "closes_on": row.closes_on.isoformat(),
            "unit_types": list(row.unit_types), "unit_types_zh": [UNIT_TYPE_ZH[t] for t in row.unit_types],
            "title": row.title, "notice_ref": row.notice_ref, "guide_version": row.guide_version,
            "notice_url": row.notice_url, "status": row.status, "state": state,
            "published_by": row.published_by, "published_at": row.published_at.isoformat(),
            "withdrawn_by": row.withdrawn_by, "withdraw_reason": row.withdraw_reason}


def windows(session: Session, today: dt.date, *, year: int | None = None) -> list[dict[str, Any]]:
    """Every window (of ``year`` if given), newest year first, then level and scope."""
    query = select(ApplicationWindow).order_by(ApplicationWindow.year.desc(), ApplicationWindow.level,
                                               ApplicationWindow.scope, ApplicationWindow.opens_on)
    if year is not None:
        query = query.where(ApplicationWindow.year == year)
    return [window_view(row, today) for row in session.scalars(query)]


def open_windows(session: Session, today: dt.date) -> list[dict[str, Any]]:
    """Published windows open on ``today`` or still to come, soonest closing first (the portal's list)."""
    rows = session.scalars(select(ApplicationWindow).where(
        ApplicationWindow.status == "published", ApplicationWindow.closes_on >= today)
        .order_by(ApplicationWindow.opens_on, ApplicationWindow.closes_on, ApplicationWindow.level,
                  ApplicationWindow.scope))
    return [window_view(row, today) for row in rows]


def covering_window(session: Session, *, level: str, scope: str, year: int, unit_type: str,
                    today: dt.date) -> ApplicationWindow | None:
    """The published window that accepts this application on ``today``, if any."""
    for row in session.scalars(select(ApplicationWindow).where(
            ApplicationWindow.level == level, ApplicationWindow.scope == scope, ApplicationWindow.year == year,
            ApplicationWindow.status == "published", ApplicationWindow.opens_on <= today,
            ApplicationWindow.closes_on >= today).order_by(ApplicationWindow.id)):
        if unit_type in row.unit_types:
            return row
    return None


# --------------------------------------------------------------------------- 第二十一条 inside an application

@service_task("check_national_recommendation_deadline")
def check_national_recommendation_deadline(ctx: ServiceContext, *, application: Mapping[str, Any],
                                           decision: str) -> dict[str, Any]:
    """Refuse a recommendation to MIIT after July 31 of the application's year (第二十一条).

    Raises RuleViolation(第二十一条, field national_recommendation) and nothing is written; a
    decision not to recommend is always accepted.  Returns ``{"deadline": "YYYY-07-31"}``.
    """
    year = int(application.get("year")) if isinstance(application, Mapping) else 0
    end = deadline_end(year)
    if decision == "recommend" and ctx.clock.now() >= end:
        raise RuleViolation(
            f"国家层面名单应于{year}年7月31日前推荐至工业和信息化部，本年度推荐期已过（第二十一条）；"
            f"该单位可参加下一年度的推荐 / the recommendation was due by July 31, {year} (Article 21)",
            article="第二十一条", field="national_recommendation")
    return {"deadline": china_date(end - dt.timedelta(days=1)).isoformat()}
