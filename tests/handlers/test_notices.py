"""Public notices and objections (第二十条)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput, NotFound, RuleViolation
from engine.models import Outbox
from handlers.notices import (close_notice, objection_access_code, objection_receipt, objection_status,
                              open_notice, parse_objection_receipt, record_objection)
from handlers.receipts import access_code
from handlers.records import Notice, Objection
from tests.handlers.factories import NOW, NOW_DT, application

OBJECTION = {"name": "王五", "id_number": "520102199001011234", "contact": "13800000000",
             "matter": "该企业去年发生环境污染事故", "evidence": "新闻报道链接"}


@pytest.fixture(autouse=True)
def outbox_table(session):
    """close_notice answers each objector through the engine's outbox (not a domain table)."""
    Outbox.__table__.create(session.get_bind())


@pytest.fixture
def notice(ctx):
    return open_notice(ctx, application=application(), level="city", scope="520300", days=7)


def test_open_notice_runs_seven_working_days_from_publication(notice, session):
    # Published Mon 2026-05-11 (the day counts): 11–15, 18, 19 May; it ends at 24:00 on the 19th (China).
    assert notice["starts_at"] == NOW
    assert (notice["first_day"], notice["last_day"]) == ("2026-05-11", "2026-05-19")
    assert dt.datetime.fromisoformat(notice["ends_at"]) == dt.datetime(2026, 5, 19, 16, 0, tzinfo=dt.timezone.utc)
    assert dt.datetime.fromisoformat(notice["ends_at"]).tzinfo is not None
    row = session.get(Notice, notice["id"])
    assert (row.level, row.scope, row.unit_name) == ("city", "520300", "遵义绿色示范有限公司")


def test_open_notice_is_idempotent_while_open(ctx, notice):
    assert open_notice(ctx, application=application(), level="city", scope="520300", days=7) == notice


@pytest.mark.parametrize("days", [6, 0, -1, 7.5, "7", True])
def test_a_notice_shorter_than_seven_days_is_refused_citing_article_20(ctx, days):
    with pytest.raises(RuleViolation) as caught:
        open_notice(ctx, application=application(), level="city", scope="520300", days=days)
    assert (caught.value.article, caught.value.field) == ("第二十条", "days")


@pytest.mark.parametrize("level, scope, field", [
    ("city", "520100", "scope"),  # not the unit's city
    ("province", "520300", "scope"),
    ("national", "national", "level"),  # MIIT publishes national notices
])
def test_open_notice_refuses_a_level_or_scope_that_does_not_fit(ctx, level, scope, field):
    with pytest.raises(InvalidInput) as caught:
        open_notice(ctx, application=application(), level=level, scope=scope, days=7)
    assert caught.value.field == field


def test_objection_during_the_notice_is_filed_unsettled(session, notice):
    objection = record_objection(session, notice["id"], OBJECTION, NOW_DT + dt.timedelta(days=1))
    assert objection.id and objection.upheld is None and objection.name == "王五"


@pytest.mark.parametrize("offset", [dt.timedelta(days=8, hours=14), dt.timedelta(days=10), dt.timedelta(seconds=-1)])
def test_objection_outside_the_notice_is_refused_citing_article_20(session, notice, offset):
    with pytest.raises(RuleViolation) as caught:
        record_objection(session, notice["id"], OBJECTION, NOW_DT + offset)
    assert (caught.value.article, caught.value.field) == ("第二十条", "notice_id")


@pytest.mark.parametrize("overrides, field", [
    ({"name": ""}, "name"),
    ({"name": "匿名"}, "name"),
    ({"name": None}, "name"),
    ({"id_number": None}, "id_number"),
    ({"contact": "  "}, "contact"),
    ({"matter": ""}, "matter"),
    ({"name": "名" * 101}, "name"),
])
def test_anonymous_or_incomplete_objection_is_refused_naming_the_field(session, notice, overrides, field):
    with pytest.raises(InvalidInput) as caught:
        record_objection(session, notice["id"], {**OBJECTION, **overrides}, NOW_DT)
    assert caught.value.field == field
    assert session.scalar(select(Objection)) is None


def test_an_objection_that_is_not_an_object_is_refused(session, notice):
    with pytest.raises(InvalidInput) as caught:
        record_objection(session, notice["id"], ["王五"], NOW_DT)  # type: ignore[arg-type]
    assert caught.value.field == "objection"


def test_an_organisation_may_stand_in_for_an_id_number(session, notice):
    payload = {**OBJECTION, "id_number": None, "organisation": "某环保协会"}
    assert record_objection(session, notice["id"], payload, NOW_DT).organisation == "某环保协会"


def test_objection_to_a_closed_notice_is_refused_citing_article_20(ctx, clock, session, notice):
    clock.advance(days=9)
    close_notice(ctx, notice=notice, objections=[])
    with pytest.raises(RuleViolation) as caught:
        record_objection(session, notice["id"], OBJECTION, NOW_DT + dt.timedelta(days=1))
    assert caught.value.article == "第二十条"


def test_notice_times_come_back_aware_from_the_database(ctx, clock, session, notice):
    session.commit()
    session.expire_all()
    row = session.get(Notice, notice["id"])
    assert row.starts_at.isoformat() == NOW and row.ends_at.tzinfo is not None
    objection = record_objection(session, str(notice["id"]), OBJECTION, NOW_DT + dt.timedelta(hours=1))
    clock.advance(days=9)
    session.expire_all()
    result = close_notice(ctx, notice=notice, objections=[
        {"objection_id": str(objection.id), "upheld": False, "reply": "不属实"},
    ])
    assert result == {"upheld": 0, "rejected": 1, "pending": 0}


def test_objection_to_an_unknown_notice_is_not_found(session):
    with pytest.raises(NotFound):
        record_objection(session, 404, OBJECTION, NOW_DT)


def test_close_notice_without_objections_counts_none(ctx, clock, notice, session):
    clock.advance(days=9)
    assert close_notice(ctx, notice=notice, objections=[]) == {"upheld": 0, "rejected": 0, "pending": 0}
    row = session.get(Notice, notice["id"])
    assert row.closed_at == clock.now() and row.result == {"upheld": 0, "rejected": 0, "pending": 0}
    assert ctx.events[-1][0] == "notice_closed"


def test_close_notice_before_its_end_is_refused_citing_article_20(ctx, clock, notice):
    clock.advance(days=8, hours=13)
    with pytest.raises(RuleViolation) as caught:
        close_notice(ctx, notice=notice, objections=[])
    assert caught.value.article == "第二十条"


def test_close_notice_settles_objections_and_counts_upheld_and_rejected(ctx, clock, notice, session):
    filed = record_objection(session, notice["id"], OBJECTION, NOW_DT)
    other = {**OBJECTION, "name": "赵六", "matter": "数据存疑"}
    record_objection(session, notice["id"], other, NOW_DT)  # filed; the message carries no id
    clock.advance(days=9)
    result = close_notice(ctx, notice=notice, objections=[
        {"objection_id": filed.id, "upheld": True, "reply": "经核实属实，移出拟列入名单"},
        {**other, "upheld": False, "reply": "经核实不属实"},
        {**OBJECTION, "name": "钱七", "upheld": False, "reply": "不属实"},  # never filed: filed now
    ])
    assert result == {"upheld": 1, "rejected": 2, "pending": 0}
    rows = session.scalars(select(Objection).order_by(Objection.id)).all()
    assert [(o.name, o.upheld) for o in rows] == [("王五", True), ("赵六", False), ("钱七", False)]
    assert close_notice(ctx, notice=notice, objections=[]) == result  # closing again changes nothing


def test_an_unsettled_objection_keeps_the_notice_open(ctx, clock, notice, session):
    record_objection(session, notice["id"], OBJECTION, NOW_DT)
    clock.advance(days=9)
    assert close_notice(ctx, notice=notice, objections=[]) == {"upheld": 0, "rejected": 0, "pending": 1}
    assert session.get(Notice, notice["id"]).closed_at is None


@pytest.mark.parametrize("item", [
    {"objection_id": 999, "upheld": True, "reply": "x"},
    {"upheld": "yes", "reply": "x", **OBJECTION},
    {"upheld": True, "reply": "", **OBJECTION},
    "not an object",
])
def test_close_notice_refuses_a_malformed_objection(ctx, clock, notice, item):
    clock.advance(days=9)
    with pytest.raises(InvalidInput) as caught:
        close_notice(ctx, notice=notice, objections=[item])
    assert caught.value.field == "objections"


def test_close_notice_of_an_unknown_notice_is_not_found(ctx):
    with pytest.raises(NotFound):
        close_notice(ctx, notice={"id": 404}, objections=[])


# --------------------------------------------------------------------------- answering the objector

def replies(session) -> list[dict]:
    return [o.payload for o in session.scalars(select(Outbox).order_by(Outbox.id))]


def test_settling_an_objection_queues_the_answer_to_the_objector(ctx, clock, notice, session):
    upheld = record_objection(session, notice["id"], OBJECTION, NOW_DT)
    rejected = record_objection(session, notice["id"], {**OBJECTION, "name": "赵六", "contact": "zhao@example.cn"},
                                NOW_DT)
    clock.advance(days=9)
    close_notice(ctx, notice=notice, objections=[
        {"objection_id": upheld.id, "upheld": True, "finding": "内部：环保处罚属实", "reply": "经核实属实，移出拟列入名单"},
        {"objection_id": rejected.id, "upheld": False, "finding": "内部：数据一致", "reply": "经核实不属实"},
    ])
    first, second = replies(session)
    assert (first["kind"], first["to"], first["objector_name"], first["outcome"]) == (
        "objection_reply", "13800000000", "王五", "upheld")
    assert first["receipt"] == objection_receipt(upheld) == "YY2026-%06d" % upheld.id
    assert first["reply"] == "经核实属实，移出拟列入名单" and first["article"] == "第二十条"
    assert "异议成立" in first["message_zh"] and "第二十条" in first["message_zh"]
    assert (second["to"], second["outcome"]) == ("zhao@example.cn", "rejected")
    assert "异议不成立" in second["message_zh"]
    assert all("内部" not in str(p) for p in (first, second))  # the finding stays internal
    queued = [payload for kind, payload in ctx.events if kind == "objection_reply_queued"]
    outbox_ids = [o.id for o in session.scalars(select(Outbox).order_by(Outbox.id))]
    assert [(e["objection_id"], e["outcome"], e["outbox_id"]) for e in queued] == [
        (upheld.id, "upheld", outbox_ids[0]), (rejected.id, "rejected", outbox_ids[1])]
    for event in queued:  # who objected and how to reach them is in the outbox row only
        assert not {"to", "contact", "name", "objector_name", "id_number"} & set(event)
        assert "13800000000" not in str(event) and "王五" not in str(event)


def test_the_objector_is_answered_once_though_the_notice_waits_for_another(ctx, clock, notice, session):
    first = record_objection(session, notice["id"], OBJECTION, NOW_DT)
    other = {**OBJECTION, "name": "赵六", "matter": "数据存疑"}
    record_objection(session, notice["id"], other, NOW_DT)
    clock.advance(days=9)
    answered = [{"objection_id": first.id, "upheld": False, "reply": "经核实不属实"}]
    assert close_notice(ctx, notice=notice, objections=answered)["pending"] == 1
    assert [p["objector_name"] for p in replies(session)] == ["王五"]
    # The second is reviewed and the diagram closes again with every answer so far; one carries no id.
    answered.append({**other, "upheld": False, "reply": "经核实数据一致"})
    assert close_notice(ctx, notice=notice, objections=answered) == {"upheld": 0, "rejected": 2, "pending": 0}
    assert close_notice(ctx, notice=notice, objections=answered) == {"upheld": 0, "rejected": 2, "pending": 0}
    assert [p["objector_name"] for p in replies(session)] == ["王五", "赵六"]
    assert len(session.scalars(select(Objection)).all()) == 2  # the one without an id is not filed twice
    assert [e[0] for e in ctx.events].count("objection_reply_queued") == 2


def test_the_same_answers_without_ids_settle_the_same_rows_again(ctx, clock, notice, session):
    record_objection(session, notice["id"], OBJECTION, NOW_DT)
    pending = record_objection(session, notice["id"], {**OBJECTION, "name": "赵六"}, NOW_DT)
    clock.advance(days=9)
    answered = [{**OBJECTION, "upheld": True, "reply": "属实"}]
    assert close_notice(ctx, notice=notice, objections=answered)["pending"] == 1
    answered.append({"objection_id": pending.id, "upheld": False, "reply": "不属实"})
    assert close_notice(ctx, notice=notice, objections=answered) == {"upheld": 1, "rejected": 1, "pending": 0}
    assert [(p["objector_name"], p["outcome"]) for p in replies(session)] == [("王五", "upheld"), ("赵六", "rejected")]


def test_the_status_of_an_objection_shows_only_its_progress_and_answer(ctx, clock, notice, session):
    objection = record_objection(session, notice["id"], OBJECTION, NOW_DT)
    receipt, code = objection_receipt(objection), objection_access_code(objection)
    assert objection_status(session, receipt, code) == {
        "receipt": receipt, "status": "verifying", "received_on": dt.date(2026, 5, 11), "notice_id": notice["id"],
        "outcome": None, "reply": None}
    clock.advance(days=9)
    close_notice(ctx, notice=notice, objections=[
        {"objection_id": objection.id, "upheld": True, "finding": "内部核实情况", "reply": "异议成立"}])
    status = objection_status(session, f" {receipt.lower()} ", f" {code.lower().replace('-', ' ')} ")
    assert (status["status"], status["outcome"], status["reply"]) == ("answered", "upheld", "异议成立")
    assert parse_objection_receipt(receipt) == (2026, objection.id)
    for unknown in ("YY2026-999999", "YY2025-%06d" % objection.id, "JB2026-%06d" % objection.id,
                    "YY2026-%07d" % objection.id, "", None, "YY2026-1"):
        assert objection_status(session, unknown, code) is None


def test_the_status_of_an_objection_needs_its_access_code(ctx, notice, session):
    objection = record_objection(session, notice["id"], OBJECTION, NOW_DT)
    other = record_objection(session, notice["id"], {**OBJECTION, "name": "赵六", "contact": "zhao@example.cn"}, NOW_DT)
    receipt, code = objection_receipt(objection), objection_access_code(objection)
    assert code == access_code("objection", objection.id, NOW_DT, OBJECTION["contact"])
    assert objection_status(session, receipt, code.replace("-", "").lower())["receipt"] == receipt
    for wrong in (None, "", objection_access_code(other), code[:-1], code + "0", receipt):
        assert objection_status(session, receipt, wrong) is None
