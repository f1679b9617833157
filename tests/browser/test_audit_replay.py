"""An auditor in a real browser: finds the demo application that had an upheld objection, steps to the
objection, sees the data before and after, and re-executes it (0 diverged). Screenshots in
build/screenshots/audit-*.png.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from handlers import demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

UNIT = demo.UNITS[8]  # the demo's application whose objection was upheld (handlers/demo.py)


def test_an_auditor_steps_through_an_upheld_objection_and_replays_it(page, page_errors):
    login(page, "auditor")
    page.get_by_role("link", name="审计", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/audit/$"))
    page.select_option("#a-happened", "objected")
    page.locator("[data-testid=audit-search] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"happened=objected"))
    results = page.locator("table[data-testid=audit-results] tbody")
    expect(results).to_contain_text(UNIT.name)
    screenshot(page, "audit-search")

    results.get_by_role("link", name=re.compile(UNIT.name)).first.click()
    expect(page.locator("[data-testid=stepper]")).to_be_visible()
    # Step to the objection: the list names it in words, and the page shows what it added.
    page.locator("[data-testid=step-list] a[data-step-type=message_received]").click()
    facts = page.locator("[data-testid=step-facts]")
    expect(facts).to_contain_text("收到消息：公示异议")
    expect(facts.locator("[data-testid=step-actor]")).to_have_text("公众")
    changes = page.locator("[data-testid=data-changes]")
    expect(changes.locator("tr[data-key=objection]")).to_contain_text("新增")
    expect(changes.locator("tr[data-key=objection] [data-testid=after]")).to_contain_text("王某")
    expect(page.locator("[data-testid=open-tasks]")).to_contain_text("核实异议")
    expect(page.locator(".diagram-panel[data-diagram-ready='1']").first).to_be_attached()
    screenshot(page, "audit-objection")

    # The next step: the city's verification; the objection reviews before (none) and after (upheld).
    page.locator("[data-testid=step-next]").click()
    expect(facts).to_contain_text("办理：核实异议")
    reviews = changes.locator("tr[data-key=objections]")
    expect(reviews.locator("[data-testid=before]")).to_contain_text("（空）")
    expect(reviews.locator("[data-testid=after]")).to_contain_text("经核实，该企业去年确有环境行政处罚记录")
    expect(changes.locator("tr[data-key=upheld] [data-testid=after]")).to_have_text(re.compile("成立|是"))
    expect(page.locator("[data-testid=submitted-form] fieldset[disabled]")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("no_objection")
    expect(page.locator("body")).not_to_contain_text("public:objector")
    screenshot(page, "audit-objection-reviewed")

    # The slider moves between steps without re-executing anything (each step is folded from the history).
    slider = page.locator("[data-testid=step-slider]")
    slider.fill("1")
    slider.dispatch_event("change")
    expect(page).to_have_url(re.compile(r"step=1"))
    expect(facts).to_contain_text("提交")

    # Re-execute: 1 replayed, 0 diverged.
    page.locator("[data-testid=replay-button]").click()
    expect(page.locator(".flash")).to_contain_text("0 个不一致")
    expect(page.locator("[data-testid=replay-runs]")).to_contain_text("1 个已重新执行，0 个不一致")
    screenshot(page, "audit-replay")

    page.goto(page.url.split("#")[0] + "&lang=en")
    expect(page.locator("[data-testid=replay-panel]")).to_contain_text("1 replayed, 0 diverged")
    screenshot(page, "audit-replay-en")
    assert page_errors == []
