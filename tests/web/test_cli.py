"""The ``greenflow`` command line, on a real database (both backends)."""
from __future__ import annotations

import json

import pytest

from web.app import create_app
from handlers import demo


@pytest.fixture
def runner(empty_db_url, clock, tmp_path):
    app = create_app({"database_url": empty_db_url, "upload_dir": str(tmp_path / "uploads"), "secret_key": "test"})
    app.instance_path = str(tmp_path / "instance")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    yield runner
    app.extensions["greenflow"].db.dispose()


def run(runner, *args):
    result = runner.invoke(args=list(args))
    return result


def test_init_deploy_and_no_op_redeploy(runner):
    first = run(runner, "deploy", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] is True
    again = run(runner, "deploy")
    assert "unchanged" in again.output


def test_demo_then_list_show_and_complete_a_task(runner):
    result = run(runner, "demo")
    assert result.exit_code == 0, result.output
    assert "password for all" in result.output and "#1:" in result.output
    tasks = json.loads(run(runner, "tasks", "list", "--as", "county-520302", "--json").output)
    assert [t["name"] for t in tasks] == ["审核"]
    bad = run(runner, "tasks", "complete", str(tasks[0]["id"]), "--as", "county-520302", "--data",
              '{"decision": "return"}')
    assert bad.exit_code == 2 and "reason" in bad.output and "Traceback" not in bad.output
    forbidden = run(runner, "tasks", "complete", str(tasks[0]["id"]), "--as", "county-520303", "--data",
                    '{"decision": "pass"}')
    assert forbidden.exit_code == 2 and "forbidden" in forbidden.output
    ok = run(runner, "tasks", "complete", str(tasks[0]["id"]), "--as", "county-520302", "--data",
             '{"decision": "pass", "opinion": "同意"}', "--json")
    assert ok.exit_code == 0, ok.output
    shown = json.loads(run(runner, "instances", "show", str(tasks[0]["instance_id"]), "--json").output)
    assert shown["tasks"][-1]["scope"] == "520300" and shown["tasks"][-1]["status"] == "open"
    assert "hash chain intact" in run(runner, "history", "verify", str(tasks[0]["instance_id"])).output


def test_start_from_the_shell_and_bad_json_is_refused(runner):
    run(runner, "demo")
    data = json.dumps(demo.application_data(demo.UNITS[2], target_level="province"),  # the demo runs its city one
                      ensure_ascii=False)
    started = run(runner, "instances", "start", "green_application", "--data", data, "--as", "ent-u3", "--json")
    assert started.exit_code == 0, started.output
    assert json.loads(started.output)["status"] == "running"
    broken = run(runner, "instances", "start", "green_application", "--data", "{nope", "--as", "ent-u3")
    assert broken.exit_code == 2 and "not valid JSON" in broken.output
    unknown = run(runner, "instances", "start", "green_application", "--data", data, "--as", "nobody")
    assert unknown.exit_code == 2 and "no user named" in unknown.output


def test_incidents_lists_nothing_on_a_healthy_database(runner):
    result = run(runner, "incidents")
    assert result.exit_code == 0 and "no incidents" in result.output
    missing = run(runner, "incidents", "retry", "99")
    assert missing.exit_code == 2 and "not found" in missing.output
