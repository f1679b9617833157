"""名单事务 in a real browser (issue 16): the portal's open notices, and the officials' pages for notices,
credit records and the national platform, in Chinese and English. Read-only: the demo site is shared."""
from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_the_applicant_sees_the_open_notices_on_the_portal(page, demo_site):
    login(page, "ent-u1")
    page.goto("/portal/")
    notices = page.locator("[data-testid=open-windows]")
    assert "受理中" in notices.inner_text() and "省级绿色制造名单申报工作的通知" in notices.inner_text()
    screenshot(page, "portal-open-notices")
    page.goto("/portal/?lang=en")
    assert "Application notices" in page.locator("[data-testid=open-windows]").inner_text()


def test_the_province_finds_notices_credit_records_and_the_national_platform(page, demo_site):
    login(page, "province")
    page.get_by_role("link", name="名单事务").first.click()
    page.get_by_role("link", name="申报通知").first.click()
    assert page.locator("[data-testid=windows] tr[data-window-id]").count() >= 12
    screenshot(page, "records-windows")
    page.goto("/records/credit")
    assert "第二十七条第6项" in page.locator("[data-testid=credit-records]").inner_text()  # the demo's import
    screenshot(page, "records-credit")
    page.goto("/records/interchange")
    assert page.locator("[data-testid=export]").is_visible()
    screenshot(page, "records-interchange")
    page.goto("/records/credit?lang=en")
    assert "Import a file" in page.content()
    screenshot(page, "records-credit-en")
