"""Deadlines: review reminders and escalation, and the annual dynamic-management table (第十八、二十四、二十七条).

Two kinds of work live here:

- **Notifications.** ``notify`` queues one reminder or escalation in the engine's outbox
  (``kind="notification"``), in the command's transaction, and records it in the history.
  ``review_step`` reminds the reviewer 8 working days after a review opens and escalates
  to the reviewer's supervisor (``supervisor_of`` / ``supervisor_scope_of``, from the
  ``supervisor`` key of ``config/roles.toml``) when the 10 working days have passed.
- **The annual campaign** (``annual_table_campaign``, 第二十四条): every unit on a
  green-manufacturing list files the dynamic-management table (动态管理表，工信部节〔2024〕13号
  附件4) by April 15. ``open_campaign`` takes the snapshot of listed units,
  ``record_filing`` stores each filing as it is made, ``remind_campaign`` reminds the units
  that have not filed yet, and ``close_campaign`` records 第二十七条第7项 (拒不按时填报动态
  管理表) for every unit that had not filed when April 15 ended.

Services never commit: the command runner does, so a failing service leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

import config
from engine.clock import CHINA, UTC
from engine.errors import Conflict, EngineError, InvalidInput, RuleViolation
from engine.models import Outbox, ProcessInstance
from engine.services import ServiceContext, script_function, service_task, supervision
from handlers.divisions import PROVINCE, city_of
from handlers.records import AnnualFiling, Campaign, Listing, NegativeRecord, Unit

__all__ = [
    "FILING_DEADLINE",
    "NOTIFICATION_KINDS",
    "NOT_FILED_SOURCE",
    "close_campaign",
    "filing_deadline_end",
    "notify",
    "open_campaign",
    "record_filing",
    "remind_campaign",
    "supervisor_of",
    "supervisor_scope_of",
]

NOTIFICATION_KINDS = frozenset({"reminder", "escalation"})
FILING_DEADLINE = (4, 15)  # 第二十四条: 每年4月15日前填报动态管理表
NOT_FILED_ITEM = 7  # 第二十七条第7项: 拒不按时填报动态管理表
NOT_FILED_SOURCE = "动态管理表未按时填报（第二十四条、第二十七条第7项）"
_LEVEL_RANK = {"national": 3, "province": 2, "city": 1}
_TOP_ROLE = "province_official"  # the provincial department answers for every role without a supervisor


# --------------------------------------------------------------------------- script functions

@script_function("supervisor_of")
def supervisor_of(role: str) -> str:
    """The role that supervises ``role`` (``supervisor`` in config/roles.toml).

    county_official → city_official → province_official (第十八条: 县级—市级—省级). A role
    without a supervisor key (the province itself, experts, bureaus) answers to
    province_official. Raises ValueError for a role roles.toml does not know.
    """
    roles = config.roles()
    if role not in roles:
        raise ValueError(f"unknown role {role!r}")
    return roles[role].get("supervisor", _TOP_ROLE)


@script_function("supervisor_scope_of")
def supervisor_scope_of(role: str, scope: str) -> str:
    """The org unit whose ``supervisor_of(role)`` oversees work of ``role`` at ``scope``.

    A city official supervises the county (its city: ``city_of(scope)``); the province
    supervises everything ("520000"). E.g. (county_official, 520302) → 520300.
    Raises ValueError for an unknown role, InvalidInput for a county code not in Guizhou.
    """
    supervisor = supervisor_of(role)
    if config.roles()[supervisor].get("scope_kind") == "city":
        return city_of(scope)
    return PROVINCE


@supervision
def supervises(grants: frozenset, role: str, scope: str) -> bool:
    """May an official with ``grants`` urge (催办) or reassign work of ``role`` at ``scope``?

    The provincial department supervises every task; a city department the county tasks of
    its own counties (第十八条's 县级—市级—省级 chain).
    """
    if (_TOP_ROLE, PROVINCE) in grants:
        return True
    try:
        return (supervisor_of(role), supervisor_scope_of(role, scope)) in grants
    except (ValueError, EngineError):
        return False


def filing_deadline_end(year: int) -> dt.datetime:
    """The moment the filing period of ``year`` ends: April 15 24:00 China time (aware)."""
    month, day = FILING_DEADLINE
    return dt.datetime(year, month, day, tzinfo=CHINA) + dt.timedelta(days=1)


# --------------------------------------------------------------------------- notifications

def _instance_title(ctx: ServiceContext) -> str | None:
    instance = ctx.session.get(ProcessInstance, ctx.instance_id)
    return instance.title if instance is not None else None


def _china_text(iso: str | None) -> str | None:
    """``2026-03-16T18:00:00+08:00`` → ``2026年3月16日 18:00`` (China time); None stays None."""
    if not iso:
        return None
    try:
        when = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        raise InvalidInput(f"due_at 不是 ISO 时间：{iso!r} / due_at is not an ISO time", field="due_at") from None
    if when.tzinfo is None:
        raise InvalidInput(f"due_at 须带时区：{iso!r} / due_at needs an offset", field="due_at")
    local = when.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _queue(ctx: ServiceContext, *, kind: str, role: str, scope: str, message_zh: str,
           instance_title: str | None = None, task_name: str | None = None, due_at: str | None = None,
           mention_due: bool = True) -> Outbox:
    if kind not in NOTIFICATION_KINDS:
        raise InvalidInput(f"未知的通知类型 {kind!r} / unknown notification kind {kind!r}", field="kind")
    if role not in config.roles():
        raise InvalidInput(f"未知的角色 {role!r} / unknown role {role!r}", field="role")
    if not isinstance(scope, str) or not scope.strip():
        raise InvalidInput("通知须指明范围 / a notification needs a scope", field="scope")
    if not isinstance(message_zh, str) or not message_zh.strip():
        raise InvalidInput("通知内容不能为空 / the message is empty", field="message_zh")
    due_text = _china_text(due_at)
    message = message_zh.strip()
    if mention_due and due_text and due_text not in message:
        message = f"{message}（到期时间：{due_text}）"
    payload = {
        "kind": kind, "role": role, "scope": scope, "message_zh": message,
        "instance_id": ctx.instance_id, "process_id": ctx.process_id,
        "instance_title": instance_title or _instance_title(ctx),
        "task_name": task_name, "due_at": due_at,
    }
    row = Outbox(instance_id=ctx.instance_id, kind="notification", payload=payload, created_at=ctx.clock.now())
    ctx.session.add(row)
    ctx.session.flush()
    ctx.record("notification_queued", outbox_id=row.id, kind=kind, role=role, scope=scope,
               task_name=task_name, due_at=due_at, message_zh=message)
    return row


@service_task("notify")
def notify(ctx: ServiceContext, *, kind: str, role: str, scope: str, message_zh: str,
           instance_title: str | None = None, task_name: str | None = None,
           due_at: str | None = None) -> dict[str, Any]:
    """Queue a reminder or an escalation for the users holding ``role`` at ``scope``.

    ``kind`` is ``reminder`` (the performer, before the due date) or ``escalation`` (the
    performer's supervisor, after it). ``due_at`` (an aware ISO time) is added to the
    message in China time (到期时间). ``instance_title`` defaults to the instance's title.
    Returns ``{"outbox_id", "kind", "role", "scope"}``.
    Raises InvalidInput for an unknown kind or role, an empty scope or message, a bad due_at.
    """
    row = _queue(ctx, kind=kind, role=role, scope=scope, message_zh=message_zh, instance_title=instance_title,
                 task_name=task_name, due_at=due_at)
    return {"outbox_id": row.id, "kind": kind, "role": role, "scope": scope}


# --------------------------------------------------------------------------- the annual campaign

def _year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise InvalidInput(f"年度无效：{year!r} / invalid campaign year {year!r}", field="year")
    return year


def _listed_units(session) -> list[dict[str, Any]]:
    """Every unit with a current listing (status listed), once, at its highest level."""
    best: dict[str, Listing] = {}
    for listing in session.scalars(select(Listing).where(Listing.status == "listed").order_by(Listing.id)):
        current = best.get(listing.credit_code)
        if current is None or _LEVEL_RANK.get(listing.level, 0) > _LEVEL_RANK.get(current.level, 0):
            best[listing.credit_code] = listing
    names = dict(session.execute(select(Unit.credit_code, Unit.name).where(Unit.credit_code.in_(list(best)))).all()) \
        if best else {}
    return [{"credit_code": code, "unit_name": names.get(code, ""), "unit_type": best[code].unit_type,
             "level": best[code].level} for code in sorted(best)]


@service_task("open_campaign")
def open_campaign(ctx: ServiceContext, *, year: int, scheduled_for: str | None = None) -> list[dict[str, Any]]:
    """Open ``year``'s filing of the dynamic-management table (第二十四条) and list who must file.

    The units are every credit code with a current Listing (status listed), once each,
    with ``{credit_code, unit_name, unit_type, level}`` of its highest list; the snapshot is
    stored in a Campaign row. Idempotent for this instance (a retried task gets the same
    snapshot). Raises Conflict when another instance already runs ``year``'s campaign,
    InvalidInput for an implausible year.
    """
    year = _year(year)
    campaign = ctx.session.scalar(select(Campaign).where(Campaign.year == year))
    if campaign is not None:
        if campaign.instance_id != ctx.instance_id:
            raise Conflict(f"{year}年度动态管理表填报已由流程实例 {campaign.instance_id} 发起 / the {year} campaign "
                           f"already runs in instance {campaign.instance_id}")
        return campaign.units
    when = dt.datetime.fromisoformat(scheduled_for).astimezone(UTC) if scheduled_for else None
    units = _listed_units(ctx.session)
    month, day = FILING_DEADLINE
    campaign = Campaign(year=year, instance_id=ctx.instance_id, scheduled_for=when, opened_at=ctx.clock.now(),
                        deadline=dt.date(year, month, day), units=units, status="open")
    ctx.session.add(campaign)
    ctx.session.flush()
    ctx.record("campaign_opened", year=year, campaign_id=campaign.id, units=[u["credit_code"] for u in units],
               deadline=campaign.deadline.isoformat())
    return units


def _filings(session, year: int) -> dict[str, AnnualFiling]:
    return {f.credit_code: f for f in session.scalars(select(AnnualFiling).where(AnnualFiling.year == year))}


@service_task("record_filing")
def record_filing(ctx: ServiceContext, *, year: int, unit: Mapping[str, Any], indicators: Mapping[str, Any],
                  schema_version: int = 1) -> dict[str, Any]:
    """Store ``unit``'s dynamic-management table for ``year`` (第二十四条), as filed now.

    Refused with RuleViolation(第二十四条) once April 15 of ``year`` has ended, even if the
    deadline timer has not fired yet: a late table is not a table filed on time
    (第二十七条第7项). One filing per unit and year: a retried task returns the stored one;
    a filing of another instance raises Conflict.
    Returns ``{"id", "year", "credit_code", "filed_at"}``.
    """
    year = _year(year)
    code = str((unit or {}).get("credit_code") or "").strip()
    if not code:
        raise InvalidInput("缺少统一社会信用代码 / the unit has no credit code", field="unit")
    if not isinstance(indicators, Mapping):
        raise InvalidInput("动态管理表内容应为对象 / the table must be an object", field="indicators")
    now = ctx.clock.now()
    if now >= filing_deadline_end(year):
        raise RuleViolation(
            f"{year}年度动态管理表应于{year}年4月15日前填报，填报期已结束（第二十四条） / the {year} table was due "
            f"by April 15 (Article 24)", article="第二十四条", field="year")
    filing = ctx.session.scalar(select(AnnualFiling).where(AnnualFiling.year == year,
                                                           AnnualFiling.credit_code == code))
    if filing is None:
        filing = AnnualFiling(year=year, credit_code=code, instance_id=ctx.instance_id, indicators=dict(indicators),
                              filed_at=now, schema_version=int(schema_version))
        ctx.session.add(filing)
        ctx.session.flush()
        ctx.record("annual_table_filed", year=year, credit_code=code, filing_id=filing.id,
                   schema_version=filing.schema_version)
    elif filing.instance_id != ctx.instance_id:
        raise Conflict(f"{code} 的{year}年度动态管理表已在流程实例 {filing.instance_id} 中填报 / already filed in "
                       f"instance {filing.instance_id}")
    return {"id": filing.id, "year": year, "credit_code": code, "filed_at": filing.filed_at.isoformat()}


def _campaign_units(units: object) -> list[dict[str, Any]]:
    if not isinstance(units, list) or not all(isinstance(u, Mapping) and u.get("credit_code") for u in units):
        raise InvalidInput("units 应为含 credit_code 的单位列表 / units must be a list of units", field="units")
    return [dict(u) for u in units]


@service_task("remind_campaign")
def remind_campaign(ctx: ServiceContext, *, year: int, units: list[dict[str, Any]]) -> dict[str, Any]:
    """Remind every unit of ``units`` that has not filed ``year``'s table yet (第二十四条).

    One notification per unit, to its applicant (``unit:<credit_code>``), naming the
    deadline and the consequence (第二十七条第7项). A reminder that only runs after the
    deadline (a worker catching up) reminds nobody: it is too late to file.
    Returns ``{"reminded": [credit codes]}``.
    """
    year = _year(year)
    filed = _filings(ctx.session, year)
    due_at = filing_deadline_end(year).isoformat()
    reminded: list[str] = []
    if ctx.clock.now() >= filing_deadline_end(year):
        return {"reminded": reminded}
    for unit in _campaign_units(units):
        code = unit["credit_code"]
        if code in filed:
            continue
        _queue(ctx, kind="reminder", role="applicant", scope=f"unit:{code}", task_name="填报动态管理表",
               due_at=due_at, mention_due=False, instance_title=f"{year}年度绿色制造名单动态管理表填报",
               message_zh=(f"{unit.get('unit_name') or code}：请于{year}年4月15日前填报{year}年度绿色制造名单动态管理表"
                           f"（第二十四条）；拒不按时填报的，将在新发布名单时予以移出（第二十七条第7项）"))
        reminded.append(code)
    return {"reminded": reminded}


@service_task("close_campaign")
def close_campaign(ctx: ServiceContext, *, year: int, units: list[dict[str, Any]]) -> dict[str, Any]:
    """Close ``year``'s campaign: who filed, who did not (第二十四条、第二十七条第7项).

    Once April 15 has ended, every unit of ``units`` without a filing gets a NegativeRecord
    of 第二十七条第7项 dated April 16 (a ground to remove it at the next list publication;
    nothing is removed here). Closing earlier (every unit filed) records nobody. Idempotent:
    a unit already holding that record for that day gets no second one.
    Returns ``{"year", "filed": [codes], "missing": [codes], "negative_records": n}``.
    """
    year = _year(year)
    units = _campaign_units(units)
    filed = _filings(ctx.session, year)
    now = ctx.clock.now()
    missing = [u["credit_code"] for u in units if u["credit_code"] not in filed]
    recorded = 0
    if missing and now >= filing_deadline_end(year):
        occurred_on = filing_deadline_end(year).date()  # April 16: the first day the table is late
        existing = set(ctx.session.scalars(select(NegativeRecord.credit_code).where(
            NegativeRecord.item == NOT_FILED_ITEM, NegativeRecord.occurred_on == occurred_on,
            NegativeRecord.credit_code.in_(missing))))
        for code in missing:
            if code in existing:
                continue
            ctx.session.add(NegativeRecord(
                credit_code=code, item=NOT_FILED_ITEM, occurred_on=occurred_on, source=NOT_FILED_SOURCE,
                note=f"{year}年4月15日前未填报{year}年度动态管理表（第二十四条），属第二十七条第7项“拒不按时填报动态管理表”，"
                     f"在新发布省、市层面绿色制造年度名单时予以移出"))
            recorded += 1
    campaign = ctx.session.scalar(select(Campaign).where(Campaign.year == year))
    if campaign is not None and campaign.instance_id == ctx.instance_id:
        campaign.status = "closed"
        campaign.closed_at = now
        campaign.missing = missing
    ctx.session.flush()
    result = {"year": year, "filed": [u["credit_code"] for u in units if u["credit_code"] in filed],
              "missing": missing, "negative_records": recorded}
    ctx.record("campaign_closed", **result)
    return result
