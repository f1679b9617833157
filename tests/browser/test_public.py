"""The public portal in a real browser: an objection during a notice, and a late one refused."""
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
