"""Benchmark: dry-run and migrate running applications to a new version, on SQLite.

Seeds ``--instances`` green-manufacturing applications (``green_application``, started and
advanced through the engine's commands) at five positions in turn — the county review, the city
review, the consultation of the four bureaus, the consultation half answered, the 7-working-day
notice — deploys a v2 over the shipped diagrams that corrects a deadline (the review's 督办
timer: 10 → 12 working days) and adds an optional field to the review form, then prints

- the dry-run over every running instance: instances per second, and how many were moved in
  memory (the others shared the verdict of their position);
- the migration of ``--migrate`` of them as one job run in this process, each instance in its own
  command (lock, re-check, move, save, re-derive, record): instances per second;
- a check that every migrated history still verifies.

Usage: python bench/migration.py [--instances 10000] [--migrate 2000] [--seeded FILE]
Targets (issue 12; figures, not timed tests): dry-run ≥ 500 instances/s, migration ≥ 100 instances/s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
import handlers  # noqa: E402,F401
from engine import calendar, deploy  # noqa: E402
from engine.api import WorkflowEngine  # noqa: E402
from engine.clock import FrozenClock, set_clock  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.identity import system_actor, upsert_user  # noqa: E402
from engine.migration import dryrun, jobs  # noqa: E402
from engine.models import HumanTask, ProcessInstance  # noqa: E402
from sqlalchemy import select  # noqa: E402
from handlers import demo, demo_records  # noqa: E402
from handlers.uscc import make_uscc  # noqa: E402

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
BOT = system_actor("bench")
PASS = {"decision": "pass", "opinion": "符合要求"}
NO_OBJECTION = {"opinion": "no_objection"}
BUREAUS = ("opinion_eco", "opinion_emergency", "opinion_market", "opinion_tax")
# Position -> the tasks completed after the start to get there.
POSITIONS = {"county review": [], "city review": ["review"], "consultation": ["review", "review"],
             "consultation half answered": ["review", "review", *BUREAUS[:2]],
             "notice": ["review", "review", *BUREAUS]}


def open_engine(url: str) -> WorkflowEngine:
    db = Database(url)
    Base.metadata.create_all(db.engine)
    clock = FrozenClock(START)
    set_clock(clock)
    return WorkflowEngine(db, roles=config.role_keys(), clock=clock)


def setup(url: str) -> WorkflowEngine:
    engine = open_engine(url)
    db = engine.db
    engine.deploy(ROOT / "bpmn", deployed_by="owner", note="v1")
    with db.unit_of_work() as session:
        calendar.seed_from_config(session, by="bench", now=engine.clock.now())
        for username, name, grants in demo.accounts():
            upsert_user(session, username, display_name=name, grants=grants)
        session.flush()
        demo_records.publish_windows(session, 2026, now=engine.clock.now())
    return engine


def application(n: int) -> dict:
    """A city-level application of a made-up unit (one running application per unit and year)."""
    unit = demo.UNITS[0]
    return demo.application_data(unit, unit_name=f"黔北绿色制造示范企业{n:05d}",
                                 credit_code=make_uscc(f"91{unit.county}MA{n:07d}"))


def seed(engine: WorkflowEngine, count: int) -> list[int]:
    names = list(POSITIONS)
    iids = []
    for n in range(count):
        iid = engine.start("green_application", application(n), actor=BOT).instance_id
        for bpmn_id in POSITIONS[names[n % len(names)]]:
            with engine.db.session() as session:
                task_id = session.query(HumanTask.id).filter(HumanTask.instance_id == iid, HumanTask.bpmn_id == bpmn_id,
                                                             HumanTask.status == "open").order_by(HumanTask.id).first()[0]
            engine.complete(task_id, PASS if bpmn_id == "review" else NO_OBJECTION, actor=BOT)
        iids.append(iid)
    return iids


def deploy_v2(engine: WorkflowEngine) -> int:
    files = deploy.read_directory(ROOT / "bpmn")
    review = files["review_step.bpmn"].decode()
    files["review_step.bpmn"] = review.replace("add_working_days(review_opened_at, 10)</bpmn:timeDate>",
                                               "add_working_days(review_opened_at, 12)</bpmn:timeDate>").encode()
    form = json.loads(files["forms/review.schema.json"])
    form.setdefault("properties", {})["attachment_note"] = {"type": "string", "title": "附件说明", "maxLength": 200}
    files["forms/review.schema.json"] = json.dumps(form, ensure_ascii=False).encode()
    result = engine.deploy_files(files, deployed_by="owner", note="督办期限更正为12个工作日；审核表单增加附件说明")
    return result.versions["green_application"]


def baseline_ms(engine: WorkflowEngine, count: int = 50) -> float:
    """Milliseconds per claim-and-release pair of open tasks of different instances (the command path's
    cost without a workflow change), the workflow cache cleared so each command loads its instance."""
    with engine.db.session() as session:
        rows = session.execute(select(HumanTask.id, HumanTask.instance_id).where(HumanTask.status == "open")
                               .order_by(HumanTask.instance_id.desc())).all()
    tasks, seen = [], set()
    for task_id, instance_id in rows:
        if instance_id not in seen:
            seen.add(instance_id)
            tasks.append(task_id)
    tasks = tasks[:count]
    engine.cache.clear()
    began = time.perf_counter()
    for task_id in tasks:
        engine.claim(task_id, actor=BOT)
        engine.release(task_id, actor=BOT)
    engine.cache.clear()
    return (time.perf_counter() - began) / max(1, 2 * len(tasks)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--migrate", type=int, default=2_000)
    parser.add_argument("--seeded", default=None, help="reuse this seeded SQLite file (a copy is migrated); "
                                                        "seed it first when it does not exist")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="greenflow-bench-migration-")
    path = os.path.join(folder, "bench.db")
    if args.seeded and os.path.exists(args.seeded):
        shutil.copyfile(args.seeded, path)
        engine = open_engine(f"sqlite:///{path}")
        with engine.db.session() as session:
            iids = list(session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
        print(f"reusing {len(iids)} seeded applications from {args.seeded}")
    else:
        engine = setup(f"sqlite:///{path}")
        began = time.perf_counter()
        iids = seed(engine, args.instances)
        print(f"seeded {len(iids)} applications at {len(POSITIONS)} positions in {time.perf_counter() - began:.0f} s")
        if args.seeded:
            shutil.copyfile(path, args.seeded)
    target = deploy_v2(engine)
    engine.cache.clear()

    result = dryrun.dry_run(engine, "green_application", 1, target)
    summary = result.summary()
    rate = summary["total"] / result.seconds
    print(f"dry-run: {summary['total']} running instances in {result.seconds:.2f} s = {rate:.0f} instances/s "
          f"(target ≥ 500); {summary['can']} can move, {summary['cannot']} cannot; "
          f"{result.simulated} moved in memory, the others shared their position's verdict")
    for position in result.positions():
        names = ", ".join(e["name"] for e in position["elements"])
        print(f"    {position['total']:>6} at {names}: {position['can']} can move")

    print(f"for scale, on this machine now: a claim of a task of another instance (lock, load the state, "
          f"record, commit) takes {baseline_ms(engine):.1f} ms")
    count = min(args.migrate, len(iids))
    job = jobs.create_job(engine, process_id="green_application", from_number=1, to_number=target,
                          selection=dryrun.Selection(instance_ids=tuple(iids[:count])), created_by="owner")
    began = time.perf_counter()
    view = jobs.run_job(engine, job["id"], runner="bench")
    seconds = time.perf_counter() - began
    print(f"migration: {view['counts']['migrated']} of {count} instances in {seconds:.2f} s = "
          f"{view['counts']['migrated'] / seconds:.0f} instances/s (target ≥ 100); results {view['counts']}")
    broken = [iid for iid in iids[:count] if not engine.verify_history(iid).ok]
    print(f"histories verified: {count - len(broken)} of {count} intact")
    print(f"database: {path}")


if __name__ == "__main__":
    main()
