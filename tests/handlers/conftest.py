"""Fixtures for the domain layer: an in-memory database with the domain tables, a frozen clock."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import handlers  # noqa: F401  (registers services and script functions)
from engine.clock import FrozenClock
from engine.db import Base
from engine.services import ServiceContext
from handlers import records
from tests.handlers.factories import NOW

# Only the domain's tables: the engine's own tables are not this suite's business.
DOMAIN_TABLES = [getattr(records, name).__table__ for name in records.__all__ if hasattr(getattr(records, name), "__table__")]
DOMAIN_TABLES.append(handlers.evaluators.EvaluatorRepresentative.__table__)  # read by 第三十一条's cap
DOMAIN_TABLES.append(handlers.park_members.ParkMember.__table__)  # read by 第二十三、二十七条's park rules


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=DOMAIN_TABLES)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture(autouse=True)
def shipped_calendar() -> Iterator[None]:
    """Services count working days on the calendar of the running command: the shipped one."""
    from engine import calendar

    with calendar.use_calendar(calendar.shipped_calendar()):
        yield


@pytest.fixture
def make_ctx(session: Session, clock: FrozenClock) -> Callable[..., ServiceContext]:
    def make(instance_id: int = 1) -> ServiceContext:
        return ServiceContext(session=session, clock=clock, instance_id=instance_id,
                              actor="applicant:test", process_id="green_application")

    return make


@pytest.fixture
def ctx(make_ctx: Callable[..., ServiceContext]) -> ServiceContext:
    return make_ctx()
