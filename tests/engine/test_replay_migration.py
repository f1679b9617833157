"""Replay re-does a migration (issue 12) at its recorded point, on both definition versions it copies
from the record — never the current bpmn/ folder (both databases)."""
from __future__ import annotations

import pytest

from engine.replay import replay, steps_of
from tests.engine.test_migration import (  # noqa: F401  (the fixture and the migration fixtures' helpers)
    CITY, COUNTY, PASS, STEPS, V2, complete, history_of, mig, migrate, open_task, start_at,
)


@pytest.mark.parametrize("where", sorted(STEPS))
def test_a_migrated_instance_replays_at_every_position(mig, where):
    iid = start_at(mig, where)
    v2 = mig.deploy(V2, deployed_by="owner").version_id
    migrate(mig, iid, v2)
    result = replay(mig, iid)
    assert result.matched, result.first_divergence


def test_a_migrated_instance_finishing_on_the_new_version_replays_and_steps_show_the_version(mig):
    iid = start_at(mig, "county")
    v2 = mig.deploy(V2, deployed_by="owner").version_id
    migrate(mig, iid, v2)
    complete(mig, iid, "county_review", PASS, COUNTY)
    complete(mig, iid, "city_review", {"decision": "pass", "remark": "v2 的新字段"}, CITY)
    assert open_task(mig, iid, "materials_check") is not None  # only v2 has it
    complete(mig, iid, "materials_check", PASS, CITY)
    assert replay(mig, iid).matched
    steps = steps_of(history_of(mig, iid))
    migrated = next(s for s in steps if s.type == "instance_migrated")
    assert migrated.version_id == v2 and steps[0].version_id != v2
    assert steps[-1].version_id == v2 and steps[-1].task.bpmn_id == "materials_check"


def test_a_migration_to_other_content_than_recorded_diverges(mig):
    iid = start_at(mig, "city")
    v2 = mig.deploy(V2, deployed_by="owner").version_id
    migrate(mig, iid, v2)
    from sqlalchemy import select

    from engine.models import DefinitionFile

    with mig.db.unit_of_work() as s:  # the stored v2 altered after the fact: replay refuses to use it
        row = s.scalar(select(DefinitionFile).where(DefinitionFile.version_id == v2,
                                                    DefinitionFile.path == "mig_app.bpmn"))
        row.content = row.content.replace(b"</bpmn:definitions>", b"<!-- edited --></bpmn:definitions>")
    found = replay(mig, iid).first_divergence
    assert found is not None and "sha256" in found.message
