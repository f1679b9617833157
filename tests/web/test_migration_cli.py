"""``greenflow migrate`` and ``greenflow migrations`` on a database made by the migrations (both backends)."""
from __future__ import annotations

import json

import pytest

from engine.identity import upsert_user
from tests.engine.test_migration import COUNTY, PASS, PEOPLE, V1, V2, complete, no_city_review, start_at, variant
from web.app import create_app


@pytest.fixture
def cli(empty_db_url, clock, tmp_path):
    """``greenflow init`` on an empty database, v1 of the fixture process deployed, instances running on it."""
    app = create_app({"database_url": empty_db_url, "upload_dir": str(tmp_path / "uploads"), "secret_key": "test"})
    app.instance_path = str(tmp_path / "instance")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    eng = app.extensions["greenflow"]
    eng.clock = clock
    eng.deploy(V1, deployed_by="owner")  # the engine's deploy: the fixture diagrams are not drawn for bpmnlint
    with eng.db.unit_of_work() as s:
        for person in PEOPLE:
            upsert_user(s, person.username, display_name=person.username, grants=list(person.grants))
    runner.iids = {where: start_at(eng, where) for where in ("county", "city", "half")}
    runner.engine = eng
    yield runner
    eng.db.dispose()


def run(runner, *args):
    return runner.invoke(args=list(args))


def test_plan_then_dry_run_in_json_then_run_and_show(cli, tmp_path):
    cli.engine.deploy(variant(tmp_path, "no-city", mig_app=no_city_review), deployed_by="owner")
    plan = run(cli, "migrate", "plan", "mig_app", "--from", "1", "--to", "2")
    assert plan.exit_code == 0, plan.output
    assert "removed  mig_app/city_review" in plan.output and "v1 → v2" in plan.output

    dry = run(cli, "migrate", "plan", "mig_app", "--from", "1", "--to", "2", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    items = {i["instance_id"]: i for i in json.loads(dry.output)["items"]}
    assert items[cli.iids["city"]]["can_migrate"] is False
    assert items[cli.iids["city"]]["reasons"][0]["code"] == "task_removed"
    assert items[cli.iids["county"]]["can_migrate"] and items[cli.iids["half"]]["can_migrate"]
    human = run(cli, "migrate", "plan", "mig_app", "--from", "1", "--to", "2", "--dry-run")
    assert f"#{cli.iids['city']} NO " in human.output and "task_removed:" in human.output

    mapped = run(cli, "migrate", "plan", "mig_app", "--from", "1", "--to", "2", "--map", "city_review=county_review",
                 "--dry-run", "--json")
    assert json.loads(mapped.output)["summary"] == {"total": 3, "can": 3, "cannot": 0}

    done = run(cli, "migrate", "run", "mig_app", "--from", "1", "--to", "2", "--all", "--wait", "--by", "owner",
               "--note", "去掉市级审核", "--json")
    assert done.exit_code == 0, done.output
    job = json.loads(done.output)
    assert job["status"] == "completed" and job["counts"]["migrated"] == 2 and job["counts"]["refused"] == 1

    shown = run(cli, "migrations", "show", str(job["id"]), "--status", "refused")
    assert f"#{cli.iids['city']} refused" in shown.output and "task_removed" in shown.output
    listed = run(cli, "migrations", "show", "--json")
    assert [j["id"] for j in json.loads(listed.output)] == [job["id"]]
    history = run(cli, "history", "verify", str(cli.iids["county"]))
    assert "hash chain intact" in history.output


def test_a_job_left_to_the_worker_can_be_cancelled(cli):
    cli.engine.deploy(V2, deployed_by="owner")
    queued = run(cli, "migrate", "run", "mig_app", "--from", "1", "--to", "2", "--position", "county_review")
    assert queued.exit_code == 0 and "the worker runs it" in queued.output
    job_id = int(queued.output.split()[2].rstrip(":"))
    cancelled = run(cli, "migrations", "cancel", str(job_id), "--json")
    assert json.loads(cancelled.output)["status"] == "cancelled"
    again = run(cli, "migrations", "cancel", str(job_id))
    assert again.exit_code == 2 and "already cancelled" in again.output


@pytest.mark.parametrize("args, message", [
    (["migrate", "run", "mig_app", "--from", "1", "--to", "2"], "say which instances"),
    (["migrate", "plan", "mig_app", "--from", "1", "--to", "2", "--map", "city_review"], "is not OLD=NEW"),
    (["migrate", "plan", "mig_app", "--from", "1", "--to", "2", "--map", "x=y"], "mapping.x"),
    (["migrate", "plan", "mig_app", "--from", "1", "--to", "1"], "the source and target versions are the same"),
    (["migrate", "plan", "no_such", "--from", "1", "--to", "2"], "not_found"),
    (["migrations", "show", "99"], "not_found"),
])
def test_mistakes_are_explained_without_a_traceback(cli, args, message):
    cli.engine.deploy(V2, deployed_by="owner")
    result = run(cli, *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_an_instance_that_moved_on_after_the_dry_run_is_checked_again(cli, tmp_path):
    cli.engine.deploy(variant(tmp_path, "no-city", mig_app=no_city_review), deployed_by="owner")
    dry = json.loads(run(cli, "migrate", "plan", "mig_app", "--from", "1", "--to", "2", "--dry-run", "--json",
                         "--instance", str(cli.iids["county"])).output)
    assert dry["items"][0]["can_migrate"]
    complete(cli.engine, cli.iids["county"], "county_review", PASS, COUNTY)  # now at the removed city review
    done = json.loads(run(cli, "migrate", "run", "mig_app", "--from", "1", "--to", "2", "--instance",
                          str(cli.iids["county"]), "--wait", "--json").output)
    assert done["counts"]["refused"] == 1 and done["items"][0]["reasons"][0]["code"] == "task_removed"
