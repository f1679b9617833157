"""Migration jobs: the worker migrates the picked instances one command each, resumably (both databases)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Conflict
from engine.migration import dryrun, jobs
from engine.migration.models import MigrationItem, MigrationJob
from engine.models import ProcessInstance
from engine.worker import TimerWorker
from tests.engine.test_migration import (COUNTY, PASS, V2, complete, mig, no_city_review, open_task,  # noqa: F401
                                         start_at, variant)


def items(engine, job_id: int) -> dict[int, MigrationItem]:
    with engine.db.session() as s:
        return {i.instance_id: i for i in s.scalars(select(MigrationItem).where(MigrationItem.job_id == job_id))}


def version_of(engine, iid: int) -> int:
    with engine.db.session() as s:
        return s.get(ProcessInstance, iid).version_id


def test_the_worker_runs_a_job_each_instance_in_its_own_command(mig, tmp_path):
    iids = {where: start_at(mig, where) for where in ("county", "city", "consult", "half", "notice")}
    target = mig.deploy(variant(tmp_path, "no-city", mig_app=no_city_review), deployed_by="owner").version_id
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner",
                          note="去掉市级审核")
    assert (job["status"], job["total"], job["counts"]["pending"]) == ("pending", 5, 5)
    assert all(version_of(mig, iid) == 1 for iid in iids.values())  # nothing moves before the worker runs it

    worker = TimerWorker(mig, name="w1")
    try:
        worker.tick()
    finally:
        worker.close()  # frees the leader lock (a PostgreSQL advisory lock held by a connection)

    view = jobs.job_view(mig, job["id"])
    assert view["status"] == "completed" and view["counts"]["migrated"] == 4 and view["counts"]["refused"] == 1
    results = items(mig, job["id"])
    refused = results[iids["city"]]
    assert refused.status == "refused" and refused.reasons[0]["code"] == "task_removed"
    assert version_of(mig, iids["city"]) == 1
    for where in ("county", "consult", "half", "notice"):
        assert results[iids[where]].status == "migrated" and results[iids[where]].from_version == 1
        assert version_of(mig, iids[where]) == target
        assert mig.verify_history(iids[where]).ok
    events = [e for e in mig.instance(iids["county"])["events"] if e["type"] == "instance_migrated"]
    assert events[0]["payload"]["job_id"] == job["id"] and events[0]["actor"] == "owner"
    item = next(i for i in view["items"] if i["instance_id"] == iids["city"])
    assert item["reasons"][0]["message_zh"].startswith("当前所处的「市级审核」")


def test_the_instance_is_checked_again_when_it_is_migrated(mig, tmp_path):
    """A dry-run sees the instance at the county review (fine); by the time the job reaches it, the
    county has passed it to the city review, which the target removed: refused then, with that reason."""
    iid = start_at(mig, "county")
    mig.deploy(variant(tmp_path, "no-city", mig_app=no_city_review), deployed_by="owner")
    assert dryrun.dry_run(mig, "mig_app", 1, 2).items[0].can_migrate
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    complete(mig, iid, "county_review", PASS, COUNTY)
    jobs.run_jobs(mig, runner="w1")
    assert items(mig, job["id"])[iid].status == "refused"
    assert open_task(mig, iid, "city_review") is not None and version_of(mig, iid) == 1


def test_an_instance_that_finished_meanwhile_is_skipped(mig):
    finished, running = start_at(mig, "county"), start_at(mig, "county")
    mig.deploy(V2, deployed_by="owner")
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    complete(mig, finished, "county_review", {"decision": "reject"}, COUNTY)
    jobs.run_job(mig, job["id"], runner="cli")
    results = items(mig, job["id"])
    assert results[finished].status == "skipped" and results[finished].reasons[0]["code"] == "finished"
    assert results[running].status == "migrated"


def test_selecting_by_position_and_by_id(mig):
    county, city = start_at(mig, "county"), start_at(mig, "city")
    mig.deploy(V2, deployed_by="owner")
    by_position = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner",
                                  selection=dryrun.Selection(positions=("city_review",)))
    assert set(items(mig, by_position["id"])) == {city}
    by_id = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner",
                            selection=dryrun.Selection(instance_ids=(county,)))
    assert set(items(mig, by_id["id"])) == {county}
    assert by_id["selection"]["instance_ids"] == [county]
    with pytest.raises(Conflict):  # nothing matches
        jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner",
                        selection=dryrun.Selection(title="无此企业"))


def test_a_cancelled_job_stops_and_keeps_what_it_did(mig):
    first, second = start_at(mig, "county"), start_at(mig, "county")
    mig.deploy(V2, deployed_by="owner")
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    with mig.db.unit_of_work() as s:  # as if the worker had done the first instance before the cancel
        s.get(MigrationJob, job["id"]).status = "running"
    jobs._migrate_item(mig, jobs._claim(mig, "w1"), items(mig, job["id"])[first].id, first)
    cancelled = jobs.cancel_job(mig, job["id"], by="owner")
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_by"] == "owner"
    assert cancelled["counts"]["migrated"] == 1 and cancelled["counts"]["cancelled"] == 1
    assert jobs.run_jobs(mig, runner="w1") == 0
    assert version_of(mig, first) == 2 and version_of(mig, second) == 1
    with pytest.raises(Conflict):
        jobs.cancel_job(mig, job["id"], by="owner")


def test_a_job_whose_worker_died_is_taken_over_after_a_while(mig, clock):
    iids = [start_at(mig, "county") for _ in range(3)]
    mig.deploy(V2, deployed_by="owner")
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    claimed = jobs._claim(mig, "dead-worker")
    jobs._migrate_item(mig, claimed, items(mig, job["id"])[iids[0]].id, iids[0])  # then it crashed
    assert jobs.run_jobs(mig, runner="w2") == 0  # the holder may still be alive
    clock.advance(seconds=jobs.STALE_SECONDS + 1)
    assert jobs.run_jobs(mig, runner="w2") == 2
    view = jobs.job_view(mig, job["id"])
    assert view["status"] == "completed" and view["counts"]["migrated"] == 3
    assert [version_of(mig, iid) for iid in iids] == [2, 2, 2]


def test_jobs_list_and_view_page_their_items(mig):
    iids = [start_at(mig, "county") for _ in range(3)]
    mig.deploy(V2, deployed_by="owner")
    job = jobs.create_job(mig, process_id="mig_app", from_number=1, to_number=2, created_by="owner")
    jobs.run_job(mig, job["id"], runner="cli")
    listed = jobs.jobs_of(mig, "mig_app")
    assert [j["id"] for j in listed] == [job["id"]] and listed[0]["counts"]["migrated"] == 3
    page = jobs.job_view(mig, job["id"], page=2, per_page=2)
    assert page["items_total"] == 3 and page["pages"] == 2 and [i["instance_id"] for i in page["items"]] == iids[2:]
    assert jobs.job_view(mig, job["id"], status="refused")["items"] == []
    assert page["finished_at"] is not None and dt.datetime.fromisoformat(page["created_at"]).tzinfo is not None
