"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

import handlers  # noqa: F401  (domain tables)
from engine import schema
from engine.db import Database
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield db
        db.dispose()
        return
    request.getfixturevalue("_pg_schema")  # skips or fails like every PostgreSQL test
    name = f"greenflow_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    yield db
    db.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def test_migrations_match_the_models(empty_db):
    schema.upgrade(empty_db)
    assert schema.differences(empty_db) == []


def test_upgrade_twice_is_harmless(empty_db):
    schema.upgrade(empty_db)
    schema.upgrade(empty_db)
    assert schema.differences(empty_db) == []
