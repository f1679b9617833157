"""The regulation's new pages as their users meet them on the demo (issue 16), in real Chromium:
the province's expert pool and a panel, the park's members and the county's confirmation, a spot
check with its seed and sample, and the eligibility checks beside the evidence on a review.
Screenshots in build/screenshots/regulation-*.png, Chinese and English."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from handlers import demo_parks_spot_checks as parks_demo
from tests.browser.conftest import login, screenshot


def test_the_province_keeps_the_expert_pool_and_sees_a_panel(page):
    login(page, "province")
    page.goto("/experts/")
    pool = page.locator("table[data-testid=expert-pool]")
    expect(pool).to_contain_text("评审专家")
    screenshot(page, "regulation-expert-pool")
    page.goto("/experts/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot(page, "regulation-expert-pool-en")


def test_a_park_lists_its_members_and_the_county_sees_what_waits(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, base_url=live_server)
    park, county = context.new_page(), None
    login(park, parks_demo.PARK_ACCOUNT)
    park.goto(f"/parks/{parks_demo.PARK_CODE}")
    members = park.locator("table[data-testid=park-members]")
    expect(members).to_contain_text("已确认")
    expect(park.locator("[data-testid=park-add-member]")).to_be_visible()
    screenshot(park, "regulation-park-members")
    context.close()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, base_url=live_server)
    county = context.new_page()
    login(county, f"county-{parks_demo.PARK_COUNTY}")
    county.goto("/parks/")
    expect(county.locator("[data-testid=park-pending]")).to_contain_text(parks_demo.PARK_NAME)
    screenshot(county, "regulation-parks-county")
    context.close()


def test_a_spot_check_shows_its_seed_population_and_sample(page):
    login(page, "province")
    page.goto("/spot-checks/")
    table = page.locator("table[data-testid=spot-checks]")
    expect(table).to_be_visible()
    screenshot(page, "regulation-spot-checks")
    table.locator("a").first.click()
    facts = page.locator("[data-testid=spot-check-facts]")
    expect(facts).to_contain_text(parks_demo.SEED)
    expect(page.locator("table[data-testid=spot-check-units]")).to_be_visible()
    screenshot(page, "regulation-spot-check")


def test_a_review_shows_the_checks_beside_the_evidence(page):
    """U4's application missed its quota's advanced value (第十条第3项, 原则上): the county and the city
    passed it with a reason each; the panel expert reads the checks and those reasons on the task."""
    login(page, "expert-4")
    page.goto("/inbox/")
    page.locator("table[data-testid=inbox] tbody tr", has_text="毕节七星关").first.locator("[data-testid=handle]").click()
    checks = page.locator("[data-testid=eligibility-checks]")
    expect(checks).to_contain_text("第十条")
    expect(page.locator("[data-testid=eligibility-flags]")).to_be_visible()
    screenshot(page, "regulation-eligibility-checks")
