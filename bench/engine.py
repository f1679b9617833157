"""Benchmark: one province-level application lifecycle, raw in memory vs persisted.

Prints, for the lifecycle start → county review → city review → expert panel (three experts score,
第十八条) → site check →
province review → four bureaus → notice period (timer) → province list:

- raw: SpiffWorkflow in memory with our sandboxed script engine and canned service results;
- persisted: the same lifecycle through the engine's commands on SQLite and on PostgreSQL
  (real services writing domain records, derived tables, hash-chained events);
- completions per second, the persisted/raw ratio per completion, stored bytes per instance.

Usage: python bench/engine.py [--instances N] [--pg URL] [--no-pg]
Targets (issue 17, 2-core machine): the flat 24-task reference ≥ 400 completions/s on SQLite with
persisted ≤ 5× raw; the lifecycle ≤ 3× raw; a cold completion (the instance not in this process's
workflow cache) ≤ 1.3× a warm one — printed beside the warm figure.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
import handlers  # noqa: E402,F401
from engine import calendar, runtime  # noqa: E402
from engine.api import WorkflowEngine  # noqa: E402
from engine.clock import FrozenClock, set_clock, use_clock  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.identity import upsert_user  # noqa: E402
from engine.models import Event, HumanTask, ProcessInstance  # noqa: E402
from handlers import demo  # noqa: E402

PASS = {"decision": "pass", "opinion": "符合要求"}
EXPERT = {"conflict_of_interest": False, "expert_score": 88, "expert_opinion": "良好", "site_check_needed": True}
STEPS = [
    ("review", PASS), ("review", PASS),
    ("expert_score", EXPERT), ("expert_score", EXPERT), ("expert_score", EXPERT),  # each its own expert
    ("site_check", {"site_check_passed": True, "site_check_date": "2026-03-10", "site_check_notes": "属实"}),
    ("review", PASS),
    ("opinion_eco", {"opinion": "no_objection"}), ("opinion_emergency", {"opinion": "no_objection"}),
    ("opinion_market", {"opinion": "no_objection"}), ("opinion_tax", {"opinion": "no_objection"}),
]
COMPLETIONS = len(STEPS)
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def application(n: int) -> dict:
    unit = demo.UNITS[n % 4 if n % 4 != 3 else 0]  # eligible units in three cities
    return demo.application_data(unit, target_level="province")


# --- raw ---------------------------------------------------------------------------------

CANNED = {
    "check_eligibility": {"eligible": True, "violations": [], "flags": []},
    "record_outcome": {}, "record_listing": {},
    "close_notice": {"upheld": 0, "rejected": 0, "pending": 0},
    "draw_expert_panel": {"round": 1, "seed": "1/1", "short": False, "message": "",
                          "experts": [{"assignee": u, "name": u} for u in ("expert", "expert-3", "expert-5")]},
    "settle_expert_panel": {"complete": True, "replacements_needed": 0, "conflicts": [], "score": 88,
                            "passed": True, "site_check_needed": True, "divided": False, "opinion": "良好"},
}


class _CannedEnvironment(runtime.SCRIPT_ENGINE.environment.__class__):
    def call_service(self, context, operation_name=None, operation_params=None, **_):
        if operation_name == "open_notice":
            now = runtime._clock.now()
            first, last = calendar.current_calendar().notice_period(now.date(), 7)
            return json.dumps({"id": 1, "starts_at": now.isoformat(), "ends_at": calendar.end_of_day(last).isoformat()})
        return json.dumps(CANNED[operation_name])


def run_raw(instances: int) -> float:
    """Seconds for ``instances`` lifecycles in memory (no database)."""
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_files_by_glob(str(ROOT / "bpmn" / "*.bpmn"))
    spec, subs = parser.get_spec("green_application"), parser.get_subprocess_specs("green_application")
    engine = runtime.SandboxScriptEngine()
    engine.environment = _CannedEnvironment()
    clock = FrozenClock(START)
    started = time.perf_counter()
    with use_clock(clock), calendar.use_calendar(calendar.shipped_calendar()):
        for n in range(instances):
            clock.set(START)
            app = handlers.normalise_application(application(n))
            wf = runtime.BpmnWorkflow(spec, subs, script_engine=engine)
            wf.task_tree.data.update({"application": app, "applicant_scope": f"unit:{app['credit_code']}"})
            runtime.advance(wf)
            for bpmn_id, data in STEPS:
                task = next(t for t in runtime.ready_human_tasks(wf) if t.task_spec.bpmn_id == bpmn_id)
                runtime.complete_human_task(wf, str(task.id), dict(data))
            clock.advance(days=15)
            runtime.advance(wf)
            assert wf.is_completed() and wf.data["outcome"] == "listed_province", wf.data.get("outcome")
    return time.perf_counter() - started


# --- persisted ---------------------------------------------------------------------------

def prepare(url: str) -> WorkflowEngine:
    db = Database(url)
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    clock = FrozenClock(START)
    set_clock(clock)
    engine = WorkflowEngine(db, roles=config.role_keys(), clock=clock)
    engine.deploy(ROOT / "bpmn", deployed_by="bench")
    with db.unit_of_work() as s:
        calendar.seed_from_config(s, by="bench", now=clock.now())
        for username, name, grants in demo.accounts():
            upsert_user(s, username, display_name=name, grants=grants)
        s.flush()
        demo.seed_expert_pool(s, now=clock.now())  # the panel is drawn from it (第十八条)
        from handlers.demo_records import publish_windows  # applications need an open notice (第十四条)
        publish_windows(s, START.year, now=clock.now())
    return engine


def run_persisted(engine: WorkflowEngine, instances: int) -> tuple[float, list[float]]:
    """Seconds spent inside engine commands for ``instances`` lifecycles, and per-command times."""
    from sqlalchemy import select

    actors = {u: engine.actor(u) for u, _, _ in demo.accounts()}
    spent, per_command = 0.0, []
    for n in range(instances):
        engine.clock.set(START)
        unit_app = application(n)
        applicant = actors[f"ent-{next(u.key for u in demo.UNITS if u.credit_code == unit_app['credit_code']).lower()}"]
        t = time.perf_counter()
        iid = engine.start("green_application", unit_app, actor=applicant).instance_id
        per_command.append(time.perf_counter() - t)
        for bpmn_id, data in STEPS:
            with engine.db.session() as s:  # the inbox's lookup; not part of the command
                task = s.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == bpmn_id,
                                                        HumanTask.status == "open"))
            actor = actors[task.assignee or demo.user_for(task.role, task.scope)]  # a panel expert: their own
            if bpmn_id == "review":  # a reason for each 原则上 flag (第二十二条), as the reviewer gives it
                flags = engine.instance(iid)["data"].get("eligibility", {}).get("flags") or []
                data = {**data, "flag_acks": {f["rule"]: "已研判" for f in flags}} if flags else data
            t = time.perf_counter()
            engine.complete(task.id, dict(data), actor=actor)
            per_command.append(time.perf_counter() - t)
        engine.clock.advance(days=15)
        t = time.perf_counter()
        fired = engine.fire_due_timers()
        per_command.append(time.perf_counter() - t)
        assert fired == 1
    spent = sum(per_command)
    return spent, per_command


def stored_bytes(engine: WorkflowEngine, instances: int) -> dict:
    from sqlalchemy import func, select, text

    with engine.db.session() as s:
        state_bytes = s.scalar(select(func.sum(func.length(ProcessInstance.state))))
        event_bytes = s.scalar(select(func.sum(func.length(Event.payload))))
        statuses = dict(s.execute(select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())
        if engine.db.dialect == "postgresql":
            total = s.scalar(text("select sum(pg_total_relation_size(c.oid)) from pg_class c join pg_namespace n "
                                  "on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r'"))
        else:
            pages = s.execute(text("pragma page_count")).scalar() * s.execute(text("pragma page_size")).scalar()
            total = pages
    return {"state": state_bytes / instances, "events": event_bytes / instances, "database": total / instances,
            "statuses": statuses}


# --- the flat reference diagram -------------------------------------------------------------

FLAT = ROOT / "bench" / "flat24"
FLAT_STEPS = 12


def run_flat_raw(instances: int) -> float:
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_files_by_glob(str(FLAT / "*.bpmn"))
    spec = parser.get_spec("flat24")
    started = time.perf_counter()
    for _ in range(instances):
        wf = runtime.BpmnWorkflow(spec, {}, script_engine=runtime.SCRIPT_ENGINE)
        wf.task_tree.data.update({"county": "520302", "total": 0})
        runtime.advance(wf)
        for _ in range(FLAT_STEPS):
            task = runtime.ready_human_tasks(wf)[0]
            runtime.complete_human_task(wf, str(task.id), {"note": "同意"})
        assert wf.is_completed()
    return time.perf_counter() - started


def run_flat_persisted(url: str, instances: int, *, cold: bool = False) -> float:
    """Seconds spent in the commands of ``instances`` flat lifecycles. ``cold``: the workflow cache is
    emptied before every completion, as when another process ran the instance's last command (the
    state is read and restored, and the derived tables and the step's "before" are read afresh)."""
    from sqlalchemy import select

    engine = prepare(url)
    engine.deploy(FLAT, deployed_by="bench")
    actor = engine.actor("county-520302")
    spent = 0.0
    for _ in range(instances):
        t = time.perf_counter()
        iid = engine.start("flat24", {"county": "520302", "total": 0}, actor=actor).instance_id
        spent += time.perf_counter() - t
        for _ in range(FLAT_STEPS):
            with engine.db.session() as s:
                task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
            if cold:
                engine.cache.clear()
            t = time.perf_counter()
            engine.complete(task_id, {"note": "同意"}, actor=actor)
            spent += time.perf_counter() - t
    engine.db.dispose()
    return spent


def report(label: str, seconds: float, per_command: list[float], instances: int, raw_per_completion: float,
           sizes: dict) -> None:
    per_completion = seconds / (instances * COMPLETIONS)
    per_command.sort()
    p50 = statistics.median(per_command) * 1000
    p99 = per_command[int(len(per_command) * 0.99) - 1] * 1000
    print(f"{label:<12} {instances} lifecycles, {len(per_command)} commands in {seconds:.2f} s: "
          f"{1 / per_completion:,.0f} completions/s ({per_completion * 1000:.2f} ms per completion, "
          f"command p50 {p50:.2f} ms, p99 {p99:.2f} ms), ratio to raw {per_completion / raw_per_completion:.1f}x")
    print(f"{'':<12} stored per instance: state {sizes['state'] / 1024:.1f} KiB, events {sizes['events'] / 1024:.1f} KiB,"
          f" whole database {sizes['database'] / 1024:.1f} KiB; statuses {sizes['statuses']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    run_raw(3)  # warm up the parser and compiled-code caches
    raw = run_raw(args.instances)
    raw_per_completion = raw / (args.instances * COMPLETIONS)
    print(f"lifecycle: {COMPLETIONS} task completions + start + notice timer; province-level application")
    print(f"{'raw memory':<12} {args.instances} lifecycles in {raw:.2f} s: {1 / raw_per_completion:,.0f} completions/s "
          f"({raw_per_completion * 1000:.3f} ms per completion)")
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        if not args.no_pg:
            targets.append(("postgresql", args.pg))
        for label, url in targets:
            try:
                engine = prepare(url)
            except Exception as exc:  # no server: say so and go on
                print(f"{label:<12} skipped: {type(exc).__name__}: {exc}")
                continue
            run_persisted(engine, 2)  # warm up
            engine = prepare(url)
            seconds, per_command = run_persisted(engine, args.instances)
            report(label, seconds, per_command, args.instances, raw_per_completion, stored_bytes(engine, args.instances))
            engine.db.dispose()
        print("\nreference: a flat diagram of 24 tasks (12 user tasks, 12 scripts), start + 12 completions")
        run_flat_raw(5)
        flat_raw = run_flat_raw(args.instances) / (args.instances * FLAT_STEPS)
        print(f"{'raw memory':<12} {1 / flat_raw:,.0f} completions/s ({flat_raw * 1000:.3f} ms per completion)")
        for label, url in targets:
            try:
                run_flat_persisted(url, 2)
                flat = run_flat_persisted(url, args.instances) / (args.instances * FLAT_STEPS)
                cold = run_flat_persisted(url, args.instances, cold=True) / (args.instances * FLAT_STEPS)
            except Exception as exc:
                print(f"{label:<12} skipped: {type(exc).__name__}: {exc}")
                continue
            print(f"{label:<12} warm {1 / flat:,.0f} completions/s ({flat * 1000:.2f} ms per completion), "
                  f"ratio to raw {flat / flat_raw:.1f}x; cold {1 / cold:,.0f} completions/s "
                  f"({cold * 1000:.2f} ms; cold/warm {cold / flat:.2f}x)")
    print("targets (issue 17): flat >= 400 completions/s on SQLite, persisted <= 5x raw; lifecycle <= 3x raw; "
          "cold <= 1.3x warm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
