"""Changes of a listed unit: name, business scope, address, boundary (变更, 第二十八、二十九条).

第二十八条: 绿色制造单位如发生名称变更或因投资、并购等原因造成实际生产经营范围、生产地址、组织边界与
列入时发生重大变更的，应……予以说明。
第二十九条: 各级工业和信息化主管部门对本地区提交变更说明的绿色制造单位进行复核确认 …… 变更后不再符合
相关标准的 …… 从名单中移出，在新发布名单时予以公开，并 …… 上报（省工信厅 / 工业和信息化部）。

The reusable pieces, for ``unit_change`` and for any later carrier (the annual table):

- ``normalise_change(session, fields)`` checks a report and names the competent authority
  (nothing written); a unit on no list is refused with RuleViolation(第二十八条);
- service ``record_unit_change(change)`` stores the report as a UnitChange (status
  ``reported``);
- service ``decide_unit_change(change_record, decision, reason, opinion)`` applies the
  re-check (第二十九条): **still qualifies** → Unit and Listings updated, the UnitChange
  keeps old and new values, who decided and when; **no longer qualifies** → a
  PendingRemoval (article 第二十九条) per city/provincial listing, a report notification
  to the province (a city decision) and, for a national unit, ``miit_report_needed`` so
  the province reports to MIIT (第二十九条).

**Decision**: the authority that re-checks is the one of the unit's highest current
listing: its city department for a unit on a city list only, the province (520000) for a
provincial or national unit (第三条、第七条: a provincial or national unit counts as on the
city list too, and the province is the one that answers to MIIT).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import china_date, get_clock
from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotFound, RuleViolation
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.divisions import PROVINCE, city_of, division
from handlers.fields import optional_text, record_key, stored_row
from handlers.industries import industry_table
from handlers.records import Listing, Unit
from handlers.removals import current_listings, highest_level, listing_view, queue_report, record_pending_removals
from handlers.start import applicant_scope
from handlers.uscc import validate_uscc

__all__ = [
    "ARTICLE_REPORT", "ARTICLE_RECHECK", "CHANGE_KINDS", "CHANGE_DECISIONS", "PROCESS_ID",
    "UnitChange", "change_authority", "normalise_change", "start_unit_change", "record_unit_change",
    "decide_unit_change", "current_value", "request_change_rechecks",
]

PROCESS_ID = "unit_change"
ARTICLE_REPORT = "第二十八条"
ARTICLE_RECHECK = "第二十九条"
CHANGE_KINDS = {
    "name": ("名称", "name"),
    "business_scope": ("实际生产经营范围", "business scope"),
    "address": ("生产地址", "production address"),
    "boundary": ("组织边界", "organisational boundary"),
}
CHANGE_DECISIONS = ("still_qualifies", "no_longer_qualifies")
STATUSES = ("reported", "confirmed", "not_qualified")
_LIMITS = {"old_value": 500, "new_value": 500, "explanation": 5000, "evidence": 2000, "evidence_file": 80}


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UnitChange(Base):
    """A reported change of a listed unit and its re-check (第二十八、二十九条); the history of its values.

    ``old_value`` / ``new_value`` are what changed; for an address that moves the unit to
    another county, ``old_county_code`` / ``new_county_code`` too; for a business scope that
    moves it to another industry division, ``old_industry_code`` / ``new_industry_code``.
    A ``confirmed`` row is a value the unit had until ``effective_date`` (the history);
    ``not_qualified`` means the unit is to be removed at the next publication.
    """

    __tablename__ = "unit_changes"
    __table_args__ = (
        CheckConstraint(_in("change_kind", tuple(CHANGE_KINDS)), name="change_kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_unit_changes_unit_kind", "credit_code", "change_kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    change_kind: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[str] = mapped_column(Text)
    new_value: Mapped[str] = mapped_column(Text)
    old_county_code: Mapped[str | None] = mapped_column(String(6))
    new_county_code: Mapped[str | None] = mapped_column(String(6))
    old_industry_code: Mapped[str | None] = mapped_column(String(4))
    new_industry_code: Mapped[str | None] = mapped_column(String(4))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_file: Mapped[str | None] = mapped_column(String(80))
    listing_level: Mapped[str] = mapped_column(String(16))  # the unit's highest list when reported
    authority_role: Mapped[str] = mapped_column(String(32))
    authority_scope: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="reported")
    reported_by: Mapped[str] = mapped_column(String(120))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decision_opinion: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- who re-checks

def change_authority(session: Session, credit_code: str) -> tuple[str, str, str, list[Listing]]:
    """(role, scope, highest level, current listings) of the authority that re-checks a change.

    Raises RuleViolation(第二十八条, field credit_code) when the unit is on no list: only a
    绿色制造单位 reports changes.
    """
    listings = current_listings(session, credit_code)
    if not listings:
        raise RuleViolation(
            f"统一社会信用代码为 {credit_code} 的单位不在绿色制造名单内，无需也不能报告变更（{ARTICLE_REPORT}：绿色制造单位"
            f"发生变更的予以说明） / the unit {credit_code} is on no green-manufacturing list; only listed units report "
            f"changes (Article 28)", article=ARTICLE_REPORT, field="credit_code")
    level = highest_level(listings)
    if level in ("province", "national"):
        return "province_official", PROVINCE, level, listings
    city = next(row for row in listings if row.level == "city")
    return "city_official", city.scope, level, listings


def current_value(session: Session, credit_code: str, change_kind: str) -> str | None:
    """The latest confirmed value of ``change_kind`` (the name from the Unit row); None if never reported."""
    if change_kind == "name":
        unit = session.scalar(select(Unit).where(Unit.credit_code == credit_code))
        if unit is not None:
            return unit.name
    row = session.scalars(select(UnitChange).where(
        UnitChange.credit_code == credit_code, UnitChange.change_kind == change_kind,
        UnitChange.status == "confirmed").order_by(UnitChange.decided_at.desc(), UnitChange.id.desc()).limit(1)).first()
    return row.new_value if row is not None else None


# --------------------------------------------------------------------------- the report

def _text(fields: Mapping[str, Any], key: str) -> str | None:
    return optional_text(fields, key, _LIMITS)


def normalise_change(session: Session, fields: Mapping[str, Any], *, today: dt.date | None = None) -> dict[str, Any]:
    """The change report as the diagram keeps it, with the competent authority; nothing is written.

    Checks: a valid credit code of a unit on a list (RuleViolation 第二十八条 otherwise), a
    known kind, old and new values that differ (for a name, the old value is the unit's
    current name), an effective date not after today (第二十八条: a change that 发生了),
    an explanation, and for an address a Guizhou county, for a business scope a known
    industry division.  Raises InvalidInput naming the field otherwise.
    """
    if not isinstance(fields, Mapping):
        raise InvalidInput("变更说明应为对象 / the change report must be an object", field="change")
    today = today or china_date(get_clock().now())
    code = validate_uscc(fields.get("credit_code"))
    role, scope, level, listings = change_authority(session, code)
    kind = fields.get("change_kind")
    if kind not in CHANGE_KINDS:
        raise InvalidInput(f"变更事项应为 {' / '.join(CHANGE_KINDS)} / unknown change kind {kind!r}",
                           field="change_kind")
    kind_zh = CHANGE_KINDS[kind][0]
    old, new = _text(fields, "old_value"), _text(fields, "new_value")
    if not old:
        raise InvalidInput(f"须填写变更前的{kind_zh}（{ARTICLE_REPORT}） / the old value is required", field="old_value")
    if not new:
        raise InvalidInput(f"须填写变更后的{kind_zh}（{ARTICLE_REPORT}） / the new value is required", field="new_value")
    if old == new:
        raise InvalidInput(f"变更前后的{kind_zh}相同，没有变更 / old and new values are the same", field="new_value")
    unit = session.scalar(select(Unit).where(Unit.credit_code == code))
    if kind == "name" and unit is not None and old != unit.name:
        raise InvalidInput(f"变更前名称应为登记的“{unit.name}”（{ARTICLE_REPORT}：与列入时相比） / the old name must be the "
                           f"registered name", field="old_value")
    try:
        effective = dt.date.fromisoformat(str(fields.get("effective_date") or ""))
    except ValueError:
        raise InvalidInput("变更生效日期格式应为 YYYY-MM-DD / the effective date is not a date",
                           field="effective_date") from None
    if effective > today:
        raise InvalidInput(f"变更生效日期 {effective} 晚于今天：变更发生后再说明（{ARTICLE_REPORT}） / report a change once "
                           f"it has happened (Article 28)", field="effective_date")
    explanation = _text(fields, "explanation")
    if not explanation:
        raise InvalidInput(f"须说明变更原因与情况（{ARTICLE_REPORT}） / an explanation is required", field="explanation")
    change: dict[str, Any] = {
        "credit_code": code, "unit_name": unit.name if unit else None, "change_kind": kind, "old_value": old,
        "new_value": new, "effective_date": effective.isoformat(), "explanation": explanation,
        "evidence": _text(fields, "evidence"), "evidence_file": _text(fields, "evidence_file"),
        "old_county_code": None, "new_county_code": None, "old_industry_code": None, "new_industry_code": None,
        "listing_level": level, "listings": listing_view(listings),
        "authority_role": role, "authority_scope": scope, "hints": [],
    }
    new_county = _text(fields, "new_county_code")
    if new_county:
        if kind != "address":
            raise InvalidInput("只有生产地址变更可填写新所在县（区） / only an address change moves county",
                               field="new_county_code")
        found = division(new_county, field="new_county_code")
        if found.level == "province":
            raise InvalidInput("须填写县级或市级行政区划 / give a county", field="new_county_code")
        change.update(old_county_code=unit.county_code if unit else None, new_county_code=found.code)
        if unit is not None and unit.county_code and city_of(unit.county_code) != city_of(found.code):
            change["hints"].append({
                "article": "第三条", "field": "new_county_code",
                "message_zh": f"生产地址迁至{division(city_of(found.code)).name}，市级名单随之转入该市（第三条、第七条）",
                "message_en": "the address moves to another city: its city listing follows"})
    new_industry = _text(fields, "new_industry_code")
    if new_industry:
        if kind != "business_scope":
            raise InvalidInput("只有经营范围变更可填写新行业代码 / only a business-scope change changes industry",
                               field="new_industry_code")
        found_industry = industry_table().get(new_industry)
        if found_industry is None or not found_industry.eligible:
            change["hints"].append({
                "article": "第五条", "field": "new_industry_code",
                "message_zh": f"变更后行业代码 {new_industry} 不属于制造业或为烟草制品业，不再符合第五条",
                "message_en": f"industry {new_industry} is outside manufacturing or is tobacco (Article 5)"})
        change.update(old_industry_code=unit.industry_code if unit else None, new_industry_code=new_industry)
    return change


@start_hook(PROCESS_ID)
def start_unit_change(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the change report (第二十八条) and route it to the re-checking authority (第二十九条).

    Leaves ``change``, ``applicant_scope`` (only the unit itself may start: the start event's
    lane is the applicant's) and the review lane's ``authority_role`` / ``authority_scope``.
    """
    change = normalise_change(session, data.get("change", data))
    for key in list(data):
        data.pop(key)
    name = change["unit_name"] or change["credit_code"]
    return StartInfo(
        data={"change": change, "applicant_scope": applicant_scope(change["credit_code"]),
              "authority_role": change["authority_role"], "authority_scope": change["authority_scope"],
              # optional form fields read by the services: present even when left empty
              "change_reason": "", "change_opinion": "", "miit_report_note": ""},
        title=f"变更说明 · {name} · {CHANGE_KINDS[change['change_kind']][0]}",
        summary={"credit_code": change["credit_code"], "unit_name": name, "change_kind": change["change_kind"],
                 "listing_level": change["listing_level"], "applicant_scope": applicant_scope(change["credit_code"]),
                 "authority_scope": change["authority_scope"]},
    )


# --------------------------------------------------------------------------- service tasks

def _row(session: Session, record: object) -> UnitChange:
    row = stored_row(session, UnitChange, record)
    if row is None:
        key = record_key(record)
        raise NotFound(f"变更说明 {key!r} 不存在 / change report {key!r} not found", fields={"change_record": "not found"})
    return row


def _view(row: UnitChange) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "change_kind": row.change_kind, "credit_code": row.credit_code,
            "old_value": row.old_value, "new_value": row.new_value, "listing_level": row.listing_level,
            "decided_by": row.decided_by, "decided_at": row.decided_at.isoformat() if row.decided_at else None}


@service_task("record_unit_change")
def record_unit_change(ctx: ServiceContext, *, change: dict[str, Any]) -> dict[str, Any]:
    """Store the change report (status ``reported``); idempotent per instance.

    ``change`` is what ``normalise_change`` returned; a later carrier (the annual table)
    normalises its own fields first.  Raises Conflict when the same kind of change of the
    same unit is already being re-checked in another instance.
    """
    row = ctx.session.scalar(select(UnitChange).where(UnitChange.instance_id == ctx.instance_id))
    if row is None:
        if not isinstance(change, Mapping) or not change.get("credit_code"):
            raise InvalidInput("变更说明应为对象 / the change report must be an object", field="change")
        open_row = ctx.session.scalar(select(UnitChange).where(
            UnitChange.credit_code == change["credit_code"], UnitChange.change_kind == change["change_kind"],
            UnitChange.status == "reported"))
        if open_row is not None:
            raise Conflict(f"该单位的{CHANGE_KINDS[change['change_kind']][0]}变更说明正在复核（流程实例 {open_row.instance_id}）"
                           f" / the same change is already being re-checked in instance {open_row.instance_id}")
        row = UnitChange(
            instance_id=ctx.instance_id, status="reported", reported_by=ctx.actor, reported_at=ctx.clock.now(),
            effective_date=dt.date.fromisoformat(change["effective_date"]),
            **{key: change.get(key) for key in (
                "credit_code", "change_kind", "old_value", "new_value", "old_county_code", "new_county_code",
                "old_industry_code", "new_industry_code", "explanation", "evidence", "evidence_file",
                "listing_level", "authority_role", "authority_scope")},
        )
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("unit_change_reported", change_id=row.id, credit_code=row.credit_code,
                   change_kind=row.change_kind, old_value=row.old_value, new_value=row.new_value,
                   authority_role=row.authority_role, authority_scope=row.authority_scope, article=ARTICLE_REPORT)
    return _view(row)


def _apply(ctx: ServiceContext, row: UnitChange) -> list[dict[str, Any]]:
    """Bring the Unit and its Listings up to the confirmed change; returns the listings moved."""
    unit = ctx.session.scalar(select(Unit).where(Unit.credit_code == row.credit_code))
    moved: list[dict[str, Any]] = []
    if unit is not None:
        if row.change_kind == "name":
            unit.name = row.new_value
        elif row.change_kind == "address" and row.new_county_code:
            unit.county_code = row.new_county_code
        elif row.change_kind == "business_scope" and row.new_industry_code and unit.unit_type != "park":
            unit.industry_code = row.new_industry_code
    if row.change_kind == "address" and row.new_county_code:
        new_city = city_of(row.new_county_code)
        for listing in current_listings(ctx.session, row.credit_code):
            if listing.level == "city" and listing.scope != new_city:
                moved.append({"listing_id": listing.id, "old_scope": listing.scope, "new_scope": new_city})
                listing.scope = new_city
    return moved


@service_task("decide_unit_change")
def decide_unit_change(ctx: ServiceContext, *, change_record: dict[str, Any], decision: str,
                       reason: str | None = None, opinion: str | None = None) -> dict[str, Any]:
    """Apply the authority's re-check of a change (第二十九条).

    ``still_qualifies``: the Unit (name, county, industry) and its city listing (scope, when
    the address moves to another city) take the new values; the UnitChange keeps the old
    ones.  ``no_longer_qualifies`` (reason required): a PendingRemoval citing 第二十九条 for
    each city/provincial listing; a city decision is reported to the province (outbox,
    kind ``report``); a national unit sets ``miit_report_needed`` (the province reports the
    adjustment to MIIT, 第二十九条).  The unit is told the result either way.
    Returns the change record with ``decision``, ``pending_removals``, ``miit_report_needed``.
    Raises InvalidInput for an unknown decision or a removal without a reason, Conflict for
    a report decided already.
    """
    if decision not in CHANGE_DECISIONS:
        raise InvalidInput(f"复核结论应为 {' / '.join(CHANGE_DECISIONS)} / unknown decision {decision!r}",
                           field="change_decision")
    reason = str(reason or "").strip()
    if decision == "no_longer_qualifies" and not reason:
        raise InvalidInput(f"不再符合的须说明理由（{ARTICLE_RECHECK}） / a removal needs a reason", field="change_reason")
    row = _row(ctx.session, change_record)
    if row.status != "reported":
        raise Conflict(f"变更说明 {row.id} 已复核 / change report {row.id} is already decided")
    now = ctx.clock.now()
    row.decided_by, row.decided_at = ctx.actor, now
    row.decision_reason, row.decision_opinion = reason or None, str(opinion or "").strip() or None
    kind_zh = CHANGE_KINDS[row.change_kind][0]
    unit_name = row.new_value if row.change_kind == "name" else (
        ctx.session.scalar(select(Unit.name).where(Unit.credit_code == row.credit_code)) or row.credit_code)
    national = any(item.level == "national" for item in current_listings(ctx.session, row.credit_code))
    removals: list[dict[str, Any]] = []
    if decision == "still_qualifies":
        row.status = "confirmed"
        moved = _apply(ctx, row)
        ctx.record("unit_change_confirmed", change_id=row.id, credit_code=row.credit_code,
                   change_kind=row.change_kind, old_value=row.old_value, new_value=row.new_value,
                   listings_moved=moved, article=ARTICLE_RECHECK)
        message = f"{unit_name}：{kind_zh}变更经复核确认，仍符合绿色制造相关标准，名单信息已更新（{ARTICLE_RECHECK}）"
    else:
        row.status = "not_qualified"
        removals = record_pending_removals(
            ctx, row.credit_code, article=ARTICLE_RECHECK, ground_item=None,
            reason=f"{kind_zh}变更后不再符合相关标准：{reason}")
        ctx.record("unit_change_not_qualified", change_id=row.id, credit_code=row.credit_code,
                   change_kind=row.change_kind, reason=reason, pending_removals=[r["id"] for r in removals],
                   article=ARTICLE_RECHECK)
        if row.authority_role == "city_official":
            queue_report(ctx, role="province_official", scope=PROVINCE, task_name="变更复核",
                         message_zh=f"{unit_name}（{row.credit_code}）{kind_zh}变更后经市级工信部门复核不再符合相关标准，"
                                    f"将在新发布市层面名单时移出（{ARTICLE_RECHECK}）：{reason}")
        message = (f"{unit_name}：{kind_zh}变更经复核不再符合绿色制造相关标准，将在新发布名单时移出并予以公开"
                   f"（{ARTICLE_RECHECK}）：{reason}")
    queue_report(ctx, role="applicant", scope=applicant_scope(row.credit_code), task_name="变更复核",
                 message_zh=message)
    ctx.session.flush()
    return {**_view(row), "decision": decision, "pending_removals": removals,
            "miit_report_needed": decision == "no_longer_qualifies" and national,
            "miit_summary": f"国家层面绿色制造单位{unit_name}（{row.credit_code}）{kind_zh}变更后经复核不再符合相关标准，"
                            f"建议调整出国家层面绿色制造名单（{ARTICLE_RECHECK}）：{reason}" if national else ""}


# --------------------------------------------------------------------------- changes in the annual table

def _prefixed(err: InvalidInput | RuleViolation, index: int) -> dict[str, str]:
    """The error's fields as paths of row ``index`` of the table's ``changes`` group."""
    fields = err.fields or {"change_kind": err.message}
    return {f"changes.{index}.{field}": message for field, message in fields.items()}


@service_task("request_change_rechecks")
def request_change_rechecks(ctx: ServiceContext, *, filing: dict[str, Any], unit: dict[str, Any],
                            table: dict[str, Any], already: list[str] | None = None) -> list[str]:
    """Start a re-check (``unit_change``, 第二十九条) for each change explained in the annual table (第二十八条).

    ``table`` is the table as filed: with ``major_change`` true its ``changes`` rows (kind, old
    and new value, effective date, optional new county or industry) and ``change_note`` (the
    explanation, unless a row has its own). Every row is checked as a change report
    (``normalise_change``) before anything is asked for: a bad row refuses the whole filing
    with InvalidInput naming ``changes.<row>.<field>``. A kind already being re-checked for
    the unit is not asked for again (event ``unit_change_already_rechecking``).
    The re-checks run as their own ``unit_change`` instances, started after this command
    commits (engine/followups.py), so they outlive the filing period. ``already`` is what an
    earlier call of the same filing returned (an amended table asks only for new rows).
    Returns the business keys asked for so far.
    """
    keys = list(already or [])
    if not table.get("major_change"):
        return keys
    rows = table.get("changes") or []
    if not rows:
        raise InvalidInput(f"有重大变更的须逐项填写变更事项（{ARTICLE_REPORT}） / list each change",
                           field="changes")
    code = str(unit.get("credit_code") or "")
    note = str(table.get("change_note") or "").strip()
    today = china_date(ctx.clock.now())
    reports = []
    errors: dict[str, str] = {}
    for index, item in enumerate(rows):
        fields = {**item, "credit_code": code, "explanation": item.get("explanation") or note,
                  "evidence": item.get("evidence") or f"{filing.get('year')}年度动态管理表（第二十八条）"}
        try:
            reports.append(normalise_change(ctx.session, fields, today=today))
        except (InvalidInput, RuleViolation) as err:
            errors.update(_prefixed(err, index))
    seen: set[str] = set()
    for index, report in enumerate(reports):
        if report["change_kind"] in seen:
            errors[f"changes.{index}.change_kind"] = "同一变更事项只填一项 / each kind of change once"
        seen.add(report["change_kind"])
    if errors:
        raise InvalidInput("变更事项有误：" + "；".join(errors.values()), fields=errors)
    for report in reports:
        key = f"annual_table:{filing['id']}:{report['change_kind']}"
        if key in keys:
            continue
        open_row = ctx.session.scalar(select(UnitChange).where(
            UnitChange.credit_code == code, UnitChange.change_kind == report["change_kind"],
            UnitChange.status == "reported"))
        if open_row is not None:
            ctx.record("unit_change_already_rechecking", credit_code=code, change_kind=report["change_kind"],
                       instance_id=open_row.instance_id, article=ARTICLE_RECHECK)
            continue
        fields = {k: report[k] for k in ("credit_code", "change_kind", "old_value", "new_value", "effective_date",
                                         "explanation", "evidence")}
        for optional in ("new_county_code", "new_industry_code"):
            if report.get(optional):
                fields[optional] = report[optional]
        ctx.start_process(PROCESS_ID, fields, business_key=key)
        keys.append(key)
    return keys
