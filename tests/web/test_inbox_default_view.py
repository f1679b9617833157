"""The inbox's default view (issue 15): all the work an official can do, most urgent first;
opening a claimable task claims it; the second official reads who has it; filters the official covers."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from engine.identity import Actor
from engine.inbox import InboxQuery, inbox_page
from engine.models import Event
from handlers import demo
from tests.scenarios.driver import PASS

U1 = demo.UNITS[0]  # 红花岗区 520302 (遵义市)
COUNTY, COLLEAGUE = f"county-{U1.county}", f"county-{U1.county}-b"


def counts(html: str) -> dict[str, int]:
    return {tab: int(n) for tab, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


LEVELS = ("city", "province", "national")  # one running application per unit, type, level and year (第十四条)


def events_of(site, iid: int, kind: str) -> list[Event]:
    with site.engine.db.session() as s:
        return list(s.scalars(select(Event).where(Event.instance_id == iid, Event.type == kind)))


def test_the_default_view_holds_my_tasks_and_my_units_claimable_ones_most_urgent_first(site):
    green = site.scenario
    first = green.apply(U1)
    site.engine.clock.advance(days=1)
    second = green.apply(U1, target_level="province")
    mine = green.task(second, "review")
    site.engine.claim(mine.id, actor=site.engine.actor(COUNTY))
    html = site.client(COUNTY).get("/inbox/").get_data(as_text=True)
    assert 'data-tab="all" title="' in html and 'class="active" aria-current="page"' in html
    assert counts(html) == {"all": 2, "todo": 1, "claimable": 1, "done": 0, "cc": 0, "overdue": 0}
    assert task_ids(html) == [green.task(first, "review").id, mine.id]  # the earlier due date first
    assert "我已认领" in html and "待认领" in html


def test_the_default_view_pages_and_filters_across_mine_and_claimable(site):
    green = site.scenario
    ids = []
    for level in LEVELS:
        iid = green.apply(U1, target_level=level)
        ids.append(green.task(iid, "review").id)
        site.engine.clock.advance(days=1)
    site.engine.claim(ids[1], actor=site.engine.actor(COUNTY))
    client = site.client(COUNTY)
    pages = [task_ids(client.get(f"/inbox/?per_page=1&page={p}").get_data(as_text=True)) for p in (1, 2, 3)]
    assert pages == [[ids[0]], [ids[1]], [ids[2]]]
    html = client.get("/inbox/?level=province").get_data(as_text=True)
    assert task_ids(html) == [ids[1]] and counts(html)["all"] == 1 and counts(html)["claimable"] == 2


def test_the_engine_merges_the_branches_of_every_grant(wf_engine, green):
    """An official of two units sees both units' claimable work in one view, in due order."""
    a = green.apply(U1)
    b = green.apply(demo.UNITS[1])  # 云岩区 520103
    both = Actor("two-desks", grants=frozenset({("county_official", "520302"), ("county_official", "520103")}))
    with wf_engine.db.session() as session:
        page = inbox_page(session, both, InboxQuery(tab="all"), wf_engine.clock.now())
    assert [r.instance_id for r in page.rows] == [a, b]
    assert page.counts["all"] == 2 == page.counts["claimable"]
    with wf_engine.db.session() as session:
        one = inbox_page(session, both, InboxQuery(tab="all", facets={"county_code": "520103"}), wf_engine.clock.now())
    assert [r.instance_id for r in one.rows] == [b] and one.counts["all"] == 1


def test_opening_a_claimable_task_claims_it(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    page = site.client(COUNTY).get(f"/tasks/{task.id}")
    assert page.status_code == 200 and 'data-testid="task-form"' in page.get_data(as_text=True)
    assert site.engine.task(task.id)["assignee"] == COUNTY
    assert [e.actor for e in events_of(site, iid, "task_claimed")] == [COUNTY]
    html = site.client(COUNTY).get("/inbox/").get_data(as_text=True)
    assert counts(html)["todo"] == 1 and task_ids(html) == [task.id]  # the view did not change under it


def test_a_browsers_prefetch_claims_nothing_and_a_supervisor_reading_claims_nothing(site):
    green = site.scenario
    task = green.task(green.apply(U1), "review")
    site.client(COUNTY).get(f"/tasks/{task.id}", headers={"Sec-Purpose": "prefetch"})
    site.client("city-520300").get(f"/tasks/{task.id}")
    assert site.engine.task(task.id)["assignee"] is None


def test_completing_an_unclaimed_task_needs_no_claim(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    response = site.client(COUNTY).post(f"/tasks/{task.id}", data=PASS)
    assert response.status_code == 302 and site.engine.task(task.id)["completed_by"] == COUNTY


def test_the_second_official_reads_who_has_it_and_gets_a_clear_conflict(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    first, second = site.client(COUNTY), site.client(COLLEAGUE)
    second_form = second.get(f"/tasks/{task.id}")  # she opened it first: hers
    assert site.engine.task(task.id)["assignee"] == COLLEAGUE and second_form.status_code == 200
    late = first.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="taken-by-other"' in late and "红花岗区工信局 科员" in late
    assert 'data-testid="task-form"' not in late and COLLEAGUE + "<" not in late
    refused = first.post(f"/tasks/{task.id}", data=PASS)
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "该事项已由 红花岗区工信局 科员 认领" in body
    assert site.engine.task(task.id)["status"] == "open" and not events_of(site, iid, "task_completed")
    assert second.post(f"/tasks/{task.id}", data=PASS).status_code == 302
    again = first.post(f"/tasks/{task.id}", data=PASS)
    assert again.status_code == 409 and "该事项已由 红花岗区工信局 科员 办理，无需再办" in again.get_data(as_text=True)


def test_a_claim_from_the_list_that_lost_the_race_says_who_won(site):
    green = site.scenario
    task = green.task(green.apply(U1), "review")
    site.engine.claim(task.id, actor=site.engine.actor(COLLEAGUE))
    refused = site.client(COUNTY).post(f"/tasks/{task.id}/claim?next=/inbox/")
    assert refused.status_code == 409 and "红花岗区工信局 科员" in refused.get_data(as_text=True)


def test_filters_offer_what_the_official_covers(site):
    bureau = site.client("eco-520300").get("/inbox/").get_data(as_text=True)
    cities = re.search(r'<select id="f-city".*?</select>', bureau, re.S).group(0)
    assert re.findall(r'<option value="(\w+)"', cities) == ["520300"]
    county = site.client(COUNTY).get("/inbox/").get_data(as_text=True)
    assert re.findall(r'<option value="(\w+)"', re.search(r'<select id="f-county".*?</select>', county,
                                                           re.S).group(0)) == ["520302"]
    province = site.client("province").get("/inbox/").get_data(as_text=True)
    assert len(re.findall(r'<option value="\w+"', re.search(r'<select id="f-city".*?</select>', province,
                                                             re.S).group(0))) == 10  # 9 cities and 贵安新区
    processes = re.search(r'<select id="f-process".*?</select>', county, re.S).group(0)
    assert "绿色制造名单申报" in processes
    assert ">审核<" not in processes and ">公示<" not in processes  # sub-processes are never an instance


def test_the_english_inbox_names_tasks_and_processes_in_english(site):
    green = site.scenario
    green.apply(U1)
    html = site.client(COUNTY).get("/inbox/?lang=en").get_data(as_text=True)
    assert "All my work" in html and ">Review</a>" in html and "Green list application" in html
    assert 'placeholder="YYYY-MM-DD"' in html and 'type="date"' not in html


def test_the_default_tab_keeps_the_api_default(site):
    """The API's default stays 我的待办 (tab=todo) for its clients; tab=all is there too."""
    green = site.scenario
    green.apply(U1)
    now = site.engine.clock.now()
    actor = site.engine.actor(COUNTY)
    page = site.engine.inbox(actor, InboxQuery())
    assert page.query.tab == "todo" and page.counts["all"] == 1
    assert site.engine.inbox(actor, InboxQuery(tab="all", due_by=now + dt.timedelta(days=30))).total == 1
