"""A complaint verified (核实): site check, rectification, recheck, removal, the evaluator's ban, the reply."""
from __future__ import annotations

import datetime as dt
from typing import Any

from engine.clock import CHINA, china_date
from engine.errors import InvalidInput, RuleViolation
from engine.models import Outbox
from engine.services import ServiceContext, service_task
from handlers.complaints._models import (
    ARTICLE,
    BAN_ARTICLE,
    BAN_YEARS,
    Complaint,
    DEFAULT_REMOVAL_ITEM,
    MAX_RECTIFICATION_DAYS,
    MEASURES,
    OUTCOMES,
    RECHECK_RESULTS,
    REMOVAL_ITEMS,
    VERIFICATION_OUTCOMES,
    _REPLIES,
)
from handlers.complaints.intake import _record_of, _view
from handlers.records import EvaluatorBan, NegativeRecord
from handlers.removals import record_pending_removals


def _clean(value: object, field: str, limit: int = 5000) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{field} 超过{limit}个字符 / {field} is longer than {limit} characters", field=field)
    return text


def _date(value: object, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidInput(f"{field} 应为日期（YYYY-MM-DD）/ {field} must be a date (YYYY-MM-DD)", field=field) from None


def _removal_item(value: object, field: str = "removal_item") -> int:
    if value is None or value == "":
        return DEFAULT_REMOVAL_ITEM
    if isinstance(value, bool) or not isinstance(value, int) or value not in REMOVAL_ITEMS:
        raise RuleViolation(
            f"移出依据应为第二十七条第2—8项之一，而不是 {value!r}（已发布名单中的单位存在第2—8项情形的予以移出） / the "
            f"removal ground must be one of items 2–8 of Article 27", article="第二十七条", field=field)
    return value


def _route(row: Complaint) -> str:
    if row.verification_outcome == "unfounded":
        return "unfounded"
    if row.subject_kind == "evaluator":
        return "evaluator"
    return "rectify" if row.measure == "rectify" else "remove"


@service_task("record_complaint_verification")
def record_complaint_verification(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], outcome: str, findings: str,
    measure: str | None = None, rectification_deadline: str | None = None,
    rectification_requirements: str | None = None, removal_item: int | None = None,
) -> dict[str, Any]:
    """Keep the verification conclusion (核实, 第三十二条) and say where the complaint goes next.

    ``outcome``: ``site_check`` (a site check first; nothing concluded yet), ``unfounded`` or
    ``confirmed``. A confirmed complaint about a unit needs a ``measure`` (第三十二条: 视情节轻重
    要求进行整改，或从绿色制造名单移出): ``rectify`` with a deadline after today and at most a year
    ahead, and the requirements; or ``remove`` with the 第二十七条 item (2–8, default 8). For an
    evaluator the measure is fixed (第三十条: 通报、三年内不予采信).
    Returns ``{"route": site_check|unfounded|rectify|remove|evaluator, ...}``.
    Raises InvalidInput / RuleViolation naming the field (nothing is written).
    """
    if outcome not in VERIFICATION_OUTCOMES:
        raise InvalidInput(f"核实结论应为 {' / '.join(VERIFICATION_OUTCOMES)} / unknown verification outcome {outcome!r}",
                           field="verification_outcome")
    findings = _clean(findings, "verification_findings")
    if not findings:
        raise InvalidInput(f"须填写核实情况（{ARTICLE}） / the verification findings are required (Article 32)",
                           field="verification_findings")
    row = _record_of(ctx.session, complaint_record)
    if row.status != "accepted":
        raise InvalidInput(f"举报 {row.receipt} 未受理，不能核实 / complaint {row.receipt} was not accepted",
                           field="complaint")
    today = china_date(ctx.clock.now())
    if outcome == "site_check":
        ctx.record("complaint_site_check_ordered", complaint_id=row.id, findings=findings)
        return {"route": "site_check", "outcome": outcome}
    deadline: dt.date | None = None
    requirements: str | None = None
    item: int | None = None
    if outcome == "confirmed" and row.subject_kind == "unit":
        if measure not in MEASURES:
            raise RuleViolation(
                f"举报属实的，须选择处理方式：限期整改或从绿色制造名单移出（{ARTICLE}：视情节轻重要求进行整改，或从绿色制造"
                f"名单移出） / a confirmed complaint about a unit needs a measure: rectify or remove (Article 32)",
                article=ARTICLE, field="measure")
        if measure == "rectify":
            deadline = _date(rectification_deadline, "rectification_deadline")
            if deadline <= today:
                raise RuleViolation(
                    f"整改期限应晚于今天（{today.isoformat()}）（{ARTICLE}：要求进行整改） / the rectification deadline "
                    f"must be after today (Article 32)", article=ARTICLE, field="rectification_deadline")
            if (deadline - today).days > MAX_RECTIFICATION_DAYS:
                raise RuleViolation(
                    f"整改期限不得超过{MAX_RECTIFICATION_DAYS}天（{ARTICLE}；本平台规定） / the rectification deadline may "
                    f"be at most {MAX_RECTIFICATION_DAYS} days ahead (Article 32; a platform rule)",
                    article=ARTICLE, field="rectification_deadline")
            requirements = _clean(rectification_requirements, "rectification_requirements")
            if not requirements:
                raise RuleViolation(
                    f"限期整改须写明整改要求（{ARTICLE}） / rectification needs its requirements (Article 32)",
                    article=ARTICLE, field="rectification_requirements")
        else:
            item = _removal_item(removal_item)
    row.verification_outcome, row.verification_findings = outcome, findings
    row.verified_by, row.verified_at = ctx.actor, ctx.clock.now()
    row.measure = measure if (outcome == "confirmed" and row.subject_kind == "unit") else None
    row.rectification_deadline, row.rectification_requirements = deadline, requirements
    row.removal_item = item
    row.outcome = "unfounded" if outcome == "unfounded" else None
    route = _route(row)
    ctx.record("complaint_verified", complaint_id=row.id, outcome=outcome, route=route,
               rectification_deadline=deadline.isoformat() if deadline else None, removal_item=item,
               article=ARTICLE)
    return {"route": route, "outcome": outcome}


@service_task("record_complaint_site_check")
def record_complaint_site_check(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], site_check_date: str, findings: str
) -> dict[str, Any]:
    """Keep the site check (现场核查) of a complaint; the verification continues with its findings.

    Raises InvalidInput for a date in the future or empty findings.
    """
    day = _date(site_check_date, "site_check_date")
    if day > china_date(ctx.clock.now()):
        raise InvalidInput("现场核查日期不能晚于今天 / the site check date cannot be in the future",
                           field="site_check_date")
    findings = _clean(findings, "site_check_findings")
    if not findings:
        raise InvalidInput("须填写现场核查情况 / the site check findings are required", field="site_check_findings")
    row = _record_of(ctx.session, complaint_record)
    row.site_checked_on, row.site_check_findings = day, findings
    ctx.record("complaint_site_checked", complaint_id=row.id, site_check_date=day.isoformat())
    return {"site_check_date": day.isoformat()}


@service_task("order_complaint_rectification")
def order_complaint_rectification(ctx: ServiceContext, *, complaint_record: dict[str, Any]) -> dict[str, Any]:
    """Order the unit to rectify by the deadline of the verification (第三十二条: 要求进行整改).

    Queues a notification to the unit (role applicant, scope ``unit:<credit code>``) and returns
    ``{"deadline", "recheck_at"}``: the re-check opens when the deadline day ends (24:00 China).
    """
    row = _record_of(ctx.session, complaint_record)
    if row.rectification_deadline is None or row.credit_code is None:
        raise InvalidInput("没有整改期限 / no rectification deadline was set", field="rectification_deadline")
    deadline = row.rectification_deadline
    recheck_at = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)
    message = (f"经核实，实名举报 {row.receipt} 反映的问题属实，请于{deadline.year}年{deadline.month}月{deadline.day}日前"
               f"完成整改：{row.rectification_requirements}（{ARTICLE}）。逾期未整改或整改不合格的，将按第二十七条"
               f"在新发布名单时予以移出。")
    outbox = Outbox(instance_id=ctx.instance_id, kind="notification", created_at=ctx.clock.now(), payload={
        "kind": "rectification_order", "role": "applicant", "scope": f"unit:{row.credit_code}",
        "message_zh": message, "instance_id": ctx.instance_id, "process_id": ctx.process_id,
        "task_name": "限期整改", "due_at": recheck_at.isoformat()})
    ctx.session.add(outbox)
    ctx.session.flush()
    ctx.record("complaint_rectification_ordered", complaint_id=row.id, credit_code=row.credit_code,
               deadline=deadline.isoformat(), recheck_at=recheck_at.isoformat(), outbox_id=outbox.id, article=ARTICLE)
    return {"deadline": deadline.isoformat(), "recheck_at": recheck_at.isoformat()}


@service_task("record_complaint_recheck")
def record_complaint_recheck(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], result: str, findings: str,
    removal_item: int | None = None,
) -> dict[str, Any]:
    """Keep the re-check of a rectification: ``passed`` → rectified; ``failed`` → removal with the
    第二十七条 item (2–8, default 8). Raises InvalidInput / RuleViolation naming the field."""
    if result not in RECHECK_RESULTS:
        raise InvalidInput(f"复查结论应为 {' / '.join(RECHECK_RESULTS)} / unknown re-check result {result!r}",
                           field="recheck_result")
    findings = _clean(findings, "recheck_findings")
    if not findings:
        raise InvalidInput("须填写复查情况 / the re-check findings are required", field="recheck_findings")
    item = _removal_item(removal_item) if result == "failed" else None
    row = _record_of(ctx.session, complaint_record)
    row.recheck_result, row.recheck_findings = result, findings
    if result == "passed":
        row.outcome = "rectified"
    else:
        row.measure, row.removal_item = "remove", item
    ctx.record("complaint_rechecked", complaint_id=row.id, result=result, removal_item=item, article=ARTICLE)
    return {"result": result, "removal_item": item}


@service_task("record_complaint_removal")
def record_complaint_removal(ctx: ServiceContext, *, complaint_record: dict[str, Any]) -> dict[str, Any]:
    """Record the 第二十七条 removal ground of a confirmed complaint on the unit (a NegativeRecord).

    The unit is not taken off its lists here: 第二十七条 removes it 在新发布省、市层面绿色制造年度名单时
    with an announcement, so the NegativeRecord (item ``removal_item``, dated today in China) is the
    hand-off to the list publication, together with a ``PendingRemoval`` for each current city or
    provincial listing (``handlers.removals``; the national list is MIIT's). Idempotent per complaint.
    Returns ``{"negative_record_id", "item", "credit_code", "pending_removals"}``.
    """
    row = _record_of(ctx.session, complaint_record)
    if row.credit_code is None:
        raise InvalidInput("举报对象不是绿色制造单位 / the complaint is not about a unit", field="complaint")
    item = _removal_item(row.removal_item)
    if row.negative_record_id is None:
        failed_rectification = row.recheck_result == "failed"
        note = (f"实名举报 {row.receipt} 经核实属实（{ARTICLE}）" +
                ("，逾期未完成整改或整改不合格" if failed_rectification else "") +
                f"，属第二十七条第{item}项“{REMOVAL_ITEMS[item]}”，在新发布省、市层面绿色制造年度名单时予以移出并公告")
        record = NegativeRecord(credit_code=row.credit_code, item=item, occurred_on=china_date(ctx.clock.now()),
                                note=note, source=f"实名举报核实（{ARTICLE}）{row.receipt}")
        ctx.session.add(record)
        ctx.session.flush()
        row.negative_record_id, row.removal_item = record.id, item
        ctx.record("complaint_removal_ground_recorded", complaint_id=row.id, credit_code=row.credit_code,
                   negative_record_id=record.id, item=item, article="第二十七条", message_zh=note)
    pending = record_pending_removals(ctx, row.credit_code, article="第二十七条", ground_item=item,
                                      reason=f"实名举报 {row.receipt} 经核实属实（{ARTICLE}），第二十七条第{item}项"
                                             f"“{REMOVAL_ITEMS[item]}”")
    row.outcome = "removed"
    return {"negative_record_id": row.negative_record_id, "item": item, "credit_code": row.credit_code,
            "pending_removals": pending}


def ban_period(today: dt.date, years: int = BAN_YEARS) -> tuple[dt.date, dt.date]:
    """(first, last day inclusive) of a ban of ``years`` starting ``today``: 2026-03-02 → 2029-03-01."""
    try:
        anniversary = today.replace(year=today.year + years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year + years, day=28) + dt.timedelta(days=1)
    return today, anniversary - dt.timedelta(days=1)


@service_task("ban_complaint_evaluator")
def ban_complaint_evaluator(ctx: ServiceContext, *, complaint_record: dict[str, Any]) -> dict[str, Any]:
    """Name the evaluator and refuse its reports for three years (第三十条、第三十二条).

    Adds an EvaluatorBan (article 第三十条) from today (China) to the day before the third
    anniversary; the eligibility rule ``art30_evaluator_not_banned`` then refuses applications
    relying on its reports. Idempotent per complaint. Returns ``{"ban_id", "starts_on", "ends_on"}``.
    """
    row = _record_of(ctx.session, complaint_record)
    if row.evaluator_id is None:
        raise InvalidInput("举报对象不是第三方评价机构 / the complaint is not about an evaluator", field="complaint")
    if row.evaluator_ban_id is None:
        starts_on, ends_on = ban_period(china_date(ctx.clock.now()))
        reason = f"实名举报 {row.receipt} 经核实属实，予以通报（{ARTICLE}）"
        ban = EvaluatorBan(evaluator_id=row.evaluator_id, reason=reason, article=BAN_ARTICLE,
                           starts_on=starts_on, ends_on=ends_on)
        ctx.session.add(ban)
        ctx.session.flush()
        row.evaluator_ban_id = ban.id
        ctx.record("complaint_evaluator_banned", complaint_id=row.id, evaluator_id=row.evaluator_id, ban_id=ban.id,
                   starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat(), article=BAN_ARTICLE,
                   message_zh=f"第三方机构 {row.evaluator_id} 经查实存在所举报事项，予以通报，{ends_on.isoformat()}（含）前"
                              f"不予采信其出具的评价结果（第三十条、{ARTICLE}）")
    ban = ctx.session.get(EvaluatorBan, row.evaluator_ban_id)
    row.outcome = "evaluator_banned"
    return {"ban_id": ban.id, "starts_on": ban.starts_on.isoformat(), "ends_on": ban.ends_on.isoformat()}


def reply_text(outcome: str) -> str:
    """The reply the reporter gets for ``outcome`` (standard wording citing the articles)."""
    return _REPLIES[outcome]


@service_task("reply_to_complaint")
def reply_to_complaint(ctx: ServiceContext, *, complaint_record: dict[str, Any],
                       outcome: str | None = None) -> dict[str, Any]:
    """Reply to the reporter and close the complaint (every path ends here).

    The outcome is the one the earlier services recorded (``outcome`` overrides it). Keeps the reply text on the complaint (shown
    on the public status page), queues a notification to the reporter's contact, and sets the
    status ``closed``. Raises InvalidInput when no outcome is known.
    """
    row = _record_of(ctx.session, complaint_record)
    if outcome is not None:
        row.outcome = outcome
    if row.outcome not in OUTCOMES:
        raise InvalidInput(f"举报 {row.receipt} 尚无办理结果 / complaint {row.receipt} has no outcome yet",
                           field="outcome")
    now = ctx.clock.now()
    row.reply, row.replied_at, row.status = reply_text(row.outcome), now, "closed"
    outbox = Outbox(instance_id=ctx.instance_id, kind="notification", created_at=now, payload={
        "kind": "complaint_reply", "to": row.contact, "reporter_name": row.reporter_name, "receipt": row.receipt,
        "message_zh": f"您的实名举报（受理编号 {row.receipt}）办理结果：{row.reply}",
        "instance_id": ctx.instance_id, "process_id": ctx.process_id})
    ctx.session.add(outbox)
    ctx.session.flush()
    ctx.record("complaint_replied", complaint_id=row.id, outcome=row.outcome, outbox_id=outbox.id, reply=row.reply)
    return {**_view(row), "outcome": row.outcome}
