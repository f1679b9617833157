"""Plain view models of panels for the province's pages (no ORM objects leave this module).

What the province official sees (docs/expert-panel.md): who was drawn, with the seed and the
avoided experts and why; who has answered. Scores and opinions appear only once every seat of
the panel has answered, so nobody (the province included) reads a score while others still score.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import HumanTask, UserAccount
from handlers.experts.models import ExpertPanelDraw, ExpertPanelSeat


@dataclass(frozen=True)
class SeatView:
    name: str
    round: int
    status: str  # drawn | submitted (answered, the panel still scoring) | scored | conflict
    score: int | None
    opinion: str | None
    site_check_needed: bool | None
    conflict_reason: str | None


@dataclass(frozen=True)
class DrawView:
    round: int
    seed: str
    wanted: int
    drawn: list[str]
    avoided: list[tuple[str, str]]
    short: bool
    message: str | None


@dataclass(frozen=True)
class PanelView:
    instance_id: int
    draws: list[DrawView]
    seats: list[SeatView]
    complete: bool


def _names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    return dict(session.execute(select(UserAccount.username, UserAccount.display_name)
                                .where(UserAccount.username.in_(usernames))).all())


def panel_view(session: Session, instance_id: int) -> PanelView | None:
    """The panel of one application, or None if none was drawn."""
    draws = session.scalars(select(ExpertPanelDraw).where(ExpertPanelDraw.instance_id == instance_id)
                            .order_by(ExpertPanelDraw.round)).all()
    if not draws:
        return None
    seats = session.scalars(select(ExpertPanelSeat).where(ExpertPanelSeat.instance_id == instance_id)
                            .order_by(ExpertPanelSeat.round, ExpertPanelSeat.id)).all()
    names = _names(session, {s.username for s in seats} | {u for d in draws for u in d.avoided})
    complete = bool(seats) and not any(s.status == "drawn" for s in seats)
    answered = set(session.scalars(select(HumanTask.completed_by).where(
        HumanTask.instance_id == instance_id, HumanTask.bpmn_id == "expert_score", HumanTask.status == "completed")))
    return PanelView(
        instance_id=instance_id,
        draws=[DrawView(d.round, d.seed, d.wanted, [names.get(u, u) for u in d.drawn],
                        [(names.get(u, u), why) for u, why in sorted(d.avoided.items())], d.short, d.message)
               for d in draws],
        seats=[SeatView(names.get(s.username, s.username), s.round,
                        "submitted" if s.status == "drawn" and s.username in answered else s.status,
                        s.score if complete else None, s.opinion if complete else None,
                        s.site_check_needed if complete else None, s.conflict_reason) for s in seats],
        complete=complete)


def panels_waiting(session: Session) -> list[tuple[int, DrawView]]:
    """(instance id, last draw) of the panels waiting for the pool to grow (the last draw was short)."""
    rows = session.scalars(select(ExpertPanelDraw).order_by(ExpertPanelDraw.instance_id, ExpertPanelDraw.round)).all()
    last: dict[int, ExpertPanelDraw] = {}
    for row in rows:
        last[row.instance_id] = row
    return [(iid, DrawView(d.round, d.seed, d.wanted, [], [], True, d.message))
            for iid, d in sorted(last.items()) if d.short]
