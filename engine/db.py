"""The database: one declarative base, one engine per URL, one unit of work per command.

SQLite (the embedded default) runs every command transaction as ``BEGIN IMMEDIATE`` so
two commands on one file queue up instead of failing with "database is locked";
PostgreSQL locks the instance row with ``SELECT … FOR UPDATE``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

UTC = dt.timezone.utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table, the engine's and the domain's (``handlers/``)."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC; read back aware even from SQLite (which drops zones).

    Refuses naive datetimes: a time without a zone is a bug we want to see at once.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; pass an aware time (ctx.clock.now())")
        return value.astimezone(UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs) -> Engine:
    """An Engine for ``url``; SQLite gets WAL, foreign keys and explicit BEGIN control."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # No pre-ping (it costs a round trip per transaction); recycle connections instead.
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


class Database:
    """Owns the engine and the two session factories (reads, and locked commands)."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        # Commands on SQLite take the write lock at BEGIN, so the "row lock" is the file lock.
        command_bind = self.engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(self.engine) else self.engine
        self._commands = sessionmaker(command_bind, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; closed (its transaction rolled back) at the end. Use ``unit_of_work`` to write."""
        with self._reads() as session:
            yield session

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back otherwise."""
        with self._commands() as session:
            with session.begin():
                yield session

    def create_all(self) -> None:
        import engine.models  # noqa: F401  (register the tables)

        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
