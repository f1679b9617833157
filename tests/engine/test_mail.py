"""Notifications from the outbox to people: the centre's rows, and mail through a real SMTP server.

Commands only write outbox rows; ``fanout.fan_out`` (the worker) turns each into one notification
per recipient and a mail per address; ``mail.deliver_due`` sends them to aiosmtpd on 127.0.0.1,
retries with back-off and gives up after the configured attempts.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.models import Outbox, UserAccount
from engine.notifications import centre, fanout, mail
from engine.notifications.models import MailMessage, Notification
from handlers import demo
from tests.mailbox import Mailbox, free_port

U1 = demo.UNITS[0]
COUNTY, COLLEAGUE = f"county-{U1.county}", f"county-{U1.county}-b"


def set_email(engine, username: str, email: str | None) -> None:
    with engine.db.unit_of_work() as s:
        s.scalar(select(UserAccount).where(UserAccount.username == username)).email = email


def settings_for(box: Mailbox | None, **overrides) -> mail.MailSettings:
    host, port = ("127.0.0.1", box.port) if box else ("127.0.0.1", free_port())  # nothing listens on a free port
    return mail.MailSettings(host=host, port=port, sender="noreply@gxt.guizhou.example", timeout_seconds=5,
                             **overrides)


def cc_colleague(green) -> int:
    iid = green.apply(U1)
    task = green.task(iid, "review")
    green.engine.cc(task.id, [COLLEAGUE], actor=green.engine.actor(COUNTY), note="请阅")
    return task.id


def notifications_of(engine, username: str) -> list[Notification]:
    with engine.db.session() as s:
        return list(s.scalars(select(Notification).where(Notification.username == username)))


def test_a_notification_reaches_the_centre_and_the_mailbox_in_chinese(green):
    engine = green.engine
    set_email(engine, COLLEAGUE, "keyuan@hhg.gov.example")
    task_id = cc_colleague(green)
    assert notifications_of(engine, COLLEAGUE) == []  # the command only wrote the outbox

    counts = fanout.fan_out(engine.db, engine.clock, mail=True)
    assert counts == {"rows": 1, "notifications": 1, "mails": 1}
    [note] = notifications_of(engine, COLLEAGUE)
    assert note.kind == "cc" and note.task_id == task_id and note.read_at is None
    assert "抄送给您阅知" in note.message_zh and "附言：请阅" in note.message_zh
    assert "copied the task" in note.message_en

    with Mailbox() as box:
        assert mail.deliver_due(engine.db, engine.clock, settings_for(box)) == {"sent": 1, "retry": 0, "failed": 0}
        [(to, message)] = box.wait_for(1)
    assert to == ["keyuan@hhg.gov.example"]
    assert message["Subject"] == "【贵州省绿色制造】抄送：审核"
    body = message.get_content()
    assert "红花岗区工信局将任务「审核」" in body and "抄送给您阅知" in body and "附言：请阅" in body
    with engine.db.session() as s:
        sent = s.scalar(select(MailMessage))
        assert (sent.status, sent.attempts, sent.username) == ("sent", 1, COLLEAGUE)


def test_without_mail_only_the_centre_is_filled(green):
    engine = green.engine
    set_email(engine, COLLEAGUE, "keyuan@hhg.gov.example")
    cc_colleague(green)
    assert fanout.fan_out(engine.db, engine.clock, mail=False) == {"rows": 1, "notifications": 1, "mails": 0}
    with engine.db.session() as s:
        assert s.scalar(select(MailMessage)) is None
        assert s.scalar(select(Outbox.sent_at).where(Outbox.kind == "notification")) is not None


def test_an_outbox_row_is_fanned_out_once(green):
    engine = green.engine
    cc_colleague(green)
    fanout.fan_out(engine.db, engine.clock, mail=True)
    with engine.db.unit_of_work() as s:
        outbox_id = s.scalar(select(Outbox.id).where(Outbox.kind == "notification"))
        assert fanout.settle(s, outbox_id, now=engine.clock.now(), mail=True) is None
    assert fanout.fan_out(engine.db, engine.clock, mail=True)["rows"] == 0
    assert len(notifications_of(engine, COLLEAGUE)) == 1


def test_role_notifications_reach_every_active_holder_and_no_one_else(green):
    engine = green.engine
    with engine.db.unit_of_work() as s:
        s.scalar(select(UserAccount).where(UserAccount.username == COLLEAGUE)).active = False
        s.add(Outbox(instance_id=None, kind="notification", created_at=engine.clock.now(), payload={
            "kind": "reminder", "role": "county_official", "scope": U1.county, "message_zh": "请及时办理",
            "task_name": "审核"}))
    fanout.fan_out(engine.db, engine.clock, mail=True)
    with engine.db.session() as s:
        assert sorted(s.scalars(select(Notification.username))) == [COUNTY]


@pytest.mark.parametrize("contact, mails", [("objector@example.org", 1), ("13900000000", 0)])
def test_a_public_contact_is_mailed_only_when_it_is_an_email_address(green, contact, mails):
    engine = green.engine
    with engine.db.unit_of_work() as s:
        s.add(Outbox(instance_id=None, kind="notification", created_at=engine.clock.now(), payload={
            "kind": "objection_reply", "to": contact, "message_zh": "经核实异议不成立。答复意见：……（第二十条）"}))
    assert fanout.fan_out(engine.db, engine.clock, mail=True) == {"rows": 1, "notifications": 0, "mails": mails}
    if mails:
        with Mailbox() as box:
            mail.deliver_due(engine.db, engine.clock, settings_for(box))
            [(to, message)] = box.wait_for(1)
        assert to == [contact] and "经核实异议不成立" in message.get_content()
        assert message["Subject"] == "【贵州省绿色制造】异议答复"


def test_failed_mail_is_retried_with_back_off_then_given_up_and_retried_by_an_operator(green):
    engine = green.engine
    set_email(engine, COLLEAGUE, "keyuan@hhg.gov.example")
    cc_colleague(green)
    fanout.fan_out(engine.db, engine.clock, mail=True)
    down = settings_for(None, max_attempts=3, retry_seconds=60)

    def row() -> MailMessage:
        with engine.db.session() as s:
            return s.scalar(select(MailMessage))

    start = engine.clock.now()
    assert mail.deliver_due(engine.db, engine.clock, down) == {"sent": 0, "retry": 1, "failed": 0}
    first = row()
    assert (first.status, first.attempts) == ("pending", 1) and first.last_error
    assert first.next_attempt_at == start + dt.timedelta(seconds=60)
    assert mail.deliver_due(engine.db, engine.clock, down) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet

    engine.clock.advance(seconds=60)
    assert mail.deliver_due(engine.db, engine.clock, down)["retry"] == 1
    assert row().next_attempt_at == engine.clock.now() + dt.timedelta(seconds=120)  # doubled
    engine.clock.advance(seconds=120)
    assert mail.deliver_due(engine.db, engine.clock, down) == {"sent": 0, "retry": 0, "failed": 1}
    given_up = row()
    assert (given_up.status, given_up.attempts) == ("failed", 3)

    # meanwhile commands go on: nothing about mail can fail them
    green.engine.urge(green.task(green.apply(demo.UNITS[1]), "review").id, actor=engine.actor("city-520100"))

    assert mail.retry_now(engine.db, engine.clock, [given_up.id]) == 1
    with Mailbox() as box:
        assert mail.deliver_due(engine.db, engine.clock, settings_for(box))["sent"] == 1
        box.wait_for(1)
    assert row().status == "sent"


def test_back_off_doubles_and_is_capped():
    settings = mail.MailSettings(host="x", retry_seconds=60)
    assert [mail.retry_delay(settings, n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert mail.retry_delay(settings, 30) == mail.MAX_DELAY


def test_the_centre_marks_only_the_users_own_notifications(green):
    engine = green.engine
    cc_colleague(green)
    fanout.fan_out(engine.db, engine.clock, mail=False)
    [note] = notifications_of(engine, COLLEAGUE)
    with engine.db.unit_of_work() as s:
        assert centre.unread_count(s, COLLEAGUE) == 1
        assert centre.mark_read(s, COUNTY, note.id, now=engine.clock.now()) is False
        assert centre.unread_count(s, COLLEAGUE) == 1
        assert centre.mark_read(s, COLLEAGUE, note.id, now=engine.clock.now()) is True
    with engine.db.session() as s:
        assert centre.unread_count(s, COLLEAGUE) == 0
