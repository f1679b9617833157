"""A park's member enterprises (issue 16 item 3): maintained by the park, confirmed by its county, and counted by
第二十三条 (3 provincial or 1 national units) and 第二十七条 (a park is barred with its enterprises), both databases."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.identity import upsert_user
from handlers import demo, park_members
from handlers.park_members import ParkMember, ParkMemberEvent
from handlers.records import Listing, NegativeRecord, Unit
from handlers.rules.procedure import art23_park_needs_green_units
from handlers.start import applicant_scope
from handlers.uscc import make_uscc

PARK = demo.DemoUnit("P92", "遵义汇川高新技术产业开发区", "520303", None, unit_type="park")
NATIONAL = demo.DemoUnit("U40", "遵义汇川国家级绿色工厂有限公司", "520303", "38")
PROVINCIAL = [demo.DemoUnit(f"U{n}", f"遵义汇川省级绿色工厂{n}号有限公司", "520303", "34") for n in (41, 42, 43)]
COUNTY = "county-520303"  # 汇川区工信局


@pytest.fixture
def park(green):
    """A provincial-level park of 汇川区 on the city list, with its account, and listed enterprises (not members yet)."""
    now = green.engine.clock.now()
    with green.engine.db.unit_of_work() as s:
        s.add(Unit(credit_code=PARK.credit_code, name=PARK.name, unit_type="park", county_code=PARK.county,
                   park_level="provincial", created_at=now))
        s.add(Listing(credit_code=PARK.credit_code, unit_type="park", level="city", scope="520300", year=2025,
                      status="listed", listed_at=now - dt.timedelta(days=300)))
        for unit, level in [(NATIONAL, "national")] + [(u, "province") for u in PROVINCIAL]:
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=now))
            s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level=level,
                          scope={"national": "national", "province": "520000"}[level], year=2025, status="listed",
                          listed_at=now - dt.timedelta(days=300)))
        upsert_user(s, "ent-p92", display_name=PARK.name, grants=[("applicant", applicant_scope(PARK.credit_code))])
    return PARK


def propose(green, unit, joined="2025-01-01", actor="ent-p92"):
    with green.engine.db.unit_of_work() as s:
        row = park_members.propose_member(s, PARK.credit_code, {"member_credit_code": unit.credit_code,
                                                                "member_name": unit.name, "joined_on": joined},
                                          actor=green.engine.actor(actor), now=green.engine.clock.now(),
                                          today=dt.date(2026, 3, 2))
        return row.id


def decide(green, member_id, decision="confirm", actor=COUNTY, note=None):
    with green.engine.db.unit_of_work() as s:
        park_members.decide(s, member_id, decision, actor=green.engine.actor(actor), now=green.engine.clock.now(),
                            note=note)


def apply(green):
    data = demo.application_data(PARK, target_level="province", park_level="provincial", industry_code=None,
                                 year=2026)
    return green.view(green.engine.start("green_application", data, actor=green.engine.actor("ent-p92")).instance_id)


def article_23(green, today=dt.date(2026, 3, 2)):
    data = demo.application_data(PARK, target_level="province", park_level="provincial", industry_code=None,
                                 year=2026)
    with green.engine.db.session() as s:
        return art23_park_needs_green_units(s, data, today)


def violations(view, prefix):
    return [v for v in view["data"]["eligibility"]["violations"] if v["rule"].startswith(prefix)]


def test_a_confirmed_national_member_meets_article_23_a_proposed_one_does_not(green, park):
    member = propose(green, NATIONAL)
    before = apply(green)
    [v] = violations(before, "art23_park")
    assert v["article"] == "第二十三条" and "经县级确认的入园企业" in v["message_zh"] and "（第二十三条）" in v["message_zh"]
    decide(green, member)
    after = apply(green)
    assert violations(after, "art23_park") == [] and after["data"]["eligibility"]["eligible"] is True
    with green.engine.db.session() as s:
        assert [e.action for e in s.scalars(select(ParkMemberEvent).order_by(ParkMemberEvent.id))] == \
            ["propose_join", "confirm"]
        row = s.get(ParkMember, member)
        assert (row.status, row.proposed_by, row.decided_by) == ("confirmed", "ent-p92", COUNTY)


def test_three_provincial_members_meet_article_23_until_one_leaves(green, park):
    ids = [propose(green, u) for u in PROVINCIAL]
    for member_id in ids:
        decide(green, member_id)
    assert article_23(green) == []
    with green.engine.db.unit_of_work() as s:
        park_members.propose_leave(s, ids[0], "2026-02-01", actor=green.engine.actor("ent-p92"),
                                   now=green.engine.clock.now(), today=dt.date(2026, 3, 2))
    assert article_23(green) == []  # leaving counts once the county confirms it
    decide(green, ids[0])
    assert len(article_23(green, dt.date(2026, 1, 31))) == 0  # still a member the day before it left
    [v] = violations(apply(green), "art23_park")
    assert "省级2家" in v["message_zh"] and PROVINCIAL[0].name not in v["message_zh"]


def test_a_member_with_a_recent_ground_bars_the_park_citing_article_27_and_naming_it(green, park):
    decide(green, propose(green, NATIONAL))
    with green.engine.db.unit_of_work() as s:
        s.add(NegativeRecord(credit_code=NATIONAL.credit_code, item=6, occurred_on=dt.date(2025, 9, 1),
                             note="失信被执行人", source="信用中国"))
    view = apply(green)
    assert view["data"]["outcome"] == "refused"
    [v] = violations(view, "art27_park_member")
    assert (v["rule"], v["article"]) == ("art27_park_member_item6", "第二十七条")
    assert NATIONAL.name in v["message_zh"] and "（第二十七条第6项）" in v["message_zh"]
    assert "第二十七条" in view["data"]["outcome_reason"]


@pytest.mark.parametrize("fields, field", [
    ({"member_credit_code": "91520303MA0000001X"}, "credit_code"),  # wrong check character (handlers.uscc)
    ({"member_credit_code": PARK.credit_code}, "member_credit_code"),  # the park itself
    ({"member_name": " "}, "member_name"),
    ({"joined_on": "2099-01-01"}, "joined_on"),
    ({"joined_on": "上个月"}, "joined_on"),
])
def test_bad_proposals_name_the_field_and_change_nothing(green, park, fields, field):
    data = {"member_credit_code": NATIONAL.credit_code, "member_name": NATIONAL.name, "joined_on": "2025-01-01",
            **fields}
    with pytest.raises(InvalidInput) as err:
        with green.engine.db.unit_of_work() as s:
            park_members.propose_member(s, PARK.credit_code, data, actor=green.engine.actor("ent-p92"),
                                        now=green.engine.clock.now(), today=dt.date(2026, 3, 2))
    assert field in err.value.fields
    with green.engine.db.session() as s:
        assert s.scalars(select(ParkMember)).all() == []


def test_only_the_parks_body_proposes_and_only_its_county_confirms(green, park):
    with pytest.raises(NotPermitted):
        propose(green, NATIONAL, actor="ent-u1")
    member = propose(green, NATIONAL)
    with pytest.raises(Conflict):  # already proposed
        propose(green, NATIONAL)
    for outsider in ("county-520302", "city-520300", "ent-p92"):
        with pytest.raises(NotPermitted):
            decide(green, member, actor=outsider)
    with pytest.raises(InvalidInput) as err:  # a rejection needs its reason
        decide(green, member, "reject")
    assert "note" in err.value.fields
    decide(green, member, "reject", note="该企业不在园区规划范围内")
    with pytest.raises(Conflict):
        decide(green, member)
    with pytest.raises(NotFound):
        decide(green, 999)
    with green.engine.db.session() as s:
        assert s.get(ParkMember, member).status == "rejected"
        assert park_members.members_on(s, PARK.credit_code, dt.date(2026, 3, 2)) == []
