"""The inbox: tabs with counts, filters, sorting, paging, claim from the list, bulk answers."""
from __future__ import annotations

import re

import pytest

from handlers import demo
from tests.scenarios.driver import PASS

U1, U2 = demo.UNITS[0], demo.UNITS[1]  # 红花岗区 520302 (遵义市) / 云岩区 520103 (贵阳市)
COUNTY = f"county-{U1.county}"


def counts(html: str) -> dict[str, int]:
    return {tab: int(n) for tab, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


def test_county_official_sees_its_county_only_with_counts(site):
    green = site.scenario
    mine = green.apply(U1)
    green.apply(U2)  # 贵阳: not this county's
    page = site.client(COUNTY).get("/inbox/?tab=claimable")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert counts(html) == {"all": 1, "todo": 0, "claimable": 1, "done": 0, "cc": 0, "overdue": 0}
    assert task_ids(html) == [green.task(mine, "review").id]
    assert U1.name in html and U2.name not in html


def test_claim_from_the_list_moves_the_task_to_todo(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    client = site.client(COUNTY)
    response = client.post(f"/tasks/{task.id}/claim?next=/inbox/?tab=claimable")
    assert response.status_code == 303
    html = client.get("/inbox/").get_data(as_text=True)
    assert counts(html)["todo"] == 1 and counts(html)["claimable"] == 0
    assert task_ids(html) == [task.id]
    # the colleague no longer sees it as claimable
    assert counts(site.client(f"{COUNTY}-b").get("/inbox/?tab=claimable").get_data(as_text=True))["claimable"] == 0


def test_filters_narrow_the_list_and_the_counts(site):
    green = site.scenario
    city_app = green.apply(U1)
    province_app = green.apply(U1, target_level="province", unit_name="遵义红花岗省级申报示范厂")
    for iid in (city_app, province_app):
        green.step(iid, "review", PASS)  # county passes: both at the city now
    client = site.client("city-520300")
    html = client.get("/inbox/?tab=claimable").get_data(as_text=True)
    assert counts(html)["claimable"] == 2
    html = client.get("/inbox/?tab=claimable&level=province").get_data(as_text=True)
    assert counts(html)["claimable"] == 1 and task_ids(html) == [green.task(province_app, "review").id]
    assert counts(client.get(f"/inbox/?tab=claimable&county={U1.county}").get_data(as_text=True))["claimable"] == 2
    assert counts(client.get("/inbox/?tab=claimable&county=520303").get_data(as_text=True))["claimable"] == 0
    html = client.get("/inbox/?tab=claimable&q=省级申报示范").get_data(as_text=True)
    assert task_ids(html) == [green.task(province_app, "review").id]
    html = client.get("/inbox/?tab=claimable&q=不存在的单位").get_data(as_text=True)
    assert task_ids(html) == [] and "没有符合条件的事项" in html
    html = client.get("/inbox/?tab=claimable&process=green_application&unit_type=factory").get_data(as_text=True)
    assert counts(html)["claimable"] == 2


def test_overdue_rows_stand_out_and_have_their_own_tab(site):
    green = site.scenario
    iid = green.apply(U1)
    site.engine.clock.advance(days=20)  # past the 10 working days
    html = site.client(COUNTY).get("/inbox/?tab=overdue").get_data(as_text=True)
    assert counts(html)["overdue"] == 1
    row = re.search(r'<tr class="([^"]*)" data-task-id="%d"' % green.task(iid, "review").id, html)
    assert row and row.group(1) == "overdue" and "已逾期" in html


def test_due_soon_is_marked(site):
    green = site.scenario
    iid = green.apply(U1)
    site.engine.clock.advance(days=11)  # Friday 13 March; due 10 working days after 2 March: Monday 16 March
    html = site.client(COUNTY).get("/inbox/?tab=claimable").get_data(as_text=True)
    assert re.search(r'<tr class="due-soon" data-task-id="%d"' % green.task(iid, "review").id, html)


def test_done_and_cc_tabs(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    site.engine.cc(task.id, ["city-520300"], actor=site.engine.actor(COUNTY))
    assert task_ids(site.client("city-520300").get("/inbox/?tab=cc").get_data(as_text=True)) == [task.id]
    green.step(iid, "review", PASS, as_user=COUNTY)
    html = site.client(COUNTY).get("/inbox/?tab=done").get_data(as_text=True)
    assert counts(html)["done"] == 1 and task_ids(html) == [task.id]


def test_paging(site):
    green = site.scenario
    for level in ("city", "province", "national"):  # one running application per level (第十四条)
        green.apply(U1, target_level=level)
    client = site.client(COUNTY)
    first = task_ids(client.get("/inbox/?tab=claimable&per_page=2").get_data(as_text=True))
    second = task_ids(client.get("/inbox/?tab=claimable&per_page=2&page=2").get_data(as_text=True))
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)


@pytest.mark.parametrize("query, field", [
    ("tab=everything", "tab"), ("sort=random", "sort"), ("page=0", "page"), ("page=x", "page"),
    ("per_page=1000", "per_page"), ("due_by=31/12/2026", "due_by"),
])
def test_bad_parameters_are_422_naming_the_field(site, query, field):
    response = site.client(COUNTY).get(f"/inbox/?{query}")
    assert response.status_code == 422 and field in response.get_data(as_text=True)


def test_bulk_no_objection_answers_each_task_with_its_own_event(site):
    green = site.scenario
    first, second = green.apply(U1), green.apply(U1, unit_name="遵义黔北绿色电子科技有限公司二厂", year=2027)  # 第十四条
    for iid in (first, second):
        green.step(iid, "review", PASS)
        green.step(iid, "review", PASS)  # now the four bureaus are consulted
    client = site.client("eco-520300")
    html = client.get("/inbox/?tab=claimable").get_data(as_text=True)
    ids = task_ids(html)
    assert len(ids) == 2 and 'name="task_id"' in html
    response = client.post("/inbox/bulk", data={"task_id": [str(i) for i in ids], "next": "/inbox/"})
    assert response.status_code == 302
    for iid in (first, second):
        completed = [e for e in site.engine.instance(iid)["events"] if e["type"] == "task_completed"
                     and e["actor"] == "eco-520300"]
        assert len(completed) == 1 and completed[0]["payload"]["data"] == {"opinion": "no_objection"}


def test_bulk_refuses_tasks_without_a_bulk_answer(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    client = site.client(COUNTY)
    client.post("/inbox/bulk", data={"task_id": [str(task.id)]})
    assert green.task(iid, "review").status == "open"
    assert "不能批量办理" in client.get("/inbox/").get_data(as_text=True)


def test_applicants_and_anonymous_have_no_inbox(site):
    assert site.client().get("/inbox/").status_code == 302  # to the login page
    response = site.client("ent-u1").get("/inbox/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
