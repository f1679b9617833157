"""MIIT's published national list, imported from its file to update the national listings (第八、二十一条).

Until now the province typed MIIT's result into the ``录入工信部结果`` forms.  Here the list
MIIT published (one announcement: a year, its notice number and date) is read from a CSV or
XLSX file in the layout ``COLUMNS`` (docs/interchange.md), previewed as a dry run, and applied:

- 列入 (list) of a unit whose application waits at ``record_miit_result``: that task is completed
  as ``listed`` (the application then records the listing and its outcome, as by hand);
- 列入 of any other Guizhou unit: a national Listing (scope ``national``, the year, listed on the
  publication date), unless it is already on the national list;
- 移出 (remove): its national Listing is removed citing the announcement (an item-1 ground of
  第二十七条 from then on);
- rows of other provinces (the national list is nationwide) are skipped;
- the year's recommendation batch waiting for MIIT's result gets it (its ``record_miit`` task
  completed with the recommended units on the list) when every recommended unit is on the list
  or the official marks the file as MIIT's complete list for the year; with that mark the
  applications of the year waiting for MIIT and absent from the list are completed as not listed.

The listing changes and the import record are one transaction (all rows or none); the tasks
are completed afterwards, each as its own command by the importing official, and a task that
fails (completed meanwhile by hand) is reported, not retried.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.api import WorkflowEngine
from engine.clock import CHINA, china_date
from engine.db import Base, UTCDateTime
from engine.errors import EngineError, InvalidInput, NotPermitted
from engine.identity import load_actor
from engine.models import HumanTask
from handlers.divisions import PROVINCE
from handlers.national_recommendation import NationalBatch, NationalRecommendation
from handlers.records import ApplicationRecord, Listing, Unit
from handlers.tabular import Cell, Column, RowError, file_format, read_table
from handlers.uscc import validate_uscc

ARTICLE = "第八条"
MAX_ROWS = 20000  # the whole national list of a year fits
COLUMNS: tuple[Column, ...] = (
    Column("credit_code", "统一社会信用代码"),
    Column("unit_name", "单位名称"),
    Column("unit_type", "名单类型", help_zh="绿色工厂 / 绿色供应链管理企业 / 绿色工业园区（或 factory / supply_chain / park）",
           help_en="factory / supply_chain / park, or the Chinese name"),
    Column("action", "操作", required=False, help_zh="列入（默认）或 移出", help_en="list (default) or remove"),
    Column("province", "省份", required=False, help_zh="可选；非贵州省的行跳过", help_en="optional; rows of other provinces are skipped"),
    Column("note", "说明", required=False),
)
_TYPES = {"factory": "factory", "supply_chain": "supply_chain", "park": "park", "绿色工厂": "factory",
          "绿色供应链管理企业": "supply_chain", "绿色工业园区": "park"}
_ACTIONS = {None: "list", "列入": "list", "list": "list", "移出": "remove", "remove": "remove"}
_GUIZHOU = ("贵州", "贵州省")


class NationalListImport(Base):
    """One imported MIIT announcement: what it changed here and which tasks it settled."""

    __tablename__ = "national_list_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    notice_ref: Mapped[str] = mapped_column(String(200))
    published_on: Mapped[dt.date] = mapped_column(Date)
    complete: Mapped[bool] = mapped_column(Boolean)  # the official marked it as MIIT's complete list of the year
    filename: Mapped[str] = mapped_column(String(255))
    file_ref: Mapped[str | None] = mapped_column(String(80))
    imported_by: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


@dataclass
class ListPlan:
    announcement: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)  # {instance_id, task_id, credit_code, result}
    batch: dict[str, Any] | None = None  # {instance_id, task_id, listed, settle, reason}

    def view(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return {"ok": not self.errors, "announcement": {**self.announcement,
                                                        "published_on": self.announcement["published_on"].isoformat()},
                "errors": [e.to_dict() for e in self.errors], "rows": self.rows, "counts": counts,
                "applications": self.applications, "batch": self.batch}


def announcement(fields: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """``{year, notice_ref, published_on, complete}`` checked; InvalidInput naming the field."""
    try:
        year = int(fields.get("year"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= today.year + 1:
        raise InvalidInput(f"年度无效：{fields.get('year')!r} / invalid year", field="year")
    ref = str(fields.get("notice_ref") or "").strip()
    if not ref or len(ref) > 200:
        raise InvalidInput("须填写工信部公告文号或名单批次（200字以内）/ the notice reference is required",
                           field="notice_ref")
    try:
        published = dt.date.fromisoformat(str(fields.get("published_on") or "").strip())
    except ValueError:
        raise InvalidInput("公布日期格式应为 YYYY-MM-DD / not a date", field="published_on") from None
    if published > today:
        raise InvalidInput("公布日期不能晚于今天 / the date is in the future", field="published_on")
    complete = fields.get("complete") in (True, "1", "true", "on", "yes")
    return {"year": year, "notice_ref": ref, "published_on": published, "complete": complete}


def _province_grant(session: Session, actor: str) -> None:
    if not load_actor(session, actor).holds("province_official", PROVINCE):
        raise NotPermitted(f"{actor} 不能导入国家层面名单：由省工信厅办理（{ARTICLE}）/ only the province imports it")


def _waiting_applications(session: Session, year: int) -> dict[tuple[str, str], tuple[int, int]]:
    """(credit code, unit type) -> (instance id, task id) of applications of ``year`` waiting for MIIT's result."""
    rows = session.execute(select(ApplicationRecord.credit_code, ApplicationRecord.unit_type, HumanTask.instance_id,
                                  HumanTask.id)
                           .join(HumanTask, HumanTask.instance_id == ApplicationRecord.instance_id)
                           .where(HumanTask.bpmn_id == "record_miit_result", HumanTask.status == "open",
                                  ApplicationRecord.year == year).order_by(HumanTask.id)).all()
    return {(code, kind): (iid, tid) for code, kind, iid, tid in rows}


def _row(session: Session, number: int, raw: Mapping[str, Cell], errors: list[RowError]) -> dict[str, Any] | None:
    found: list[RowError] = []
    code = None
    try:
        code = validate_uscc(raw.get("credit_code"))
    except InvalidInput as exc:
        found.append(RowError(number, "credit_code", exc.message))
    name = str(raw.get("unit_name") or "").strip()
    if not name or len(name) > 200:
        found.append(RowError(number, "unit_name", "必填，200字以内 / required, at most 200 characters"))
    kind = _TYPES.get(str(raw.get("unit_type") or "").strip())
    if kind is None:
        found.append(RowError(number, "unit_type", f"未知的名单类型 {raw.get('unit_type')!r} / unknown list type"))
    action = _ACTIONS.get(str(raw["action"]).strip() if raw.get("action") is not None else None)
    if action is None:
        found.append(RowError(number, "action", f"操作应为 列入 或 移出：{raw.get('action')!r} / list or remove"))
    errors.extend(found)
    if found:
        return None
    province = str(raw.get("province") or "").strip()
    registered = session.scalar(select(Unit.id).where(Unit.credit_code == code)) is not None
    here = province in _GUIZHOU if province else (registered or code[2:4] == "52")
    return {"row": number, "credit_code": code, "unit_name": name, "unit_type": kind, "action": action,
            "status": "list" if here else "other_province", "note": str(raw.get("note") or "").strip() or None}


def plan_national_list(session: Session, rows: Sequence[tuple[int, Mapping[str, Cell]]], fields: Mapping[str, Any],
                       *, actor: str, today: dt.date) -> ListPlan:
    """The dry run: each row's status and the tasks it settles; reads only.

    Row statuses: ``new_listing``, ``already_listed``, ``via_application`` (completes that
    application's MIIT result), ``remove``, ``not_on_list`` (移出 of a unit with no national listing
    here), ``other_province``.  Raises InvalidInput (the announcement), NotPermitted (not the province).
    """
    _province_grant(session, actor)
    plan = ListPlan(announcement(fields, today=today))
    year = plan.announcement["year"]
    waiting = _waiting_applications(session, year)
    seen: dict[tuple[str, str], int] = {}
    for number, raw in rows:
        row = _row(session, number, raw, plan.errors)
        if row is None:
            continue
        key = (row["credit_code"], row["unit_type"])
        if key in seen:
            plan.errors.append(RowError(number, None, f"与第{seen[key]}行重复 / repeats row {seen[key]}"))
            continue
        seen[key] = number
        if row["status"] == "list":
            current = session.scalar(select(Listing.id).where(
                Listing.credit_code == key[0], Listing.unit_type == key[1], Listing.level == "national",
                Listing.status == "listed"))
            if row["action"] == "remove":
                row.update(status="remove" if current else "not_on_list", listing_id=current)
            elif current:
                row.update(status="already_listed", listing_id=current)
            elif key in waiting:
                row.update(status="via_application", instance_id=waiting[key][0])
                plan.applications.append({"instance_id": waiting[key][0], "task_id": waiting[key][1],
                                          "credit_code": key[0], "result": "listed"})
            else:
                row["status"] = "new_listing"
        plan.rows.append(row)
    listed = {r["credit_code"] for r in plan.rows if r["action"] == "list" and r["status"] != "other_province"}
    if plan.announcement["complete"]:
        for (code, _kind), (iid, tid) in waiting.items():
            if code not in listed:
                plan.applications.append({"instance_id": iid, "task_id": tid, "credit_code": code,
                                          "result": "not_listed"})
    plan.batch = _batch_settlement(session, year, listed, complete=plan.announcement["complete"])
    return plan


def _batch_settlement(session: Session, year: int, listed: set[str], *, complete: bool) -> dict[str, Any] | None:
    batch = session.scalar(select(NationalBatch).where(NationalBatch.year == year, NationalBatch.status == "recommended"))
    if batch is None:
        return None
    task = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == batch.instance_id,
                                                     HumanTask.bpmn_id == "record_miit", HumanTask.status == "open"))
    recommended = sorted(set(session.scalars(select(NationalRecommendation.credit_code).where(
        NationalRecommendation.batch_id == batch.id))))
    settle = task is not None and (complete or set(recommended) <= listed)
    return {"instance_id": batch.instance_id, "task_id": task, "recommended": recommended,
            "listed": [c for c in recommended if c in listed], "settle": settle,
            "reason": None if settle else "推荐单位未全部在名单中，且未标明为完整名单：请核对后手工录入 / "
                                          "not every recommended unit is on the list"}


def _write(session: Session, plan: ListPlan, *, actor: str, now: dt.datetime, filename: str,
           file_ref: str | None) -> NationalListImport:
    a = plan.announcement
    listed_at = dt.datetime.combine(a["published_on"], dt.time(0, 0), CHINA)
    for row in plan.rows:
        if row["status"] == "new_listing":
            listing = Listing(credit_code=row["credit_code"], unit_type=row["unit_type"], level="national",
                              scope="national", year=a["year"], status="listed", listed_at=min(listed_at, now),
                              instance_id=None)
            session.add(listing)
            session.flush()
            row["listing_id"] = listing.id
        elif row["status"] == "remove":
            listing = session.get(Listing, row["listing_id"])
            listing.status, listing.removed_at = "removed", min(listed_at, now)
            listing.removal_ground = f"工业和信息化部公告移出国家层面名单（{a['notice_ref']}）"
    summary = plan.view()
    summary.pop("announcement")
    row = NationalListImport(year=a["year"], notice_ref=a["notice_ref"], published_on=a["published_on"],
                             complete=a["complete"], filename=filename[:255], file_ref=file_ref, imported_by=actor,
                             imported_at=now, summary=summary)
    session.add(row)
    session.flush()
    return row


def _settle(engine: WorkflowEngine, plan: ListPlan, actor: str) -> list[dict[str, Any]]:
    a = plan.announcement
    who = engine.actor(actor)
    done = []
    common = {"miit_published_on": a["published_on"].isoformat(), "miit_notice_ref": a["notice_ref"]}
    todo = [(app["task_id"], {"miit_result": app["result"], **common}, {"instance_id": app["instance_id"],
                                                                        "result": app["result"]})
            for app in plan.applications]
    if plan.batch and plan.batch["settle"]:
        todo.append((plan.batch["task_id"], {"miit_listed_units": plan.batch["listed"], **common},
                     {"instance_id": plan.batch["instance_id"], "result": "batch"}))
    for task_id, data, what in todo:
        try:
            engine.complete(task_id, data, actor=who)
            done.append({**what, "settled": True})
        except EngineError as err:
            done.append({**what, "settled": False, "error": err.message})
    return done


def preview_national_list(engine: WorkflowEngine, data: bytes, filename: str, fields: Mapping[str, Any], *,
                          actor: str) -> dict[str, Any]:
    """The dry run of a file; writes nothing."""
    table = read_table(data, filename, COLUMNS, max_rows=MAX_ROWS)
    with engine.db.session() as session:
        plan = plan_national_list(session, table.rows, fields, actor=actor, today=china_date(engine.clock.now()))
    plan.errors[:0] = table.errors
    return plan.view()


def import_national_list(engine: WorkflowEngine, data: bytes, filename: str, fields: Mapping[str, Any], *,
                         actor: str, file_ref: str | None = None) -> dict[str, Any]:
    """Apply a file: the listings in one transaction (or nothing: InvalidInput listing the row errors),
    then the waiting tasks.  Returns the plan's view with ``import_id`` and ``settled``."""
    table = read_table(data, filename, COLUMNS, max_rows=MAX_ROWS)
    with engine.db.unit_of_work() as session:
        plan = plan_national_list(session, table.rows, fields, actor=actor, today=china_date(engine.clock.now()))
        plan.errors[:0] = table.errors
        if plan.errors:
            raise InvalidInput(f"{len(plan.errors)} 处错误，未导入 / {len(plan.errors)} errors, nothing imported",
                               fields={f"row {e.row or '-'} {e.column or ''}".strip(): e.message for e in plan.errors})
        row = _write(session, plan, actor=actor, now=engine.clock.now(), filename=filename,
                     file_ref=file_ref if file_format(filename) else None)
        import_id = row.id
    settled = _settle(engine, plan, actor)
    with engine.db.unit_of_work() as session:
        kept = session.get(NationalListImport, import_id)
        kept.summary = {**kept.summary, "settled": settled}
    return {**plan.view(), "import_id": import_id, "settled": settled}


def national_imports(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    return [{"id": r.id, "year": r.year, "notice_ref": r.notice_ref, "published_on": r.published_on.isoformat(),
             "complete": r.complete, "filename": r.filename, "imported_by": r.imported_by,
             "imported_at": r.imported_at.isoformat(), "counts": (r.summary or {}).get("counts", {}),
             "settled": (r.summary or {}).get("settled", [])}
            for r in session.scalars(select(NationalListImport).order_by(NationalListImport.id.desc()).limit(limit))]
