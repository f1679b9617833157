"""The migration pages and the REST API, for process owners only (both databases)."""
from __future__ import annotations

import re

import pytest

from engine.migration import jobs
from engine.worker import TimerWorker
from tests.engine.test_migration import V2, mig, no_city_review, start_at, variant  # noqa: F401
from tests.web.conftest import log_in_session
from web.api.auth import issue_token
from web.app import create_app


@pytest.fixture
def site(mig, tmp_path):
    """The app on the test's engine (its frozen clock), CSRF off, with v1 instances at every position."""
    app = create_app({"database_url": mig.db.url, "secret_key": "test", "upload_dir": str(tmp_path / "uploads")})
    app.extensions["greenflow"].db.dispose()
    app.extensions["greenflow"] = mig
    app.config.update(WTF_CSRF_ENABLED=False)
    app.iids = {where: start_at(mig, where) for where in ("county", "city", "consult")}
    return app


def client(app, username: str | None = "owner"):
    c = app.test_client()
    if username:
        log_in_session(c, app.extensions["greenflow"], username)
    return c


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_owner_plans_dry_runs_and_starts_a_migration_the_worker_runs(site, tmp_path):
    eng = site.extensions["greenflow"]
    eng.deploy(variant(tmp_path, "no-city", mig_app=no_city_review), deployed_by="owner")
    me = client(site)
    versions = page_text(me.get("/modeler/mig_app/versions"))
    assert "/modeler/mig_app/migrate" in versions and "迁移到当前版本" in versions

    plan = me.get("/modeler/mig_app/migrate")  # the defaults: from the version with running instances to the latest
    assert plan.status_code == 200
    body = page_text(plan)
    assert "v1 → v2" in body and 'data-element="city_review" data-change="removed"' in body
    assert "源版本上运行中的实例 3 个：可以迁移 2 个，不能迁移 1 个。" in body
    assert "当前所处的「市级审核」（city_review）在目标版本中已不存在" in body
    mapped = page_text(me.get("/modeler/mig_app/migrate?from=1&to=2&map=city_review=county_review"))
    assert "可以迁移 3 个，不能迁移 0 个" in mapped and 'value="city_review=county_review" selected' in mapped

    started = me.post("/modeler/mig_app/migrations", data={"from": "1", "to": "2", "scope": "positions",
                                                             "position": ["county_review", "eco"],
                                                             "note": "取消市级审核（试点）"})
    assert started.status_code == 303
    job_id = int(started.headers["Location"].rsplit("job=", 1)[1])
    waiting = page_text(me.get(started.headers["Location"]))
    assert "等待执行" in waiting and 'http-equiv="refresh"' in waiting
    worker = TimerWorker(eng, name="w1")
    try:
        worker.tick()
    finally:
        worker.close()  # frees the leader lock (a PostgreSQL advisory lock held by a connection)
    done = page_text(me.get(f"/modeler/mig_app/migrations?job={job_id}"))
    assert "已完成" in done and "已迁移 2" in done and 'http-equiv="refresh"' not in done
    assert f'data-instance="{site.iids["county"]}" data-status="migrated"' in done
    listed = page_text(me.get("/modeler/mig_app/migrations"))
    assert f'data-job="{job_id}"' in listed and "取消市级审核（试点）" in listed


def test_the_pages_speak_english_too(site):
    site.extensions["greenflow"].deploy(V2, deployed_by="owner")
    body = page_text(client(site).get("/modeler/mig_app/migrate?from=1&to=2&lang=en"))
    assert "3 running instances on the source version: 3 can move, 0 cannot." in body
    assert "Start the migration" in body and "user task" in body


def test_a_job_is_cancelled_from_its_page(site):
    eng = site.extensions["greenflow"]
    eng.deploy(V2, deployed_by="owner")
    job = jobs.create_job(eng, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    me = client(site)
    cancelled = me.post("/modeler/mig_app/migrations/cancel", data={"job": str(job["id"])})
    assert cancelled.status_code == 303
    assert "已取消 3" in page_text(me.get(cancelled.headers["Location"]))
    assert me.post("/modeler/mig_app/migrations/cancel", data={"job": str(job["id"])}).status_code == 409


@pytest.mark.parametrize("form, status, message", [
    ({"from": "1", "to": "2", "scope": "all"}, 422, "请填写迁移说明"),
    ({"from": "1", "to": "2", "note": "x"}, 422, "请选择要迁移的实例"),
    ({"from": "1", "to": "2", "note": "x", "scope": "positions"}, 422, "请至少勾选一个位置"),
    ({"from": "1", "to": "2", "note": "x", "scope": "ids", "ids": "3, abc"}, 422, "请填写实例编号"),
    ({"from": "1", "to": "2", "note": "x", "scope": "all", "map": "city_review"}, 422, "映射须写作"),
    ({"from": "1", "to": "2", "note": "x", "scope": "all", "map": "city_review=nowhere"}, 422, "nowhere"),
    ({"from": "1", "to": "1", "note": "x", "scope": "all"}, 422, "源版本与目标版本相同"),
    ({"from": "1", "to": "9", "note": "x", "scope": "all"}, 404, "没有版本 9"),
    ({"from": "1", "to": "2", "note": "x", "scope": "ids", "ids": "999"}, 409, "没有符合条件的运行中实例"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(site, form, status, message):
    site.extensions["greenflow"].deploy(V2, deployed_by="owner")
    response = client(site).post("/modeler/mig_app/migrations", data=form)
    assert response.status_code == status and message in page_text(response)
    assert jobs.jobs_of(site.extensions["greenflow"]) == []


@pytest.mark.parametrize("url, status", [
    ("/modeler/mig_app/migrate?from=abc", 404), ("/modeler/no_such/migrate", 404),
    ("/modeler/mig_app/migrate?from=1&to=2&map=city_review%3Dnowhere", 422),
    ("/modeler/mig_app/migrations?job=x", 404), ("/modeler/mig_app/migrations?job=77", 404),
])
def test_bad_addresses_are_4xx(site, url, status):
    site.extensions["greenflow"].deploy(V2, deployed_by="owner")
    assert client(site).get(url).status_code == status


def test_only_process_owners_reach_the_pages(site):
    assert client(site, "county").get("/modeler/mig_app/migrate").status_code == 403
    assert client(site, None).get("/modeler/mig_app/migrate").status_code == 302


# --- the REST API ------------------------------------------------------------------------------------

def conforms(body, schema_name: str) -> None:
    from jsonschema import Draft202012Validator

    from web.api.openapi import document

    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document()["components"]}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(body)]
    assert not errors, errors[:5]


def token(app, username: str) -> dict:
    return {"Authorization": f"Bearer {issue_token(app.extensions['greenflow'], username, name='t')[1]}"}


def test_the_api_plans_dry_runs_runs_shows_and_cancels(site, tmp_path):
    eng = site.extensions["greenflow"]
    eng.deploy(variant(tmp_path, "no-city", mig_app=no_city_review), deployed_by="owner")
    api, owner = site.test_client(), token(site, "owner")
    versions = {"process_id": "mig_app", "from": 1, "to": 2}

    plan = api.post("/api/v1/migrations/plan", json=versions, headers=owner)
    assert plan.status_code == 200, plan.get_json()
    conforms(plan.get_json(), "MigrationPlan")
    assert {"element": "city_review", "change": "removed"}.items() <= next(
        e for e in plan.get_json()["elements"] if e["element"] == "city_review").items()

    dry = api.post("/api/v1/migrations/dry-run", json={**versions, "only": "cannot"}, headers=owner)
    assert dry.status_code == 200
    conforms(dry.get_json(), "MigrationDryRun")
    body = dry.get_json()
    assert body["summary"] == {"total": 3, "can": 2, "cannot": 1} and body["total"] == 1
    assert body["items"][0]["instance_id"] == site.iids["city"] and not body["items"][0]["can_migrate"]
    assert body["items"][0]["reasons"][0]["code"] == "task_removed"

    created = api.post("/api/v1/migrations", json={**versions, "all": True, "note": "API"}, headers=owner)
    assert created.status_code == 201, created.get_json()
    conforms(created.get_json(), "MigrationJobDetail")
    job_id = created.get_json()["id"]
    assert created.headers["Location"].endswith(f"/api/v1/migrations/{job_id}")
    jobs.run_jobs(eng, runner="w1")
    shown = api.get(f"/api/v1/migrations/{job_id}?status=refused", headers=owner)
    conforms(shown.get_json(), "MigrationJobDetail")
    assert shown.get_json()["counts"]["migrated"] == 2 and [i["instance_id"] for i in shown.get_json()["items"]] == [
        site.iids["city"]]
    listed = api.get("/api/v1/migrations?process_id=mig_app", headers=owner).get_json()
    conforms(listed, "MigrationJobList")
    assert [j["id"] for j in listed["items"]] == [job_id]
    assert api.post(f"/api/v1/migrations/{job_id}/cancel", headers=owner).status_code == 409  # finished


@pytest.mark.parametrize("path, body, status, field", [
    ("/api/v1/migrations/plan", {"process_id": "mig_app", "from": 1}, 422, "to"),
    ("/api/v1/migrations/plan", {"process_id": "mig_app", "from": 1, "to": "2"}, 422, "to"),
    ("/api/v1/migrations/plan", {"process_id": "mig_app", "from": 1, "to": 2, "mapping": ["x"]}, 422, "mapping"),
    ("/api/v1/migrations/plan", {"process_id": "mig_app", "from": 1, "to": 2, "mapping": {"x": "y"}}, 422,
     "mapping.x"),
    ("/api/v1/migrations/plan", {"process_id": "mig_app", "from": 1, "to": 2, "extra": 1}, 422, "extra"),
    ("/api/v1/migrations/plan", {"process_id": "no_such", "from": 1, "to": 2}, 404, None),
    ("/api/v1/migrations/dry-run", {"process_id": "mig_app", "from": 1, "to": 2, "only": "x"}, 422, "only"),
    ("/api/v1/migrations/dry-run", {"process_id": "mig_app", "from": 1, "to": 2, "instance_ids": [0]}, 422,
     "instance_ids"),
    ("/api/v1/migrations/dry-run", {"process_id": "mig_app", "from": 1, "to": 2, "per_page": 501}, 422, "per_page"),
    ("/api/v1/migrations", {"process_id": "mig_app", "from": 1, "to": 2}, 422, "all"),
    ("/api/v1/migrations", {"process_id": "mig_app", "from": 1, "to": 2, "positions": [""]}, 422, "positions"),
    ("/api/v1/migrations", {"process_id": "mig_app", "from": 1, "to": 2, "all": True, "note": "x" * 501}, 422,
     "note"),
])
def test_the_api_refuses_bad_bodies_naming_the_field(site, path, body, status, field):
    site.extensions["greenflow"].deploy(V2, deployed_by="owner")
    response = site.test_client().post(path, json=body, headers=token(site, "owner"))
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["fields"]
    assert jobs.jobs_of(site.extensions["greenflow"]) == []


def test_the_api_is_for_process_owners_only(site):
    county = token(site, "county")
    api = site.test_client()
    assert api.post("/api/v1/migrations/plan", json={"process_id": "mig_app", "from": 1, "to": 2},
                    headers=county).status_code == 403
    assert api.get("/api/v1/migrations", headers=county).status_code == 403
