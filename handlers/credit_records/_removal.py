"""The removal path of a credit record about a listed unit: the ``credit_record`` process (第二十七条).

Started for each new record of a unit with a current listing (``write_plan`` requests it,
business key ``credit_record:<id>``), it does what a confirmed incident does
(``handlers.unit_incidents``): a PendingRemoval per city and provincial listing, removed and
announced at the next publication of that list (第二十七条: 在新发布省、市层面绿色制造年度名单时予以移出),
a notice to the departments that publish those lists, and for a national unit a task for the
province to report it to MIIT (第二十六条第二款), whose document number and date are kept on the record.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.identity import load_actor
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.fields import record_key, stored_row
from handlers.removals import current_listings, queue_report, record_pending_removals
from handlers.credit_records._models import ARTICLE, KINDS, CreditRecord
from handlers.credit_records._plan import PROCESS_ID


def record_view(row: CreditRecord) -> dict[str, Any]:
    kind = KINDS[row.kind]
    return {"id": row.id, "credit_code": row.credit_code, "unit_name": row.unit_name, "item": row.item,
            "kind": row.kind, "kind_zh": kind[1], "kind_en": kind[2], "ground": f"{ARTICLE}第{row.item}项",
            "occurred_on": row.occurred_on.isoformat(), "source": row.source, "document_ref": row.document_ref,
            "document_file": row.document_file, "document_filename": row.document_filename, "note": row.note,
            "import_id": row.import_id, "entered_by": row.entered_by, "entered_at": row.entered_at.isoformat(),
            "removal_instance_id": row.removal_instance_id, "miit_report_ref": row.miit_report_ref,
            "miit_reported_on": row.miit_reported_on.isoformat() if row.miit_reported_on else None}


def _row(session: Session, record: object) -> CreditRecord:
    row = stored_row(session, CreditRecord, record)
    if row is None:
        raise NotFound(f"信用记录 {record_key(record)!r} 不存在 / no such credit record",
                       fields={"credit_record_id": "not found"})
    return row


@start_hook(PROCESS_ID)
def start_credit_record(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the request: the record exists, has no removal yet, its unit is listed, and who asks recorded it.

    Raises NotFound, NotPermitted (someone other than its recorder or the system), Conflict (a
    removal already runs), InvalidInput (the unit has no current listing: nothing to remove).
    """
    row = _row(session, data.get("credit_record_id"))
    who = load_actor(session, actor)
    if not (who.is_system or actor == row.entered_by):
        raise NotPermitted(f"{actor} 不能为他人登记的信用记录发起移出 / only the recorder starts this")
    if row.removal_instance_id is not None:
        raise Conflict(f"信用记录 {row.id} 已在流程实例 {row.removal_instance_id} 中办理 / already handled")
    listings = current_listings(session, row.credit_code)
    if not listings:
        raise InvalidInput(f"{row.credit_code} 不在任何绿色制造名单内，无需移出 / the unit is on no list",
                           field="credit_record_id")
    view = record_view(row)
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"credit_record": view, "recorder_role": row.entered_role, "recorder_scope": row.entered_scope,
              "miit_report_note": ""},
        title=f"信用记录 · {row.unit_name} · {view['ground']}{view['kind_zh']}",
        business_key=f"credit_record:{row.id}",
        summary={"credit_code": row.credit_code, "unit_name": row.unit_name, "item": row.item, "kind": row.kind,
                 "recorder_scope": row.entered_scope})


@service_task("record_credit_removal")
def record_credit_removal(ctx: ServiceContext, *, credit_record: Mapping[str, Any]) -> dict[str, Any]:
    """The removal of a listed unit with a credit record (第二十七条第2—6项); idempotent per instance.

    A PendingRemoval for each current city and provincial listing; the departments publishing
    those lists are told; ``miit_report_needed`` for a national unit.
    """
    row = _row(ctx.session, credit_record)
    if row.removal_instance_id not in (None, ctx.instance_id):
        raise Conflict(f"信用记录 {row.id} 已在流程实例 {row.removal_instance_id} 中办理 / already handled")
    row.removal_instance_id = ctx.instance_id
    kind_zh = KINDS[row.kind][1]
    what = f"{row.unit_name}（{row.credit_code}）{row.occurred_on}{kind_zh}（{row.source} {row.document_ref}）"
    ground = f"{ARTICLE}第{row.item}项"
    removals = record_pending_removals(ctx, row.credit_code, article=ARTICLE, ground_item=row.item,
                                       reason=f"{what}（{ground}）")
    told = set()
    for removal in removals:
        role = "city_official" if removal["level"] == "city" else "province_official"
        if (role, removal["scope"]) not in told:
            told.add((role, removal["scope"]))
            queue_report(ctx, role=role, scope=removal["scope"], task_name="信用记录",
                         message_zh=f"{what}，属{ground}，在新发布名单时予以移出并公告（{ARTICLE}）")
    national = any(l.level == "national" for l in current_listings(ctx.session, row.credit_code))
    ctx.record("credit_record_removal", credit_record_id=row.id, credit_code=row.credit_code, item=row.item,
               pending_removals=[r["id"] for r in removals], national=national, article=ARTICLE)
    return {"credit_record_id": row.id, "pending_removals": removals, "miit_report_needed": national,
            "miit_summary": f"国家层面绿色制造单位{what}，属{ground}" if national else ""}


@service_task("record_credit_miit_report")
def record_credit_miit_report(ctx: ServiceContext, *, credit_record: Mapping[str, Any], reference: str,
                              reported_on: str, note: str | None = None) -> dict[str, Any]:
    """Keep the province's report of a national unit's record to MIIT (第二十六条第二款) on the record.

    Raises InvalidInput: no document number, a date that is not a date or lies in the future.
    """
    row = _row(ctx.session, credit_record)
    reference = str(reference or "").strip()
    if not reference:
        raise InvalidInput("须填写上报文号 / the document number is required", field="miit_report_ref")
    try:
        day = dt.date.fromisoformat(str(reported_on))
    except ValueError:
        raise InvalidInput("日期格式应为 YYYY-MM-DD / not a date", field="miit_reported_on") from None
    if day > china_date(ctx.clock.now()):
        raise InvalidInput("上报日期不能晚于今天 / the report date is in the future", field="miit_reported_on")
    if row.miit_report_ref is None:
        row.miit_report_ref, row.miit_reported_on = reference, day
        row.miit_report_note = str(note or "").strip() or None
        ctx.record("credit_record_reported_to_miit", credit_record_id=row.id, credit_code=row.credit_code,
                   reference=reference, reported_on=day.isoformat(), article="第二十六条")
    return {"reference": row.miit_report_ref, "reported_on": row.miit_reported_on.isoformat()}


__all__ = ["record_view", "start_credit_record", "record_credit_removal", "record_credit_miit_report"]
