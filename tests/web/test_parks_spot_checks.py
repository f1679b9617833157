"""入园企业 and 现场抽查复核 pages (issue 16 items 3 and 7): the park keeps its members, the county confirms them;
an official starts a spot check from its form and follows its sample; the real app on both databases."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.identity import upsert_user
from handlers import demo
from handlers.park_members import ParkMember
from handlers.records import Listing, Unit
from handlers.spot_checks import SpotCheck
from handlers.start import applicant_scope
from handlers.uscc import make_uscc

PARK = make_uscc("12520302MB0000094")
U1, U2 = demo.UNITS[0], demo.UNITS[1]


@pytest.fixture
def park(site):
    eng = site.engine
    with eng.db.unit_of_work() as s:
        s.add(Unit(credit_code=PARK, name="红花岗经济开发区", unit_type="park", county_code="520302",
                   park_level="provincial", created_at=eng.clock.now()))
        upsert_user(s, "ent-park", display_name="红花岗经济开发区管委会", grants=[("applicant", applicant_scope(PARK))])
    return PARK


def members(site):
    with site.engine.db.session() as s:
        return [(m.member_credit_code, m.status, m.left_on) for m in s.scalars(select(ParkMember).order_by(ParkMember.id))]


def test_the_park_proposes_a_member_and_its_county_confirms_it(site, park):
    body = {"member_credit_code": U1.credit_code, "member_name": U1.name, "joined_on": "2025-03-01"}
    client = site.client("ent-park")
    assert "红花岗经济开发区" in client.get("/parks/").get_data(as_text=True)
    assert client.post(f"/parks/{park}/members", data=body).status_code == 303
    html = client.get(f"/parks/{park}").get_data(as_text=True)
    assert "待县级确认" in html and U1.name in html
    county = site.client("county-520302")
    pending = county.get("/parks/").get_data(as_text=True)
    assert 'data-testid="park-pending"' in pending and U1.name in pending
    [row] = members(site)
    with site.engine.db.session() as s:
        member_id = s.scalar(select(ParkMember.id))
    assert county.post(f"/parks/members/{member_id}/decision", data={"decision": "confirm", "next": "index"}).status_code == 303
    assert members(site) == [(U1.credit_code, "confirmed", None)]
    english = client.get(f"/parks/{park}?lang=en").get_data(as_text=True)
    assert "Confirmed, in the park" in english and "Members" in english
    # leaving: reported by the park, confirmed by the county
    assert client.post(f"/parks/members/{member_id}/leave", data={"left_on": "2026-02-01"}).status_code == 303
    assert county.post(f"/parks/members/{member_id}/decision", data={"decision": "confirm"}).status_code == 303
    assert members(site) == [(U1.credit_code, "confirmed", dt.date(2026, 2, 1))]


@pytest.mark.parametrize("body, field", [
    ({"member_credit_code": "91520302MA0000001X"}, "credit_code"),
    ({"member_credit_code": PARK}, "member_credit_code"),
    ({"joined_on": "2099-01-01"}, "joined_on"),
    ({"member_name": ""}, "member_name"),
])
def test_a_bad_member_is_a_422_naming_the_field_and_writes_nothing(site, park, body, field):
    form = {"member_credit_code": U1.credit_code, "member_name": U1.name, "joined_on": "2025-03-01", **body}
    response = site.client("ent-park").post(f"/parks/{park}/members", data=form)
    assert response.status_code == 422 and field in response.get_data(as_text=True)
    assert members(site) == []


def test_another_county_or_a_factory_cannot_touch_the_parks_members(site, park):
    site.client("ent-park").post(f"/parks/{park}/members", data={
        "member_credit_code": U1.credit_code, "member_name": U1.name, "joined_on": "2025-03-01"})
    with site.engine.db.session() as s:
        member_id = s.scalar(select(ParkMember.id))
    assert site.client("county-520303").post(f"/parks/members/{member_id}/decision",
                                              data={"decision": "confirm"}).status_code == 403
    assert site.client("ent-u1").post(f"/parks/{park}/members", data={}).status_code == 403
    assert site.client("county-520302").post(f"/parks/members/{member_id}/decision",
                                             data={"decision": "reject"}).status_code == 422  # no reason
    assert members(site) == [(U1.credit_code, "proposed", None)]


def listed(site, *units):
    with site.engine.db.unit_of_work() as s:
        for unit in units:
            s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level="city", scope="520300", year=2025,
                          status="listed", listed_at=dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)))


def test_a_city_starts_a_spot_check_and_follows_its_sample(site):
    listed(site, U1, demo.UNITS[4])
    client = site.client("city-520300")
    assert 'data-testid="start-spot-check"' in client.get("/spot-checks/").get_data(as_text=True)
    response = client.post("/processes/spot_check/start", data={"list_level": "city", "unit_type": "all",
                                                               "sample_size": "1", "seed": "遵义2026"})
    assert response.status_code == 303
    with site.engine.db.session() as s:
        check = s.scalar(select(SpotCheck))
    page = client.get(f"/spot-checks/{check.id}").get_data(as_text=True)
    assert "遵义2026" in page and "待核查" in page and "已核查 0 / 1 家" in page
    assert str(check.id) in client.get("/spot-checks/").get_data(as_text=True)
    assert site.client("city-520100").get(f"/spot-checks/{check.id}").status_code == 403
    assert site.client("province").get(f"/spot-checks/{check.id}").status_code == 200
    assert "Random seed" in client.get(f"/spot-checks/{check.id}?lang=en").get_data(as_text=True)


def test_a_spot_check_without_size_or_rate_is_a_422_and_starts_nothing(site):
    listed(site, U1)
    response = site.client("city-520300").post("/processes/spot_check/start",
                                               data={"list_level": "city", "unit_type": "all"})
    assert response.status_code == 422 and "sample_size" in response.get_data(as_text=True)
    response = site.client("county-520302").post("/processes/spot_check/start",
                                                 data={"list_level": "city", "unit_type": "all", "sample_size": "1"})
    assert response.status_code == 403
    with site.engine.db.session() as s:
        assert s.scalars(select(SpotCheck)).all() == []
