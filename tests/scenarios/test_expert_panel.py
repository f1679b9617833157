"""The province's expert review is a panel (第十八条 组织专家评审), on both databases.

A panel of three is drawn from the pool (field, avoiding the applicant's county and its
evaluator), each expert scores on their own (a parallel multi-instance, one task assigned to
each), a declared conflict of interest is replaced by a newly drawn expert, and the panel's
result follows docs/expert-panel.md. Every step reloads the instance from the database.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput
from engine.inbox import InboxQuery
from handlers import demo
from handlers.experts import ExpertPanelDraw, ExpertPanelSeat, ExpertProfile, order, panel_result, settings
from handlers.experts.pool import PanelSettings


def _to_panel(green, unit=demo.UNITS[3], **overrides) -> int:
    return green.to_panel(unit, **overrides)


def _draws(green, iid: int) -> list[ExpertPanelDraw]:
    with green.engine.db.session() as s:
        return list(s.scalars(select(ExpertPanelDraw).where(ExpertPanelDraw.instance_id == iid)
                              .order_by(ExpertPanelDraw.round)))


def _profiles(green) -> dict[str, ExpertProfile]:
    with green.engine.db.session() as s:
        return {p.username: p for p in s.scalars(select(ExpertProfile))}


def test_a_panel_of_three_is_drawn_each_expert_scores_alone(green):
    iid = _to_panel(green)
    tasks = green.panel_tasks(iid)
    assert len(tasks) == settings().panel_size == 3
    assert all((t.role, t.scope, t.name) == ("expert", "520000", "专家评分") for t in tasks)
    experts = [t.assignee for t in tasks]
    assert len(set(experts)) == 3
    # every drawn expert covers the field and none lives in the applicant's county (毕节 七星关区)
    profiles = _profiles(green)
    for username in experts:
        assert {"14", "factory"} & set(profiles[username].fields)
        assert profiles[username].home_division != demo.UNITS[3].county
    # the draw is recorded and reproducible from its seed
    (draw,) = _draws(green, iid)
    assert draw.seed == f"{iid}/1" and draw.drawn == experts
    assert order(draw.seed, draw.candidates)[:3] == draw.drawn
    # each expert may act only on their own task
    other = next(u for u in experts if u != tasks[0].assignee)
    with pytest.raises(Conflict):
        green.engine.complete(tasks[0].id, {"conflict_of_interest": False, "expert_score": 80,
                                            "expert_opinion": "好", "site_check_needed": False},
                              actor=green.engine.actor(other))
    green.panel(iid, [70, 90, 95])
    view = green.view(iid)
    panel = view["data"]["panel"]
    assert panel["score"] == 85 and panel["passed"] is True and panel["article"] == "第十八条"
    assert panel["divided"] is True and panel["spread"] == 25  # 95 − 70 > 20 (docs/expert-panel.md)
    assert view["data"]["expert_score"] == 85 and view["data"]["site_check_needed"] is False
    assert green.task(iid, "review").scope == "520000"  # the province review follows
    types = [e["type"] for e in view["events"]]
    assert "expert_panel_drawn" in types and "expert_panel_settled" in types
    assert green.engine.verify_history(iid).ok


def test_an_expert_sees_only_their_own_score_in_the_inbox(green):
    iid = _to_panel(green)
    tasks = green.panel_tasks(iid)
    for task in tasks:
        rows = green.engine.inbox(green.engine.actor(task.assignee), InboxQuery(per_page=100)).rows
        mine = [r.task_id for r in rows if r.instance_id == iid]
        assert mine == [task.id]
    idle = next(u for u, *_ in demo.EXPERTS if u not in {t.assignee for t in tasks})
    assert [r for r in green.engine.inbox(green.engine.actor(idle), InboxQuery(per_page=100)).rows if r.instance_id == iid] == []


def test_a_later_expert_does_not_get_the_earlier_scores(green):
    iid = _to_panel(green)
    first, second, _ = green.panel_tasks(iid)
    green.engine.complete(first.id, {"conflict_of_interest": False, "expert_score": 61, "expert_opinion": "一般",
                                     "site_check_needed": True}, actor=green.engine.actor(first.assignee))
    data = green.engine.task(second.id).get("data") or {}
    assert 61 not in [v for v in data.values() if isinstance(v, int)]
    assert "panel" not in data and not data.get("panel_round_reviews")
    assert not green.view(iid)["data"].get("expert_score")


def test_a_declared_conflict_is_replaced_by_a_newly_drawn_expert(green):
    iid = _to_panel(green)
    first = green.panel_tasks(iid)[0].assignee
    drawn = green.panel(iid, ["曾为该企业提供咨询服务", 80, 84], site_check=True)
    assert drawn[0] == first
    (replacement,) = green.panel_tasks(iid)
    assert replacement.assignee not in drawn
    draws = _draws(green, iid)
    assert [d.round for d in draws] == [1, 2] and draws[1].wanted == 1
    assert "利益冲突" in draws[1].avoided[first] and "第十八条" in draws[1].avoided[first]
    pending = green.view(iid)["data"]["panel"]  # no result, and no scores, while a seat is open
    assert pending["complete"] is False and pending["replacements_needed"] == 1 and "scores" not in pending
    green.panel(iid, [88])
    view = green.view(iid)
    panel = view["data"]["panel"]
    assert panel["score"] == 84 and panel["scored_by"] == drawn[1:] + [replacement.assignee]
    assert [c["assignee"] for c in panel["conflicts"]] == [first]
    assert view["data"]["site_check_needed"] is True  # one expert asked (docs/expert-panel.md)
    assert green.task(iid, "site_check").scope == "520000"
    with green.engine.db.session() as s:
        statuses = sorted(s.scalars(select(ExpertPanelSeat.status).where(ExpertPanelSeat.instance_id == iid)))
    assert statuses == ["conflict", "scored", "scored", "scored"]


def test_the_draw_avoids_the_applicants_county_and_its_evaluator(green):
    # U1 (遵义 红花岗区 520302, industry 39), evaluated by EV001: expert-2 lives in 红花岗区, expert-4 works for EV001
    iid = _to_panel(green, demo.UNITS[0], evaluation_mode="third_party", evaluator_id="EV001")
    drawn = {t.assignee for t in green.panel_tasks(iid)}
    assert not drawn & {"expert-2", "expert-4"}
    (draw,) = _draws(green, iid)
    assert "第十八条" in draw.avoided["expert-2"] and "红花岗区" in draw.avoided["expert-2"]
    assert "EV001" in draw.avoided["expert-4"]


def _set_active(green, usernames: list[str], active: bool) -> None:
    with green.engine.db.unit_of_work() as s:
        for p in s.scalars(select(ExpertProfile).where(ExpertProfile.username.in_(usernames))):
            p.active = active


def test_a_pool_too_small_waits_for_the_province_to_add_experts(green):
    # U4: 食品制造业 (14), a factory; with three factory experts out of the pool only two remain
    _set_active(green, ["expert-2", "expert-3", "expert-4"], False)
    iid = _to_panel(green)
    staffing = green.task(iid, "panel_staffing")
    assert (staffing.role, staffing.scope) == ("province_official", "520000")
    assert green.panel_tasks(iid) == []
    (draw,) = _draws(green, iid)
    assert draw.short and draw.drawn == [] and sorted(draw.candidates) == ["expert", "expert-6"]
    assert "第十八条" in draw.message and "食品制造业" in draw.message and "只有 2 名" in draw.message
    # submitting without adding anyone draws again and waits again
    green.step(iid, "panel_staffing", {"staffing_note": "已联系专家"})
    assert green.task(iid, "panel_staffing") and len(_draws(green, iid)) == 2
    _set_active(green, ["expert-3"], True)
    green.step(iid, "panel_staffing", {"staffing_note": "张工恢复在库"})
    assert sorted(t.assignee for t in green.panel_tasks(iid)) == ["expert", "expert-3", "expert-6"]


@pytest.mark.parametrize("answer, field", [
    ({"conflict_of_interest": False, "expert_opinion": "好", "site_check_needed": False}, "expert_score"),
    ({"conflict_of_interest": False, "expert_score": 101, "expert_opinion": "好", "site_check_needed": False},
     "expert_score"),
    ({"conflict_of_interest": True}, "conflict_reason"),
    ({"expert_score": 80, "expert_opinion": "好", "site_check_needed": False}, "conflict_of_interest"),
])
def test_a_bad_score_form_is_refused_naming_the_field(green, answer, field):
    iid = _to_panel(green)
    task = green.panel_tasks(iid)[0]
    with pytest.raises(InvalidInput) as err:
        green.engine.complete(task.id, answer, actor=green.engine.actor(task.assignee))
    assert field in (err.value.fields or {})
    assert len(green.panel_tasks(iid)) == 3


@pytest.mark.parametrize("scores, site, expected", [
    ([80, 81, 82], [False, False, False], {"score": 81, "passed": True, "divided": False, "trimmed": False}),
    ([59, 60, 60], [False, True, False], {"score": 60, "passed": True, "site_check_needed": True}),
    ([50, 55, 60], [False] * 3, {"score": 55, "passed": False}),
    ([60, 80, 81], [False] * 3, {"spread": 21, "divided": True}),
    ([10, 80, 82, 84, 100], [False] * 5, {"score": 82, "trimmed": True}),
    ([70, 71, 72], [False] * 3, {"score": 71, "mean": "71.00"}),
    ([70, 70, 71], [False] * 3, {"score": 70, "mean": "70.33"}),
    ([70, 71, 71], [False] * 3, {"score": 71, "mean": "70.67"}),
])
def test_the_panel_rule(scores, site, expected):
    result = panel_result(scores, site, PanelSettings())
    assert {k: result[k] for k in expected} == expected


def test_the_panel_rule_refuses_fewer_than_three():
    with pytest.raises(ValueError, match="第十八条"):
        panel_result([80, 90], [False, False], PanelSettings())


def test_an_experts_own_task_is_not_released_transferred_or_delegated(green):
    """The panel stays the one drawn (第十八条): a drawn expert's task cannot be passed on, not even by a
    supervisor; an expert who cannot score declares a conflict and a replacement is drawn."""
    iid = _to_panel(green)
    task, other = green.panel_tasks(iid)[:2]
    engine = green.engine
    expert = engine.actor(task.assignee)
    attempts = [lambda: engine.release(task.id, actor=expert),
                lambda: engine.transfer(task.id, other.assignee, actor=expert),
                lambda: engine.delegate(task.id, other.assignee, actor=expert),
                lambda: engine.transfer(task.id, other.assignee, actor=engine.actor("province"))]
    before = green.view(iid)["events"]
    for attempt in attempts:
        with pytest.raises(Conflict, match="alone and cannot be"):
            attempt()
    assert green.view(iid)["events"] == before
    assert [t.assignee for t in green.panel_tasks(iid)][0] == task.assignee
