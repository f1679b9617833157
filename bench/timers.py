"""Benchmark: timer firing lag with many pending timers.

Seeds PENDING instances each waiting on one timer (a copy of one real instance, with fresh
task ids), of which DUE fall due spread over the next minute and the rest next year; runs
one timer worker on the real clock; prints the firing lag (due → command committed) p50
and p99, and how many instance states were loaded (only due timers may load one).

Usage: python bench/timers.py [--pending 100000] [--due 5000] [--db URL]
Target on the 2-core machine: p99 < 2 s; states loaded == timers fired.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
import handlers  # noqa: E402,F401
from engine import state  # noqa: E402
from engine.api import WorkflowEngine  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.commands import FireTimer  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.identity import system_actor  # noqa: E402
from engine.models import Event, ProcessInstance, Timer  # noqa: E402
from engine.worker import TimerWorker  # noqa: E402

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FAR = "2099-01-01T00:00:00+00:00"


def seed(engine: WorkflowEngine, pending: int, due: int, start: dt.datetime) -> None:
    """One real instance, then ``pending - 1`` copies with fresh task ids, inserted in bulk."""
    engine.deploy(ROOT / "tests" / "fixtures" / "timers", deployed_by="bench")
    template_id = engine.start("one_timer", {"due": FAR}, actor=system_actor("bench")).instance_id
    with engine.db.session() as s:
        row = s.get(ProcessInstance, template_id)
        text = zlib.decompress(row.state).decode()
        template = {c.key: getattr(row, c.key) for c in ProcessInstance.__table__.columns if c.key not in ("id",)}
        timer = s.scalars(select_timer(template_id)).one()
    guids = sorted(set(UUID.findall(text)))
    instances, timers = [], []
    for n in range(1, pending):
        due_at = (start + dt.timedelta(seconds=60 * n / due)) if n <= due else dt.datetime.fromisoformat(FAR)
        mapping = {g: str(uuid.uuid4()) for g in guids}
        body = UUID.sub(lambda m: mapping[m.group(0)], text).replace(FAR, due_at.isoformat())
        instances.append({**template, "state": zlib.compress(body.encode(), 1), "id": template_id + n})
        timers.append({"instance_id": template_id + n, "task_guid": mapping[timer.task_guid], "bpmn_id": "wait",
                       "due_at": due_at})
        if len(instances) == 5000:
            flush(engine, instances, timers)
    flush(engine, instances, timers)


def select_timer(instance_id: int):
    from sqlalchemy import select

    return select(Timer).where(Timer.instance_id == instance_id)


def flush(engine: WorkflowEngine, instances: list, timers: list) -> None:
    from sqlalchemy import insert

    if instances:
        with engine.db.engine.begin() as conn:
            conn.execute(insert(ProcessInstance.__table__), instances)
            conn.execute(insert(Timer.__table__), timers)
        instances.clear()
        timers.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/timers.db"
        db = Database(url)
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        engine = WorkflowEngine(db, roles=config.role_keys(), clock=SystemClock())
        t = time.perf_counter()
        start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30 + args.pending / 2000)
        seed(engine, args.pending, args.due, start)
        print(f"seeded {args.pending:,} waiting instances ({args.due:,} due within a minute) "
              f"in {time.perf_counter() - t:.1f} s on {db.dialect}")

        loads = 0
        real_load = state.load

        def counting_load(*a, **kw):
            nonlocal loads
            loads += 1
            return real_load(*a, **kw)

        state.load = counting_load
        committed: dict[int, dt.datetime] = {}
        real_execute = engine.execute

        def timed_execute(command, **kw):
            outcome = real_execute(command, **kw)
            if isinstance(command, FireTimer) and outcome.result.get("fired"):
                committed[command.instance_id] = dt.datetime.now(dt.timezone.utc)
            return outcome

        engine.execute = timed_execute
        worker = TimerWorker(engine, name="bench", poll_seconds=1.0)
        worker.jobs = []
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        deadline = start + dt.timedelta(seconds=75)
        while dt.datetime.now(dt.timezone.utc) < deadline and len(committed) < args.due:
            time.sleep(0.5)
        stop.set()
        thread.join(timeout=10)

        from sqlalchemy import func, select

        with db.session() as s:
            dues = dict(s.execute(select(Event.instance_id, Event.payload).where(Event.type == "timer_fired")).all())
            left = s.scalar(select(func.count()).select_from(Timer))
        lags = sorted((committed[i] - dt.datetime.fromisoformat(json.loads(p)["due_at"])).total_seconds()
                      for i, p in dues.items() if i in committed)
        if not lags:
            print("no timer fired")
            return 1
        p99 = lags[max(0, int(len(lags) * 0.99) - 1)]
        print(f"fired {len(lags):,} of {args.due:,} due timers; {left:,} timers still pending")
        print(f"firing lag due → committed: p50 {statistics.median(lags):.3f} s, p99 {p99:.3f} s, "
              f"max {lags[-1]:.3f} s (target p99 < 2 s)")
        print(f"instance states loaded: {loads:,} (timers fired: {len(lags):,}; none for timers not due)")
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
