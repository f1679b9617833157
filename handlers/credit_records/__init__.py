"""Credit and compliance records (信用和合规记录, 第二十七条第2—6项), imported from files or entered by hand.

第二十七条: 近三年有下列1—6项情况的企业或开发区（含开发区内企业），不得申请、推荐和列入绿色制造名单；
已发布绿色制造名单中的企业或开发区存在以下2—8项情形的，在新发布省、市层面绿色制造年度名单时予以移出并进行公告.

Officials receive these records from their sources (经营异常名录、注销、停产; 重大事故与违法违规,
参照“信用中国”“国家企业信用信息公示系统”; 督查通报; 工业节能监察整改名单; 失信被执行人) and record
them here:

- ``preview_file`` / ``import_file``: a CSV or XLSX file in the layout ``COLUMNS``
  (docs/credit-records.md).  The preview is a dry run: every row checked, the errors listed by
  row and column, and each good row's effect.  The import writes all rows in one transaction
  or none: one error refuses the file.  A row identical to a kept record (unit, kind, date,
  document) is a duplicate and skipped, so a file may be imported again.
- ``record_by_hand``: one record with its source document (an uploaded file), the same checks.

Every record writes a ``NegativeRecord``: an applicant with one in the last three years is
refused citing the item (``handlers.rules.management.art27_no_recent_bar``), the national
recommendation treats it as barred, and the list publication as a removal ground.  A record
of a currently listed unit starts a ``credit_record`` process (``_removal``), the removal path
of a confirmed incident.  Who records: the province for any unit, a city department for units
of its city.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import followups
from engine.api import WorkflowEngine
from engine.clock import china_date
from engine.errors import InvalidInput
from handlers.credit_records._models import ARTICLE, ITEM_ZH, ITEMS, KINDS, CreditImport, CreditRecord
from handlers.credit_records._plan import (
    COLUMNS, MAX_ROWS, PROCESS_ID, Plan, bar_end, plan_rows, recording_grant, row_errors, unit_city, write_plan,
)
from handlers.credit_records._removal import (
    record_credit_miit_report, record_credit_removal, record_view, start_credit_record,
)
from handlers.tabular import file_format, read_table

__all__ = [
    "ARTICLE", "ITEMS", "ITEM_ZH", "KINDS", "COLUMNS", "MAX_ROWS", "PROCESS_ID", "CreditImport", "CreditRecord",
    "Plan", "bar_end", "recording_grant", "unit_city", "plan_rows", "write_plan",
    "preview_file", "import_file", "record_by_hand", "records", "imports", "record_view",
    "start_credit_record", "record_credit_removal", "record_credit_miit_report",
]


def _today(engine: WorkflowEngine) -> dt.date:
    return china_date(engine.clock.now())


def _read(data: bytes, filename: str) -> tuple[list, list]:
    table = read_table(data, filename, COLUMNS, max_rows=MAX_ROWS)
    return table.rows, table.errors


def preview_file(engine: WorkflowEngine, data: bytes, filename: str, *, actor: str) -> dict[str, Any]:
    """The dry run of a file: ``{ok, errors: [{row, column, message}], rows: [...], counts}``; writes nothing.

    Raises NotPermitted for someone who may not record credit records.
    """
    rows, errors = _read(data, filename)
    with engine.db.session() as session:
        plan = plan_rows(session, rows, actor=actor, today=_today(engine))
    plan.errors[:0] = errors
    return plan.view()


def _dispatch(engine: WorkflowEngine, result: dict[str, Any]) -> dict[str, Any]:
    started = followups.dispatch(engine, result["requested"])
    return {**result, "removals": [r.get("instance_id") for r in started if r.get("status") in ("started", "existing")]}


def import_file(engine: WorkflowEngine, data: bytes, filename: str, *, actor: str,
                file_ref: str | None = None) -> dict[str, Any]:
    """Import a file: every row, or none (InvalidInput listing the row errors).

    Returns ``{"import_id", "records", "requested", "removals": [instance ids], "preview"}``;
    the removal processes of listed units are started after the commit.
    """
    rows, errors = _read(data, filename)
    if errors:
        raise row_errors(errors)
    with engine.db.unit_of_work() as session:
        plan = plan_rows(session, rows, actor=actor, today=_today(engine))
        result = write_plan(session, plan, actor=actor, now=engine.clock.now(), filename=filename[:255],
                            file_format=file_format(filename) or "", file_ref=file_ref)
        preview = plan.view()
    return {**_dispatch(engine, result), "preview": preview}


def record_by_hand(engine: WorkflowEngine, fields: Mapping[str, Any], *, actor: str,
                   document: tuple[str, str] | None) -> dict[str, Any]:
    """Record one credit record with its source document ``(sha256 ref, filename)``.

    Raises InvalidInput naming the field (``document_file`` when the document is missing),
    NotPermitted, like ``import_file`` otherwise.
    """
    if not document or not document[0]:
        raise InvalidInput("须上传来源文书（决定书、通报或查询截图）/ the source document is required",
                           field="document_file")
    raw = {c.key: (str(fields.get(c.key)).strip() if fields.get(c.key) is not None else None) for c in COLUMNS}
    with engine.db.unit_of_work() as session:
        plan = plan_rows(session, [(1, raw)], actor=actor, today=_today(engine))
        if plan.errors:
            raise InvalidInput(plan.errors[0].message,
                               fields={e.column or "record": e.message for e in reversed(plan.errors)})
        if not plan.new:
            raise InvalidInput("该记录已登记（同一单位、类别、日期和文书编号）/ this record is already kept",
                               field="document_ref")
        result = write_plan(session, plan, actor=actor, now=engine.clock.now(), filename=document[1][:255],
                            file_format="manual", file_ref=None, document=document)
    return _dispatch(engine, result)


def records(session: Session, *, credit_code: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Kept records, newest first (of one unit if ``credit_code``)."""
    query = select(CreditRecord).order_by(CreditRecord.id.desc()).limit(limit)
    if credit_code:
        query = query.where(CreditRecord.credit_code == credit_code.strip().upper())
    return [record_view(row) for row in session.scalars(query)]


def imports(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """The imports, newest first."""
    return [{"id": r.id, "filename": r.filename, "file_ref": r.file_ref, "file_format": r.file_format,
             "rows_total": r.rows_total, "rows_new": r.rows_new, "rows_duplicate": r.rows_duplicate,
             "imported_by": r.imported_by, "imported_at": r.imported_at.isoformat()}
            for r in session.scalars(select(CreditImport).order_by(CreditImport.id.desc()).limit(limit))]
