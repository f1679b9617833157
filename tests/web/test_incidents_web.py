"""Operators handle incidents on the API, the page and the CLI: list, retry, resolve or dismiss with a
note that lands in the instance's history (both databases). Only process owners may."""
from __future__ import annotations

import json
import re

import pytest

from engine import incidents
from engine.commands import ClaimTask, CommentTask
from handlers import demo
from tests.web.test_api import COUNTY, app, as_user, assert_error  # noqa: F401  (fixtures)
from tests.web.test_api_openapi import check

U1 = demo.UNITS[0]
OWNER = "owner"  # the demo's process owner (流程管理员)


def record(engine, command, actor_name: str, iid: int, error: BaseException) -> int:
    """An incident as a failed command leaves it (the failure itself is the engine's business)."""
    return incidents.record(engine, command, engine.actor(actor_name), iid, error)


@pytest.fixture
def stuck(green):
    """U1's application in incident: a claim of the county's review failed. (instance, task, incident)."""
    iid = green.apply(U1)
    tid = green.task(iid, "review").id
    incident_id = record(green.engine, ClaimTask(task_id=tid), COUNTY, iid, RuntimeError("lock service down"))
    assert green.engine.instance(iid)["status"] == "incident"
    return iid, tid, incident_id


def history_types(engine, iid: int) -> list[str]:
    return [e["type"] for e in engine.instance(iid)["events"]]


# --- API -----------------------------------------------------------------------------------------

def test_api_lists_incidents_for_operators_only(as_user, stuck):
    iid, _, incident_id = stuck
    for person in ("ent-u1", COUNTY, "province", "auditor"):
        assert assert_error(as_user(person).get("/incidents"), 403)["error"] == "forbidden"
        assert_error(as_user(person).post(f"/incidents/{incident_id}/resolve", {"note": "x"}), 403)
    owner = as_user(OWNER)
    listed = owner.get("/incidents").json
    check(listed, "IncidentList")
    [item] = listed["items"]
    assert (item["id"], item["instance_id"], item["process_id"], item["command"]) == \
        (incident_id, iid, "green_application", "ClaimTask")
    assert item["status"] == "open" and item["instance_status"] == "incident" and "lock service" in item["error"]
    check(owner.get(f"/incidents/{incident_id}").json, "Incident")
    assert owner.get("/incidents?status=resolved").json["total"] == 0
    assert_error(owner.get("/incidents?status=closed"), 422, "status")
    assert_error(owner.get("/incidents/999"), 404)


def test_api_resolve_needs_a_note_and_records_it(as_user, green, stuck):
    iid, _, incident_id = stuck
    owner = as_user(OWNER)
    assert_error(owner.post(f"/incidents/{incident_id}/resolve", {}), 422, "note")
    assert_error(owner.post(f"/incidents/{incident_id}/resolve", {"note": "  "}), 422, "note")
    assert_error(owner.post(f"/incidents/{incident_id}/resolve", data=rb'{"note": "\ud800"}',
                            content_type="application/json"), 400, "note")
    assert "incident_resolved" not in history_types(green.engine, iid)
    response = owner.post(f"/incidents/{incident_id}/resolve", {"note": "锁服务已恢复，县局已重新认领"})
    assert response.status_code == 200, response.json
    check(response.json, "Incident")
    assert response.json["status"] == "resolved" and response.json["resolved_by"] == OWNER
    assert response.json["instance_status"] == "running"
    events = as_user(OWNER).get(f"/instances/{iid}/events").json["items"]
    assert events[-1]["type"] == "incident_resolved" and events[-1]["payload"]["note"] == "锁服务已恢复，县局已重新认领"
    assert green.engine.verify_history(iid).ok
    assert_error(owner.post(f"/incidents/{incident_id}/dismiss", {"note": "again"}), 409)
    # an applicant reading its application sees that something was resolved, not the operator's note
    applicant_events = as_user("ent-u1").get(f"/instances/{iid}/events").json["items"]
    assert applicant_events[-1]["redacted"] is True and "note" not in applicant_events[-1]["payload"]


def test_api_dismiss_and_retry(as_user, green, stuck):
    iid, tid, incident_id = stuck
    owner = as_user(OWNER)
    other = record(green.engine, CommentTask(task_id=tid, text="\ud800"), COUNTY, iid, UnicodeError("surrogates"))
    retried = owner.post(f"/incidents/{other}/retry")
    assert retried.status_code == 200, retried.json
    check(retried.json, "RetryResult")
    assert retried.json["outcome"]["result"]["ran"] is False
    assert retried.json["incident"]["status"] == "resolved" and "invalid_text" in retried.json["incident"]["note"]
    assert retried.json["outcome"]["status"] == "incident"  # the claim's incident is still open
    dismissed = owner.post(f"/incidents/{incident_id}/dismiss", {"note": "县局已手动认领"})
    assert dismissed.status_code == 200 and dismissed.json["status"] == "dismissed"
    assert dismissed.json["instance_status"] == "running"
    assert history_types(green.engine, iid)[-2:] == ["incident_resolved", "incident_dismissed"]
    assert green.engine.verify_history(iid).ok


# --- CLI -----------------------------------------------------------------------------------------

def test_cli_resolves_and_dismisses_with_a_note(site, stuck):
    iid, tid, incident_id = stuck
    eng = site.engine
    other = record(eng, ClaimTask(task_id=tid), "county-520302-b", iid, RuntimeError("second failure"))
    cli = site.app.test_cli_runner()
    listed = cli.invoke(args=["incidents", "--json"])
    assert listed.exit_code == 0 and [i["id"] for i in json.loads(listed.output)] == [incident_id, other]
    missing = cli.invoke(args=["incidents", "resolve", str(incident_id)])
    assert missing.exit_code == 2 and "--note" in missing.output
    blank = cli.invoke(args=["incidents", "resolve", str(incident_id), "--note", " "])
    assert blank.exit_code == 2 and "note" in blank.output and "Traceback" not in blank.output
    done = cli.invoke(args=["incidents", "resolve", str(incident_id), "--note", "已修复", "--by", "ops-zhang"])
    assert done.exit_code == 0, done.output
    assert f"incident {incident_id} resolved by ops-zhang; instance {iid} is incident" in done.output
    gone = cli.invoke(args=["incidents", "dismiss", str(other), "--note", "重复"])
    assert gone.exit_code == 0 and f"instance {iid} is running" in gone.output
    again = cli.invoke(args=["incidents", "dismiss", str(other), "--note", "重复"])
    assert again.exit_code == 2 and "already dismissed" in again.output
    shown = cli.invoke(args=["incidents", "--all"])
    assert "resolved by ops-zhang: 已修复" in shown.output and "dismissed by operator: 重复" in shown.output
    assert "hash chain intact" in cli.invoke(args=["history", "verify", str(iid)]).output
    assert history_types(eng, iid)[-2:] == ["incident_resolved", "incident_dismissed"]


def test_cli_retry_of_an_impossible_command_resolves_it(site, stuck):
    iid, tid, incident_id = stuck
    site.scenario.step(iid, "review", {"decision": "pass", "opinion": "符合要求"})  # the task is done meanwhile
    assert site.engine.instance(iid)["status"] == "running"  # that completion superseded the incident
    later = record(site.engine, ClaimTask(task_id=tid), COUNTY, iid, RuntimeError("recorded late"))
    result = site.app.test_cli_runner().invoke(args=["incidents", "retry", str(later), "--by", "ops"])
    assert result.exit_code == 0, result.output
    assert "resolved without running" in result.output and "already completed" in result.output
    assert site.engine.instance(iid)["status"] == "running"


def test_cli_refuses_bad_text_without_an_incident(site):
    iid = site.scenario.apply(U1)
    tid = site.scenario.task(iid, "review").id
    result = site.app.test_cli_runner().invoke(args=[
        "tasks", "complete", str(tid), "--as", "county-520302", "--data", r'{"decision": "pass", "opinion": "\ud800"}'])
    assert result.exit_code == 2 and "invalid_text" in result.output and "data.opinion" in result.output
    assert site.engine.incidents(status=None) == []


# --- the page ------------------------------------------------------------------------------------

def test_the_page_is_for_operators(site, stuck):
    iid, _, incident_id = stuck
    for person in ("county-520302", "province", "auditor", "ent-u1"):
        assert site.client(person).get("/admin/incidents").status_code == 403
        refused = site.client(person).post(f"/admin/incidents/{incident_id}/dismiss", data={"note": "x"})
        assert refused.status_code == 403
    page = site.client(OWNER).get("/admin/incidents")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="incident-{incident_id}"' in html and "lock service down" in html and f"#{iid}" in html
    assert "故障处理" in html and "重试" in html and 'name="csrf_token"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)|\son[a-z]+=", html)  # no inline script or handlers (CSP)
    english = site.client(OWNER).get("/admin/incidents?lang=en").get_data(as_text=True)
    assert "Incidents" in english and "Failing element" in english and "Dismiss" in english


def test_the_page_resolves_with_a_note_into_the_history(site, stuck):
    iid, _, incident_id = stuck
    owner = site.client(OWNER)
    refused = owner.post(f"/admin/incidents/{incident_id}/resolve", data={"note": " "})
    assert refused.status_code == 422 and "note" in refused.get_data(as_text=True)
    done = owner.post(f"/admin/incidents/{incident_id}/resolve", data={"note": "已处理：锁服务恢复"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/incidents?status=open")
    assert site.engine.instance(iid)["status"] == "running"
    resolved = owner.get("/admin/incidents?status=resolved").get_data(as_text=True)
    assert "已处理：锁服务恢复" in resolved
    record_page = owner.get(f"/instances/{iid}").get_data(as_text=True)
    assert "故障已解决" in record_page and "已处理：锁服务恢复" in record_page
    assert site.engine.verify_history(iid).ok


def test_the_page_retries_and_dismisses(site, stuck):
    iid, tid, incident_id = stuck
    owner = site.client(OWNER)
    retried = owner.post(f"/admin/incidents/{incident_id}/retry")  # the claim works now: the county holds it
    assert retried.status_code == 303
    assert site.engine.incident(incident_id)["status"] == "resolved"
    assert site.engine.task(tid)["assignee"] == COUNTY
    other = record(site.engine, ClaimTask(task_id=tid), COUNTY, iid, RuntimeError("again"))
    dismissed = owner.post(f"/admin/incidents/{other}/dismiss", data={"note": "误报"})
    assert dismissed.status_code == 303 and site.engine.incident(other)["status"] == "dismissed"
    assert site.engine.instance(iid)["status"] == "running"
    assert site.engine.verify_history(iid).ok


def test_the_page_forms_need_the_csrf_token(site, stuck):
    _, _, incident_id = stuck
    site.app.config.update(WTF_CSRF_ENABLED=True)
    response = site.client(OWNER).post(f"/admin/incidents/{incident_id}/resolve", data={"note": "x"})
    assert response.status_code == 400
    assert site.engine.incident(incident_id)["status"] == "open"
