"""The public portal in a real browser: an objection during a notice, its status by receipt and access code,
and a late one refused."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from handlers import demo
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

U6 = demo.UNITS[5]  # the demo's unit in its public notice


def fill_objection(page, name: str):
    page.fill("[name=name]", name)
    page.fill("[name=id_number]", "520102199001011234")
    page.fill("[name=contact]", "13800000000")
    page.fill("[name=matter]", "该企业去年曾发生环境污染事件，请核查")


def test_objection_during_the_notice_and_a_late_one_refused(page, demo_site):
    page.goto("/public/notices")
    running = page.locator("[data-testid=notice-running]")
    row = running.locator("[data-testid=notice-unit]", has_text=U6.name)
    expect(row).to_be_visible()
    screenshot(page, "public-notices")
    row.get_by_role("link", name="提出异议").click()
    objection_url = page.url
    fill_objection(page, "王某")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=receipt]")).to_have_text(re.compile(r"^YY\d{4}-\d+$"))
    expect(page.locator("[data-testid=access-code]")).to_have_text(re.compile(r"^[0-9A-F]{4}-[0-9A-F]{4}$"))
    receipt = page.locator("[data-testid=receipt]").inner_text()
    code = page.locator("[data-testid=access-code]").inner_text()
    # the receipt page's link opens the status with both filled in
    page.get_by_role("link", name="查询办理状态").click()
    expect(page.locator("[data-testid=status] [data-status]")).to_have_attribute("data-status", "verifying")
    expect(page.locator("#f-receipt")).to_have_value(receipt)
    expect(page.locator("#f-code")).to_have_value(code)
    # without the right access code the same form says nothing about the objection
    page.fill("#f-code", "0000-0000" if code != "0000-0000" else "0000-0001")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=not-found]")).to_contain_text("查询码不符")
    expect(page.locator("[data-testid=status]")).to_have_count(0)
    # a second reader opens the form, and submits after the period has ended
    page.goto(objection_url)
    fill_objection(page, "李某")
    demo_site.clock.advance(days=20)
    try:
        page.locator("main form button[type=submit]").click()
        expect(page.locator("[data-testid=refusal]")).to_contain_text("第二十条")
        expect(page.locator("[name=name]")).to_have_value("李某")  # input kept
        screenshot(page, "public-objection-late")
    finally:
        demo_site.clock.advance(days=-20)
