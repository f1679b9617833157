"""Saved histories replay on every run (as Temporal replays saved histories): the demo's and the whole
year's instances, recorded by ``scripts/record_histories.py`` into ``tests/fixtures/histories/``, are
imported into an empty database and re-executed by today's code. A change to a handler that alters
what a past command did — a command, the runtime, a script function, the working-day arithmetic, the
derived tables — makes this fail; it then needs a migration, not a newly recorded fixture.
"""
from __future__ import annotations

import pytest

import config
from engine.api import WorkflowEngine
from engine.replay import bundle, replay_many
from tests.conftest import FIXTURES

HISTORIES = sorted((FIXTURES / "histories").glob("*.json.gz"))


def test_the_saved_histories_are_there():
    assert {p.name for p in HISTORIES} >= {"demo.json.gz", "whole_year.json.gz"}


@pytest.fixture
def empty_engine(db, clock):
    """An engine on an empty database: the bundle brings its versions, users and calendars."""
    return WorkflowEngine(db, roles=config.role_keys(), clock=clock)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.name.split(".")[0])
def test_a_saved_history_replays_without_divergence(empty_engine, path):
    ids = bundle.import_bundle(empty_engine, bundle.read(path))
    report = replay_many(empty_engine, ids)
    assert report.replayed == len(ids) > 10
    assert report.failures == {}, report.summary()


def test_a_bundle_of_another_format_is_refused(empty_engine):
    with pytest.raises(ValueError, match="format"):
        bundle.import_bundle(empty_engine, {"format": 99, "tables": {}})


def test_a_handler_changed_since_the_recording_fails_the_saved_history(empty_engine, monkeypatch):
    """What the test above guards against: a completion's outcome taken from another answer now."""
    from engine.commands import complete

    ids = bundle.import_bundle(empty_engine, bundle.read(FIXTURES / "histories" / "demo.json.gz"))
    monkeypatch.setattr(complete, "OUTCOME_KEYS", ("outcome",))
    report = replay_many(empty_engine, ids)
    assert report.diverged > 0
    assert all(d.where.endswith(".outcome") for d in report.failures.values())
