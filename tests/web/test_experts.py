"""专家库与评审组 pages (issue 16 item 4, 第十八条): the province keeps the pool and reads each panel, whose
scores stay sealed until every expert has answered; the real app on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.identity import upsert_user
from handlers import demo
from handlers.experts import ExpertProfile
from web.api.auth import issue_token


def profile(site, username: str) -> tuple | None:
    with site.engine.db.session() as s:
        p = s.get(ExpertProfile, username)
        return None if p is None else (sorted(p.fields), p.home_division, p.evaluator_id, p.active)


@pytest.fixture
def newcomer(site):
    with site.engine.db.unit_of_work() as s:
        upsert_user(s, "expert-new", display_name="评审专家 周工", grants=[("expert", "520000")])
    return "expert-new"


def test_the_province_adds_an_expert_to_the_pool_and_edits_them(site, newcomer):
    client = site.client("province")
    html = client.get("/experts/").get_data(as_text=True)
    assert 'data-testid="expert-pool"' in html and "评审专家 王工" in html and "遵义市 红花岗区" in html
    assert "评审专家 周工" in html  # offered in the add form
    body = {"username": newcomer, "fields": ["39", "factory"], "home_division": "520111", "evaluator_id": "EV001",
            "active": "yes"}
    assert client.post("/experts/", data=body).status_code == 303
    assert profile(site, newcomer) == (["39", "factory"], "520111", "EV001", True)
    page = client.get(f"/experts/{newcomer}").get_data(as_text=True)
    assert "评审专家 周工" in page and 'data-testid="expert-edit"' in page
    assert client.post("/experts/", data={**body, "active": "no", "edit": "yes"}).status_code == 303
    assert profile(site, newcomer)[3] is False
    english = client.get("/experts/?lang=en").get_data(as_text=True)
    assert "Expert pool" in english and "Experts in the pool" in english


@pytest.mark.parametrize("change, words", [
    ({"fields": []}, "评审领域"),
    ({"fields": ["99"]}, "评审领域"),
    ({"home_division": "999999"}, "所在地区"),
    ({"evaluator_id": "EV999"}, "所属第三方评价机构"),
    ({"username": "county-520302"}, "第十八条"),  # not an expert
    ({"username": ""}, "专家账号"),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(site, newcomer, change, words):
    body = {"username": newcomer, "fields": ["39"], "home_division": "520111", "active": "yes", **change}
    response = site.client("province").post("/experts/", data=body)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert words in html and 'role="alert">home_division' not in html  # the field's words, not its code
    assert profile(site, newcomer) is None
    assert profile(site, "county-520302") is None


@pytest.mark.parametrize("user", ["expert", "city-520300", "county-520302", "auditor", "ent-u1"])
def test_only_the_province_keeps_the_pool(site, user):
    client = site.client(user)
    assert client.get("/experts/").status_code == 403
    assert client.post("/experts/", data={"username": "expert", "fields": ["39"],
                                          "home_division": "520111"}).status_code == 403


def test_the_panel_page_shows_scores_only_once_the_panel_is_complete(site):
    green = site.scenario
    iid = green.to_panel(demo.UNITS[3])
    client = site.client("province")
    tasks = green.panel_tasks(iid)
    first = tasks[0]
    site.engine.complete(first.id, {"conflict_of_interest": False, "expert_score": 77, "expert_opinion": "独到见解甲",
                                    "site_check_needed": False}, actor=site.engine.actor(first.assignee))
    html = client.get(f"/experts/panels/{iid}").get_data(as_text=True)
    assert "待评分" in html and "已提交，全部评完后显示" in html and "独到见解甲" not in html and ">77<" not in html
    assert f"随机种子 {iid}/1" in html
    # the other experts' task pages do not show the first answer either (sealed until the panel settles)
    second = tasks[1]
    page = site.client(second.assignee).get(f"/tasks/{second.id}").get_data(as_text=True)
    assert "独到见解甲" not in page
    peek = site.client(second.assignee).get(f"/tasks/{first.id}")  # nor the first expert's own task page
    assert peek.status_code == 403 or "独到见解甲" not in peek.get_data(as_text=True)
    for reader in (second.assignee, "province"):  # nor the API's instance view, for anyone
        token = issue_token(site.engine, reader, name="panel")[1]
        body = site.client().get(f"/api/v1/instances/{iid}", headers={"Authorization": f"Bearer {token}"})
        assert body.status_code == 200 and "独到见解甲" not in body.get_data(as_text=True)
    for task, score in zip(tasks[1:], (80, 90)):
        site.engine.complete(task.id, {"conflict_of_interest": False, "expert_score": score,
                                       "expert_opinion": "独到见解乙", "site_check_needed": False},
                             actor=site.engine.actor(task.assignee))
    html = client.get(f"/experts/panels/{iid}").get_data(as_text=True)
    assert "独到见解甲" in html and ">77<" in html and "待评分" not in html
    assert "独到见解甲" in client.get(f"/instances/{iid}").get_data(as_text=True)  # the timeline, now unsealed


def test_a_pool_too_small_is_listed_for_the_province(site):
    green = site.scenario
    with site.engine.db.unit_of_work() as s:
        for p in s.scalars(select(ExpertProfile).where(ExpertProfile.username.in_(["expert-2", "expert-3",
                                                                                  "expert-4"]))):
            p.active = False
    iid = green.to_panel(demo.UNITS[3])
    html = site.client("province").get("/experts/").get_data(as_text=True)
    assert 'data-testid="panels-waiting"' in html and "只有 2 名" in html
    task = green.task(iid, "panel_staffing")
    page = site.client("province").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "补充评审专家" in page


def test_an_expert_who_tries_to_release_their_task_is_told_why_not(site):
    iid = site.scenario.to_panel(demo.UNITS[3])
    task = site.scenario.panel_tasks(iid)[0]
    response = site.client(task.assignee).post(f"/tasks/{task.id}/release")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "“专家评分”只能由" in html and "本人办理，不能释放、转办或委派" in html
    assert f">{task.assignee}<" not in html  # the expert by name, not by account
    assert site.engine.task(task.id)["assignee"] == task.assignee


def test_a_supervisor_who_tries_to_transfer_an_experts_task_is_told_why_not(site):
    iid = site.scenario.to_panel(demo.UNITS[3])
    task, other = site.scenario.panel_tasks(iid)[:2]
    response = site.client("province").post(f"/tasks/{task.id}/transfer", data={"to_user": other.assignee})
    assert response.status_code == 409
    assert "本人办理，不能释放、转办或委派" in response.get_data(as_text=True)
    assert site.engine.task(task.id)["assignee"] == task.assignee
