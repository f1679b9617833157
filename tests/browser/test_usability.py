"""A product people use without training (issue 15), in a real browser on the demo database.

As each role: where they land after login; a county official clears a claimable task from the
default inbox view without touching a tab (opening it claims it); a colleague who opens it a
moment later reads who has it; an enterprise amends its returned application from the portal;
the diagram shows the current step readable, the whole on demand. Screenshots of every role's
landing page and main pages, in Chinese and in English, go to build/screenshots/usability-*.png.

Each test works on samples of its own (started here through the engine) or on demo samples no
other browser test changes, so the order of the tests does not matter.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from handlers import demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

U6 = demo.UNITS[5]
U4 = demo.UNITS[3]  # 七星关区 520502: its demo application is at the province; a national one is this module's
U10, U13 = demo.LISTED_UNITS[0], demo.LISTED_UNITS[3]  # listed city units of 汇川区 520303, 平坝区 520403:
# their province-level applications are this module's own
REASON = "请补充能源计量器具配备情况"

LANDINGS = [  # (username, where they land, what the page says, screenshot name)
    ("county-520302", "/inbox/", "全部待办", "official"),
    ("eco-520300", "/inbox/", "全部待办", "bureau"),
    ("expert", "/inbox/", "全部待办", "expert"),
    ("ent-u1", "/portal/", "我的申报", "enterprise"),
    ("owner", "/modeler/", None, "owner"),
    ("auditor", "/audit/", "查找实例", "auditor"),
]


def apply_province(demo_site, unit, level: str = "province") -> int:
    """An application of ``unit`` at ``level`` beside its demo one: a new task at its county's review."""
    data = demo.application_data(unit, target_level=level)
    return demo_site.engine.start("green_application", data, actor=demo.applicant(demo_site.engine, unit)).instance_id


def returned_for_amendment(demo_site, unit) -> int:
    """A national-level application of ``unit`` its county returned for amendment (退回修改)."""
    from sqlalchemy import select

    from engine.models import HumanTask

    iid = apply_province(demo_site, unit, "national")
    engine = demo_site.engine
    with engine.db.session() as session:
        review = session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
    engine.complete(review.id, {"decision": "return", "reason": REASON}, actor=engine.actor(f"county-{unit.county}"))
    return iid


def log_out(page) -> None:
    page.context.clear_cookies()


@pytest.mark.parametrize("username, path, text, name", LANDINGS)
def test_each_role_lands_on_its_work(page, username, path, text, name):
    login(page, username)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    if text:
        expect(page.locator("main")).to_contain_text(text)
    expect(page.locator("main")).not_to_contain_text("已部署版本")  # no internal dashboard on the way
    screenshot(page, f"usability-landing-{name}")
    page.locator("[data-testid=lang-switch]").click()
    page.wait_for_selector("html[lang=en]")
    screenshot(page, f"usability-landing-{name}-en")


def test_a_visitor_lands_on_the_notices_with_a_way_to_log_in(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/public/notices$"))
    expect(page.locator("[data-testid=login-hint]")).to_be_visible()
    screenshot(page, "usability-landing-public")
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200


def test_a_county_official_clears_a_claimable_task_from_the_default_view(page, demo_site):
    iid = apply_province(demo_site, U10)
    login(page, f"county-{U10.county}")
    expect(page).to_have_url(re.compile(r"/inbox/$"))  # straight to the work, on the default view
    expect(page.locator("nav.tabs a.active")).to_have_attribute("data-tab", "all")
    row = page.locator("table[data-testid=inbox] tbody tr", has_text=U10.name).first
    expect(row).to_contain_text("待认领")
    screenshot(page, "usability-inbox")
    row.locator("[data-testid=handle]").click()  # opening claims it: no tab, no claim button
    expect(page.locator("[data-testid=task-header]")).to_contain_text("承办人")
    expect(page.locator("[data-testid=task-header]")).to_contain_text(demo_site_name(f"county-{U10.county}"))
    # the diagram opens on the current step, readable; the whole process on demand
    panel = page.locator('.diagram-panel[data-diagram-ready="1"]').first
    expect(panel).to_have_attribute("data-diagram-view", "focus")
    screenshot(page, "usability-task")
    page.locator("[data-testid=diagram-toggle]").click()
    expect(panel).to_have_attribute("data-diagram-view", "whole")
    page.locator("[data-testid=diagram-toggle]").click()
    expect(panel).to_have_attribute("data-diagram-view", "focus")
    page.locator("[data-field=decision] input[value=pass]").check()
    page.locator("[data-testid=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("已办理")
    expect(page).to_have_url(re.compile(r"/inbox/"))
    expect(page.locator("table[data-testid=inbox] tbody")).not_to_contain_text(U10.name)
    assert demo_site.engine.instance(iid)["tasks"][0]["completed_by"] == f"county-{U10.county}"


def demo_site_name(username: str) -> str:
    return next(name for user, name, _ in demo.accounts() if user == username)


def test_the_colleague_who_opens_it_second_reads_who_has_it(browser, live_server, demo_site):
    apply_province(demo_site, U13)
    first, second = (browser.new_context(locale="zh-CN", base_url=live_server) for _ in range(2))
    try:
        one, two = first.new_page(), second.new_page()
        login(one, f"county-{U13.county}")
        login(two, f"county-{U13.county}-b")
        link = lambda p: p.locator("table[data-testid=inbox] tbody tr", has_text=U13.name).first.get_by_role("link").first
        href = link(two).get_attribute("href")
        link(one).click()  # the first opens it: hers now
        expect(one.locator("[data-testid=task-form]")).to_be_visible()
        two.goto(href)  # the colleague's list was drawn before: she opens it a moment later
        expect(two.locator("[data-testid=taken-by-other]")).to_contain_text(demo_site_name(f"county-{U13.county}"))
        expect(two.locator("[data-testid=task-form]")).to_have_count(0)
        screenshot(two, "usability-task-taken")
        one.locator("[data-field=decision] input[value=pass]").check()
        one.locator("[data-testid=submit]").click()
        expect(one.locator(".flash.success")).to_contain_text("已办理")
        two.reload()
        expect(two.locator("[data-testid=task-header]")).to_contain_text("已办理")
    finally:
        first.close()
        second.close()


def test_an_enterprise_amends_from_the_portal(page, demo_site):
    returned_for_amendment(demo_site, U4)
    login(page, f"ent-{U4.key.lower()}")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    todo = page.locator("[data-testid=to-do]")
    expect(todo).to_contain_text("修改申报材料")
    screenshot(page, "usability-portal")
    todo.locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/portal/tasks/\d+$"))
    reason = page.locator("[data-testid=return-reason]")
    expect(reason).to_contain_text(REASON)  # the reason on top, with who gave it
    expect(reason).to_contain_text("七星关区工信局")
    expect(page.locator("[data-testid=deadline]")).to_contain_text("办理期限")
    expect(page.locator("[data-testid=kept-files]")).to_be_visible()
    main = page.locator("main")
    for official_only in ("认领", "转办", "委派", "抄送", "返回待办"):
        expect(main).not_to_contain_text(official_only)
    screenshot(page, "usability-amend")
    page.locator("[data-testid=submit]").click()  # without the note: said with the field's name
    expect(page.locator("[data-field=amend_note] .error")).to_have_text("请填写修改说明")
    page.locator("[data-field=amend_note] textarea").fill("已补充能源计量器具配备清单")
    page.locator("[data-testid=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("修改申报材料")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator("[data-testid=to-do]")).to_have_count(0)


def test_the_apply_form_knows_what_the_account_knows_and_says_what_is_missing(page):
    login(page, f"ent-{U6.key.lower()}")
    page.goto("/portal/apply")
    expect(page.locator("[data-field=unit_name] input")).to_have_value(U6.name)
    expect(page.locator("[data-field=credit_code] input")).to_have_value(U6.credit_code)
    expect(page.locator("[data-field=year] input")).to_have_value(re.compile(r"^20\d\d$"))
    expect(page.locator("[data-field=county_code] select")).to_have_value(U6.county)
    page.locator("[data-field=contact_name] input").fill("")
    page.locator("[data-testid=submit]").click()
    expect(page.locator("[data-field=contact_name] .error")).to_have_text("请填写联系人")
    expect(page.locator("main")).not_to_contain_text("required")
    screenshot(page, "usability-apply-errors")


def test_the_main_pages_in_english(page, demo_site):
    login(page, "province")
    page.goto("/inbox/?lang=en")
    expect(page.locator("nav.tabs")).to_contain_text("All my work")
    options = page.locator("#f-process option").all_inner_texts()
    assert "Green list application" in options and "绿色制造名单申报" not in options
    expect(page.locator("table[data-testid=inbox]")).not_to_contain_text("审核")  # task names in English too
    screenshot(page, "usability-inbox-en")
    log_out(page)
    # a panel expert: the demo's #5 draws expert-4, expert-2 and expert-6 (seed 5/1, 第十八条); each task is
    # assigned to its expert, and no other test takes expert-4's
    login(page, "expert-4")
    page.goto("/inbox/?lang=en")
    page.locator("table[data-testid=inbox] tbody tr a").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=task-title]")).to_contain_text("Expert score")
    screenshot(page, "usability-task-en")
    log_out(page)
    login(page, f"ent-{U6.key.lower()}")
    page.goto("/portal/?lang=en")
    expect(page.locator("main")).to_contain_text("New application")
    screenshot(page, "usability-portal-en")
    page.goto("/portal/apply")
    expect(page.locator("[data-field=year]")).to_contain_text("Application year")
    screenshot(page, "usability-apply-en")
