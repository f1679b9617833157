"""Checking credit records before anything is written: the column layout, each row, and what it will do.

``plan_rows`` is the dry run: every row checked (row-level errors naming the column) and, for
good rows, its effect — a new record or a duplicate of one already kept, the three-year bar it
puts on applying (第二十七条第1—6项: 不得申请), and for a currently listed unit the removal path
(待在新发布名单时移出, and a report to MIIT for a national unit).  ``write_plan`` writes a plan
without errors: all rows in one transaction, or none.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import followups
from engine.errors import InvalidInput, NotPermitted
from engine.identity import load_actor
from handlers.divisions import PROVINCE, city_of, division
from handlers.records import NegativeRecord, Unit
from handlers.removals import current_listings
from handlers.tabular import Cell, Column, RowError
from handlers.uscc import validate_uscc
from handlers.credit_records._models import ARTICLE, KINDS, CreditImport, CreditRecord

PROCESS_ID = "credit_record"
MAX_ROWS = 5000
BAR_YEARS = 3
COLUMNS: tuple[Column, ...] = (
    Column("credit_code", "统一社会信用代码", help_zh="18位，校验位按 GB 32100", help_en="18 characters, GB 32100"),
    Column("unit_name", "单位名称", help_zh="来源文书所载名称", help_en="as the source names it"),
    Column("kind", "情形类别", help_zh="类别代码或中文名称（见下表），决定第二十七条第几项",
           help_en="kind code or its Chinese name (table below); decides the item of Article 27"),
    Column("occurred_on", "发生日期", help_zh="YYYY-MM-DD，认定、列入或发生之日，不晚于今天",
           help_en="YYYY-MM-DD: the day it was decided, listed or happened; not in the future"),
    Column("source", "信息来源", help_zh="如 信用中国、国家企业信用信息公示系统、中国执行信息公开网、督查通报",
           help_en="e.g. Credit China, the national enterprise credit system, the court enforcement site"),
    Column("document_ref", "文书编号", help_zh="决定书文号、案号或通报文号", help_en="the source document's number"),
    Column("note", "说明", required=False, help_zh="可选", help_en="optional"),
)
_LIMITS = {"unit_name": 200, "source": 200, "document_ref": 200, "note": 2000}
_BY_LABEL = {zh: kind for kind, (_, zh, _) in KINDS.items()}


@dataclass(frozen=True)
class Grant:
    """Under which role and scope an official records: the province anywhere, a city department its city."""

    role: str
    scopes: tuple[str, ...]

    def scope_for(self, city: str | None) -> str | None:
        if self.role == "province_official":
            return PROVINCE
        return city if city in self.scopes else None


def recording_grant(session: Session, actor: str) -> Grant:
    """The actor's grant to record credit records; NotPermitted for anyone but a province or city official."""
    who = load_actor(session, actor)
    if who.holds("province_official", PROVINCE):
        return Grant("province_official", (PROVINCE,))
    cities = tuple(who.scopes("city_official"))
    if cities:
        return Grant("city_official", cities)
    raise NotPermitted(f"{actor} 不能记录信用记录：仅省工信厅和市（州）工信部门 / only the province and city departments "
                       f"record credit records")


def unit_city(session: Session, credit_code: str) -> str | None:
    """The city of a unit: from its registration here, else from its credit code's region (digits 3–8)."""
    county = session.scalar(select(Unit.county_code).where(Unit.credit_code == credit_code))
    for code in (county, credit_code[2:8]):
        if not code:
            continue
        try:
            return city_of(code)
        except InvalidInput:
            continue
    return None


def bar_end(occurred_on: dt.date) -> dt.date:
    """The last day a record bars applying: the day before its third anniversary (as handlers.rules.management)."""
    try:
        anniversary = occurred_on.replace(year=occurred_on.year + BAR_YEARS)
    except ValueError:  # 29 February
        anniversary = occurred_on.replace(year=occurred_on.year + BAR_YEARS, day=28)
    return anniversary - dt.timedelta(days=1)


@dataclass
class PlannedRow:
    row: int
    values: dict[str, Any]  # credit_code, unit_name, kind, item, occurred_on, source, document_ref, note
    status: str = "new"  # new | duplicate
    scope: str = PROVINCE  # where the recorder acts for this row
    bars_until: dt.date | None = None  # None when the bar has already run out
    listings: list[dict[str, Any]] = field(default_factory=list)  # current listings: the removal path

    def view(self) -> dict[str, Any]:
        kind = KINDS[self.values["kind"]]
        return {**self.values, "row": self.row, "status": self.status, "occurred_on": self.values["occurred_on"].isoformat(),
                "kind_zh": kind[1], "ground": f"{ARTICLE}第{kind[0]}项",
                "bars_until": self.bars_until.isoformat() if self.bars_until else None,
                "listings": self.listings, "removal": bool(self.listings) and self.status == "new",
                "miit_report": any(l["level"] == "national" for l in self.listings) and self.status == "new"}


@dataclass
class Plan:
    rows: list[PlannedRow]
    errors: list[RowError]

    @property
    def new(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.status == "new"]

    def view(self) -> dict[str, Any]:
        rows = [r.view() for r in self.rows]
        return {"ok": not self.errors, "errors": [e.to_dict() for e in self.errors], "rows": rows,
                "counts": {"rows": len(rows), "new": len(self.new), "duplicate": len(rows) - len(self.new),
                           "removal": sum(r["removal"] for r in rows), "miit_report": sum(r["miit_report"] for r in rows)}}


def _text(raw: Mapping[str, Cell], key: str, row: int, errors: list[RowError], *, required: bool) -> str | None:
    value = raw.get(key)
    text = value.isoformat() if isinstance(value, dt.date) else (str(value).strip() if value is not None else "")
    if required and not text:
        errors.append(RowError(row, key, f"必填 / required"))
    elif len(text) > _LIMITS.get(key, 200):
        errors.append(RowError(row, key, f"超过{_LIMITS.get(key, 200)}个字符 / too long"))
    return text or None


def _check_row(session: Session, row: int, raw: Mapping[str, Cell], *, grant: Grant, today: dt.date
               ) -> tuple[PlannedRow | None, list[RowError]]:
    errors: list[RowError] = []
    code = None
    try:
        code = validate_uscc(raw.get("credit_code"))
    except InvalidInput as exc:
        errors.append(RowError(row, "credit_code", exc.message))
    name = _text(raw, "unit_name", row, errors, required=True)
    kind_raw = raw.get("kind")
    kind = str(kind_raw).strip() if kind_raw is not None else ""
    kind = kind if kind in KINDS else _BY_LABEL.get(kind, "")
    if not kind:
        errors.append(RowError(row, "kind", f"未知的情形类别 {kind_raw!r}，应为类别代码或中文名称 / unknown kind"))
    day = raw.get("occurred_on")
    if not isinstance(day, dt.date):
        try:
            day = dt.date.fromisoformat(str(day or "").strip())
        except ValueError:
            errors.append(RowError(row, "occurred_on", f"日期格式应为 YYYY-MM-DD：{day!r} / not a date"))
            day = None
    if day is not None and not dt.date(2000, 1, 1) <= day <= today:
        errors.append(RowError(row, "occurred_on", f"日期 {day} 晚于今天或早于2000年 / the date is out of range"))
    source = _text(raw, "source", row, errors, required=True)
    ref = _text(raw, "document_ref", row, errors, required=True)
    note = _text(raw, "note", row, errors, required=False)
    scope = None
    if code is not None:
        scope = grant.scope_for(unit_city(session, code))
        if scope is None:
            errors.append(RowError(row, "credit_code", "该单位不在本市（州），由其所在市（州）或省工信厅记录 / "
                                                       "the unit is not in your city"))
    if errors:
        return None, errors
    values = {"credit_code": code, "unit_name": name, "kind": kind, "item": KINDS[kind][0], "occurred_on": day,
              "source": source, "document_ref": ref, "note": note}
    planned = PlannedRow(row, values, scope=scope or PROVINCE)
    if session.scalar(select(CreditRecord.id).where(
            CreditRecord.credit_code == code, CreditRecord.kind == kind, CreditRecord.occurred_on == day,
            CreditRecord.document_ref == ref)) is not None:
        planned.status = "duplicate"
    end = bar_end(day)
    planned.bars_until = end if end >= today else None
    planned.listings = [{"id": l.id, "level": l.level, "scope": l.scope, "unit_type": l.unit_type}
                        for l in current_listings(session, code)]
    return planned, []


def plan_rows(session: Session, rows: Sequence[tuple[int, Mapping[str, Cell]]], *, actor: str, today: dt.date
              ) -> Plan:
    """The dry run of ``rows`` recorded by ``actor`` on ``today``; reads only.

    Raises NotPermitted when the actor may not record credit records at all.
    """
    grant = recording_grant(session, actor)
    planned: list[PlannedRow] = []
    errors: list[RowError] = []
    seen: dict[tuple, int] = {}
    for number, raw in rows:
        row, found = _check_row(session, number, raw, grant=grant, today=today)
        errors.extend(found)
        if row is None:
            continue
        key = tuple(row.values[k] for k in ("credit_code", "kind", "occurred_on", "document_ref"))
        if key in seen:
            errors.append(RowError(number, None, f"与第{seen[key]}行重复 / repeats row {seen[key]}"))
            continue
        seen[key] = number
        planned.append(row)
    return Plan(planned, errors)


def row_errors(errors: Sequence[RowError]) -> InvalidInput:
    """The error refusing a whole file: how many problems, and each by row and column."""
    return InvalidInput(f"{len(errors)} 处错误，未导入任何记录 / {len(errors)} errors, nothing imported",
                        fields={f"row {e.row or '-'} {e.column or ''}".strip(): e.message for e in errors})


def write_plan(session: Session, plan: Plan, *, actor: str, now: dt.datetime, filename: str, file_format: str,
               file_ref: str | None, document: tuple[str, str] | None = None) -> dict[str, Any]:
    """Write every new row of an error-free plan, with its NegativeRecord; request the removal processes.

    One ``CreditImport`` for the batch (``filename``: the file, or the source document of a record
    entered by hand, ``document`` = (ref, filename) of that upload).  Raises InvalidInput listing
    the row errors (nothing written).  Returns ``{"import_id", "records": [ids], "requested": [outbox ids]}``.
    """
    if plan.errors:
        raise row_errors(plan.errors)
    grant = recording_grant(session, actor)
    batch = CreditImport(filename=filename, file_ref=file_ref, file_format=file_format, rows_total=len(plan.rows),
                         rows_new=len(plan.new), rows_duplicate=len(plan.rows) - len(plan.new), imported_by=actor,
                         imported_at=now)
    session.add(batch)
    session.flush()
    made, requested = [], []
    for row in plan.new:
        v = row.values
        kind_zh = KINDS[v["kind"]][1]
        negative = NegativeRecord(credit_code=v["credit_code"], item=v["item"], occurred_on=v["occurred_on"],
                                  source=v["source"][:200],
                                  note=f"{kind_zh}（{v['document_ref']}）" + (f"；{v['note']}" if v["note"] else ""))
        session.add(negative)
        session.flush()
        record = CreditRecord(**{k: v[k] for k in ("credit_code", "unit_name", "item", "kind", "occurred_on", "source",
                                                  "document_ref", "note")},
                              document_file=document[0] if document else None,
                              document_filename=document[1] if document else None, import_id=batch.id,
                              entered_by=actor, entered_role=grant.role, entered_scope=row.scope, entered_at=now,
                              negative_record_id=negative.id)
        session.add(record)
        session.flush()
        made.append(record.id)
        if row.listings:  # 第二十七条: a listed unit is removed at the next publication
            request = followups.request(session, instance_id=None, now=now, process_id=PROCESS_ID,
                                        data={"credit_record_id": record.id}, actor=actor,
                                        business_key=f"credit_record:{record.id}")
            requested.append(request.id)
    return {"import_id": batch.id, "records": made, "requested": requested}
