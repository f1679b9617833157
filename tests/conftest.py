"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Without a PostgreSQL server the PostgreSQL half skips with a reason, except under
``CI=true``, where it fails: CI must never pass by skipping a backend.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import config
from engine.api import WorkflowEngine
from engine.clock import FrozenClock, set_clock
from engine.db import Base, Database

PG_URL = os.environ.get("GREENFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
FIXTURES = Path(__file__).parent / "fixtures"
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)  # Monday 09:00 in 贵阳


def _postgres_problem() -> str | None:
    try:
        probe = create_engine(PG_URL)
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def _pg_schema():
    """A PostgreSQL database of this test run's own (beside ``PG_URL``'s), with every table.

    Its own database, so that two runs at once (a developer's and CI's, or pytest-xdist
    workers) never drop each other's tables; dropped at the end of the run.
    """
    problem = _postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {problem}")
        pytest.skip(problem)
    import uuid

    import engine.models  # noqa: F401
    import handlers  # noqa: F401  (domain tables)

    name = f"greenflow_run_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    Base.metadata.create_all(db.engine)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("_pg_schema")


@pytest.fixture
def db(db_url):
    import engine.models  # noqa: F401
    import handlers  # noqa: F401

    database = Database(db_url)
    if database.dialect == "sqlite":
        Base.metadata.create_all(database.engine)
    yield database
    if database.dialect == "postgresql":
        _truncate_all(database)
    database.dispose()


@pytest.fixture
def clock():
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@pytest.fixture
def wf_engine(db, clock):
    """An engine on the test database, with the shipped working-day calendars loaded (as ``init`` does)."""
    from engine import calendar

    engine = WorkflowEngine(db, roles=config.role_keys(), clock=clock)
    with db.unit_of_work() as session:
        calendar.seed_from_config(session, by="tests", now=clock.now())
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    """The URL of an empty database (no tables): a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("_pg_schema")  # skips or fails like every PostgreSQL test
    import uuid

    name = f"greenflow_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def green(wf_engine):
    """The shipped diagrams deployed, the demo accounts and one evaluator: a scenario driver."""
    from engine.identity import upsert_user
    from handlers import demo
    from handlers.records import Evaluator
    from tests.scenarios.driver import BPMN, Scenario

    wf_engine.deploy(BPMN, deployed_by="owner")
    with wf_engine.db.unit_of_work() as s:
        for username, name, grants in demo.accounts():
            upsert_user(s, username, display_name=name, grants=grants)
        s.add(Evaluator(id="EV001", name="黔绿评价咨询有限公司", legal_representative="王建国", national_qualified=True))
        s.flush()
        demo.seed_expert_pool(s, now=wf_engine.clock.now())  # the expert pool (第十八条, docs/expert-panel.md)
        from handlers.demo_records import publish_windows  # every application needs an open notice (第十四条)
        now = wf_engine.clock.now()
        for year in (now.year, now.year + 1):  # this year's notices, and next year's open already
            publish_windows(s, year, now=now, opens_on=dt.date(now.year, 1, 1))
    return Scenario(wf_engine)
