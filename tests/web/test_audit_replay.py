"""The auditors' search and step-through pages, the API and the CLI of replay (both databases)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.identity import upsert_user
from engine.models import Event
from engine.replay.models import ReplayRun
from handlers import demo
from tests.engine.test_replay import OBJECTION_UPHELD, upheld_objection
from tests.scenarios.driver import PASS
from tests.web.test_api import app, as_user  # noqa: F401  (fixtures)
from web.api import auth

AUDITOR = "auditor"  # the demo's province auditor


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def access_actions(engine) -> list[tuple[str, str, str]]:
    from engine.evidence.models import AccessLogEntry

    with engine.db.session() as s:
        return [(e.action, e.object_ref, e.result) for e in s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))]


@pytest.fixture
def city_auditor(green):
    with green.engine.db.unit_of_work() as s:
        upsert_user(s, "auditor-520300", display_name="遵义市审计人员", grants=[("auditor", "520300")])
    return "auditor-520300"


# --- who may audit -------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["county-520302", "city-520300", "province", "ent-u1", "owner"])
def test_only_auditors_use_the_audit_pages(site, username):
    iid = site.scenario.apply(demo.UNITS[0])
    client = site.client(username)
    for url in ("/audit/", f"/audit/instances/{iid}", f"/audit/instances/{iid}/diagram.json"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/audit/instances/{iid}/replay").status_code == 403
    assert ("audit.page", "/audit/", "denied") in access_actions(site.engine)


def test_a_city_auditor_audits_only_its_city(site, city_auditor):
    zunyi = site.scenario.apply(demo.UNITS[0])   # 遵义 红花岗区
    guiyang = site.scenario.apply(demo.UNITS[1])  # 贵阳 云岩区
    client = site.client(city_auditor)
    listed = text(client.get("/audit/"))
    assert demo.UNITS[0].name in listed and demo.UNITS[1].name not in listed
    assert client.get(f"/audit/instances/{zunyi}").status_code == 200
    assert client.get(f"/audit/instances/{guiyang}").status_code == 403
    assert ("audit.view_instance", f"instance:{guiyang}", "denied") in access_actions(site.engine)


def test_anonymous_visitors_are_sent_to_log_in(site):
    response = site.client().get("/audit/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# --- the search ----------------------------------------------------------------------------------------

def test_search_finds_instances_where_something_happened(site):
    green = site.scenario
    objected = upheld_objection(green)
    plain = green.apply(demo.UNITS[0])
    client = site.client(AUDITOR)

    def found(**args) -> set[int]:
        response = client.get("/audit/", query_string=args)
        assert response.status_code == 200
        return {int(n) for n in re.findall(r'href="/audit/instances/(\d+)"', response.get_data(as_text=True))}

    assert found() == {objected, plain}
    assert found(happened="objected") == {objected}
    assert found(happened="returned") == {objected}
    assert found(outcome="removed_after_notice") == {objected}
    assert found(unit=demo.UNITS[5].credit_code) == {objected}
    assert found(unit="遵义黔北") == {plain}
    assert found(official="西秀区工信局") == {objected}  # a county official who acted on it, by name
    assert found(process="green_application", **{"from": "2026-03-01", "to": "2026-03-31"}) == {objected, plain}
    assert found(**{"from": "2026-04-01"}) == set()
    assert found(happened="transferred") == set() and found(happened="migrated") == set()


@pytest.mark.parametrize("args, field", [
    ({"happened": "exploded"}, "happened"), ({"outcome": "pass"}, "outcome"), ({"from": "2026-13-01"}, "from"),
    ({"to": "yesterday"}, "to"), ({"page": "0"}, "page"), ({"unit": "x" * 101}, "unit"),
])
def test_bad_search_input_is_refused_naming_the_field(site, args, field):
    response = site.client(AUDITOR).get("/audit/", query_string=args)
    assert response.status_code == 422 and field in response.get_data(as_text=True)


# --- the step-through page -------------------------------------------------------------------------------

def test_stepping_to_the_objection_shows_the_data_before_and_after(site):
    iid = upheld_objection(site.scenario)
    client = site.client(AUDITOR)
    page = client.get(f"/audit/instances/{iid}").get_data(as_text=True)
    steps = re.findall(r'step=(\d+)" data-step-type="(\w+)"', page)
    objection = next(int(n) for n, kind in steps if kind == "message_received")

    at_objection = client.get(f"/audit/instances/{iid}?step={objection}")
    body = text(at_objection)
    assert at_objection.status_code == 200 and "收到消息：公示异议" in body
    assert 'data-key="objection"' in at_objection.get_data(as_text=True) and "新增" in body
    assert "核实异议" in body  # the review it opened, in the inbox rows of that moment

    reviewed = text(client.get(f"/audit/instances/{iid}?step={objection + 1}"))
    assert "办理：核实异议" in reviewed and OBJECTION_UPHELD["finding"] in reviewed
    assert "异议是否成立" in reviewed and "按期办理" in reviewed
    # Words, never codes: no decision, event type or actor code reaches the page.
    for code in ("no_objection", "public:objector", "message_received", "review_objection", "removed_after_notice"):
        assert code not in reviewed, code
    english = text(client.get(f"/audit/instances/{iid}?step={objection + 1}&lang=en"))
    assert "Data changes (against the step before)" in english and "Objection upheld" in english
    assert ("audit.view_instance", f"instance:{iid}", "ok") in access_actions(site.engine)


def test_the_diagram_of_a_step_shows_what_was_active_and_waiting_then(site):
    green = site.scenario
    iid = green.to_notice(demo.UNITS[0])
    client = site.client(AUDITOR)
    first = client.get(f"/audit/instances/{iid}/diagram.json?step=1").json["diagrams"]
    review = next(d for d in first if d["process_id"] == "review_step")
    assert review["active"] == ["review"] and "<bpmn:definitions" in review["xml"]
    last = client.get(f"/audit/instances/{iid}/diagram.json").json["diagrams"]
    notice = next(d for d in last if d["process_id"] == "public_notice")
    assert notice["waiting"] and notice["active"] == []
    assert client.get(f"/audit/instances/{iid}?step=99").status_code == 422
    assert client.get(f"/audit/instances/{iid}?step=x").status_code == 422
    assert client.get("/audit/instances/999999").status_code == 404


def test_the_replay_button_runs_a_replay_and_keeps_it(site):
    iid = upheld_objection(site.scenario)
    client = site.client(AUDITOR)
    response = client.post(f"/audit/instances/{iid}/replay", data={"step": "3"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/audit/instances/{iid}?step=3#replay")
    page = text(client.get(f"/audit/instances/{iid}?step=3"))
    assert "重新执行完成：1 个实例，0 个不一致" in page and "1 个已重新执行，0 个不一致" in page
    with site.engine.db.session() as s:
        [run] = s.scalars(select(ReplayRun)).all()
    assert (run.scope, run.replayed, run.diverged, run.started_by) == (f"instance:{iid}", 1, 0, AUDITOR)
    assert ("audit.replay", f"instance:{iid}", "ok") in access_actions(site.engine)

    with site.engine.db.unit_of_work() as s:  # an official's decision altered in the database
        event = s.scalars(select(Event).where(Event.instance_id == iid, Event.type == "task_completed")).first()
        event.payload = event.payload.replace('"return"', '"pass"')
    client.post(f"/audit/instances/{iid}/replay")
    page = text(client.get(f"/audit/instances/{iid}"))
    assert "重新执行发现不一致" in page and "1 个已重新执行，1 个不一致" in page


def test_commands_record_where_they_came_from(site):
    green = site.scenario
    iid = green.apply(demo.UNITS[0])
    task = green.task(iid, "review")
    client = site.client("county-520302")
    response = client.post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "同意"},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code in (200, 302), text(response)[:500]
    steps = [e for e in green.view(iid)["events"] if e["type"] == "step"]
    assert steps[-1]["payload"]["via"] == {"channel": "web", "ip": "10.1.2.3"}
    page = text(site.client(AUDITOR).get(f"/audit/instances/{iid}"))
    assert "网页 · 10.1.2.3" in page


# --- API ---------------------------------------------------------------------------------------------------

def test_the_audit_api_searches_steps_and_replays(app, as_user, green):  # noqa: F811
    iid = upheld_objection(green)
    auditor = as_user(AUDITOR)
    found = auditor.get("/audit/instances", query_string={"happened": "objected"})
    assert found.status_code == 200 and [i["id"] for i in found.json["items"]] == [iid]
    steps = auditor.get(f"/audit/instances/{iid}/steps").json
    assert steps["has_step_records"] and len(steps["steps"]) == 12
    objection = next(s for s in steps["steps"] if s["type"] == "message_received")
    assert any(c["key"] == "objection" and c["kind"] == "added" for c in objection["changes"])
    assert objection["actor_label"] == "公众" and objection["tasks"][0]["bpmn_id"] == "review_objection"
    replayed = auditor.post(f"/audit/instances/{iid}/replay")
    assert replayed.status_code == 200 and replayed.json["diverged"] == 0 and replayed.json["result"]["matched"]
    # the step records the API command's channel
    county = as_user("county-520302")
    other = green.apply(demo.UNITS[0])
    task = green.task(other, "review")
    assert county.post(f"/tasks/{task.id}/complete", {"data": PASS}).status_code == 200
    last_step = [e for e in green.view(other)["events"] if e["type"] == "step"][-1]
    assert last_step["payload"]["via"]["channel"] == "api"


@pytest.mark.parametrize("username", ["county-520302", "province", "ent-u6"])
def test_the_audit_api_is_for_auditors_only(as_user, green, username):  # noqa: F811
    iid = green.apply(demo.UNITS[5])
    api = as_user(username)
    assert api.get("/audit/instances").status_code == 403
    assert api.get(f"/audit/instances/{iid}/steps").status_code == 403
    assert api.post(f"/audit/instances/{iid}/replay").status_code == 403


def test_parties_do_not_read_the_audit_trail_of_others(as_user, green):  # noqa: F811
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    events = as_user("ent-u1").get(f"/instances/{iid}/events").json["items"]
    others = [e for e in events if e["type"] in ("step", "service_called") and e["actor"] != "ent-u1"]
    assert others and all(e.get("redacted") and e["payload"] == {} for e in others)


# --- CLI -----------------------------------------------------------------------------------------------------

def test_the_cli_replays_every_instance_and_fails_on_a_divergence(site):
    green = site.scenario
    iid = upheld_objection(green)
    green.apply(demo.UNITS[0])
    runner = site.app.test_cli_runner()
    ok = runner.invoke(args=["audit", "replay", "--all"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip().splitlines()[-1] == "2 replayed, 0 diverged"
    one = runner.invoke(args=["audit", "replay", str(iid), "--json"])
    assert one.exit_code == 0 and json.loads(one.output)["results"][0]["matched"]
    with site.engine.db.unit_of_work() as s:
        event = s.scalars(select(Event).where(Event.instance_id == iid, Event.type == "task_completed")).first()
        event.payload = event.payload.replace('"return"', '"pass"')
    bad = runner.invoke(args=["audit", "replay", "--all", "--since", "2026-03-01"])
    assert bad.exit_code == 1 and bad.output.strip().splitlines()[-1] == "2 replayed, 1 diverged"
    assert f"#{iid} green_application: diverged at event" in bad.output
    assert runner.invoke(args=["audit", "replay"]).exit_code == 2
    assert runner.invoke(args=["audit", "replay", "--all", "--since", "March"]).exit_code == 2
