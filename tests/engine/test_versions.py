"""Process versions (numbered per process key) and the append-only deployment log, on both databases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine import deploy, versions
from engine.errors import DeployError
from engine.models import DefinitionVersion, Deployment, ProcessVersion
from tests.conftest import FIXTURES
from tests.scenarios.driver import BPMN

# register the fixture's service
from tests.engine import test_commands  # noqa: F401


def numbers(eng) -> dict[str, int]:
    with eng.db.session() as s:
        return {pid: row.number for pid, row in versions.latest_rows(s).items()}


def counts(eng) -> tuple[int, int, int]:
    with eng.db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (DefinitionVersion, Deployment,
                                                                               ProcessVersion))


def shipped() -> dict[str, bytes]:
    return deploy.read_directory(BPMN)


def edit_form(files: dict[str, bytes], path: str, **changes) -> dict[str, bytes]:
    schema = json.loads(files[path])
    schema.update(changes)
    return {**files, path: json.dumps(schema, ensure_ascii=False).encode()}


def test_first_deploy_numbers_every_process_1_and_logs_it(wf_engine):
    result = wf_engine.deploy(BPMN, deployed_by="owner", note="初始版本")
    assert result.created and result.deployment_id
    assert set(result.versions) == set(result.processes) and set(result.versions.values()) == {1}
    assert sorted(result.changed) == sorted(result.processes)
    with wf_engine.db.session() as s:
        row = s.scalar(select(Deployment))
        assert (row.source, row.created, row.note, row.deployed_by) == ("cli", True, "初始版本", "owner")
        assert row.bundle_sha256 == result.sha256 and row.definition_version_id == result.version_id
        first = versions.latest_of(s, "green_application")
        assert first.note == "初始版本" and first.definition_version == result.version_id


def test_identical_content_is_a_no_op_that_is_still_logged(wf_engine):
    first = wf_engine.deploy(BPMN, deployed_by="owner")
    again = wf_engine.deploy_files(shipped(), deployed_by="owner-2", note="again", source="api")
    assert not again.created and again.version_id == first.version_id and again.changed == []
    assert counts(wf_engine) == (1, 2, len(first.processes))
    with wf_engine.db.session() as s:
        last = s.scalar(select(Deployment).order_by(Deployment.id.desc()).limit(1))
        assert (last.created, last.source, last.deployed_by, last.note) == (False, "api", "owner-2", "again")


def test_a_form_change_bumps_the_processes_using_it_and_their_callers_only(wf_engine):
    wf_engine.deploy(BPMN, deployed_by="owner")
    files = edit_form(shipped(), "forms/review.schema.json", title="审核意见（新）")
    result = wf_engine.deploy_files(files, deployed_by="owner", note="审核表单标题", source="api")
    # review_step uses the form; green_application calls review_step; nothing else changes
    assert result.changed == ["green_application", "review_step"]
    now = numbers(wf_engine)
    assert now["review_step"] == 2 and now["green_application"] == 2
    assert all(n == 1 for pid, n in now.items() if pid not in ("review_step", "green_application"))

    shared = edit_form(files, "forms/miit_report.schema.json", description="报工信部")
    second = wf_engine.deploy_files(shared, deployed_by="owner", note="两个流程共用的表单", source="api")
    assert second.changed == ["credit_record", "unit_change", "unit_incident"]  # credit_record: issue 16
    assert numbers(wf_engine)["unit_change"] == 2 and numbers(wf_engine)["review_step"] == 2


def test_overlay_lays_files_over_the_newest_bundle(wf_engine):
    first = wf_engine.deploy(BPMN, deployed_by="owner")
    form = json.loads(shipped()["forms/site_check.schema.json"])
    form["title"] = "现场核查（新）"
    result = wf_engine.deploy_files({"forms/site_check.schema.json": json.dumps(form).encode()},
                                    deployed_by="owner", note="n", source="api", overlay=True)
    assert result.created and result.changed == ["green_application"]
    with wf_engine.db.session() as s:
        version = s.get(DefinitionVersion, result.version_id)
        old = s.get(DefinitionVersion, first.version_id)
        assert [f.path for f in version.files] == [f.path for f in old.files]  # all kept, one replaced
        assert json.loads(next(f.content for f in version.files if f.path == "forms/site_check.schema.json")) == form


def test_replace_deploys_exactly_the_files_given(wf_engine):
    wf_engine.deploy(BPMN, deployed_by="owner")
    mini = wf_engine.deploy(FIXTURES / "mini", deployed_by="owner")
    assert mini.processes == ["mini"] and mini.versions == {"mini": 1}
    with wf_engine.db.session() as s:
        assert [f.path for f in s.get(DefinitionVersion, mini.version_id).files] == [
            "forms/opinion.schema.json", "forms/review.schema.json", "mini.bpmn"]
    assert numbers(wf_engine)["green_application"] == 1  # its newest version stays


def test_a_revert_to_older_content_is_a_new_version_not_a_no_op(wf_engine):
    first = wf_engine.deploy(BPMN, deployed_by="owner")
    changed = edit_form(shipped(), "forms/review.schema.json", title="变更")
    wf_engine.deploy_files(changed, deployed_by="owner", note="change", source="api")
    reverted = wf_engine.deploy_files(shipped(), deployed_by="owner", note="revert", source="api")
    assert reverted.created and reverted.version_id > first.version_id
    assert reverted.sha256 == first.sha256
    assert numbers(wf_engine)["review_step"] == 3
    with wf_engine.db.session() as s:
        assert deploy.latest_version_for(s, "review_step").id == reverted.version_id


def test_a_refused_bundle_stores_nothing(wf_engine):
    wf_engine.deploy(BPMN, deployed_by="owner")
    before = counts(wf_engine)
    broken = {"review_step.bpmn": shipped()["review_step.bpmn"].replace(b'name="role" value="applicant"',
                                                                        b'name="role" value="mayor"')}
    with pytest.raises(DeployError) as err:
        wf_engine.deploy_files(broken, deployed_by="owner", note="x", source="api", overlay=True)
    assert any(p.file == "review_step.bpmn" and "mayor" in p.message and p.line for p in err.value.problems)
    assert counts(wf_engine) == before


def test_extra_checks_run_beside_deploy_and_see_what_changed(wf_engine):
    wf_engine.deploy(BPMN, deployed_by="owner")
    seen = {}

    def checks(files, changed):
        seen["changed"] = set(changed)
        return lambda: [deploy.DeployProblem("review_step.bpmn", "lint says no", element="Task_x", line=3)]

    files = edit_form(shipped(), "forms/review.schema.json", title="x")
    before = counts(wf_engine)
    with pytest.raises(DeployError) as err:
        wf_engine.deploy_files(files, deployed_by="owner", source="api", checks=checks)
    assert seen["changed"] == {"forms/review.schema.json"}
    assert [p.message for p in err.value.problems] == ["lint says no"] and counts(wf_engine) == before


def test_versions_of_bundles_deployed_before_them_are_backfilled(wf_engine, clock):
    files = shipped()
    with wf_engine.db.unit_of_work() as s:  # as an older release stored them: no process versions
        deploy.store(s, deploy.analyse(files, known_roles=wf_engine.roles), deployed_by="old", now=clock.now())
        changed = edit_form(files, "forms/review.schema.json", title="变更")
        deploy.store(s, deploy.analyse(changed, known_roles=wf_engine.roles), deployed_by="old-2", now=clock.now())
    # 21 shipped processes (issue 16: credit_record, spot_check, spot_check_site, expert_scoring)
    assert wf_engine.backfill_versions() == 21 + 2
    assert wf_engine.backfill_versions() == 0
    with wf_engine.db.session() as s:
        rows = versions.versions_of(s, "review_step")
        assert [(r.number, r.deployed_by, r.note) for r in rows] == [(1, "old", None), (2, "old-2", None)]


def test_instance_counts_per_version(wf_engine):
    from tests.engine.test_commands import APPLICANT

    wf_engine.deploy(FIXTURES / "mini", deployed_by="owner")
    wf_engine.start("mini", {"code": "X1", "county": "520302", "divisor": 1}, actor=APPLICANT)
    files = deploy.read_directory(FIXTURES / "mini")
    files = edit_form(files, "forms/review.schema.json", title="复核")
    wf_engine.deploy_files(files, deployed_by="owner", source="api")
    wf_engine.start("mini", {"code": "X1", "county": "520302", "divisor": 1}, actor=APPLICANT)
    wf_engine.start("mini", {"code": "X1", "county": "520302", "divisor": 2}, actor=APPLICANT)
    with wf_engine.db.session() as s:
        assert versions.instance_counts(s, "mini") == {1: {"running": 1, "finished": 0},
                                                       2: {"running": 2, "finished": 0}}
