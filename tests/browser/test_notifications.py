"""The notification centre in a real browser: a notification that also arrived by e-mail (a real SMTP
server, aiosmtpd) is read under the bell, in Chinese and in English, and leads to its task."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.models import HumanTask
from engine.notifications import fanout, mail
from handlers import demo
from tests.browser.conftest import login, screenshot
from tests.mailbox import Mailbox
from web import accounts

pytestmark = pytest.mark.browser

U3 = demo.UNITS[2]  # 钟山区 (六盘水): in consultation, its county review done
COUNTY = f"county-{U3.county}"
COLLEAGUE = f"{COUNTY}-b"


def test_a_user_reads_a_notification_that_arrived_by_email_too(page, demo_site):
    engine = demo_site.engine
    accounts.set_email(engine, COLLEAGUE, "keyuan@zs.gov.example")
    with engine.db.session() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.role == "county_official", HumanTask.scope == U3.county)
                        .order_by(HumanTask.id))
    engine.cc(task.id, [COLLEAGUE], actor=engine.actor(COUNTY), note="请阅知部门意见进展")

    with Mailbox() as box:  # what the worker does: fan out, then mail
        fanout.fan_out(engine.db, engine.clock, mail=True)
        mail.deliver_due(engine.db, engine.clock, mail.MailSettings(host=box.host, port=box.port,
                                                                    sender="noreply@gxt.guizhou.example"))
        [(to, message)] = box.wait_for(1)
    assert to == ["keyuan@zs.gov.example"]
    assert message["Subject"] == "【贵州省绿色制造】抄送：审核"
    assert "抄送给您阅知" in message.get_content() and "请阅知部门意见进展" in message.get_content()

    login(page, COLLEAGUE)
    bell = page.locator("[data-testid=notification-bell]")
    expect(bell.locator("[data-testid=notification-count]")).to_have_text(re.compile(r"[1-9]\d*"))
    bell.click()
    item = page.locator("li.notification.unread", has_text="请阅知部门意见进展")
    expect(item).to_contain_text("抄送给您阅知")
    expect(item.locator(".badge")).to_have_text("抄送")
    screenshot(page, "notifications")

    page.goto("/notifications/?lang=en")
    item_en = page.locator("li.notification.unread", has_text="请阅知部门意见进展")
    expect(item_en).to_contain_text("copied the task")
    expect(item_en.locator(".badge")).to_have_text("Copied to you")
    screenshot(page, "notifications-en")

    item_en.get_by_role("button", name="View").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.id}"))
    page.goto("/notifications/?show=unread")
    expect(page.locator("li.notification", has_text="请阅知部门意见进展")).to_have_count(0)
