"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

import pytest

import handlers  # noqa: F401  (domain tables)
from engine import schema
from engine.db import Database


@pytest.fixture
def empty_db(empty_db_url):
    db = Database(empty_db_url)
    yield db
    db.dispose()


def test_migrations_match_the_models(empty_db):
    schema.upgrade(empty_db)
    assert schema.differences(empty_db) == []


def test_upgrade_twice_is_harmless(empty_db):
    schema.upgrade(empty_db)
    schema.upgrade(empty_db)
    assert schema.differences(empty_db) == []
