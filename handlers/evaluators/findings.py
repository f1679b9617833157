"""Findings on evaluators (``evaluator_finding``, 第三十条): recorded, confirmed, published, banned."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import InvalidInput, NotFound
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.complaints import ban_period
from handlers.evaluators._common import _date, _known_evaluator, _text, representative_on
from handlers.evaluators._models import ARTICLE_30, EvaluatorFinding, FINDING_KINDS
from handlers.records import EvaluatorBan


@start_hook("evaluator_finding")
def start_evaluator_finding(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the finding form: a registered evaluator, a kind of 第三十条, the facts, a past date."""
    evaluator = _known_evaluator(session, data.get("evaluator_id"))
    kind = data.get("kind")
    if kind not in FINDING_KINDS:
        raise InvalidInput(f"查实情形应为 弄虚作假 / 故意隐瞒评价对象问题（{ARTICLE_30}） / kind must be fraud or "
                           f"concealment (Article 30)", field="kind")
    finding = {
        "evaluator_id": evaluator.id, "evaluator_name": evaluator.name, "kind": kind,
        "finding": _text(data, "finding", limit=5000, label="查实情况"),
        "evidence": _text(data, "evidence", limit=5000, required=False),
        "found_on": str(data.get("found_on") or ""),
    }
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"finding": finding},
        title=f"第三方机构 {evaluator.id} {evaluator.name} {FINDING_KINDS[kind]}查实通报",
        business_key=f"evaluator:{evaluator.id}",
        summary={"evaluator_id": evaluator.id, "evaluator_name": evaluator.name, "kind": kind},
    )


def _finding_of(session: Session, instance_id: int) -> EvaluatorFinding:
    row = session.scalar(select(EvaluatorFinding).where(EvaluatorFinding.instance_id == instance_id))
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 没有查实记录 / instance {instance_id} has no finding")
    return row


@service_task("record_evaluator_finding")
def record_evaluator_finding(ctx: ServiceContext, *, finding: Mapping[str, Any]) -> dict[str, Any]:
    """Store the finding as pending (not yet public, no ban). ``found_on`` defaults to today (China).

    Raises InvalidInput for an unknown evaluator, kind or a date in the future. Idempotent per instance.
    """
    row = ctx.session.scalar(select(EvaluatorFinding).where(EvaluatorFinding.instance_id == ctx.instance_id))
    if row is None:
        values = dict(finding or {})
        evaluator = _known_evaluator(ctx.session, values.get("evaluator_id"))
        if values.get("kind") not in FINDING_KINDS:
            raise InvalidInput(f"查实情形无效（{ARTICLE_30}） / unknown kind (Article 30)", field="kind")
        now = ctx.clock.now()
        found_on = _date(values["found_on"], field="found_on") if values.get("found_on") else china_date(now)
        if found_on > china_date(now):
            raise InvalidInput(f"查实日期 {found_on} 晚于今天 / found_on is in the future", field="found_on")
        row = EvaluatorFinding(
            instance_id=ctx.instance_id, evaluator_id=evaluator.id, evaluator_name=evaluator.name,
            legal_representative=representative_on(ctx.session, evaluator.id, found_on) or "",
            kind=values["kind"], finding=_text(values, "finding", limit=5000, label="查实情况"),
            evidence=_text(values, "evidence", limit=5000, required=False), found_on=found_on, article=ARTICLE_30,
            status="pending", recorded_by=ctx.actor, recorded_at=now)
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("evaluator_finding_recorded", finding_id=row.id, evaluator_id=row.evaluator_id, kind=row.kind,
                   found_on=found_on.isoformat(), article=ARTICLE_30)
    return {"id": row.id, "evaluator_id": row.evaluator_id, "status": row.status, "found_on": row.found_on.isoformat()}


@service_task("decide_evaluator_finding")
def decide_evaluator_finding(ctx: ServiceContext, *, decision: str, reason: str | None = None) -> dict[str, Any]:
    """Publish (通报) the finding with a three-year ban, or withdraw it (第三十条).

    ``publish``: the finding becomes public (``published_on`` = today, China) and an
    EvaluatorBan (article 第三十条, reason = the kind and finding number) runs from today to the
    day before the third anniversary; ``art30_evaluator_not_banned`` then refuses applications
    naming the evaluator. ``withdraw`` needs a reason and changes nothing else. Idempotent.
    Returns ``{"status", "ban_id", "ban_starts_on", "ban_ends_on"}``.
    """
    row = _finding_of(ctx.session, ctx.instance_id)
    if decision not in ("publish", "withdraw"):
        raise InvalidInput(f"未知的决定 {decision!r} / unknown decision", field="decision")
    now = ctx.clock.now()
    if row.status == "pending" and decision == "withdraw":
        if not (reason or "").strip():
            raise InvalidInput("撤销须说明理由 / a withdrawal needs a reason", field="reason")
        row.status, row.withdraw_reason, row.decided_by, row.decided_at = "withdrawn", reason.strip(), ctx.actor, now
        ctx.record("evaluator_finding_withdrawn", finding_id=row.id, evaluator_id=row.evaluator_id, reason=reason)
    elif row.status == "pending":
        starts_on, ends_on = ban_period(china_date(now))
        ban = EvaluatorBan(evaluator_id=row.evaluator_id, article=ARTICLE_30, starts_on=starts_on, ends_on=ends_on,
                           reason=f"评价过程中{FINDING_KINDS[row.kind]}，经查实予以通报（查实记录 {row.id}）")
        ctx.session.add(ban)
        ctx.session.flush()
        row.status, row.published_on, row.ban_id = "published", starts_on, ban.id
        row.decided_by, row.decided_at = ctx.actor, now
        ctx.record("evaluator_named", finding_id=row.id, evaluator_id=row.evaluator_id,
                   evaluator_name=row.evaluator_name, kind=row.kind, published_on=starts_on.isoformat(),
                   article=ARTICLE_30)
        ctx.record("evaluator_banned", evaluator_id=row.evaluator_id, ban_id=ban.id, starts_on=starts_on.isoformat(),
                   ends_on=ends_on.isoformat(), article=ARTICLE_30,
                   message_zh=f"第三方机构 {row.evaluator_id} 经查实{FINDING_KINDS[row.kind]}，予以通报，"
                              f"{ends_on.isoformat()}（含）前不予采信其出具的评价结果（{ARTICLE_30}）")
    ctx.session.flush()
    ban = ctx.session.get(EvaluatorBan, row.ban_id) if row.ban_id else None
    return {"status": row.status, "ban_id": row.ban_id,
            "ban_starts_on": ban.starts_on.isoformat() if ban else None,
            "ban_ends_on": ban.ends_on.isoformat() if ban else None}


def published_findings(session: Session) -> list[dict[str, Any]]:
    """The public 通报 list (第三十条), newest first: evaluator, finding, date, article, ban end.

    Plain dicts for the public pages; the evidence and the officials' names are never included.
    """
    rows = session.execute(
        select(EvaluatorFinding, EvaluatorBan.ends_on)
        .join(EvaluatorBan, EvaluatorBan.id == EvaluatorFinding.ban_id)
        .where(EvaluatorFinding.status == "published")
        .order_by(EvaluatorFinding.published_on.desc(), EvaluatorFinding.id.desc())
    ).all()
    return [{"evaluator_id": f.evaluator_id, "evaluator_name": f.evaluator_name,
             "legal_representative": f.legal_representative, "kind": f.kind, "kind_zh": FINDING_KINDS[f.kind],
             "finding": f.finding, "found_on": f.found_on.isoformat(), "published_on": f.published_on.isoformat(),
             "article": f.article, "not_accepted_until": ends_on.isoformat()} for f, ends_on in rows]
