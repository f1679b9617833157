"""List publication with removals (第七、二十、二十七、二十九条), through the engine on both databases.

Every step drops the in-process workflow cache first (the driver's ``step``), so each
command reloads the instance from its stored state.  The clock starts on Monday
2026-03-02 09:00 China time (conftest.START).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotPermitted
from handlers import demo
from handlers.divisions import city_of
from handlers.list_publication import ListPublication, PublishedRemoval, publication_view, publications
from handlers.records import Listing, NegativeRecord, Unit
from handlers.removals import PendingRemoval
from handlers.uscc import make_uscc

U1, U2, U3, U4, U5, U6, U7 = demo.UNITS[:7]
LISTED_AT = dt.datetime(2025, 1, 10, 2, 0, tzinfo=dt.timezone.utc)


def put_on_list(engine, code: str, name: str, county: str, level: str, *, year: int = 2024) -> int:
    """``code`` on the ``level`` list, as an imported published list would put it; returns the listing id."""
    with engine.db.unit_of_work() as s:
        if s.scalar(select(Unit).where(Unit.credit_code == code)) is None:
            s.add(Unit(credit_code=code, name=name, unit_type="factory", county_code=county, industry_code="39",
                       created_at=LISTED_AT))
        scope = {"city": city_of(county), "province": "520000", "national": "national"}[level]
        listing = Listing(credit_code=code, unit_type="factory", level=level, scope=scope, year=year,
                          status="listed", listed_at=LISTED_AT)
        s.add(listing)
        s.flush()
        return listing.id


def negative(engine, code: str, item: int, day: str, note: str = "") -> None:
    with engine.db.unit_of_work() as s:
        s.add(NegativeRecord(credit_code=code, item=item, occurred_on=dt.date.fromisoformat(day), note=note,
                             source="测试"))


def pending(engine, code: str, listing_id: int, item: int, *, source_instance_id: int, reason: str) -> None:
    """A PendingRemoval as unit_incident / complaint leave it (handlers.removals)."""
    with engine.db.unit_of_work() as s:
        listing = s.get(Listing, listing_id)
        s.add(PendingRemoval(credit_code=code, listing_id=listing_id, level=listing.level, scope=listing.scope,
                             ground_item=item, article="第二十七条", reason=reason, source_process="unit_incident",
                             source_instance_id=source_instance_id, recorded_at=LISTED_AT))


def start_publication(green, level: str, scope: str, year: int = 2026, *, as_user: str) -> int:
    data = {"publication_level": level, "publication_scope": scope, "publication_year": year}
    return green.engine.start("list_publication", data, actor=green.engine.actor(as_user)).instance_id


def events(view: dict, event_type: str) -> list[dict]:
    return [e["payload"] for e in view["events"] if e["type"] == event_type]


def listing(green, listing_id: int) -> Listing:
    with green.engine.db.session() as s:
        return s.get(Listing, listing_id)


@pytest.fixture
def provincial_year(green):
    """Five provincial units: two clean (one new in 2026), items 7, 3 and 8 gathered during the year."""
    ids = {
        "clean": put_on_list(green.engine, U6.credit_code, U6.name, U6.county, "province"),
        "new": put_on_list(green.engine, U7.credit_code, U7.name, U7.county, "province", year=2026),
        "item7": put_on_list(green.engine, U2.credit_code, U2.name, U2.county, "province"),
        "item3": put_on_list(green.engine, U3.credit_code, U3.name, U3.county, "province"),
        "item8": put_on_list(green.engine, U4.credit_code, U4.name, U4.county, "province"),
    }
    # The annual campaign leaves only a NegativeRecord for item 7 (handlers.campaign.close_campaign).
    negative(green.engine, U2.credit_code, 7, "2025-04-16", "2025年4月15日前未填报动态管理表")
    # An incident and a complaint leave a NegativeRecord and a PendingRemoval (handlers.removals).
    negative(green.engine, U3.credit_code, 3, "2025-11-20", "重大生产安全事故")
    pending(green.engine, U3.credit_code, ids["item3"], 3, source_instance_id=901, reason="重大生产安全事故（第二十六条核实）")
    negative(green.engine, U4.credit_code, 8, "2025-12-01", "举报核实：能耗数据造假")
    pending(green.engine, U4.credit_code, ids["item8"], 8, source_instance_id=902, reason="举报核实：能耗数据造假")
    return ids


def test_provincial_publication_removes_units_with_their_grounds_and_announces_them(green, provincial_year):
    ids = provincial_year
    iid = start_publication(green, "province", "520000", as_user="province")
    check = green.task(iid, "confirm_publication")
    assert (check.role, check.scope) == ("province_official", "520000")
    prepared = green.view(iid)["data"]["publication"]
    assert sorted(u["credit_code"] for u in prepared["listed"]) == sorted([U6.credit_code, U7.credit_code])
    assert [u["credit_code"] for u in prepared["listed"] if u["new"]] == [U7.credit_code]
    assert {u["credit_code"]: [g["ground"] for g in u["grounds"]] for u in prepared["removed"]} == {
        U2.credit_code: ["第二十七条第7项"], U3.credit_code: ["第二十七条第3项"], U4.credit_code: ["第二十七条第8项"]}
    assert listing(green, ids["item7"]).status == "listed"  # nothing is removed before publication

    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "黔工信节〔2026〕9号"})
    view = green.view(iid)
    assert view["status"] == "completed"
    for key, ground in (("item7", "第二十七条第7项"), ("item3", "第二十七条第3项"), ("item8", "第二十七条第8项")):
        row = listing(green, ids[key])
        assert (row.status, row.removal_ground) == ("removed", ground)
        assert row.removed_at is not None
    assert listing(green, ids["clean"]).status == listing(green, ids["new"]).status == "listed"
    with green.engine.db.session() as s:
        assert all(p.published_at is not None and p.publication_instance_id == iid
                   for p in s.scalars(select(PendingRemoval)))
        # item 7 had no PendingRemoval: the publication recorded it (source: the publication)
        [own] = s.scalars(select(PendingRemoval).where(PendingRemoval.source_instance_id == iid)).all()
        assert (own.credit_code, own.ground_item, own.source_process) == (U2.credit_code, 7, "list_publication")
        announced = {(r.credit_code, r.ground, r.article) for r in s.scalars(select(PublishedRemoval))}
        assert announced == {(U2.credit_code, "第二十七条第7项", "第二十七条"), (U3.credit_code, "第二十七条第3项", "第二十七条"),
                             (U4.credit_code, "第二十七条第8项", "第二十七条")}
        public = publication_view(s, "province", "520000", 2026)
        assert publications(s)[0]["reference"] == "黔工信节〔2026〕9号"
    assert public["status"] == "published" and public["reference"] == "黔工信节〔2026〕9号"
    removed = {u["credit_code"]: u for u in public["removed"]}
    assert removed[U2.credit_code]["grounds"][0]["text_zh"] == "拒不按时填报动态管理表"
    assert removed[U3.credit_code]["unit_name"] == U3.name
    assert [e["credit_code"] for e in events(view, "removal_pending")] == [U2.credit_code]
    assert sorted(e["credit_code"] for e in events(view, "listing_removed")) == sorted(
        [U2.credit_code, U3.credit_code, U4.credit_code])
    [published] = events(view, "list_published")
    assert published["article"] == "第二十条" and published["new"] == [U7.credit_code]
    assert green.engine.verify_history(iid).ok


def test_a_removal_recorded_after_the_check_is_published_after_a_refresh(green, provincial_year):
    iid = start_publication(green, "province", "520000", as_user="province")
    negative(green.engine, U6.credit_code, 2, "2026-03-01", "工商注销")  # arrives while the list is being checked
    green.step(iid, "confirm_publication", {"publication_decision": "refresh"})
    prepared = green.view(iid)["data"]["publication"]
    assert U6.credit_code in {u["credit_code"] for u in prepared["removed"]}
    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "黔工信节〔2026〕10号"})
    assert listing(green, provincial_year["clean"]).removal_ground == "第二十七条第2项"


def test_a_unit_removed_for_items_1_to_6_is_barred_from_applying_for_three_years(green, provincial_year):
    iid = start_publication(green, "province", "520000", as_user="province")
    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "黔工信节〔2026〕9号"})
    app = green.apply(U3)  # item 3 on 2025-11-20
    view = green.view(app)
    assert view["data"]["outcome"] == "refused"
    rules = {v["rule"] for v in view["data"]["eligibility"]["violations"]}
    assert "art27_item3_within_three_years" in rules
    assert all(v["article"] == "第二十七条" for v in view["data"]["eligibility"]["violations"])


def test_items_7_and_8_alone_do_not_bar_an_application(green, provincial_year):
    """Before the publication the NegativeRecords of items 7 and 8 bar nothing (第二十七条: 1—6项)."""
    for unit in (U2, U4):
        view = green.view(green.apply(unit))
        assert view["data"].get("outcome") != "refused", view["data"]["eligibility"]
        assert green.task(view["id"], "review")


def test_units_removed_for_items_7_or_8_are_barred_as_removed_units(green, provincial_year):
    """第二十七条 item 1 (被动态调整出绿色制造名单的) bars any unit removed from a list for three years,
    whatever ground removed it: items 7 and 8 do not bar by themselves, the removal does."""
    for unit in (U2, U4):  # before publication: item 7 / 8 alone does not bar an application
        view = green.view(green.apply(unit))
        assert view["data"].get("outcome") != "refused", view["data"]["eligibility"]["violations"]
    iid = start_publication(green, "province", "520000", as_user="province")
    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "黔工信节〔2026〕9号"})
    for unit in (U2, U4):  # after it: removed, so barred under item 1 (the city applications above still run:
        view = green.view(green.apply(unit, target_level="province"))  # one running per level, 第十四条)
        assert view["data"].get("outcome") == "refused"
        assert any(v["article"].startswith("第二十七条") for v in view["data"]["eligibility"]["violations"])


def test_city_list_counts_provincial_and_national_units_of_the_city_and_removes_only_its_own(green):
    """第七条: 已列入国家、省层面名单的，可自动视为市层面名单 — shown as deemed, never removed by the city."""
    zunyi_national = make_uscc("91520302MA6XN0001")
    own = put_on_list(green.engine, U1.credit_code, U1.name, U1.county, "city", year=2026)
    put_on_list(green.engine, U1.credit_code, U1.name, U1.county, "province")  # also provincial: listed once
    put_on_list(green.engine, zunyi_national, "遵义国家级示范工厂有限公司", "520302", "national")
    put_on_list(green.engine, U2.credit_code, U2.name, U2.county, "province")  # 贵阳: not 遵义's
    u5_city = put_on_list(green.engine, U5.credit_code, U5.name, U5.county, "city")
    u5_province = put_on_list(green.engine, U5.credit_code, U5.name, U5.county, "province")
    negative(green.engine, U5.credit_code, 7, "2025-04-16")

    iid = start_publication(green, "city", "520300", as_user="city-520300")
    assert green.task(iid, "confirm_publication").scope == "520300"
    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "遵工信〔2026〕3号"})
    with green.engine.db.session() as s:
        public = publication_view(s, "city", "520300", 2026)
    assert [(u["credit_code"], u["new"]) for u in public["listed"]] == [(U1.credit_code, True)]
    assert [(u["credit_code"], u["levels"], u["article"]) for u in public["deemed"]] == [
        (zunyi_national, ["national"], "第七条")]
    assert [u["credit_code"] for u in public["removed"]] == [U5.credit_code]  # removed: not shown as deemed
    assert listing(green, u5_city).status == "removed"
    assert listing(green, u5_province).status == "listed"  # the province removes it at its own publication
    assert listing(green, own).status == "listed"
    with green.engine.db.session() as s:
        assert s.scalar(select(Listing).where(Listing.credit_code == zunyi_national, Listing.level == "city")) is None

    later = start_publication(green, "province", "520000", as_user="province")
    prepared = green.view(later)["data"]["publication"]
    assert {u["credit_code"]: [g["ground"] for g in u["grounds"]] for u in prepared["removed"]} == {
        U5.credit_code: ["第二十七条第7项"]}


@pytest.mark.parametrize("data,as_user,error,field", [
    ({"publication_level": "city", "publication_scope": "520300"}, "city-520100", NotPermitted, None),
    ({"publication_level": "province", "publication_scope": "520000"}, "city-520300", NotPermitted, None),
    ({"publication_level": "city", "publication_scope": "520302"}, "county-520302", InvalidInput, "publication_scope"),
    ({"publication_level": "province", "publication_scope": "520300"}, "province", InvalidInput, "publication_scope"),
    ({"publication_level": "city", "publication_scope": "520300", "publication_year": 2027}, "city-520300",
     InvalidInput, "publication_year"),
])
def test_who_publishes_which_list_is_checked_at_the_start(green, data, as_user, error, field):
    data = {"publication_year": 2026, **data}
    with pytest.raises(error) as err:
        green.engine.start("list_publication", data, actor=green.engine.actor(as_user))
    if field:
        assert field in err.value.fields
    assert green.engine.count_instances() == {}


def test_a_list_is_published_once_a_year(green):
    iid = start_publication(green, "city", "520300", as_user="city-520300")
    with pytest.raises(Conflict):
        start_publication(green, "city", "520300", as_user="city-520300-b")
    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "遵工信〔2026〕3号"})
    with pytest.raises(Conflict):
        start_publication(green, "city", "520300", as_user="city-520300")
    with green.engine.db.session() as s:
        assert [p.status for p in s.scalars(select(ListPublication))] == ["published"]


def test_publishing_needs_a_document_number(green):
    iid = start_publication(green, "city", "520300", as_user="city-520300")
    with pytest.raises(InvalidInput) as err:
        green.step(iid, "confirm_publication", {"publication_decision": "publish"})
    assert "publication_ref" in err.value.fields
    assert green.task(iid, "confirm_publication")
