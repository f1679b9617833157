"""Drawing an application's review panel from the pool (第十八条 组织专家评审).

The draw is reproducible: the seed (``<instance>/<round>``) orders the eligible experts by
SHA-256 of ``seed:username``; the draw row records seed, candidates, the drawn and the avoided
with their reasons, so anyone can recompute it (``order``). Nothing is left to chance: the order is a hash.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.services import ServiceContext, service_task
from handlers.divisions import city_of, division
from handlers.experts.models import ExpertPanelDraw, ExpertPanelSeat
from handlers.experts.pool import ARTICLE, PoolEntry, field_label, pool, settings

ACTIVE_SEATS = ("drawn", "scored")


def order(seed: str, usernames: Iterable[str]) -> list[str]:
    """The draw order of ``usernames`` under ``seed`` (deterministic, independent of input order)."""
    return sorted(set(usernames), key=lambda u: (hashlib.sha256(f"{seed}:{u}".encode()).hexdigest(), u))


def matches_field(expert: PoolEntry, application: Mapping[str, Any]) -> bool:
    """An expert covers the application's industry division or its unit type."""
    return (str(application.get("industry_code") or "") in expert.fields
            or str(application.get("unit_type") or "") in expert.fields)


def _same_area(home: str, county: str) -> bool:
    """Home division is the applicant's county, or the city / new area containing it."""
    if not county:
        return False
    if home == county:
        return True
    try:
        return division(home).level != "county" and home == city_of(county)
    except EngineError:  # an unknown division is simply not the same area
        return False


def avoidance(expert: PoolEntry, application: Mapping[str, Any]) -> str | None:
    """Why ``expert`` must not review ``application`` (回避), or None."""
    county = str(application.get("county_code") or "")
    if _same_area(expert.home_division, county):
        return f"回避：与申报单位同属 {_area_name(county)}（{ARTICLE}，docs/expert-panel.md）"
    evaluator = application.get("evaluator_id")
    if evaluator and expert.evaluator_id == evaluator:
        return f"回避：所属第三方评价机构 {evaluator} 为申报单位出具评价报告（{ARTICLE}，docs/expert-panel.md）"
    return None


def _area_name(code: str) -> str:
    try:
        return division(code).name
    except EngineError:
        return code


def candidates(entries: list[PoolEntry], application: Mapping[str, Any],
               taken: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """(eligible usernames, avoided username -> reason) for one draw; ``taken`` are earlier seats."""
    eligible, avoided = [], {}
    for expert in entries:
        if not matches_field(expert, application):
            continue
        reason = taken.get(expert.username) or avoidance(expert, application)
        if reason:
            avoided[expert.username] = reason
        else:
            eligible.append(expert.username)
    return eligible, avoided


def _field_text(application: Mapping[str, Any]) -> str:
    parts = [field_label(str(application[k])) for k in ("industry_code", "unit_type") if application.get(k)]
    return "、".join(parts)


@service_task("draw_expert_panel")
def draw_expert_panel(ctx: ServiceContext, *, application: Mapping[str, Any]) -> dict[str, Any]:
    """Draw the panel (round 1) or the replacements of experts who declared a conflict (later rounds).

    Returns ``{"round", "seed", "experts": [{"assignee", "name"}], "short", "message"}``; when the
    pool has too few eligible experts nothing is drawn and ``short`` is true with a message naming
    the field and the avoidance rules (a province official adds experts and draws again).
    """
    session: Session = ctx.session
    cfg = settings()
    seats = session.scalars(select(ExpertPanelSeat).where(ExpertPanelSeat.instance_id == ctx.instance_id)).all()
    rnd = 1 + (session.scalar(select(func.max(ExpertPanelDraw.round))
                              .where(ExpertPanelDraw.instance_id == ctx.instance_id)) or 0)
    taken = {s.username: ("回避：本人声明存在利益冲突（" + ARTICLE + "）" if s.status == "conflict"
                          else "已在本评审组") for s in seats}
    wanted = cfg.panel_size - sum(1 for s in seats if s.status in ACTIVE_SEATS)
    entries = pool(session, active_only=True)
    names = {e.username: e.display_name for e in entries}
    eligible, avoided = candidates(entries, application, taken)
    seed = f"{ctx.instance_id}/{rnd}"
    now = ctx.clock.now()
    short = len(eligible) < wanted
    drawn = [] if short else order(seed, eligible)[:wanted]
    message = None
    if short:
        message = (f"专家库中可抽取的专家不足：{_field_text(application)}领域需要 {wanted} 名，符合回避要求的只有 "
                   f"{len(eligible)} 名（{ARTICLE}；回避申报单位所在县区及其第三方评价机构）。请在专家库中补充专家后重新抽取。")
    session.add(ExpertPanelDraw(instance_id=ctx.instance_id, round=rnd, seed=seed, wanted=wanted,
                                candidates=sorted(eligible), drawn=drawn, avoided=avoided, short=short,
                                message=message, drawn_at=now))
    for username in drawn:
        session.add(ExpertPanelSeat(instance_id=ctx.instance_id, round=rnd, username=username, status="drawn",
                                    drawn_at=now))
    session.flush()
    # people as {"assignee": username} (pages show them by name, never the username)
    ctx.record("expert_panel_drawn", round=rnd, seed=seed, wanted=wanted, drawn=[{"assignee": u} for u in drawn],
               avoided=[{"assignee": u, "reason": why} for u, why in sorted(avoided.items())],
               short=short, article=ARTICLE)
    return {"round": rnd, "seed": seed, "short": short, "message": message or "",
            "experts": [{"assignee": u, "name": names.get(u, u)} for u in drawn]}
