"""The objector is told the answer (公示异议答复, 第二十条), driven through the engine on both databases.

The officials' verdict is written to the objection as soon as it is verified (``answer_objection``,
also during the notice); then a notification to the objector's contact is queued in the outbox and
the history records ``objection_reply_queued`` (ids, receipt and outcome: never the contact).
Closing the notice answers nobody twice.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.models import Outbox
from handlers import demo
from handlers.notices import objection_access_code, objection_receipt, objection_status
from handlers.records import Objection

UPHELD = {"upheld": True, "finding": "内部：2025年环境行政处罚属实", "reply": "异议成立，已取消拟列入"}
REJECTED = {"upheld": False, "finding": "内部：现场核查噪声达标", "reply": "经核实不成立，噪声监测达标"}


def replies(green) -> list[Outbox]:
    with green.engine.db.session() as s:
        return [o for o in s.scalars(select(Outbox).order_by(Outbox.id))
                if o.kind == "notification" and o.payload.get("kind") == "objection_reply"]


def objection_named(green, name: str) -> Objection:
    with green.engine.db.session() as s:
        return s.scalar(select(Objection).where(Objection.name == name))


def reply_events(green, iid: int) -> list[dict]:
    return [e for e in green.view(iid)["events"] if e["type"] == "objection_reply_queued"]


def test_an_upheld_and_a_rejected_objection_are_each_answered_as_soon_as_verified(green):
    unit = demo.UNITS[0]
    iid = green.to_notice(unit)
    green.object(iid, name="钱某", contact="qian@example.cn", matter="厂区噪声扰民")
    green.step(iid, "review_objection", REJECTED)
    assert [r.payload["objector_name"] for r in replies(green)] == ["钱某"]  # during the notice
    with green.engine.db.session() as s:
        answered = objection_named(green, "钱某")
        assert objection_status(s, objection_receipt(answered), objection_access_code(answered))["status"] == "answered"
    green.object(iid, name="孙某", contact="13900000001", matter="能耗数据造假")
    green.step(iid, "review_objection", UPHELD)
    assert len(replies(green)) == 2
    assert green.end_notice() == 1
    assert green.view(iid)["data"]["outcome"] == "removed_after_notice"
    assert len(replies(green)) == 2  # closing the notice answers nobody twice

    rejected, upheld = objection_named(green, "钱某"), objection_named(green, "孙某")
    first, second = replies(green)
    assert first.instance_id == second.instance_id == iid and first.sent_at is None
    assert {k: first.payload[k] for k in ("to", "objector_name", "receipt", "outcome", "reply", "article")} == {
        "to": "qian@example.cn", "objector_name": "钱某", "receipt": objection_receipt(rejected),
        "outcome": "rejected", "reply": REJECTED["reply"], "article": "第二十条"}
    assert {k: second.payload[k] for k in ("to", "objector_name", "receipt", "outcome", "reply", "article")} == {
        "to": "13900000001", "objector_name": "孙某", "receipt": objection_receipt(upheld),
        "outcome": "upheld", "reply": UPHELD["reply"], "article": "第二十条"}
    assert "异议不成立" in first.payload["message_zh"] and "异议成立" in second.payload["message_zh"]
    assert unit.name in second.payload["message_zh"] and "第二十条" in second.payload["message_zh"]
    for row in (first, second):
        assert "内部" not in str(row.payload)  # the officials' finding is not sent

    events = reply_events(green, iid)
    assert [(e["payload"]["objection_id"], e["payload"]["outcome"], e["payload"]["outbox_id"]) for e in events] == [
        (rejected.id, "rejected", first.id), (upheld.id, "upheld", second.id)]
    for event in events:
        assert event["payload"]["article"] == "第二十条"
        for private in ("qian@example.cn", "13900000001", "钱某", "孙某", "内部"):
            assert private not in str(event["payload"])
    assert green.engine.verify_history(iid).ok

    with green.engine.db.session() as s:
        assert objection_status(s, objection_receipt(upheld), objection_access_code(upheld))["status"] == "answered"
        assert objection_status(s, objection_receipt(upheld), objection_access_code(rejected)) is None  # not its code


def test_a_rejected_objection_answered_while_another_waits_is_answered_once(green):
    iid = green.to_notice()
    green.object(iid)
    green.object(iid, name="李某", contact="li@example.cn", matter="能耗数据与统计数据不符")  # buffered
    green.engine.clock.advance(days=10)  # the period ends while the first is being checked
    green.step(iid, "review_objection", {**REJECTED, "reply": "经核实不属实"})
    assert green.view(iid)["status"] == "running"  # the second is still to be checked
    assert [r.payload["objector_name"] for r in replies(green)] == ["王某"]  # the first is answered now
    with green.engine.db.session() as s:
        waiting = objection_named(green, "李某")
        assert objection_status(s, objection_receipt(waiting), objection_access_code(waiting))["status"] == "verifying"
    green.step(iid, "review_objection", {**UPHELD, "reply": "经核实数据不符，异议成立"})
    assert green.view(iid)["data"]["notice_result"] == {"upheld": 1, "rejected": 1, "pending": 0}
    assert [(r.payload["objector_name"], r.payload["outcome"]) for r in replies(green)] == [
        ("王某", "rejected"), ("李某", "upheld")]
    assert len(reply_events(green, iid)) == 2


def test_a_notice_without_objections_answers_nobody(green):
    iid = green.to_notice()
    green.end_notice()
    assert green.view(iid)["data"]["outcome"] == "listed_city"
    assert replies(green) == [] and reply_events(green, iid) == []
