"""The officials' and applicants' main paths in a real browser, on the demo database.

The demo seeds (handlers/demo.py): U1 at county review (红花岗区), U2 returned for amendment,
U8 (贵安新区) at city review, U6 in its public notice. Each test works on its own sample so the
order of the tests does not matter.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from handlers import demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

U1, U2, U8 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[7]


def open_inbox_row(page, unit_name: str):
    row = page.locator("table[data-testid=inbox] tbody tr", has_text=unit_name).first
    expect(row).to_be_visible()
    return row


def test_login_and_the_inbox_with_filters(page):
    login(page, f"county-{U1.county}")
    # the default view 全部待办: U1's review whether still claimable or already opened (so claimed) by
    # this county in another browser test (opening a task claims it, issue 15)
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.locator("[data-count=all]")).to_have_text(re.compile(r"[1-9]\d*"))
    open_inbox_row(page, U1.name)
    # filter to province-level applications: the city-level sample disappears
    page.select_option("#f-level", "province")
    page.locator("[data-testid=filters] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"level=province"))
    expect(page.locator("table[data-testid=inbox] tbody")).not_to_contain_text(U1.name)
    page.get_by_role("link", name="清除").click()
    open_inbox_row(page, U1.name)
    screenshot(page, "inbox")


def test_task_form_with_a_validation_error_then_correct(page):
    login(page, f"county-{U1.county}")
    page.goto("/inbox/")  # 全部待办: claimable, or already this county's
    open_inbox_row(page, U1.name).get_by_role("link").first.click()
    expect(page.locator("[data-testid=task-header]")).to_contain_text(U1.name)
    expect(page.locator(".diagram-panel[data-diagram-ready='1']").first).to_be_attached()
    screenshot(page, "task")
    # 退回修改 needs a reason (review.schema.json): submit without one
    page.locator("[data-field=decision] input[value=return]").check()
    page.locator("[data-testid=submit]").click()
    expect(page.locator("[data-testid=form-errors]")).to_be_visible()
    reason = page.locator("[data-field=reason]")
    expect(reason).to_have_class(re.compile(r"invalid"))
    expect(page.locator("[data-field=decision] input[value=return]")).to_be_checked()  # input kept
    screenshot(page, "task-validation-error")
    reason.locator("textarea").fill("请补充近三年能源审计报告")
    page.locator("[data-testid=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("已办理")
    expect(page).to_have_url(re.compile(r"/inbox/"))


def test_transfer_to_a_colleague(page, demo_site):
    official = f"city-{U8.county}"  # 贵安新区 is reviewed by its own (city-level) department
    login(page, official)
    page.goto("/inbox/?tab=claimable")
    open_inbox_row(page, U8.name).get_by_role("link").first.click()
    page.get_by_text("转办", exact=True).first.click()  # open the <details>
    page.select_option("#transfer-to", f"{official}-b")
    page.fill("#transfer-note", "本人出差，请代为办理")
    page.locator("[data-testid=transfer-form] button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("贵安新区工信局 科员")  # the colleague's name, not username
    # the colleague finds it in 待办
    page.context.clear_cookies()
    login(page, f"{official}-b")
    page.goto("/inbox/?tab=todo")
    open_inbox_row(page, U8.name)


def test_applicant_amendment_loop(page):
    login(page, f"ent-{U2.key.lower()}")
    page.goto("/portal/")
    page.locator("[data-testid=amend-link]").first.click()
    form = page.locator("[data-testid=task-form]")
    expect(form.locator("[data-field=unit_name] input")).to_have_value(U2.name)  # prefilled
    form.locator("[data-field=amend_note] textarea, [data-field=amend_note] input").first.fill("已按要求补充材料")
    form.locator("[data-field=energy_tce] input").fill("1650")
    page.locator("[data-testid=submit]").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    row = page.locator("table[data-testid=applications] tbody tr", has_text=U2.name)
    expect(row).to_contain_text("审核")
    expect(row.locator("[data-testid=amend-link]")).to_have_count(0)
    screenshot(page, "portal")
