"""The notification centre: the bell and its count, the list in Chinese and English, mark read, open."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.notifications import fanout
from engine.notifications.models import Notification
from handlers import demo

U1 = demo.UNITS[0]
COUNTY, COLLEAGUE = f"county-{U1.county}", f"county-{U1.county}-b"


def cc_and_deliver(site) -> int:
    """The county official copies U1's review to the colleague; the worker fans it out. Returns the task id."""
    green = site.scenario
    task = green.task(green.apply(U1), "review")
    site.engine.cc(task.id, [COLLEAGUE], actor=site.engine.actor(COUNTY), note="请阅")
    fanout.fan_out(site.engine.db, site.engine.clock, mail=False)
    return task.id


def only_notification(site) -> Notification:
    with site.engine.db.session() as s:
        return s.scalar(select(Notification).where(Notification.username == COLLEAGUE))


def test_the_bell_counts_unread_notifications_on_every_page(site):
    client = site.client(COLLEAGUE)
    html = client.get("/inbox/").get_data(as_text=True)
    assert 'data-testid="notification-bell"' in html and 'data-testid="notification-count"' not in html
    cc_and_deliver(site)
    html = client.get("/inbox/").get_data(as_text=True)
    assert '<span class="bell-count" data-testid="notification-count">1</span>' in html
    assert "通知（1 条未读）" in html


def test_the_list_shows_the_message_in_chinese_and_english(site):
    cc_and_deliver(site)
    client = site.client(COLLEAGUE)
    html = client.get("/notifications/").get_data(as_text=True)
    assert "红花岗区工信局将任务「审核」" in html and "抄送给您阅知" in html and "附言：请阅" in html
    assert '<span class="badge">抄送</span>' in html and "全部标为已读" in html
    english = client.get("/notifications/?lang=en").get_data(as_text=True)
    assert "copied the task" in english and "Copied to you" in english and "Mark all as read" in english


def test_opening_a_notification_marks_it_read_and_goes_to_the_task(site):
    task_id = cc_and_deliver(site)
    note = only_notification(site)
    client = site.client(COLLEAGUE)
    response = client.post(f"/notifications/{note.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task_id}")
    assert only_notification(site).read_at is not None
    html = client.get("/notifications/?show=unread").get_data(as_text=True)
    assert 'data-testid="no-notifications"' in html and "没有未读通知" in html


def test_mark_one_and_mark_all_read(site):
    cc_and_deliver(site)
    client = site.client(COLLEAGUE)
    note = only_notification(site)
    assert client.post(f"/notifications/{note.id}/read").status_code == 302
    assert only_notification(site).read_at is not None
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert "没有未读通知" in response.get_data(as_text=True)


def test_nobody_reads_or_marks_someone_elses_notification(site):
    cc_and_deliver(site)
    note = only_notification(site)
    intruder = site.client(COUNTY)
    assert intruder.post(f"/notifications/{note.id}/open").status_code == 404
    assert intruder.post(f"/notifications/{note.id}/read").status_code == 404
    assert "抄送给您阅知" not in intruder.get("/notifications/").get_data(as_text=True)
    assert only_notification(site).read_at is None


def test_the_centre_needs_a_login(site):
    response = site.client().get("/notifications/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("query, field", [("page=0", "page"), ("page=abc", "page"), ("show=everything", "show")])
def test_bad_query_parameters_are_refused_naming_the_field(site, query, field):
    response = site.client(COLLEAGUE).get(f"/notifications/?{query}")
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)


def test_an_applicant_is_led_to_the_application_in_the_portal(site):
    green = site.scenario
    iid = green.apply(demo.UNITS[1])
    green.step(iid, "review", {"decision": "return", "reason": "请补充能源计量器具配备情况"})
    applicant = f"ent-{demo.UNITS[1].key.lower()}"
    site.engine.urge(green.task(iid, "amend").id, actor=site.engine.actor("province"), note="请尽快修改")
    fanout.fan_out(site.engine.db, site.engine.clock, mail=False)
    with site.engine.db.session() as s:
        note = s.scalar(select(Notification).where(Notification.username == applicant))
    response = site.client(applicant).post(f"/notifications/{note.id}/open")
    assert response.headers["Location"].endswith(f"/portal/applications/{iid}")


def test_operators_set_addresses_and_see_the_mail_queue_from_the_shell(site):
    runner = site.app.test_cli_runner()
    bad = runner.invoke(args=["users", "set-email", COLLEAGUE, "not-an-address"])
    assert bad.exit_code != 0 and "email" in bad.output
    ok = runner.invoke(args=["users", "set-email", COLLEAGUE, "keyuan@hhg.gov.example"])
    assert ok.exit_code == 0 and "keyuan@hhg.gov.example" in ok.output
    site.scenario.engine.cc(site.scenario.task(site.scenario.apply(U1), "review").id, [COLLEAGUE],
                            actor=site.engine.actor(COUNTY))
    delivered = runner.invoke(args=["notifications", "deliver"])
    assert delivered.exit_code == 0
    assert "1 outbox row(s): 1 notification(s), 0 mail(s) queued" in delivered.output  # mail is off by default
    assert "GREENFLOW_SMTP_HOST is not set" in delivered.output
    listed = runner.invoke(args=["notifications", "mail", "--failed"])
    assert listed.exit_code == 0 and "no mail messages" in listed.output
