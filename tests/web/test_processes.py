"""发起流程: officials and units start the processes that begin with a form."""
from __future__ import annotations

import re

from handlers import demo


def offered(site, user: str) -> set[str]:
    html = site.client(user).get("/processes/").get_data(as_text=True)
    return set(re.findall(r'/processes/(\w+)/start', html))


def test_each_user_is_offered_what_it_may_start(site):
    assert offered(site, "province") >= {"list_publication", "evaluator_finding", "evaluator_registry",
                                         "unit_incident", "cultivation_plan"}
    county = offered(site, "county-520302")
    assert {"unit_incident", "cultivation_plan"} <= county and "evaluator_finding" not in county
    assert offered(site, "ent-u1") == {"unit_change", "cultivation_report"}
    assert offered(site, "auditor") == set()
    assert "green_application" not in offered(site, "ent-u1") and "complaint" not in offered(site, "province")


def test_the_province_starts_its_list_publication_from_the_form(site):
    client = site.client("province")
    assert 'name="publication_level"' in client.get("/processes/list_publication/start").get_data(as_text=True)
    bad = client.post("/processes/list_publication/start", data={"publication_level": "province"})
    assert bad.status_code == 422
    response = client.post("/processes/list_publication/start", data={
        "publication_level": "province", "publication_scope": "520000", "publication_year": "2026"})
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    iid = int(response.headers["Location"].rsplit("/", 1)[1])
    assert site.engine.instance(iid)["process_id"] == "list_publication"
    assert site.scenario.open_tasks(iid)


def test_a_city_may_not_publish_the_provincial_list(site):
    response = site.client("city-520300").post("/processes/list_publication/start", data={
        "publication_level": "province", "publication_scope": "520000", "publication_year": "2026"})
    assert response.status_code in (403, 422)
    assert site.engine.count_instances() == {}


def test_an_applicant_cannot_open_a_province_form(site):
    assert site.client(f"ent-{demo.UNITS[0].key.lower()}").get("/processes/evaluator_finding/start").status_code == 403
