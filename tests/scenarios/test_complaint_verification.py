"""Real-name complaints after 受理: verification, site check, rectification, removal, evaluator ban and the
reply to the reporter (第三十二条, 第二十七条, 第三十条), driven through the engine on both databases.

The clock starts on Monday 2026-03-02 09:00 China time (conftest.START); the shipped 2026 working-day
calendar is loaded. Every step restores the instance from the database (``green.step`` clears the cache).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.clock import CHINA
from engine.errors import InvalidInput, RuleViolation
from engine.models import Outbox, Timer
from handlers import demo
from handlers.complaints import Complaint, ban_period, complaint_status, reply_text
from handlers.records import EvaluatorBan, Listing, NegativeRecord
from handlers.removals import PendingRemoval
from handlers.rules.evaluators import art30_evaluator_not_banned
from tests.scenarios.test_complaint_intake import file_complaint, list_unit, record_of

UNIT = demo.UNITS[0]  # 红花岗区: a city-listed unit goes to 遵义市 (520300)
ACCEPT = {"intake_decision": "accept", "intake_reason": "属于受理范围，转入核实"}
UNFOUNDED = {"verification_outcome": "unfounded", "verification_findings": "经调取电费单据核对，能耗数据与申报一致"}
CONFIRMED = {"verification_outcome": "confirmed", "verification_findings": "申报能耗数据比实际低约30%"}
RECTIFY = {**CONFIRMED, "measure": "rectify", "rectification_deadline": "2026-04-30",
           "rectification_requirements": "更正能耗数据并重新提交动态管理表"}


def china(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


def accepted(green, **fields) -> int:
    """A complaint about the city-listed UNIT (or as ``fields`` say), accepted: verification is open."""
    if fields.get("subject_kind") != "evaluator":
        list_unit(green.engine, UNIT, level="city")
    iid = file_complaint(green, **fields)
    green.step(iid, "complaint_intake", ACCEPT)
    return iid


def outbox(green, kind: str) -> list[dict]:
    with green.engine.db.session() as s:
        rows = s.scalars(select(Outbox).where(Outbox.kind == "notification").order_by(Outbox.id))
        return [r.payload for r in rows if r.payload.get("kind") == kind]


def timers(green, iid: int) -> dict[str, dt.datetime]:
    with green.engine.db.session() as s:
        return {t.bpmn_id: t.due_at for t in s.scalars(select(Timer).where(Timer.instance_id == iid))}


def events(green, iid: int, kind: str | None = None) -> list:
    found = green.view(iid)["events"]
    return [e["type"] for e in found] if kind is None else [e["payload"] for e in found if e["type"] == kind]


def negative_records(green) -> list[NegativeRecord]:
    with green.engine.db.session() as s:
        return list(s.scalars(select(NegativeRecord).order_by(NegativeRecord.id)))


def assert_replied(green, iid: int, outcome: str) -> Complaint:
    """Closed, the reply kept on the record, on the public status page and queued for the reporter."""
    view = green.view(iid)
    assert view["status"] == "completed" and green.open_tasks(iid) == []
    record = record_of(green, iid)
    assert (record.status, record.outcome, record.reply) == ("closed", outcome, reply_text(outcome))
    assert "第三十二条" in record.reply
    with green.engine.db.session() as s:
        public = complaint_status(s, record.receipt, record.access_code)
    assert public["status"] == "closed" and public["reply"] == record.reply and public["replied_on"] is not None
    [sent] = [p for p in outbox(green, "complaint_reply") if p["receipt"] == record.receipt]
    assert sent["to"] == "13900000000" and record.reply in sent["message_zh"]
    [replied] = events(green, iid, "complaint_replied")
    assert replied["outcome"] == outcome and replied["reply"] == record.reply
    assert green.engine.verify_history(iid).ok
    return record


# --------------------------------------------------------------------------- verification and its period

def test_an_accepted_complaint_is_verified_by_the_authority_within_twenty_working_days(green):
    iid = accepted(green)
    task = green.task(iid, "verify_complaint")
    assert (task.role, task.scope) == ("city_official", "520300")
    assert task.due_at == china(2026, 3, 30, 18, 0)  # 20 working days after Monday 2 March
    assert timers(green, iid) == {"verification_reminder": china(2026, 3, 23, 18, 0),  # 15 working days
                                  "verification_overdue": china(2026, 3, 30, 18, 0)}
    record = record_of(green, iid)
    assert (record.status, record.outcome, record.reply) == ("accepted", None, None)
    with green.engine.db.session() as s:
        assert complaint_status(s, record.receipt, record.access_code)["reply"] is None


def test_an_open_verification_is_reminded_then_escalated_and_can_still_be_completed(green):
    iid = accepted(green)
    task = green.task(iid, "verify_complaint")
    green.engine.clock.set(china(2026, 3, 23, 17, 59))
    assert green.engine.fire_due_timers() == 0
    green.engine.clock.set(china(2026, 3, 23, 18, 0, 1))
    assert green.engine.fire_due_timers() == 1
    [reminder] = outbox(green, "reminder")
    assert (reminder["role"], reminder["scope"], reminder["task_name"]) == ("city_official", "520300", "核实举报")
    assert "第三十二条" in reminder["message_zh"] and "2026年3月30日 18:00" in reminder["message_zh"]
    green.engine.clock.set(china(2026, 3, 30, 18, 0, 1))
    assert green.engine.fire_due_timers() == 1
    [escalation] = outbox(green, "escalation")
    assert (escalation["role"], escalation["scope"]) == ("province_official", "520000")  # the city's supervisor
    assert "第三十二条" in escalation["message_zh"]
    assert green.task(iid, "verify_complaint").id == task.id and timers(green, iid) == {}
    assert events(green, iid).count("notification_queued") == 2
    green.step(iid, "verify_complaint", UNFOUNDED)  # late, but it still counts
    assert_replied(green, iid, "unfounded")


def test_verifying_in_time_cancels_the_reminders(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", UNFOUNDED)
    assert timers(green, iid) == {}
    green.engine.clock.set(china(2026, 4, 10, 9, 0))
    assert green.engine.fire_due_timers() == 0
    assert outbox(green, "reminder") == [] and outbox(green, "escalation") == []


# --------------------------------------------------------------------------- outcomes

def test_an_unfounded_complaint_is_replied_and_closed(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", UNFOUNDED)
    record = assert_replied(green, iid, "unfounded")
    assert (record.verification_outcome, record.verified_by) == ("unfounded", "city-520300")
    assert record.verification_findings == UNFOUNDED["verification_findings"]
    [verified] = events(green, iid, "complaint_verified")
    assert (verified["route"], verified["article"]) == ("unfounded", "第三十二条")
    assert "complaint_closed" in green.view(iid)["completed_path"]
    assert negative_records(green) == []


def test_a_site_check_comes_before_the_conclusion_and_restarts_the_period(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", {"verification_outcome": "site_check",
                                         "verification_findings": "书面材料无法判断，需到厂核对电表"})
    site = green.task(iid, "complaint_site_check")
    assert (site.role, site.scope, site.due_at) == ("city_official", "520300", china(2026, 3, 16, 18, 0))
    assert timers(green, iid) == {}  # the verification's reminders wait for the next round
    assert record_of(green, iid).verification_outcome is None  # nothing concluded yet
    green.engine.clock.set(china(2026, 3, 9, 10, 0))  # Monday
    with pytest.raises(InvalidInput) as refused:
        green.step(iid, "complaint_site_check", {"site_check_date": "2026-03-10", "site_check_findings": "电表读数"})
    assert refused.value.fields.keys() == {"site_check_date"}  # not in the future
    green.step(iid, "complaint_site_check", {"site_check_date": "2026-03-06", "site_check_findings": "电表读数与申报一致"})
    again = green.task(iid, "verify_complaint")
    assert again.due_at == china(2026, 4, 7, 18, 0)  # a new round: 20 working days from Mon 9 March
    assert set(timers(green, iid)) == {"verification_reminder", "verification_overdue"}
    green.step(iid, "verify_complaint", UNFOUNDED)
    record = assert_replied(green, iid, "unfounded")
    assert (record.site_checked_on, record.site_check_findings) == (dt.date(2026, 3, 6), "电表读数与申报一致")
    types = events(green, iid)
    assert types.index("complaint_site_check_ordered") < types.index("complaint_site_checked") \
        < types.index("complaint_verified")
    path = green.view(iid)["completed_path"]
    assert "complaint_site_check" in path and "record_site_check" in path


def test_a_confirmed_unit_rectifies_by_the_deadline_and_passes_the_recheck(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", RECTIFY)
    record = record_of(green, iid)
    assert (record.measure, record.rectification_deadline) == ("rectify", dt.date(2026, 4, 30))
    assert record.status == "accepted"  # 处理中 while the unit rectifies
    [order] = outbox(green, "rectification_order")
    assert (order["role"], order["scope"]) == ("applicant", f"unit:{UNIT.credit_code}")
    assert "2026年4月30日" in order["message_zh"] and "第三十二条" in order["message_zh"]
    assert timers(green, iid) == {"rectification_due": china(2026, 5, 1, 0, 0)}  # the deadline day ends
    assert green.open_tasks(iid) == []
    green.engine.clock.set(china(2026, 4, 30, 23, 59))
    assert green.engine.fire_due_timers() == 0
    green.engine.clock.set(china(2026, 5, 1, 0, 0, 1))
    assert green.engine.fire_due_timers() == 1
    recheck = green.task(iid, "recheck_rectification")
    assert (recheck.role, recheck.scope) == ("city_official", "520300")
    green.step(iid, "recheck_rectification", {"recheck_result": "passed", "recheck_findings": "已更正能耗数据"})
    record = assert_replied(green, iid, "rectified")
    assert record.recheck_result == "passed" and negative_records(green) == []
    [ordered] = events(green, iid, "complaint_rectification_ordered")
    assert ordered["deadline"] == "2026-04-30" and ordered["article"] == "第三十二条"
    assert events(green, iid, "complaint_rechecked")[0]["result"] == "passed"


def test_a_failed_rectification_records_the_removal_ground_for_the_next_list(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", RECTIFY)
    green.engine.clock.set(china(2026, 5, 6, 10, 0))  # after the May Day holidays
    assert green.engine.fire_due_timers() == 1
    green.step(iid, "recheck_rectification", {"recheck_result": "failed", "recheck_findings": "逾期未更正"})
    record = assert_replied(green, iid, "removed")
    [negative] = negative_records(green)
    assert (negative.credit_code, negative.item, negative.occurred_on) == (UNIT.credit_code, 8, dt.date(2026, 5, 6))
    assert record.receipt in negative.source and "第三十二条" in negative.source
    assert "第二十七条第8项" in negative.note and "整改" in negative.note
    assert (record.negative_record_id, record.removal_item) == (negative.id, 8)
    with green.engine.db.session() as s:  # removal itself happens when the next list is published
        assert [l.status for l in s.scalars(select(Listing).where(Listing.credit_code == UNIT.credit_code))] == ["listed"]
    [ground] = events(green, iid, "complaint_removal_ground_recorded")
    assert (ground["item"], ground["article"], ground["negative_record_id"]) == (8, "第二十七条", negative.id)
    assert "第二十七条" in record.reply
    with green.engine.db.session() as s:  # the hand-off the list publication takes over
        [pending] = s.scalars(select(PendingRemoval))
    assert (pending.credit_code, pending.level, pending.scope, pending.ground_item, pending.article) == \
        (UNIT.credit_code, "city", "520300", 8, "第二十七条")
    assert (pending.source_process, pending.source_instance_id, pending.published_at) == ("complaint", iid, None)
    assert events(green, iid, "removal_pending")[0]["ground"] == "第二十七条第8项"


def test_a_confirmed_unit_can_be_removed_at_once_on_the_ground_the_official_selects(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", {**CONFIRMED, "measure": "remove", "removal_item": 3})
    assert_replied(green, iid, "removed")
    [negative] = negative_records(green)
    assert (negative.item, negative.occurred_on) == (3, dt.date(2026, 3, 2))
    assert "第二十七条第3项" in negative.note
    assert events(green, iid, "complaint_removal_ground_recorded")[0]["item"] == 3
    assert "rectification_due" not in green.view(iid)["completed_path"]


def test_removal_defaults_to_item_8_falsified_materials(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", {**CONFIRMED, "measure": "remove"})
    assert [n.item for n in negative_records(green)] == [8]


def test_a_confirmed_evaluator_is_named_and_banned_for_three_years(green):
    iid = accepted(green, subject_kind="evaluator", unit=None, evaluator_id="EV001")
    task = green.task(iid, "verify_complaint")
    assert (task.role, task.scope) == ("province_official", "520000")
    green.step(iid, "verify_complaint", RECTIFY)  # a measure is for units: ignored for an evaluator
    record = assert_replied(green, iid, "evaluator_banned")
    with green.engine.db.session() as s:
        [ban] = s.scalars(select(EvaluatorBan))
        assert (ban.evaluator_id, ban.article) == ("EV001", "第三十条")
        assert (ban.starts_on, ban.ends_on) == (dt.date(2026, 3, 2), dt.date(2029, 3, 1))
        assert record.receipt in ban.reason and "第三十二条" in ban.reason
        refused = art30_evaluator_not_banned(s, {"evaluation_mode": "third_party", "evaluator_id": "EV001"},
                                             dt.date(2029, 3, 1))
        assert refused and refused[0].article == "第三十条"  # its reports are refused until the last day
        assert art30_evaluator_not_banned(s, {"evaluation_mode": "third_party", "evaluator_id": "EV001"},
                                          dt.date(2029, 3, 2)) == []
    assert record.measure is None and record.evaluator_ban_id == ban.id
    [banned] = events(green, iid, "complaint_evaluator_banned")
    assert (banned["starts_on"], banned["ends_on"], banned["article"]) == ("2026-03-02", "2029-03-01", "第三十条")
    assert "第三十条" in banned["message_zh"] and "第三十条" in record.reply
    assert negative_records(green) == []


def test_an_unfounded_evaluator_complaint_bans_nobody(green):
    iid = accepted(green, subject_kind="evaluator", unit=None, evaluator_id="EV001")
    green.step(iid, "verify_complaint", UNFOUNDED)
    assert_replied(green, iid, "unfounded")
    with green.engine.db.session() as s:
        assert s.scalars(select(EvaluatorBan)).all() == []


def test_a_complaint_not_accepted_is_replied_too(green):
    list_unit(green.engine, UNIT)
    iid = file_complaint(green)
    green.step(iid, "complaint_intake", {"intake_decision": "not_accepted", "intake_reason": "重复举报"})
    record = assert_replied(green, iid, "not_accepted")
    assert "重复举报" not in record.reply  # the official's reason stays internal
    assert "complaint_not_accepted" in green.view(iid)["completed_path"]


@pytest.mark.parametrize("start", [(2028, 2, 29), (2026, 1, 1)])
def test_a_ban_lasts_three_years_to_the_day_before_the_anniversary(start):
    first, last = ban_period(dt.date(*start))
    assert first == dt.date(*start)
    assert last == {(2028, 2, 29): dt.date(2031, 2, 28), (2026, 1, 1): dt.date(2028, 12, 31)}[start]


# --------------------------------------------------------------------------- bad conclusions change nothing

@pytest.mark.parametrize("form,field,article", [
    ({**CONFIRMED}, "measure", "第三十二条"),
    ({**RECTIFY, "rectification_deadline": "2026-03-02"}, "rectification_deadline", "第三十二条"),  # not after today
    ({**RECTIFY, "rectification_deadline": "2027-06-30"}, "rectification_deadline", "第三十二条"),  # over a year
    ({**RECTIFY, "rectification_requirements": " "}, "rectification_requirements", "第三十二条"),
    ({**CONFIRMED, "measure": "remove", "removal_item": 1}, "removal_item", None),  # item 1 bars, it does not remove
    ({**RECTIFY, "rectification_deadline": None}, "rectification_deadline", None),
    ({"verification_outcome": "unfounded"}, "verification_findings", None),
])
def test_a_bad_conclusion_is_refused_naming_the_field_and_nothing_changes(green, form, field, article):
    iid = accepted(green)
    task = green.task(iid, "verify_complaint")
    before = green.view(iid)
    with pytest.raises(InvalidInput) as refused:
        green.step(iid, "verify_complaint", {k: v for k, v in form.items() if v is not None})
    assert field in refused.value.fields
    if article:
        assert isinstance(refused.value, RuleViolation) and refused.value.article == article
        assert article in refused.value.message
    assert green.task(iid, "verify_complaint").id == task.id
    after = green.view(iid)
    assert (after["row_version"], len(after["events"])) == (before["row_version"], len(before["events"]))
    record = record_of(green, iid)
    assert (record.verification_outcome, record.measure, record.outcome) == (None, None, None)
    assert negative_records(green) == [] and outbox(green, "rectification_order") == []


def test_a_recheck_without_findings_is_refused(green):
    iid = accepted(green)
    green.step(iid, "verify_complaint", RECTIFY)
    green.engine.clock.set(china(2026, 5, 6, 10, 0))
    green.engine.fire_due_timers()
    with pytest.raises(InvalidInput) as refused:
        green.step(iid, "recheck_rectification", {"recheck_result": "failed", "recheck_findings": ""})
    assert "recheck_findings" in refused.value.fields
    assert negative_records(green) == [] and record_of(green, iid).status == "accepted"
