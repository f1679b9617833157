"""Migrating a running application to a new version in a real browser, on the demo database.

An application started on v1 waits at the county review. The owner deploys v2 of the application
(the review form gains an optional 附件说明 field), opens 迁移运行中的实例 from the versions page,
reads the plan and the dry-run, migrates that one application, and — the worker having run the
job — reads the per-instance report. The county official then completes the review on v2, with
the new field. Screenshots: migration-plan.png, migration-report.png.
"""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from engine.identity import system_actor
from engine.migration import jobs
from handlers import demo
from handlers.uscc import make_uscc
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

UNIT_NAME = "遵义迁移演示电子有限公司"
NEW_FIELD = "附件说明"


def start_application(engine) -> int:
    unit = demo.UNITS[0]  # 红花岗区: reviewed by county-520302
    data = demo.application_data(unit, unit_name=UNIT_NAME, credit_code=make_uscc(f"91{unit.county}MA9900001"))
    return engine.start("green_application", data, actor=system_actor("browser-test")).instance_id


def deploy_v2(engine) -> int:
    """The review form with an optional 附件说明 field, over the newest bundle; the application's new version."""
    _, files = engine.latest_bundle()
    form = json.loads(files["forms/review.schema.json"])
    form["properties"]["attachment_note"] = {"type": "string", "title": NEW_FIELD, "maxLength": 200}
    result = engine.deploy_files({"forms/review.schema.json": json.dumps(form, ensure_ascii=False).encode()},
                                 deployed_by="owner", note="审核表单增加附件说明", overlay=True)
    return result.versions["green_application"]


def test_an_application_is_dry_run_migrated_and_completed_on_the_new_version(page, demo_site):
    engine = demo_site.engine
    iid = start_application(engine)
    before = engine.instance(iid)["version"]
    target = deploy_v2(engine)

    login(page, "owner")
    page.goto("/modeler/green_application/versions")
    page.locator("[data-testid=migration-links]").get_by_role("link", name="迁移运行中的实例").click()
    page.select_option("#m-from", str(target - 1))
    page.select_option("#m-to", str(target))
    page.locator("[data-testid=versions-form] button[type=submit]").click()
    expect(page.locator("[data-testid=plan-forms]")).to_contain_text("review.schema.json")
    expect(page.locator("[data-testid=dry-run-summary]")).to_contain_text("可以迁移")
    page.goto(page.url + "&page=999")  # the list is by number, paged: the newest application is on the last page
    expect(page.locator(f"[data-testid=dry-run-items] tr[data-instance='{iid}']")).to_have_attribute("data-can", "yes")
    screenshot(page, "migration-plan")

    form = page.locator("[data-testid=run-form]")
    form.locator("input[name=scope][value=ids]").check()
    form.locator("input[name=ids]").fill(str(iid))
    form.locator("textarea[name=note]").fill("审核表单增加附件说明（浏览器测试）")
    form.locator("[data-testid=start-migration]").click()
    expect(page.locator("[data-testid=job-status]")).to_have_attribute("data-status", "pending")

    jobs.run_jobs(engine, runner="browser-test-worker")  # what the worker does on its next tick
    page.reload()
    expect(page.locator("[data-testid=job-status]")).to_have_attribute("data-status", "completed")
    expect(page.locator("[data-testid=job-counts]")).to_contain_text("已迁移 1")
    expect(page.locator(f"[data-testid=job-items] tr[data-instance='{iid}']")).to_have_attribute("data-status",
                                                                                                 "migrated")
    screenshot(page, "migration-report")
    assert engine.instance(iid)["version"] != before

    page.context.clear_cookies()
    login(page, "county-520302")
    page.goto("/inbox/?tab=claimable")
    page.locator("table[data-testid=inbox] tbody tr", has_text=UNIT_NAME).first.get_by_role("link").first.click()
    expect(page.locator("[data-testid=task-header]")).to_contain_text(UNIT_NAME)
    field = page.locator("[data-field=attachment_note]")
    expect(field).to_contain_text(NEW_FIELD)  # the v2 form
    page.locator("[data-field=decision] input[value=pass]").check()
    field.locator("input, textarea").first.fill("能源审计报告见附件二")
    page.locator("[data-testid=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("已办理")

    view = engine.instance(iid)
    completed = [t for t in view["tasks"] if t["status"] == "completed"]
    assert completed and completed[-1]["completed_by"] == "county-520302"
    assert any(t["status"] == "open" and t["scope"] == "520300" for t in view["tasks"])  # on to the city
    done = [e for e in view["events"] if e["type"] == "task_completed"][-1]
    assert done["payload"]["data"]["attachment_note"] == "能源审计报告见附件二"
    assert engine.verify_history(iid).ok
