"""Benchmark: replaying the whole-year scenario's instances (issue 13; target ≥ 200 instances/s on SQLite).

Builds the year of ``tests/scenarios/test_whole_year.py`` (January to December 2026: complaints,
the annual table and green codes, a change, an incident, the national recommendation, the
applications with objections, the list publications) on a fresh database, then replays every
instance with ``engine.replay.replay_many`` — each command re-run on an empty in-memory scratch
database and compared with the record at every step — and prints:

- instances, commands and events replayed, and how many diverged (must be 0);
- instances/s and commands/s, cold (the first replay in the process: the diagrams are parsed) and
  warm (the parsed diagrams cached, as in a running server), best of ``--repeat``;
- per-instance time p50 / p95 / max, and the slowest instance.

Usage: python bench/replay.py [--db URL] [--repeat 3] [--jobs 1]
``--jobs N`` replays in N processes, each with its own scratch database (the instances split evenly).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
import handlers  # noqa: E402,F401
from engine import calendar  # noqa: E402
from engine.api import WorkflowEngine  # noqa: E402
from engine.clock import FrozenClock, set_clock  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.identity import upsert_user  # noqa: E402
from engine.replay import replay_many  # noqa: E402
from engine.replay.replayer import instance_ids  # noqa: E402
from handlers import demo  # noqa: E402
from handlers.records import Evaluator  # noqa: E402

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def build_year(url: str) -> None:
    """The whole-year scenario on ``url`` (as the test suite's ``green`` fixture sets it up)."""
    from tests.scenarios import test_whole_year
    from tests.scenarios.driver import BPMN, Scenario

    db = Database(url)
    Base.metadata.create_all(db.engine)
    clock = FrozenClock(START)
    previous = set_clock(clock)
    try:
        engine = WorkflowEngine(db, roles=config.role_keys(), clock=clock)
        with db.unit_of_work() as session:
            calendar.seed_from_config(session, by="bench", now=clock.now())
        engine.deploy(BPMN, deployed_by="owner")
        with db.unit_of_work() as session:
            for username, name, grants in demo.accounts():
                upsert_user(session, username, display_name=name, grants=grants)
            session.add(Evaluator(id="EV001", name="黔绿评价咨询有限公司", legal_representative="王建国",
                                  national_qualified=True))
            session.flush()
            demo.seed_expert_pool(session, now=clock.now())  # the expert panel is drawn from it (第十八条)
            from handlers.demo_records import publish_windows  # every application needs an open notice (第十四条)

            for year in (2026, 2027):  # as the tests' ``green`` fixture: this year's notices and next year's
                publish_windows(session, year, now=clock.now(), opens_on=dt.date(2026, 1, 1))
        test_whole_year.test_a_whole_year_of_the_province(Scenario(engine))
    finally:
        set_clock(previous)
        db.dispose()


def _replay_part(url: str, ids: list[int]) -> dict:
    """Replay ``ids`` in this process (cold, then warm); the figures of the warm run."""
    engine = WorkflowEngine(Database(url), roles=config.role_keys())
    replay_many(engine, ids)  # parse the diagrams once
    report = replay_many(engine, ids)
    return {"results": [r.to_dict() for r in report.results], "seconds": report.seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing database with the whole year (default: build one on SQLite)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'year.db'}"
            began = time.perf_counter()
            build_year(url)
            print(f"whole year built on SQLite in {time.perf_counter() - began:.1f} s")
        engine = WorkflowEngine(Database(url), roles=config.role_keys())
        ids = instance_ids(engine)

        cold = replay_many(engine, ids)
        print(f"{len(ids)} instances, {sum(r.commands for r in cold.results)} commands, "
              f"{sum(r.events for r in cold.results)} events: {cold.summary()}")
        for instance_id, divergence in cold.failures.items():
            print(f"  #{instance_id}: seq {divergence.seq} {divergence.where}: {divergence.message}")
        print(f"cold   {len(ids) / cold.seconds:7.1f} instances/s ({cold.seconds:.3f} s, diagrams parsed)")

        best = None
        for _ in range(max(1, args.repeat)):
            report = replay_many(engine, ids)
            if best is None or report.seconds < best.seconds:
                best = report
        commands = sum(r.commands for r in best.results)
        print(f"warm   {len(ids) / best.seconds:7.1f} instances/s, {commands / best.seconds:7.1f} commands/s "
              f"({best.seconds:.3f} s, best of {max(1, args.repeat)})")
        times = sorted(r.seconds for r in best.results)
        slowest = max(best.results, key=lambda r: r.seconds)
        print(f"       per instance p50 {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms "
              f"(#{slowest.instance_id} {slowest.process_id}, {slowest.commands} commands)")

        if args.jobs > 1:
            parts = [ids[i::args.jobs] for i in range(args.jobs)]
            began = time.perf_counter()
            with ProcessPoolExecutor(args.jobs) as pool:
                done = list(pool.map(_replay_part, [url] * args.jobs, parts))
            wall = time.perf_counter() - began
            slowest_part = max(d["seconds"] for d in done)
            print(f"jobs={args.jobs} {len(ids) / slowest_part:7.1f} instances/s warm (slowest process "
                  f"{slowest_part:.3f} s; {wall:.1f} s with start-up and parsing)")
        print("target: >= 200 instances/s on SQLite")
        return 1 if cold.diverged else 0


if __name__ == "__main__":
    sys.exit(main())
