"""转办, 委派, 抄送, 催办 and comments: commands with events that never touch the workflow."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotPermitted
from engine.models import Event, Outbox
from handlers import demo
from tests.scenarios.driver import PASS

UNIT = demo.UNITS[0]  # 红花岗区 (520302), 遵义市 (520300)
COUNTY, COUNTY_B, CITY = f"county-{UNIT.county}", f"county-{UNIT.county}-b", "city-520300"


@pytest.fixture
def review(green):
    """An application waiting for the county's review, and its task."""
    iid = green.apply(UNIT)
    return green, iid, green.task(iid, "review")


def events(engine, iid, type_):
    with engine.db.session() as s:
        return [e for e in s.scalars(select(Event).where(Event.instance_id == iid, Event.type == type_))]


def notifications(engine, to):
    with engine.db.session() as s:
        return [o.payload for o in s.scalars(select(Outbox).where(Outbox.kind == "notification"))
                if o.payload["to"] == to]


def test_transfer_moves_the_task_to_a_colleague_with_the_same_role_and_scope(review):
    green, iid, task = review
    eng = green.engine
    before = eng.instance(iid)["row_version"]
    eng.transfer(task.id, COUNTY_B, actor=eng.actor(COUNTY), note="请你处理")
    view = eng.task(task.id)
    assert view["assignee"] == COUNTY_B
    assert eng.instance(iid)["row_version"] == before  # no workflow change, no suspension
    [event] = events(eng, iid, "task_transferred")
    assert event.actor == COUNTY and COUNTY_B in event.payload
    assert notifications(eng, COUNTY_B)[0]["kind"] == "transferred"
    # the original official can no longer complete it; the colleague can
    with pytest.raises(Conflict):
        eng.complete(task.id, PASS, actor=eng.actor(COUNTY))
    eng.complete(task.id, PASS, actor=eng.actor(COUNTY_B))
    assert eng.task(task.id)["completed_by"] == COUNTY_B


@pytest.mark.parametrize("target, message", [
    ("county-520303", "does not hold role county_official for 520302"),  # another county
    (CITY, "does not hold role"),
    ("nobody", "no user named"),
    (COUNTY, "someone other than yourself"),
    ("", "name the colleague"),
])
def test_transfer_refuses_a_target_outside_the_role_and_scope(review, target, message):
    green, iid, task = review
    eng = green.engine
    with pytest.raises(InvalidInput, match=message) as info:
        eng.transfer(task.id, target, actor=eng.actor(COUNTY))
    assert "to_user" in info.value.fields
    assert eng.task(task.id)["assignee"] is None and not events(eng, iid, "task_transferred")


def test_transfer_by_an_outsider_is_refused(review):
    green, iid, task = review
    eng = green.engine
    with pytest.raises(NotPermitted):
        eng.transfer(task.id, COUNTY_B, actor=eng.actor("county-520303"))


def test_a_supervisor_may_reassign_a_claimed_task(review):
    green, iid, task = review
    eng = green.engine
    eng.claim(task.id, actor=eng.actor(COUNTY))
    eng.transfer(task.id, COUNTY_B, actor=eng.actor(CITY), note="该同志休假")
    assert eng.task(task.id)["assignee"] == COUNTY_B


def test_delegation_returns_to_the_delegator_for_sign_off(review):
    green, iid, task = review
    eng = green.engine
    eng.delegate(task.id, COUNTY_B, actor=eng.actor(COUNTY), note="请拟办")
    view = eng.task(task.id)
    assert (view["assignee"], view["owner"]) == (COUNTY_B, COUNTY)
    with pytest.raises(Conflict, match="delegated"):  # nobody completes while it is delegated
        eng.complete(task.id, PASS, actor=eng.actor(COUNTY_B))
    with pytest.raises(NotPermitted):
        eng.resolve_delegation(task.id, PASS, actor=eng.actor(COUNTY))
    with pytest.raises(InvalidInput) as info:  # the delegate's proposal is validated like the form
        eng.resolve_delegation(task.id, {"decision": "maybe"}, actor=eng.actor(COUNTY_B))
    assert "decision" in info.value.fields
    eng.resolve_delegation(task.id, {"decision": "pass", "opinion": "拟同意"}, actor=eng.actor(COUNTY_B))
    view = eng.task(task.id)
    assert (view["assignee"], view["owner"], view["draft"]) == (COUNTY, None, {"decision": "pass", "opinion": "拟同意"})
    assert notifications(eng, COUNTY)[0]["kind"] == "delegation_resolved"
    eng.complete(task.id, view["draft"], actor=eng.actor(COUNTY))
    assert green.open_tasks(iid) == ["review"]  # moved on to the city
    types = [e["type"] for e in eng.instance(iid)["events"]]
    assert types.index("task_delegated") < types.index("delegation_resolved") < types.index("task_completed")


def test_delegation_stays_within_the_org_unit(review):
    green, iid, task = review
    eng = green.engine
    with pytest.raises(InvalidInput, match="within the org unit"):
        eng.delegate(task.id, CITY, actor=eng.actor(COUNTY))


def test_cc_lets_a_colleague_read_and_comment_but_not_act(review):
    green, iid, task = review
    eng = green.engine
    eng.cc(task.id, [CITY, "county-520303"], actor=eng.actor(COUNTY), note="供参阅")
    assert eng.task(task.id)["cc"] == [CITY, "county-520303"]
    eng.comment(task.id, "已阅，同意县级意见", actor=eng.actor("county-520303"))
    with pytest.raises(NotPermitted):
        eng.complete(task.id, PASS, actor=eng.actor("county-520303"))
    with pytest.raises(Conflict, match="already CC"):
        eng.cc(task.id, [CITY], actor=eng.actor(COUNTY))
    with pytest.raises(NotPermitted):  # a stranger may not comment
        eng.comment(task.id, "?", actor=eng.actor("county-520402"))
    assert len(events(eng, iid, "task_cc")) == 1 and len(events(eng, iid, "comment_added")) == 1


def test_only_a_supervisor_may_urge(review):
    green, iid, task = review
    eng = green.engine
    for outsider in (COUNTY_B, "city-520400", "eco-520300"):
        with pytest.raises(NotPermitted, match="催办"):
            eng.urge(task.id, actor=eng.actor(outsider))
    eng.urge(task.id, actor=eng.actor(CITY), note="请于本周内办结")
    eng.urge(task.id, actor=eng.actor("province"))
    view = eng.task(task.id)
    assert view["urge_count"] == 2 and view["urged_at"]
    assert [n["kind"] for n in notifications(eng, f"role:county_official@{UNIT.county}")] == ["urged", "urged"]
    assert len(events(eng, iid, "task_urged")) == 2


def test_empty_comment_is_refused(review):
    green, iid, task = review
    eng = green.engine
    with pytest.raises(InvalidInput) as info:
        eng.comment(task.id, "   ", actor=eng.actor(COUNTY))
    assert "text" in info.value.fields


def test_collaboration_events_keep_the_hash_chain(review):
    green, iid, task = review
    eng = green.engine
    eng.cc(task.id, [CITY], actor=eng.actor(COUNTY))
    eng.delegate(task.id, COUNTY_B, actor=eng.actor(COUNTY))
    eng.resolve_delegation(task.id, PASS, actor=eng.actor(COUNTY_B))
    eng.complete(task.id, PASS, actor=eng.actor(COUNTY))
    assert eng.verify_history(iid).ok
