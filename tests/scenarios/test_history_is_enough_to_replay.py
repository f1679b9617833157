"""The recorded history is enough to re-execute an instance: the product replay (``engine.replay``) runs
its commands again on an empty scratch database (the same definition version, users and recorded
clock, the service tasks' recorded results) and agrees with the record at every step, and with the
stored instance at the end — for the whole-year scenario's instances and for the demo's.

A change to a handler that alters what a past command did makes one of these fail
(tests/engine/test_replay.py shows such changes being caught).
"""
from __future__ import annotations

import pytest

from engine.replay import replay, replay_many
from engine.replay.replayer import instance_ids
from handlers import demo
from tests.scenarios import test_whole_year
from tests.scenarios.driver import PASS


def test_a_city_application_with_an_objection_replays_to_the_same_outcome(green):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", {"decision": "return", "reason": "补充材料"})
    green.step(iid, "amend", {"energy_tce": 1900.0, "amend_note": "已补充"})
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid)
    green.object(iid)
    green.step(iid, "review_objection", {"upheld": False, "finding": "不属实", "reply": "经核实不属实"})
    green.end_notice()
    assert green.view(iid)["data"]["outcome"] == "listed_city"

    result = replay(green.engine, iid)
    assert result.matched, result.first_divergence
    assert result.commands == 12 and result.events == len(green.view(iid)["events"])


def test_every_instance_of_the_demo_replays(green):
    demo.seed(green.engine, password="replay-test")
    ids = instance_ids(green.engine)
    report = replay_many(green.engine, ids)
    assert report.replayed == len(ids) >= 16
    assert report.failures == {}, report.summary()


@pytest.mark.slow
def test_every_instance_of_the_whole_year_replays(green):
    test_whole_year.test_a_whole_year_of_the_province(green)
    ids = instance_ids(green.engine)
    report = replay_many(green.engine, ids)
    assert report.replayed == len(ids) >= 14
    assert report.failures == {}, report.summary()
