"""Record the saved histories replayed in CI: the demo's and the whole year's instances (issue 13).

    python scripts/record_histories.py        # writes tests/fixtures/histories/{demo,whole_year}.json.gz

Run it only to add histories of new behaviour. A saved history that stops replaying means a change
altered what a past command did: that change needs a migration of the recorded format or a
``patched`` code path, not a newly recorded fixture (STYLE.md, habit 10).
"""
from __future__ import annotations

import datetime as dt
import sys
import tempfile
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
from engine.replay import bundle  # noqa: E402
from engine.replay.replayer import instance_ids, replay_many  # noqa: E402
from handlers import demo  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "histories"
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def _engine(url: str) -> WorkflowEngine:
    db = Database(url)
    Base.metadata.create_all(db.engine)
    clock = FrozenClock(START)
    set_clock(clock)
    engine = WorkflowEngine(db, roles=config.role_keys(), clock=clock)
    with db.unit_of_work() as session:
        calendar.seed_from_config(session, by="record", now=clock.now())
    engine.deploy(ROOT / "bpmn", deployed_by="owner")
    with db.unit_of_work() as session:
        for username, name, grants in demo.accounts():
            upsert_user(session, username, display_name=name, grants=grants)
        session.flush()
        from handlers.demo_records import publish_windows  # every application needs an open notice (第十四条)

        publish_windows(session, 2026, now=clock.now(), opens_on=dt.date(2026, 1, 1))
    return engine


def record(name: str, build) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(f"sqlite:///{Path(tmp) / 'record.db'}")
        build(engine)
        ids = instance_ids(engine)
        report = replay_many(engine, ids)
        if report.diverged:
            raise SystemExit(f"{name}: {report.summary()} before saving: {report.failures}")
        path = OUT / f"{name}.json.gz"
        bundle.write(path, bundle.export_bundle(engine, ids, note=f"{name}, recorded by scripts/record_histories.py"))
        print(f"{path.relative_to(ROOT)}: {len(ids)} instances, {path.stat().st_size // 1024} KiB")
        engine.db.dispose()


def _demo(engine: WorkflowEngine) -> None:
    demo.seed(engine, password="recorded-history")


def _whole_year(engine: WorkflowEngine) -> None:
    from handlers.records import Evaluator
    from tests.scenarios import test_whole_year
    from tests.scenarios.driver import Scenario

    with engine.db.unit_of_work() as session:
        session.add(Evaluator(id="EV001", name="黔绿评价咨询有限公司", legal_representative="王建国",
                              national_qualified=True))
    test_whole_year.test_a_whole_year_of_the_province(Scenario(engine))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    record("demo", _demo)
    record("whole_year", _whole_year)
