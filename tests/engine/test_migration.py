"""Migrating running instances to another version, one instance at a time (both databases).

The fixture process ``mig_app`` (tests/fixtures/migration/v1) is a small application: a county
review, a city review with a 催办 reminder (a boundary timer), a consultation of two bureaus in a
called process, a notice that waits for its end (a timer) or an objection (a message). ``v2`` gives
the city review 10 working days instead of 5, adds 材料核验 after it, adds a field to the review form
and a due date to the ecology bureau's opinion. Other versions are edits of v1 made in the tests.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import history, state
from engine.commands import MigrateInstance
from engine.errors import InvalidInput, NotFound
from engine.identity import Actor, upsert_user
from engine.migration import dryrun, plan as plans
from engine.migration.reasons import MigrationRefused
from engine.models import Event, HumanTask, Incident, ProcessInstance, Timer
from tests.conftest import FIXTURES

V1, V2 = FIXTURES / "migration" / "v1", FIXTURES / "migration" / "v2"
DATA = {"code": "X1", "county": "520302", "city": "520300", "name": "黔南示范企业"}
PASS, NO_OBJECTION = {"decision": "pass"}, {"opinion": "no_objection"}


def actor(username, *grants):
    return Actor(username=username, grants=frozenset(grants))


APPLICANT = actor("ent", ("applicant", "unit:X1"))
COUNTY = actor("county", ("county_official", "520302"))
CITY = actor("city", ("city_official", "520300"))
ECO = actor("eco", ("bureau_eco", "520300"))
TAX = actor("tax", ("bureau_tax", "520300"))
OWNER = actor("owner", ("process_owner", "520000"))
PEOPLE = (APPLICANT, COUNTY, CITY, ECO, TAX, OWNER)
# Where an instance stands, and the steps that take a new instance there.
STEPS = {"county": [], "city": [("county_review", PASS, COUNTY)],
         "consult": [("county_review", PASS, COUNTY), ("city_review", PASS, CITY)],
         "half": [("county_review", PASS, COUNTY), ("city_review", PASS, CITY), ("eco", NO_OBJECTION, ECO)],
         "notice": [("county_review", PASS, COUNTY), ("city_review", PASS, CITY), ("eco", NO_OBJECTION, ECO),
                    ("tax", NO_OBJECTION, TAX)]}


@pytest.fixture
def mig(wf_engine):
    wf_engine.deploy(V1, deployed_by="owner")
    with wf_engine.db.unit_of_work() as s:
        for person in PEOPLE:
            upsert_user(s, person.username, display_name=person.username, grants=list(person.grants))
    return wf_engine


def variant(tmp_path: Path, name: str, **edits) -> Path:
    """v1 with edits: file name (``mig_app``, ``mig_consult``, ``apply``, ``review``) -> function(text) -> text."""
    target = tmp_path / name
    shutil.copytree(V1, target)
    files = {"mig_app": "mig_app.bpmn", "mig_consult": "mig_consult.bpmn", "apply": "forms/apply.schema.json",
             "review": "forms/review.schema.json"}
    for key, edit in edits.items():
        path = target / files[key]
        path.write_text(edit(path.read_text()))
    return target


def without(element: str, *flows: str):
    """An edit removing an element (and its flow node ref and the named flows) from a diagram."""
    def edit(text: str) -> str:
        found = re.search(rf'<bpmn:(\w+) id="{element}"', text)
        head_end = text.index(">", found.start())
        closing = f"</bpmn:{found.group(1)}>"
        end = head_end + 1 if text[head_end - 1] == "/" else text.index(closing, found.start()) + len(closing)
        text = text[:found.start()] + text[end:]
        text = text.replace(f"<bpmn:flowNodeRef>{element}</bpmn:flowNodeRef>", "")
        for flow in flows:
            text = re.sub(rf'<bpmn:sequenceFlow id="{flow}"[^>]*/>', "", text)
        return text
    return edit


def no_reminder(text: str) -> str:
    """v1 without the city review's 催办 reminder."""
    return without("remind", "f_remind", "f_reminded")(without("reminded")(without("city_reminder")(text)))


def no_city_review(text: str) -> str:
    """v1 without the city review (nor its reminder): the county review leads straight to the consultation."""
    return without("city_review", "f4")(no_reminder(text)).replace('targetRef="city_review"', 'targetRef="consult"')


def open_task(engine, iid: int, bpmn_id: str) -> HumanTask | None:
    with engine.db.session() as s:
        return s.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == bpmn_id,
                                                HumanTask.status == "open"))


def complete(engine, iid: int, bpmn_id: str, data: dict, who: Actor):
    task = open_task(engine, iid, bpmn_id)
    assert task is not None, f"no open {bpmn_id} in instance {iid}"
    return engine.complete(task.id, data, actor=who)


def start_at(engine, where: str) -> int:
    iid = engine.start("mig_app", DATA, actor=APPLICANT).instance_id
    for bpmn_id, data, who in STEPS[where]:
        complete(engine, iid, bpmn_id, data, who)
    return iid


def migrate(engine, iid: int, version_id: int, **mapping):
    engine.cache.clear()  # the command restores the instance from the database
    return engine.execute(MigrateInstance(instance_id=iid, to_version=version_id, mapping=mapping), actor=OWNER)


def stored(engine, iid: int) -> dict:
    """Everything stored about an instance, to compare before and after."""
    with engine.db.session() as s:
        row = s.get(ProcessInstance, iid)
        return {"version": row.version_id, "row_version": row.row_version, "status": row.status, "state": row.state,
                "events": s.scalar(select(func.count()).select_from(Event).where(Event.instance_id == iid)),
                "tasks": [(t.id, t.bpmn_id, t.status, t.assignee, t.due_at) for t in s.scalars(
                    select(HumanTask).where(HumanTask.instance_id == iid).order_by(HumanTask.id))],
                "timers": sorted((t.bpmn_id, t.due_at) for t in s.scalars(select(Timer).where(Timer.instance_id == iid)))}


def last_event(engine, iid: int, kind: str) -> dict:
    return [e for e in history_of(engine, iid) if e["type"] == kind][-1]


def history_of(engine, iid: int) -> list[dict]:
    with engine.db.session() as s:
        return history.events_of(s, iid)


# --- the plan ----------------------------------------------------------------------------------------

def test_plan_names_what_changed_what_was_added_and_the_changed_forms(mig):
    mig.deploy(V2, deployed_by="owner")
    with mig.db.session() as s:
        plan = plans.build(s, mig.specs, "mig_app", 1, 2)
    changes = {(e["process_id"], e["element"]): e for e in plan.to_dict()["elements"]}
    assert changes[("mig_app", "materials_check")]["change"] == "added"
    assert changes[("mig_app", "city_review")]["change"] == "changed"
    assert "extensions" in changes[("mig_app", "city_review")]["attributes"]  # dueInWorkingDays 5 → 10
    assert changes[("mig_consult", "eco")]["change"] == "changed"
    assert ("mig_app", "county_review") not in changes  # unchanged elements are only counted
    assert plan.to_dict()["unchanged"] > 5
    assert plan.forms == [{"name": "review.schema.json", "change": "changed"}]
    assert (plan.source.number, plan.target.number, plan.target.definition_version) == (1, 2, 2)


@pytest.mark.parametrize("mapping, field", [
    ({"no_such": "county_review"}, "mapping.no_such"),  # not an element of the source
    ({"county_review": "no_such"}, "mapping.county_review"),  # not an element of the target
    ({"county_review": "consult"}, "mapping.county_review"),  # a user task is not a call activity
    ({"county_review": ""}, "mapping.county_review"),
    ("county_review=city_review", "mapping"),
])
def test_a_bad_mapping_is_refused_naming_the_entry(mig, mapping, field):
    mig.deploy(V2, deployed_by="owner")
    with mig.db.session() as s, pytest.raises(InvalidInput) as refused:
        plans.build(s, mig.specs, "mig_app", 1, 2, mapping)
    assert field in refused.value.fields


def test_unknown_process_or_version_is_not_found_and_the_same_version_is_refused(mig):
    with mig.db.session() as s:
        with pytest.raises(NotFound):
            plans.build(s, mig.specs, "no_such_process", 1, 2)
        with pytest.raises(NotFound):
            plans.build(s, mig.specs, "mig_app", 1, 7)
        with pytest.raises(InvalidInput):
            plans.build(s, mig.specs, "mig_app", 1, 1)


# --- migrating one instance --------------------------------------------------------------------------

def test_every_position_moves_to_v2_and_finishes_there(mig, clock):
    iids = {where: start_at(mig, where) for where in STEPS}
    v2 = mig.deploy(V2, deployed_by="owner").version_id
    for where, iid in iids.items():
        outcome = migrate(mig, iid, v2)
        assert outcome.result["to_version"] == v2, where
        assert mig.verify_history(iid).ok
    # the instances waiting at the county and the city review pass the new 材料核验 step
    for where in ("county", "city"):
        iid = iids[where]
        if where == "county":
            complete(mig, iid, "county_review", PASS, COUNTY)
        complete(mig, iid, "city_review", {"decision": "pass", "remark": "v2 的新字段"}, CITY)
        assert open_task(mig, iid, "materials_check") is not None
        complete(mig, iid, "materials_check", PASS, CITY)
        complete(mig, iid, "eco", NO_OBJECTION, ECO)
        complete(mig, iid, "tax", NO_OBJECTION, TAX)
    complete(mig, iids["consult"], "eco", NO_OBJECTION, ECO)
    for where in ("consult", "half"):
        complete(mig, iids[where], "tax", NO_OBJECTION, TAX)
    clock.advance(days=15)
    mig.fire_due_timers()
    for where, iid in iids.items():
        view = mig.instance(iid)
        assert view["status"] == "completed" and view["data"]["outcome"] == "listed", where
        assert mig.verify_history(iid).ok


def test_an_open_task_keeps_its_row_and_claim_and_its_due_date_follows_the_new_rule(mig, clock):
    iid = start_at(mig, "city")
    task = open_task(mig, iid, "city_review")
    mig.claim(task.id, actor=CITY)
    reminder_due = stored(mig, iid)["timers"]
    clock.advance(days=1)
    v2 = mig.deploy(V2, deployed_by="owner").version_id
    migrate(mig, iid, v2)
    after = open_task(mig, iid, "city_review")
    assert after.id == task.id and after.task_guid == task.task_guid and after.assignee == "city"
    # 10 working days counted from when the task opened (Mon 2 March), not from the migration
    assert after.due_at == dt.datetime(2026, 3, 16, 10, 0, tzinfo=dt.timezone.utc) != task.due_at
    assert stored(mig, iid)["timers"] == reminder_due  # the unchanged reminder does not restart
    moved = last_event(mig, iid, "task_migrated")
    assert moved["payload"]["changes"] == {"due_at": [task.due_at.isoformat(), after.due_at.isoformat()]}
    assert moved["payload"]["assignee"] == "city"


def test_a_task_whose_role_changes_moves_to_the_new_inbox_without_its_claim(mig, tmp_path):
    iid = start_at(mig, "city")
    mig.claim(open_task(mig, iid, "city_review").id, actor=CITY)
    moved = variant(tmp_path, "province", mig_app=lambda t: t.replace(
        '<spiffworkflow:property name="role" value="city_official" />',
        '<spiffworkflow:property name="role" value="province_official" />'))
    migrate(mig, iid, mig.deploy(moved, deployed_by="owner").version_id)
    task = open_task(mig, iid, "city_review")
    assert (task.role, task.scope, task.assignee) == ("province_official", "520300", None)
    changes = last_event(mig, iid, "task_migrated")["payload"]["changes"]
    assert changes["role"] == ["city_official", "province_official"] and changes["assignee"] == ["city", None]


def test_a_changed_timer_is_evaluated_again_and_an_unchanged_one_keeps_its_time(mig, tmp_path, clock):
    iid = start_at(mig, "city")
    (reminder, due), = stored(mig, iid)["timers"]
    clock.advance(days=1)
    longer = variant(tmp_path, "p5d", mig_app=lambda t: t.replace('add_duration(now_iso(), "P3D")',
                                                                    'add_duration(now_iso(), "P5D")'))
    migrate(mig, iid, mig.deploy(longer, deployed_by="owner").version_id)
    assert stored(mig, iid)["timers"] == [(reminder, clock.now() + dt.timedelta(days=5))]
    assert last_event(mig, iid, "instance_migrated")["payload"]["recomputed"] == ["city_reminder"]


def test_the_event_names_both_versions_and_their_hashes_and_the_chain_verifies(mig):
    iid = start_at(mig, "consult")
    result = mig.deploy(V2, deployed_by="owner")
    migrate(mig, iid, result.version_id)
    payload = last_event(mig, iid, "instance_migrated")["payload"]
    with mig.db.session() as s:
        from engine.models import DefinitionVersion
        shas = {v.id: v.sha256 for v in s.scalars(select(DefinitionVersion))}
    assert payload["from_version"] == 1 and payload["to_version"] == result.version_id
    assert (payload["from_sha256"], payload["to_sha256"]) == (shas[1], shas[result.version_id])
    assert (payload["process_version_from"], payload["process_version_to"]) == (1, 2)
    assert payload["mapping"] == {} and payload["job_id"] is None
    assert payload["content_sha256_from"] != payload["content_sha256_to"]
    types = [e["type"] for e in history_of(mig, iid)]
    assert types[types.index("instance_migrated") + 1] == "task_migrated"  # eco got a due date
    assert mig.verify_history(iid).ok
    with mig.db.session() as s:
        assert s.get(ProcessInstance, iid).version_id == result.version_id


def test_a_refused_instance_is_left_exactly_as_it_was(mig, tmp_path):
    iid = start_at(mig, "city")
    before = stored(mig, iid)
    gone = variant(tmp_path, "no-city", mig_app=no_city_review)
    version = mig.deploy(gone, deployed_by="owner").version_id
    with pytest.raises(MigrationRefused) as refused:
        migrate(mig, iid, version)
    reason = refused.value.reasons[0]
    assert (reason.code, reason.element, reason.name) == ("task_removed", "city_review", "市级审核")
    assert "市级审核" in reason.message_zh and "city_review" in reason.message_en
    assert refused.value.http_status == 409
    assert stored(mig, iid) == before
    with mig.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0


def test_mapping_moves_an_instance_off_a_removed_task(mig, tmp_path):
    iid = start_at(mig, "city")
    gone = variant(tmp_path, "no-city", mig_app=no_city_review)
    version = mig.deploy(gone, deployed_by="owner").version_id
    migrate(mig, iid, version, city_review="county_review")
    task = open_task(mig, iid, "county_review")
    assert task is not None and task.role == "county_official" and task.scope == "520302"
    assert last_event(mig, iid, "instance_migrated")["payload"]["mapping"] == {"city_review": "county_review"}
    complete(mig, iid, "county_review", PASS, COUNTY)
    assert open_task(mig, iid, "eco") is not None  # on to the consultation: city_review is gone
    assert mig.verify_history(iid).ok


def test_finished_steps_the_new_version_removed_are_taken_out_and_the_instance_goes_on(mig, tmp_path):
    iid = start_at(mig, "half")
    gone = variant(tmp_path, "no-city", mig_app=no_city_review)
    migrate(mig, iid, mig.deploy(gone, deployed_by="owner").version_id)
    # the city review and its reminder (cancelled when the review was done)
    assert last_event(mig, iid, "instance_migrated")["payload"]["removed"] == ["city_reminder", "city_review"]
    complete(mig, iid, "tax", NO_OBJECTION, TAX)
    assert mig.instance(iid)["status"] == "waiting"  # the notice: the rest of the diagram is intact
    assert mig.verify_history(iid).ok


def test_a_boundary_event_added_to_an_open_task_is_armed_and_one_removed_is_dropped(mig, tmp_path, clock):
    at_county, at_city = start_at(mig, "county"), start_at(mig, "city")
    county = open_task(mig, at_county, "county_review")
    added = variant(tmp_path, "county-reminder", mig_app=lambda t: t.replace(
        '<bpmn:callActivity id="consult"',
        '<bpmn:boundaryEvent id="county_reminder" name="县级催办" attachedToRef="county_review" cancelActivity="false">'
        '<bpmn:timerEventDefinition id="td_cr"><bpmn:timeDate>add_duration(now_iso(), "P2D")</bpmn:timeDate>'
        '</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:sequenceFlow id="f_cr" sourceRef="county_reminder" '
        'targetRef="cr_end" /><bpmn:endEvent id="cr_end" name="已提醒" /><bpmn:callActivity id="consult"'))
    migrate(mig, at_county, mig.deploy(added, deployed_by="owner").version_id)
    assert open_task(mig, at_county, "county_review").id == county.id
    assert stored(mig, at_county)["timers"] == [("county_reminder", clock.now() + dt.timedelta(days=2))]
    assert last_event(mig, at_county, "instance_migrated")["payload"]["armed"] == ["county_reminder"]
    complete(mig, at_county, "county_review", PASS, COUNTY)  # the new boundary's join finds its split
    assert open_task(mig, at_county, "city_review") is not None and stored(mig, at_county)["timers"][0][0] != "county_reminder"

    dropped = variant(tmp_path, "no-reminder", mig_app=no_reminder)
    migrate(mig, at_city, mig.deploy(dropped, deployed_by="owner").version_id)
    assert stored(mig, at_city)["timers"] == []
    assert last_event(mig, at_city, "instance_migrated")["payload"]["dropped"] == ["city_reminder"]
    complete(mig, at_city, "city_review", PASS, CITY)
    assert open_task(mig, at_city, "eco") is not None and mig.verify_history(at_city).ok


def test_a_join_that_would_wait_for_a_branch_already_passed_is_refused(mig, tmp_path):
    before_fork, after_fork = start_at(mig, "city"), start_at(mig, "half")
    market = variant(tmp_path, "market", mig_consult=lambda t: t.replace(
        '<bpmn:sequenceFlow id="c3" sourceRef="fork" targetRef="tax" />',
        '<bpmn:sequenceFlow id="c3" sourceRef="fork" targetRef="tax" />'
        '<bpmn:sequenceFlow id="c7" sourceRef="fork" targetRef="market" />'
        '<bpmn:userTask id="market" name="市场监管部门意见"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="role" value="bureau_market" />'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="opinion.schema.json" />'
        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:sequenceFlow id="c8" sourceRef="market" targetRef="join" />').replace(
        '<bpmn:flowNodeRef>tax</bpmn:flowNodeRef>', '<bpmn:flowNodeRef>tax</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>market</bpmn:flowNodeRef>'))
    version = mig.deploy(market, deployed_by="owner").version_id
    with pytest.raises(MigrationRefused) as refused:
        migrate(mig, after_fork, version)
    assert [(r.code, r.element, r.detail) for r in refused.value.reasons] == [("join_waits_forever", "join",
                                                                               "市场监管部门意见")]
    migrate(mig, before_fork, version)  # not at the fork yet: it will take the new branch
    assert mig.verify_history(before_fork).ok


def test_data_that_violates_a_changed_form_is_refused_naming_the_field(mig, tmp_path):
    iid = start_at(mig, "city")
    stricter = variant(tmp_path, "contact", apply=lambda t: t.replace(
        '"required": ["code", "county", "city", "name"]', '"required": ["code", "county", "city", "name", "contact"]')
        .replace('"name": {"type": "string", "title": "企业名称"}',
                 '"name": {"type": "string", "title": "企业名称"}, "contact": {"type": "string", "title": "联系人"}'))
    version = mig.deploy(stricter, deployed_by="owner").version_id
    before = stored(mig, iid)
    with pytest.raises(MigrationRefused) as refused:
        migrate(mig, iid, version)
    reason, = refused.value.reasons
    assert (reason.code, reason.element) == ("form_invalid", "start") and "contact" in reason.fields
    assert "联系人" in reason.message_zh
    assert stored(mig, iid) == before


def test_a_form_only_change_migrates_and_the_open_task_takes_the_new_form(mig, tmp_path):
    iid = start_at(mig, "county")
    wider = variant(tmp_path, "form", review=lambda t: t.replace(
        '"maxLength": 500}}}', '"maxLength": 500}, "attachment_note": {"type": "string"}}}'))
    version = mig.deploy(wider, deployed_by="owner").version_id
    with mig.db.session() as s:
        assert plans.build(s, mig.specs, "mig_app", 1, 2).forms == [{"name": "review.schema.json",
                                                                     "change": "changed"}]
    migrate(mig, iid, version)
    complete(mig, iid, "county_review", {"decision": "pass", "attachment_note": "v2 only"}, COUNTY)
    assert open_task(mig, iid, "city_review") is not None


def test_a_finished_instance_cannot_be_migrated(mig):
    iid = start_at(mig, "county")
    complete(mig, iid, "county_review", {"decision": "reject"}, COUNTY)
    version = mig.deploy(V2, deployed_by="owner").version_id
    from engine.errors import Conflict
    with pytest.raises(Conflict):
        migrate(mig, iid, version)


def test_the_migrated_state_reads_back_on_the_target_version(mig):
    iids = [start_at(mig, where) for where in STEPS]
    version = mig.deploy(V2, deployed_by="owner").version_id
    for iid in iids:
        migrate(mig, iid, version)
        with mig.db.session() as s:
            row = s.get(ProcessInstance, iid)
            loaded = mig.specs.load(s, row.version_id)
            wf = state.load(row.state, *loaded.spec(row.process_id))
        specs = {id(t.task_spec) for t in wf.get_tasks()}
        assert None not in [t.task_spec.name for t in wf.get_tasks()]
        assert specs <= {id(s) for s in loaded.spec("mig_app")[0].task_specs.values()} | {
            id(s) for sub in loaded.spec("mig_app")[1].values() for s in sub.task_specs.values()}


# --- the dry-run -------------------------------------------------------------------------------------

def test_dry_run_answers_per_instance_and_per_position_and_writes_nothing(mig, tmp_path):
    iids = {where: start_at(mig, where) for where in STEPS}
    gone = variant(tmp_path, "no-city", mig_app=no_city_review)
    mig.deploy(gone, deployed_by="owner")
    before = {iid: stored(mig, iid) for iid in iids.values()}
    result = dryrun.dry_run(mig, "mig_app", 1, 2)
    answers = {item.instance_id: item for item in result.items}
    assert set(answers) == set(iids.values())
    assert not answers[iids["city"]].can_migrate
    assert [r.code for r in answers[iids["city"]].reasons] == ["task_removed"]
    assert all(answers[iids[w]].can_migrate for w in STEPS if w != "city")
    assert result.summary() == {"total": 5, "can": 4, "cannot": 1}
    positions = {p["key"]: p for p in result.positions()}
    assert positions["mig_app/city_reminder mig_app/city_review"]["cannot"] == 1
    assert {iid: stored(mig, iid) for iid in iids.values()} == before
    body = json.loads(json.dumps(result.to_dict()))
    assert body["items"][1]["reasons"][0]["message_en"].startswith("the instance is at 市级审核 (city_review)")

    mapped = dryrun.dry_run(mig, "mig_app", 1, 2, {"city_review": "county_review"})
    assert mapped.summary()["can"] == 5


def test_dry_run_shares_a_position_s_verdict_and_filters_the_selection(mig):
    for _ in range(4):
        start_at(mig, "county")
    city = [start_at(mig, "city") for _ in range(3)]
    mig.deploy(V2, deployed_by="owner")
    result = dryrun.dry_run(mig, "mig_app", 1, 2)
    assert result.summary() == {"total": 7, "can": 7, "cannot": 0}
    # the county review is unchanged: one instance moved in memory for all four; the city review's
    # due rule changed, which does not depend on the data either; the reminder did not change
    assert result.simulated == 2
    picked = dryrun.dry_run(mig, "mig_app", 1, 2, selection=dryrun.Selection(positions=("city_review",)))
    assert [i.instance_id for i in picked.items] == city
    by_id = dryrun.dry_run(mig, "mig_app", 1, 2, selection=dryrun.Selection(instance_ids=(city[0],)))
    assert [i.instance_id for i in by_id.items] == [city[0]]


def test_a_migrated_history_replays_on_the_auditors_replayer(mig, clock):
    """The auditors' replay (engine.replay) re-executes the history, the migration included."""
    from engine import replay

    iid = start_at(mig, "city")
    clock.advance(days=1)
    migrate(mig, iid, mig.deploy(V2, deployed_by="owner").version_id)
    complete(mig, iid, "city_review", PASS, CITY)
    complete(mig, iid, "materials_check", PASS, CITY)
    result = replay.replay(mig, iid)
    assert result.matched, result.first_divergence
    assert result.commands == 5  # start, two reviews, the migration, 材料核验
