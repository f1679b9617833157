"""Major accidents and incidents of national and provincial units (监督检查与事故, 第二十六、二十七条).

第二十六条: 如国家、省层面绿色制造单位发生重大及以上生产安全和质量事故、Ⅱ级（重大）及以上突发环境污染
事件的，应及时上报贵州省工业和信息化厅。贵州省工业和信息化厅 …… 对存在问题的 …… 及时上报工业和信息化部。

``unit_incident``: the county or city department of the unit's place reports
(``start_unit_incident`` checks who reports and what); the province confirms or not
(``decide_unit_incident``).  A confirmed incident is 第二十七条第3项 (重大及以上安全、质量、环境
污染等事故): a NegativeRecord dated the day of the incident (it also bars applying for three
years, handlers.rules.management) and a PendingRemoval for each city and provincial listing
(removed at the next publication); for a national unit the province reports to MIIT.

**Decision** (the regulation's wording): only 重大及以上 (levels Ⅰ–Ⅱ) are reported here.
第二十六条 asks for a report of exactly these, and 第二十七条第3项 names only 重大及以上
accidents, so a 较大 (Ⅲ) or 一般 (Ⅳ) incident could never lead to item 3: the report is
refused with RuleViolation(第二十六条, field incident_level) and nothing is written;
ordinary supervision (第二十六条第一款) handles such incidents.  The environmental scale's
Ⅱ级 is 重大 (the issue text's "较大" is the Ⅲ级 name).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import china_date, get_clock
from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from engine.identity import load_actor
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.divisions import city_of
from handlers.fields import optional_text, record_key, stored_row
from handlers.records import NegativeRecord, Unit
from handlers.removals import current_listings, listing_view, queue_report, record_pending_removals
from handlers.uscc import validate_uscc

__all__ = [
    "ARTICLE", "ITEM", "PROCESS_ID", "INCIDENT_KINDS", "INCIDENT_LEVELS", "REPORTABLE_LEVELS",
    "UnitIncident", "normalise_incident", "start_unit_incident", "record_unit_incident", "decide_unit_incident",
]

PROCESS_ID = "unit_incident"
ARTICLE = "第二十六条"
REMOVAL_ARTICLE = "第二十七条"
ITEM = 3  # 第二十七条第3项
INCIDENT_KINDS = {
    "production_safety": ("生产安全事故", "production safety accident"),
    "quality": ("质量事故", "quality accident"),
    "environment": ("突发环境污染事件", "environmental pollution incident"),
}
# One scale for both: 生产安全事故 (特别重大/重大/较大/一般) and 突发环境事件 (Ⅰ/Ⅱ/Ⅲ/Ⅳ级).
INCIDENT_LEVELS = {
    "level_1": ("特别重大（Ⅰ级）", "especially major (I)"),
    "level_2": ("重大（Ⅱ级）", "major (II)"),
    "level_3": ("较大（Ⅲ级）", "large (III)"),
    "level_4": ("一般（Ⅳ级）", "general (IV)"),
}
REPORTABLE_LEVELS = ("level_1", "level_2")  # 第二十六条: 重大及以上 / Ⅱ级（重大）及以上
INCIDENT_DECISIONS = ("confirmed", "not_confirmed")
STATUSES = ("reported", "confirmed", "not_confirmed")
_LIMITS = {"description": 5000, "evidence": 2000, "evidence_file": 80}
NEGATIVE_SOURCE = "重大事故上报（第二十六条）"


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UnitIncident(Base):
    """An accident or incident of a national or provincial unit reported to the province (第二十六条)."""

    __tablename__ = "unit_incidents"
    __table_args__ = (
        CheckConstraint(_in("incident_kind", tuple(INCIDENT_KINDS)), name="incident_kind"),
        CheckConstraint(_in("incident_level", tuple(INCIDENT_LEVELS)), name="incident_level"),
        CheckConstraint(_in("status", STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    incident_kind: Mapped[str] = mapped_column(String(24))
    incident_level: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_file: Mapped[str | None] = mapped_column(String(80))
    listings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the unit's listings when reported
    reporter_role: Mapped[str] = mapped_column(String(32))
    reporter_scope: Mapped[str] = mapped_column(String(16))
    reported_by: Mapped[str] = mapped_column(String(120))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="reported")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    negative_record_id: Mapped[int | None] = mapped_column(Integer)


# --------------------------------------------------------------------------- the report

def _text(fields: Mapping[str, Any], key: str) -> str | None:
    return optional_text(fields, key, _LIMITS)


def reporting_grant(session: Session, actor: str, county_code: str) -> tuple[str, str]:
    """(role, scope) under which ``actor`` reports about a unit of ``county_code``.

    第二十六条: 各级工业和信息化主管部门 … 本地区 — the county department of the unit's county
    or the city department of its city.  Raises NotPermitted otherwise.
    """
    who = load_actor(session, actor)
    city = city_of(county_code)
    for role, scope in (("county_official", county_code), ("city_official", city)):
        if who.holds(role, scope):
            return role, scope
    raise NotPermitted(f"{actor} 不是该单位所在县（区）或市（州）的工业和信息化主管部门，不能上报（{ARTICLE}） / only the "
                       f"county or city department of the unit's place reports (Article 26)")


def normalise_incident(session: Session, fields: Mapping[str, Any], *, today: dt.date | None = None) -> dict[str, Any]:
    """The incident report as the diagram keeps it; nothing is written.

    Refuses with RuleViolation(第二十六条): a unit without a current national or provincial
    listing (field credit_code), an incident below 重大 / Ⅱ级 (field incident_level).
    InvalidInput naming the field for the rest (unknown unit or kind, a date in the future,
    no description).
    """
    if not isinstance(fields, Mapping):
        raise InvalidInput("事故报告应为对象 / the report must be an object", field="incident")
    today = today or china_date(get_clock().now())
    code = validate_uscc(fields.get("credit_code"))
    listings = current_listings(session, code)
    if not any(row.level in ("province", "national") for row in listings):
        raise RuleViolation(
            f"统一社会信用代码为 {code} 的单位不在国家或省层面绿色制造名单内，不属于{ARTICLE}上报范围（国家、省层面绿色制造单位）"
            f" / the unit {code} is on no national or provincial list; Article 26 reports concern national and "
            f"provincial units", article=ARTICLE, field="credit_code")
    unit = session.scalar(select(Unit).where(Unit.credit_code == code))
    if unit is None:
        raise InvalidInput("该单位未在平台登记，无法确定所在地 / the unit is not registered here", field="credit_code")
    kind = fields.get("incident_kind")
    if kind not in INCIDENT_KINDS:
        raise InvalidInput(f"事故类别应为 {' / '.join(INCIDENT_KINDS)} / unknown kind {kind!r}", field="incident_kind")
    level = fields.get("incident_level")
    if level not in INCIDENT_LEVELS:
        raise InvalidInput(f"事故等级应为 {' / '.join(INCIDENT_LEVELS)} / unknown level {level!r}",
                           field="incident_level")
    if level not in REPORTABLE_LEVELS:
        what = "Ⅱ级（重大）及以上突发环境污染事件" if kind == "environment" else "重大及以上生产安全和质量事故"
        raise RuleViolation(
            f"{INCIDENT_LEVELS[level][0]}{INCIDENT_KINDS[kind][0]}不属于{ARTICLE}规定上报的{what}，也不构成第二十七条第3项"
            f"（重大及以上事故）；由属地日常监督检查处理 / a {INCIDENT_LEVELS[level][1]} incident is below the level "
            f"Article 26 reports (major or above)", article=ARTICLE, field="incident_level")
    try:
        occurred = dt.date.fromisoformat(str(fields.get("occurred_on") or ""))
    except ValueError:
        raise InvalidInput("事故发生日期格式应为 YYYY-MM-DD / the date is not a date", field="occurred_on") from None
    if occurred > today:
        raise InvalidInput(f"事故发生日期 {occurred} 晚于今天 / the date is in the future", field="occurred_on")
    description = _text(fields, "description")
    if not description:
        raise InvalidInput("须填写事故（事件）经过 / a description is required", field="description")
    return {
        "credit_code": code, "unit_name": unit.name, "county_code": unit.county_code,
        "incident_kind": kind, "incident_level": level, "occurred_on": occurred.isoformat(),
        "description": description, "evidence": _text(fields, "evidence"),
        "evidence_file": _text(fields, "evidence_file"),
        "listings": listing_view(listings), "national": any(row.level == "national" for row in listings),
    }


@start_hook(PROCESS_ID)
def start_unit_incident(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the report and who makes it (第二十六条); leaves ``incident``, ``reporter_role``, ``reporter_scope``."""
    incident = normalise_incident(session, data.get("incident", data))
    role, scope = reporting_grant(session, actor, incident["county_code"])
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"incident": incident, "reporter_role": role, "reporter_scope": scope,
              # optional form fields read by the services: present even when left empty
              "incident_reason": "", "miit_report_note": ""},
        title=f"事故上报 · {incident['unit_name']} · {INCIDENT_KINDS[incident['incident_kind']][0]}",
        summary={"credit_code": incident["credit_code"], "unit_name": incident["unit_name"],
                 "incident_kind": incident["incident_kind"], "incident_level": incident["incident_level"],
                 "reporter_scope": scope, "national": incident["national"]},
    )


# --------------------------------------------------------------------------- service tasks

def _row(session: Session, record: object) -> UnitIncident:
    row = stored_row(session, UnitIncident, record)
    if row is None:
        key = record_key(record)
        raise NotFound(f"事故报告 {key!r} 不存在 / incident report {key!r} not found",
                       fields={"incident_record": "not found"})
    return row


def _view(row: UnitIncident) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "credit_code": row.credit_code,
            "occurred_on": row.occurred_on.isoformat(), "negative_record_id": row.negative_record_id,
            "decided_by": row.decided_by, "decided_at": row.decided_at.isoformat() if row.decided_at else None}


@service_task("record_unit_incident")
def record_unit_incident(ctx: ServiceContext, *, incident: dict[str, Any], reporter_role: str,
                         reporter_scope: str) -> dict[str, Any]:
    """Store the report (status ``reported``); idempotent per instance."""
    row = ctx.session.scalar(select(UnitIncident).where(UnitIncident.instance_id == ctx.instance_id))
    if row is None:
        if not isinstance(incident, Mapping) or not incident.get("credit_code"):
            raise InvalidInput("事故报告应为对象 / the report must be an object", field="incident")
        row = UnitIncident(
            instance_id=ctx.instance_id, status="reported", reported_by=ctx.actor, reported_at=ctx.clock.now(),
            reporter_role=reporter_role, reporter_scope=reporter_scope,
            occurred_on=dt.date.fromisoformat(incident["occurred_on"]), listings=list(incident["listings"]),
            **{key: incident.get(key) for key in ("credit_code", "unit_name", "incident_kind", "incident_level",
                                                  "description", "evidence", "evidence_file")},
        )
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("unit_incident_reported", incident_id=row.id, credit_code=row.credit_code,
                   incident_kind=row.incident_kind, incident_level=row.incident_level,
                   occurred_on=row.occurred_on.isoformat(), reporter_scope=reporter_scope, article=ARTICLE)
    return _view(row)


@service_task("decide_unit_incident")
def decide_unit_incident(ctx: ServiceContext, *, incident_record: dict[str, Any], decision: str,
                         reason: str | None = None) -> dict[str, Any]:
    """Apply the province's review of a reported incident (第二十六、二十七条).

    ``confirmed``: a NegativeRecord of 第二十七条第3项 on the day of the incident, a
    PendingRemoval (第二十七条第3项) for each current city/provincial listing, and
    ``miit_report_needed`` for a national unit (第二十六条第二款).  ``not_confirmed`` (reason
    required) closes the report.  The reporting department is told either way.
    Raises InvalidInput for an unknown decision or a missing reason, Conflict when decided.
    """
    if decision not in INCIDENT_DECISIONS:
        raise InvalidInput(f"核实结论应为 {' / '.join(INCIDENT_DECISIONS)} / unknown decision {decision!r}",
                           field="incident_decision")
    reason = str(reason or "").strip()
    if decision == "not_confirmed" and not reason:
        raise InvalidInput("未予确认的须说明理由 / a reason is required", field="incident_reason")
    row = _row(ctx.session, incident_record)
    if row.status != "reported":
        raise Conflict(f"事故报告 {row.id} 已核实 / incident report {row.id} is already decided")
    row.decided_by, row.decided_at, row.decision_reason = ctx.actor, ctx.clock.now(), reason or None
    what = f"{row.unit_name}（{row.credit_code}）{row.occurred_on}{INCIDENT_LEVELS[row.incident_level][0]}" \
           f"{INCIDENT_KINDS[row.incident_kind][0]}"
    removals: list[dict[str, Any]] = []
    national = False
    if decision == "confirmed":
        row.status = "confirmed"
        record = NegativeRecord(
            credit_code=row.credit_code, item=ITEM, occurred_on=row.occurred_on, source=NEGATIVE_SOURCE,
            note=f"{what}，经省工信厅核实确认（{ARTICLE}），属{REMOVAL_ARTICLE}第{ITEM}项；{reason}".rstrip("；"))
        ctx.session.add(record)
        ctx.session.flush()
        row.negative_record_id = record.id
        ctx.record("negative_record_added", negative_record_id=record.id, credit_code=row.credit_code,
                   item=ITEM, occurred_on=row.occurred_on.isoformat(), article=REMOVAL_ARTICLE)
        removals = record_pending_removals(ctx, row.credit_code, article=REMOVAL_ARTICLE, ground_item=ITEM,
                                           reason=f"{what}（{REMOVAL_ARTICLE}第{ITEM}项）")
        national = any(item.level == "national" for item in current_listings(ctx.session, row.credit_code))
        message = f"{what}经省工信厅核实确认，记入{REMOVAL_ARTICLE}第{ITEM}项，在新发布名单时予以移出"
    else:
        row.status = "not_confirmed"
        message = f"{what}经省工信厅核实未予确认：{reason}"
    ctx.record("unit_incident_decided", incident_id=row.id, credit_code=row.credit_code, decision=decision,
               reason=reason or None, pending_removals=[r["id"] for r in removals], article=ARTICLE)
    queue_report(ctx, role=row.reporter_role, scope=row.reporter_scope, task_name="事故核实",
                 message_zh=f"{message}（{ARTICLE}）")
    return {**_view(row), "decision": decision, "pending_removals": removals, "miit_report_needed": national,
            "miit_summary": f"国家层面绿色制造单位{what}，经省工信厅核实确认（{ARTICLE}）" if national else ""}
