"""The annual work report (``evaluator_work_report``, 第三十一条第三款): campaign, filing, review, notes."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import CHINA, UTC
from engine.errors import Conflict, InvalidInput, NotFound, RuleViolation
from engine.services import ServiceContext, service_task
from handlers.campaign import notify
from handlers.evaluators._common import _known_evaluator, _text, _year
from handlers.evaluators._models import (
    ARTICLE_30,
    ARTICLE_31,
    EvaluatorNote,
    EvaluatorWorkReport,
    NOTE_KINDS,
    REPORT_DEADLINE,
    WorkReportCampaign,
    _REPORT_FIELDS,
)
from handlers.records import Evaluator


def report_deadline_end(year: int) -> dt.datetime:
    """The moment the work report of ``year`` is late: April 30 24:00 China time (aware)."""
    month, day = REPORT_DEADLINE
    return dt.datetime(year, month, day, tzinfo=CHINA) + dt.timedelta(days=1)


def _national_evaluators(session: Session) -> list[dict[str, Any]]:
    return [{"evaluator_id": e.id, "name": e.name, "legal_representative": e.legal_representative}
            for e in session.scalars(select(Evaluator).where(Evaluator.national_qualified.is_(True))
                                     .order_by(Evaluator.id))]


@service_task("open_work_report_campaign")
def open_work_report_campaign(ctx: ServiceContext, *, year: int, scheduled_for: str | None = None) -> list[dict]:
    """Open ``year``'s work report (第三十一条) and list who must file: every national-qualified evaluator.

    The snapshot ``[{evaluator_id, name, legal_representative}]`` is kept in a
    WorkReportCampaign row. Idempotent for this instance; Conflict when another instance
    already runs ``year``.
    """
    year = _year(year)
    campaign = ctx.session.scalar(select(WorkReportCampaign).where(WorkReportCampaign.year == year))
    if campaign is not None:
        if campaign.instance_id != ctx.instance_id:
            raise Conflict(f"{year}年度第三方机构年度工作情况填报已由流程实例 {campaign.instance_id} 发起 / the {year} "
                           f"work report already runs in instance {campaign.instance_id}")
        return campaign.evaluators
    evaluators = _national_evaluators(ctx.session)
    month, day = REPORT_DEADLINE
    campaign = WorkReportCampaign(
        year=year, instance_id=ctx.instance_id, opened_at=ctx.clock.now(), deadline=dt.date(year, month, day),
        scheduled_for=dt.datetime.fromisoformat(scheduled_for).astimezone(UTC) if scheduled_for else None,
        evaluators=evaluators, status="open")
    ctx.session.add(campaign)
    ctx.session.flush()
    ctx.record("work_report_campaign_opened", year=year, evaluators=[e["evaluator_id"] for e in evaluators],
               deadline=campaign.deadline.isoformat(), article=ARTICLE_31)
    return evaluators


def _report_content(report: object) -> dict[str, Any]:
    if not isinstance(report, Mapping):
        raise InvalidInput("年度工作情况应为对象 / the report must be an object", field="report")
    content = {k: report.get(k) for k in _REPORT_FIELDS}
    for key in ("national_evaluations", "province_evaluations", "city_evaluations", "staff", "qualified_staff"):
        value = content[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{key} 应为非负整数 / {key} must be a whole number ≥ 0", field=key)
    if content["qualified_staff"] > content["staff"]:
        raise InvalidInput("专业人员数不能多于从业人员数 / qualified staff exceed the staff", field="qualified_staff")
    content["summary"] = _text(content, "summary", limit=10000, label="工作情况")
    content["improvements"] = _text(content, "improvements", limit=5000, required=False)
    return content


@service_task("record_work_report")
def record_work_report(ctx: ServiceContext, *, year: int, evaluator: Mapping[str, Any],
                       report: Mapping[str, Any]) -> dict[str, Any]:
    """Store (or, after a return, replace) ``evaluator``'s work report of ``year`` (第三十一条).

    Refused with RuleViolation(第三十一条) once April 30 has ended, even before the deadline
    timer runs. A corrected report keeps the earlier version in ``history``. Returns
    ``{"id", "year", "evaluator_id", "status", "version", "filed_at"}``.
    """
    year = _year(year)
    evaluator_row = _known_evaluator(ctx.session, (evaluator or {}).get("evaluator_id"), field="evaluator")
    content = _report_content(report)
    now = ctx.clock.now()
    if now >= report_deadline_end(year):
        raise RuleViolation(f"{year}年度第三方机构年度工作情况应于{year}年4月30日前填报，填报期已结束（{ARTICLE_31}） / "
                            f"the {year} work report was due by April 30 (Article 31)", article=ARTICLE_31,
                            field="year")
    row = ctx.session.scalar(select(EvaluatorWorkReport).where(EvaluatorWorkReport.year == year,
                                                               EvaluatorWorkReport.evaluator_id == evaluator_row.id))
    if row is None:
        row = EvaluatorWorkReport(year=year, evaluator_id=evaluator_row.id, instance_id=ctx.instance_id,
                                  content=content, history=[], version=1, status="submitted", filed_at=now,
                                  updated_at=now)
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("work_report_filed", year=year, evaluator_id=row.evaluator_id, report_id=row.id, version=1)
    elif row.instance_id != ctx.instance_id:
        raise Conflict(f"{evaluator_row.id} 的{year}年度工作情况已在流程实例 {row.instance_id} 中填报 / already filed "
                       f"in instance {row.instance_id}")
    elif row.status == "returned":
        row.history = [*row.history, {"version": row.version, "content": row.content, "status": row.status,
                                      "review_reason": row.review_reason}]
        row.content, row.version, row.status, row.updated_at = content, row.version + 1, "submitted", now
        ctx.record("work_report_corrected", year=year, evaluator_id=row.evaluator_id, report_id=row.id,
                   version=row.version)
    ctx.session.flush()
    return {"id": row.id, "year": year, "evaluator_id": row.evaluator_id, "status": row.status,
            "version": row.version, "filed_at": row.filed_at.isoformat()}


@service_task("review_work_report")
def review_work_report(ctx: ServiceContext, *, report: Mapping[str, Any], decision: str,
                       reason: str | None = None, opinion: str | None = None) -> dict[str, Any]:
    """Record the province's review of a work report: ``accept`` or ``return`` (needs a reason).

    A returned report must be corrected by April 30 (第三十一条). Returns the report's
    ``{"id", "year", "evaluator_id", "status", "version", "reason"}``.
    """
    row = ctx.session.get(EvaluatorWorkReport, int((report or {}).get("id") or 0))
    if row is None or row.instance_id != ctx.instance_id:
        raise NotFound("未找到本流程的年度工作情况 / no work report of this instance")
    if decision not in ("accept", "return"):
        raise InvalidInput(f"未知的审核结论 {decision!r} / unknown decision", field="decision")
    if decision == "return" and not (reason or "").strip():
        raise InvalidInput("退回修改须说明理由 / a return needs a reason", field="reason")
    now = ctx.clock.now()
    if row.status == "submitted":
        row.status = "accepted" if decision == "accept" else "returned"
        row.review_reason = (reason or "").strip() or (opinion or "").strip() or None
        row.reviewed_by, row.reviewed_at = ctx.actor, now
        ctx.record("work_report_reviewed", year=row.year, evaluator_id=row.evaluator_id, report_id=row.id,
                   version=row.version, decision=decision, reason=row.review_reason)
    return {"id": row.id, "year": row.year, "evaluator_id": row.evaluator_id, "status": row.status,
            "version": row.version, "reason": row.review_reason}


def _add_note(ctx: ServiceContext, evaluator_id: str, year: int, kind: str) -> EvaluatorNote | None:
    existing = ctx.session.scalar(select(EvaluatorNote).where(EvaluatorNote.evaluator_id == evaluator_id,
                                                              EvaluatorNote.year == year, EvaluatorNote.kind == kind))
    if existing is not None:
        return None
    occurred_on = report_deadline_end(year).date()  # May 1: the first day the report is late
    note = EvaluatorNote(
        evaluator_id=evaluator_id, year=year, kind=kind, article=ARTICLE_31, occurred_on=occurred_on,
        instance_id=ctx.instance_id,
        note=f"{year}年4月30日前{NOTE_KINDS[kind]}（{ARTICLE_31}：参与国家层面绿色制造评价工作的第三方机构应于每年4月30日前"
             f"填报“第三方机构年度工作情况”）；记入对第三方机构的监督管理（{ARTICLE_30}）")
    ctx.session.add(note)
    ctx.session.flush()
    ctx.record("evaluator_note_recorded", evaluator_id=evaluator_id, year=year, kind=kind, note_id=note.id,
               article=ARTICLE_31)
    return note


@service_task("record_work_report_missing")
def record_work_report_missing(ctx: ServiceContext, *, year: int, evaluator: Mapping[str, Any],
                               kind: str) -> dict[str, Any]:
    """April 30 has ended and the evaluator's report is missing (or returned and not corrected).

    Adds an EvaluatorNote (``work_report_not_filed`` / ``work_report_not_corrected``,
    article 第三十一条) dated May 1; once per evaluator, year and kind.
    Returns ``{"evaluator_id", "status": kind, "note_id"}``.
    """
    year = _year(year)
    if kind not in NOTE_KINDS:
        raise InvalidInput(f"未知的记录类型 {kind!r} / unknown note kind", field="kind")
    evaluator_id = _known_evaluator(ctx.session, (evaluator or {}).get("evaluator_id"), field="evaluator").id
    note = _add_note(ctx, evaluator_id, year, kind)
    if note is None:
        note = ctx.session.scalar(select(EvaluatorNote).where(EvaluatorNote.evaluator_id == evaluator_id,
                                                              EvaluatorNote.year == year, EvaluatorNote.kind == kind))
    return {"evaluator_id": evaluator_id, "status": kind, "note_id": note.id}


def _reports(session: Session, year: int) -> dict[str, EvaluatorWorkReport]:
    return {r.evaluator_id: r for r in session.scalars(select(EvaluatorWorkReport)
                                                       .where(EvaluatorWorkReport.year == year))}


def _campaign_evaluators(evaluators: object) -> list[dict[str, Any]]:
    if not isinstance(evaluators, list) or not all(isinstance(e, Mapping) and e.get("evaluator_id")
                                                   for e in evaluators):
        raise InvalidInput("evaluators 应为含 evaluator_id 的列表 / evaluators must be a list", field="evaluators")
    return [dict(e) for e in evaluators]


@service_task("remind_work_reports")
def remind_work_reports(ctx: ServiceContext, *, year: int, evaluators: list[dict[str, Any]]) -> dict[str, Any]:
    """Remind every evaluator whose report is missing or returned (第三十一条); too late → nobody.

    One notification per evaluator to role ``evaluator`` at ``evaluator:<id>``.
    Returns ``{"reminded": [ids]}``.
    """
    year = _year(year)
    reminded: list[str] = []
    if ctx.clock.now() >= report_deadline_end(year):
        return {"reminded": reminded}
    reports = _reports(ctx.session, year)
    due_at = report_deadline_end(year).isoformat()
    for evaluator in _campaign_evaluators(evaluators):
        report = reports.get(evaluator["evaluator_id"])
        if report is not None and report.status != "returned":
            continue
        what = "按退回意见改正" if report is not None else "填报"
        notify(ctx, kind="reminder", role="evaluator", scope=f"evaluator:{evaluator['evaluator_id']}",
               task_name="填报第三方机构年度工作情况", instance_title=f"{year}年度第三方机构年度工作情况",
               message_zh=f"{evaluator.get('name') or evaluator['evaluator_id']}：请于{year}年4月30日前{what}"
                          f"“第三方机构年度工作情况”（{ARTICLE_31}）")
        reminded.append(evaluator["evaluator_id"])
    ctx.record("work_report_reminders", year=year, reminded=reminded, due_at=due_at)
    return {"reminded": reminded}


@service_task("close_work_report_campaign")
def close_work_report_campaign(ctx: ServiceContext, *, year: int,
                               evaluators: list[dict[str, Any]]) -> dict[str, Any]:
    """Close ``year``'s work report: accepted, still returned, missing (第三十一条).

    Runs when every filing has ended (reviewed, or noted at the deadline). Evaluators without
    a report after April 30 get their EvaluatorNote here too if the filing did not record it.
    Returns ``{"year", "accepted", "returned", "missing", "notes"}``.
    """
    year = _year(year)
    evaluators = _campaign_evaluators(evaluators)
    reports = _reports(ctx.session, year)
    now = ctx.clock.now()
    missing = [e["evaluator_id"] for e in evaluators if e["evaluator_id"] not in reports]
    if missing and now >= report_deadline_end(year):
        for evaluator_id in missing:
            _add_note(ctx, evaluator_id, year, "work_report_not_filed")
    notes = ctx.session.scalars(select(EvaluatorNote.evaluator_id).where(EvaluatorNote.year == year)
                                .order_by(EvaluatorNote.evaluator_id)).all()
    result = {"year": year,
              "accepted": sorted(i for i, r in reports.items() if r.status == "accepted"),
              "returned": sorted(i for i, r in reports.items() if r.status == "returned"),
              "missing": missing, "notes": sorted(set(notes))}
    campaign = ctx.session.scalar(select(WorkReportCampaign).where(WorkReportCampaign.year == year))
    if campaign is not None and campaign.instance_id == ctx.instance_id:
        campaign.status, campaign.closed_at, campaign.result = "closed", now, result
    ctx.session.flush()
    ctx.record("work_report_campaign_closed", **result)
    return result
