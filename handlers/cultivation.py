"""Cultivation targets (培育对象, 第九至十三条) and the units parks and supply-chain leaders cultivate.

- **Cultivation plans** (``cultivation_plan``, 第九条): a county (县级) or city (市级) industry
  department lists the enterprises and provincial development zones it cultivates in a year
  (培育对象, by credit code, with their intended list type of 第十、十一、十二条) and its plan
  text (培育计划). The next level acknowledges it: the city for a county's plan, the province
  for a city's (第十八条's chain). Each submission is a ``CultivationPlan`` with its
  ``CultivationTarget`` rows; a later plan of the same division and year supersedes the earlier
  one (kept, status ``superseded``), so ``current_targets`` always answers from the newest.
- **Cultivation reports** (``cultivation_report``, 第十一条第2项、第十二条第2项、第十三条): a
  park or a supply-chain leader on a green-manufacturing list reports the units it cultivates
  to create green factories. Each unit becomes a ``CultivationRecord`` (handlers.records) of the
  reporting unit and year — the rows 第二十三条's park condition counts (“在申报年度组织培育创建
  至少3家绿色制造单位”, ``art23_park_needs_green_units``). ``CultivationReport`` keeps who
  reported what and when.

Services never commit: the command runner does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import china_date, now as clock_now
from engine.db import Base, UTCDateTime
from engine.errors import InvalidInput, NotFound, NotPermitted, RuleViolation
from engine.identity import load_actor
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.divisions import PROVINCE, city_of, division
from handlers.records import CultivationRecord, Listing, Unit
from handlers.start import applicant_scope
from handlers.uscc import validate_uscc

__all__ = [
    "ARTICLE_9", "ARTICLE_23", "TARGET_TYPES", "CultivationPlan", "CultivationTarget", "CultivationReport",
    "current_targets", "record_cultivation_plan", "acknowledge_cultivation_plan", "record_cultivation_report",
]

ARTICLE_9 = "第九条"
ARTICLE_13 = "第十三条"
ARTICLE_23 = "第二十三条"
# What a target is cultivated to become, with the article listing its conditions.
TARGET_TYPES: dict[str, tuple[str, str]] = {
    "factory": ("绿色工厂", "第十条"), "park": ("绿色工业园区", "第十一条"), "supply_chain": ("绿色供应链管理企业", "第十二条"),
}
# Who may report cultivated units: a listed park (第十一条第2项、第十三条) or supply-chain leader (第十二条第2项).
REPORTER_TYPES = ("park", "supply_chain")
MAX_UNITS = 500


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CultivationPlan(Base):
    """A county's or city's cultivation list and plan for one year (第九条)."""

    __tablename__ = "cultivation_plans"
    __table_args__ = (
        CheckConstraint(_in("level", ("county", "city")), name="level"),
        CheckConstraint(_in("status", ("submitted", "acknowledged", "superseded")), name="status"),
        Index("ix_cultivation_plans_scope_year", "scope", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    year: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16))  # the division code of the planning department
    level: Mapped[str] = mapped_column(String(16))  # county | city
    plan_text: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledgement: Mapped[str | None] = mapped_column(Text)  # the acknowledging department's opinion


class CultivationTarget(Base):
    """One unit on a cultivation list (培育对象, 第九条)."""

    __tablename__ = "cultivation_targets"
    __table_args__ = (
        UniqueConstraint("plan_id", "credit_code", name="uq_cultivation_targets_plan_unit"),
        CheckConstraint(_in("target_type", TARGET_TYPES), name="target_type"),
        Index("ix_cultivation_targets_year_scope", "year", "scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("cultivation_plans.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    target_type: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(100))


class CultivationReport(Base):
    """Who reported which cultivated units (第十一、十二、十三、二十三条); the units are CultivationRecords."""

    __tablename__ = "cultivation_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    reporter_credit_code: Mapped[str] = mapped_column(String(18), index=True)
    reporter_type: Mapped[str] = mapped_column(String(16))  # park | supply_chain
    year: Mapped[int] = mapped_column(Integer)
    units: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- helpers

def _year(value: object, today: dt.date, *, allowed: tuple[int, ...]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        shown = " / ".join(str(y) for y in allowed)
        raise InvalidInput(f"年度 {value!r} 无效，应为 {shown} / year {value!r} must be one of {shown}", field="year")
    return value


def _units(raw: object, *, types: bool) -> list[dict[str, Any]]:
    """Checked, de-duplicated units ``[{credit_code, unit_name[, target_type]}]``; InvalidInput names the item."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("至少列出一家单位 / list at least one unit", field="units")
    if len(raw) > MAX_UNITS:
        raise InvalidInput(f"一次最多{MAX_UNITS}家 / at most {MAX_UNITS} units", field="units")
    units: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise InvalidInput("单位应为对象 / each unit must be an object", field=f"units.{i}")
        try:
            code = validate_uscc(item.get("credit_code"))
        except InvalidInput as err:
            raise InvalidInput(err.message, field=f"units.{i}.credit_code") from None
        if code in seen:
            raise InvalidInput(f"单位 {code} 重复 / unit {code} is listed twice", field=f"units.{i}.credit_code")
        seen.add(code)
        name = item.get("unit_name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            raise InvalidInput("单位名称必填（不超过200字） / unit_name is required (≤ 200 characters)",
                               field=f"units.{i}.unit_name")
        unit = {"credit_code": code, "unit_name": name.strip()}
        if types:
            if item.get("target_type") not in TARGET_TYPES:
                raise InvalidInput(f"培育方向应为 {' / '.join(v[0] for v in TARGET_TYPES.values())} / target_type must "
                                   f"be one of {', '.join(TARGET_TYPES)}", field=f"units.{i}.target_type")
            unit["target_type"] = item["target_type"]
        units.append(unit)
    return units


def current_targets(session: Session, year: int, scope: str) -> list[CultivationTarget]:
    """The targets of the newest plan of ``scope`` for ``year`` (none if it has no plan)."""
    plan = session.scalar(select(CultivationPlan).where(CultivationPlan.year == year, CultivationPlan.scope == scope,
                                                        CultivationPlan.status != "superseded")
                          .order_by(CultivationPlan.id.desc()))
    if plan is None:
        return []
    return list(session.scalars(select(CultivationTarget).where(CultivationTarget.plan_id == plan.id)
                                .order_by(CultivationTarget.id)))


# --------------------------------------------------------------------------- cultivation plan (第九条)

@start_hook("cultivation_plan")
def start_cultivation_plan(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check who plans for which division, and the list; derive who acknowledges.

    Only a county official of a county, or a city official of a city-level division, may
    submit that division's plan (第九条: 各县（市、区）、市（州）工业和信息化主管部门); the
    acknowledging department is the city of a county, the province of a city. Raises
    NotPermitted for anyone else, InvalidInput naming a bad field.
    """
    today = china_date(clock_now())
    year = _year(data.get("year"), today, allowed=(today.year, today.year + 1))
    found = division(data.get("division_code"))
    if found.level == "county":
        level, role, ack_role, ack_scope = "county", "county_official", "city_official", city_of(found.code)
    elif found.is_city:
        level, role, ack_role, ack_scope = "city", "city_official", "province_official", PROVINCE
    else:
        raise InvalidInput(f"培育计划由县级或市级工信部门制定（{ARTICLE_9}），{found.name}不是县级或市级 / a plan belongs to "
                           f"a county or a city (Article 9)", field="division_code")
    if not load_actor(session, actor).holds(role, found.code):
        raise NotPermitted(f"{actor} 不是{found.name}的工信部门，不能提交其培育计划（{ARTICLE_9}） / {actor} may not "
                           f"submit the plan of {found.code}: it needs role {role} there")
    plan_text = data.get("plan_text")
    if not isinstance(plan_text, str) or not plan_text.strip():
        raise InvalidInput(f"培育计划必填（{ARTICLE_9}：制定培育计划） / plan_text is required (Article 9)",
                           field="plan_text")
    plan = {"year": year, "division_code": found.code, "division_name": found.name, "level": level,
            "units": _units(data.get("units"), types=True), "plan_text": plan_text.strip()}
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"plan": plan, "planner_role": role, "planner_scope": found.code, "ack_role": ack_role,
              "ack_scope": ack_scope},
        title=f"{found.name}{year}年度绿色制造培育对象名单及培育计划",
        business_key=f"cultivation:{found.code}:{year}",
        summary={"division_code": found.code, "year": year, "targets": len(plan["units"]),
                 "city_code": city_of(found.code)},
    )


@service_task("record_cultivation_plan")
def record_cultivation_plan(ctx: ServiceContext, *, plan: Mapping[str, Any]) -> dict[str, Any]:
    """Store the plan and its targets (第九条); an earlier plan of the same division and year is superseded.

    Idempotent per instance. Returns ``{"id", "year", "scope", "targets", "superseded"}``.
    """
    row = ctx.session.scalar(select(CultivationPlan).where(CultivationPlan.instance_id == ctx.instance_id))
    superseded: list[int] = []
    if row is None:
        values = dict(plan or {})
        found = division(values.get("division_code"))
        level = "county" if found.level == "county" else "city"
        units = _units(values.get("units"), types=True)
        year = values.get("year")
        if isinstance(year, bool) or not isinstance(year, int):
            raise InvalidInput(f"年度无效：{year!r} / invalid year", field="year")
        for earlier in ctx.session.scalars(select(CultivationPlan).where(
                CultivationPlan.year == year, CultivationPlan.scope == found.code,
                CultivationPlan.status != "superseded")):
            earlier.status = "superseded"
            superseded.append(earlier.id)
        row = CultivationPlan(instance_id=ctx.instance_id, year=year, scope=found.code, level=level,
                              plan_text=str(values.get("plan_text") or "").strip(), submitted_by=ctx.actor,
                              submitted_at=ctx.clock.now(), status="submitted")
        ctx.session.add(row)
        ctx.session.flush()
        ctx.session.add_all([CultivationTarget(plan_id=row.id, year=year, scope=found.code, added_by=ctx.actor,
                                               credit_code=u["credit_code"], unit_name=u["unit_name"],
                                               target_type=u["target_type"]) for u in units])
        ctx.session.flush()
        ctx.record("cultivation_plan_submitted", plan_id=row.id, year=year, scope=found.code, level=level,
                   targets=[u["credit_code"] for u in units], superseded=superseded, article=ARTICLE_9)
    count = len(ctx.session.scalars(select(CultivationTarget.id).where(CultivationTarget.plan_id == row.id)).all())
    return {"id": row.id, "year": row.year, "scope": row.scope, "targets": count, "superseded": superseded}


@service_task("acknowledge_cultivation_plan")
def acknowledge_cultivation_plan(ctx: ServiceContext, *, plan_record: Mapping[str, Any],
                                 opinion: str | None = None) -> dict[str, Any]:
    """The city (for a county) or the province (for a city) acknowledges the plan (确认收悉).

    A plan superseded meanwhile stays superseded. Returns ``{"id", "status", "acknowledged_at"}``.
    """
    row = ctx.session.get(CultivationPlan, int((plan_record or {}).get("id") or 0))
    if row is None or row.instance_id != ctx.instance_id:
        raise NotFound("未找到本流程的培育计划 / no plan of this instance")
    now = ctx.clock.now()
    if row.acknowledged_at is None:
        row.acknowledged_by, row.acknowledged_at = ctx.actor, now
        row.acknowledgement = (opinion or "").strip() or None
        if row.status == "submitted":
            row.status = "acknowledged"
        ctx.record("cultivation_plan_acknowledged", plan_id=row.id, year=row.year, scope=row.scope,
                   opinion=row.acknowledgement, article=ARTICLE_9)
    return {"id": row.id, "status": row.status, "acknowledged_at": row.acknowledged_at.isoformat()}


# --------------------------------------------------------------------------- cultivation report (第二十三条)

def _reporter_type(session: Session, credit_code: str) -> str:
    """``park`` or ``supply_chain``: the unit's current listing that lets it report cultivated units."""
    types = set(session.scalars(select(Listing.unit_type).where(Listing.credit_code == credit_code,
                                                                Listing.status == "listed",
                                                                Listing.unit_type.in_(REPORTER_TYPES))))
    if not types:
        raise RuleViolation(
            f"单位 {credit_code} 不是在册的绿色工业园区或绿色供应链管理企业，不能报送培育创建情况（第十一条第2项、第十二条第2项、"
            f"{ARTICLE_23}） / only a listed green park or supply-chain enterprise reports the units it cultivates "
            f"(Articles 11, 12, 23)", article=ARTICLE_23, field="credit_code")
    return "park" if "park" in types else "supply_chain"


@start_hook("cultivation_report")
def start_cultivation_report(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the reporting unit (a listed park or supply-chain leader), the year and the units.

    The year is this year or last year (China). Raises RuleViolation(第二十三条) for a reporter
    that is not on a list as a park or supply-chain enterprise, InvalidInput naming a bad field.
    """
    today = china_date(clock_now())
    code = validate_uscc(data.get("credit_code"))
    reporter_type = _reporter_type(session, code)
    year = _year(data.get("year"), today, allowed=(today.year - 1, today.year))
    units = _units(data.get("units"), types=False)
    for i, unit in enumerate(units):
        if unit["credit_code"] == code:
            raise InvalidInput("不能把本单位列为培育对象 / a unit does not cultivate itself",
                               field=f"units.{i}.credit_code")
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidInput("说明不超过2000字 / note is longer than 2000 characters", field="note")
    name = session.scalar(select(Unit.name).where(Unit.credit_code == code)) or code
    report = {"credit_code": code, "reporter_type": reporter_type, "year": year, "units": units,
              "note": note.strip()}
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"report": report, "applicant_scope": applicant_scope(code)},
        title=f"{name} {year}年度培育创建情况",
        business_key=f"cultivation-report:{code}:{year}",
        summary={"credit_code": code, "unit_name": name, "year": year, "units": len(units),
                 "applicant_scope": applicant_scope(code)},
    )


@service_task("record_cultivation_report")
def record_cultivation_report(ctx: ServiceContext, *, report: Mapping[str, Any]) -> dict[str, Any]:
    """Write one CultivationRecord per reported unit (the rows 第二十三条's park condition counts).

    A unit already recorded for the same reporter and year is not recorded twice. Idempotent
    per instance. Returns ``{"id", "year", "added": [codes], "already": [codes], "cultivated": n}``
    where ``cultivated`` is the reporter's distinct units of that year after this report.
    """
    values = dict(report or {})
    code = validate_uscc(values.get("credit_code"))
    year = values.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise InvalidInput(f"年度无效：{year!r} / invalid year", field="year")
    units = _units(values.get("units"), types=False)
    row = ctx.session.scalar(select(CultivationReport).where(CultivationReport.instance_id == ctx.instance_id))
    added: list[str] = []
    already: list[str] = []
    existing = set(ctx.session.scalars(select(CultivationRecord.unit_credit_code).where(
        CultivationRecord.park_credit_code == code, CultivationRecord.year == year)))
    if row is None:
        reporter_type = _reporter_type(ctx.session, code)
        row = CultivationReport(instance_id=ctx.instance_id, reporter_credit_code=code, reporter_type=reporter_type,
                                year=year, units=units, note=str(values.get("note") or ""), reported_by=ctx.actor,
                                reported_at=ctx.clock.now())
        ctx.session.add(row)
        for unit in units:
            if unit["credit_code"] in existing:
                already.append(unit["credit_code"])
                continue
            ctx.session.add(CultivationRecord(park_credit_code=code, unit_credit_code=unit["credit_code"], year=year))
            existing.add(unit["credit_code"])
            added.append(unit["credit_code"])
        ctx.session.flush()
        ctx.record("cultivation_reported", report_id=row.id, credit_code=code, reporter_type=reporter_type,
                   year=year, added=added, already=already, cultivated=len(existing), article=ARTICLE_23)
    return {"id": row.id, "year": year, "added": added, "already": already, "cultivated": len(existing)}
