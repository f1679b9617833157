"""The panel's result (第十八条 组织专家评审): each expert's answer, replacements, the rule.

The rule (docs/expert-panel.md): the panel score is the mean of the experts' scores, rounded
half up to a whole point; from ``trim_from_size`` experts on, the highest and the lowest score
are dropped first. It passes at ``pass_score``; a site check is needed if any expert asks for
one; the panel is divided (意见分歧) when highest − lowest exceeds ``disagreement_spread``.
Scores are kept out of the instance's data until the last expert of the panel has answered.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import select

from engine.errors import InvalidInput
from engine.services import ServiceContext, service_task
from handlers.experts.models import ExpertPanelSeat
from handlers.experts.pool import ARTICLE, PanelSettings, settings


def panel_result(scores: Sequence[int], site_checks: Sequence[bool], cfg: PanelSettings) -> dict[str, Any]:
    """The panel's score, pass, site check and disagreement flag from its experts' answers."""
    if len(scores) < 3:
        raise ValueError("a panel has at least three experts (第十八条, docs/expert-panel.md)")
    counted = sorted(scores)
    trimmed = len(counted) >= cfg.trim_from_size
    if trimmed:
        counted = counted[1:-1]
    mean = Decimal(sum(counted)) / Decimal(len(counted))
    score = int(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    spread = max(scores) - min(scores)
    return {"score": score, "mean": str(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
            "trimmed": trimmed, "passed": score >= cfg.pass_score, "pass_score": cfg.pass_score,
            "site_check_needed": any(site_checks), "spread": spread,
            "divided": spread > cfg.disagreement_spread, "article": ARTICLE}


def _review(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("assignee"), str):
        raise InvalidInput("专家评分结果缺少专家账号 / a panel review names no expert", field="panel_round_reviews")
    return dict(value)


@service_task("settle_expert_panel")
def settle_expert_panel(ctx: ServiceContext, *, reviews: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Record this round's answers; ask for replacements of declared conflicts, or give the panel result.

    Returns ``{"complete": False, "replacements_needed": n, "conflicts": [...]}`` while experts
    must be replaced (no scores: the replacements score independently), else the result of
    ``panel_result`` with the members' opinions joined and the conflicts that were replaced.
    """
    cfg = settings()
    now = ctx.clock.now()
    seats = {s.username: s for s in ctx.session.scalars(
        select(ExpertPanelSeat).where(ExpertPanelSeat.instance_id == ctx.instance_id)
        .order_by(ExpertPanelSeat.round, ExpertPanelSeat.id))}
    for review in map(_review, reviews or []):
        seat = seats.get(review["assignee"])
        if seat is None or seat.status != "drawn":
            continue  # not drawn for this panel, or already settled
        seat.settled_at = now
        if review.get("conflict_of_interest"):
            seat.status, seat.conflict_reason = "conflict", str(review.get("conflict_reason") or "")
        else:
            seat.status, seat.score = "scored", int(review["expert_score"])
            seat.opinion, seat.site_check_needed = str(review.get("expert_opinion") or ""), bool(
                review.get("site_check_needed"))
    ctx.session.flush()
    ordered = list(seats.values())
    conflicts = [{"assignee": s.username, "round": s.round, "reason": s.conflict_reason or ""}
                 for s in ordered if s.status == "conflict"]
    scored = [s for s in ordered if s.status == "scored"]
    waiting = [s for s in ordered if s.status == "drawn"]
    needed = cfg.panel_size - len(scored) - len(waiting)
    if needed > 0 or waiting:
        ctx.record("expert_panel_conflicts", withdrawn_by=[c["assignee"] for c in conflicts], needed=needed,
                   article=ARTICLE)
        return {"complete": False, "replacements_needed": max(needed, 0), "conflicts": conflicts}
    result = panel_result([s.score or 0 for s in scored], [bool(s.site_check_needed) for s in scored], cfg)
    opinion = "\n".join(f"专家{i}（{s.score}分）：{s.opinion}" for i, s in enumerate(scored, start=1))
    result.update(complete=True, replacements_needed=0, conflicts=conflicts, opinion=opinion,
                  scored_by=[s.username for s in scored], scores=[s.score for s in scored])
    ctx.record("expert_panel_settled", score=result["score"], passed=result["passed"],
               site_check_needed=result["site_check_needed"], divided=result["divided"],
               scored_by=result["scored_by"], withdrawn_by=[c["assignee"] for c in conflicts], article=ARTICLE)
    return result
