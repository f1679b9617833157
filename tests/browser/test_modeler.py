"""The process owners' modeler (/modeler/<key>) in a real browser, on the demo database.

One owner changes 绿色制造单位变更 (unit_change) the way the issue tells it: renames a task, appends a
user task with a new form field and a due date, sees the lint panel catch the dangling flow, fixes
it, looks at the diff and deploys v2; a unit then reports a change, which runs on v2, and the city
official sees the new field on the task page. A script that imports os is refused by validation
with its element selected. Screenshots: modeler.png, modeler-lint.png, modeler-diff.png.

The canvas is clicked, double-clicked and dragged with the mouse; only the screen position of a
diagram point (and of a flow's segment) is read from bpmn-js, since SVG elements have no labels.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from handlers import demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

UNIT = demo.LISTED_UNITS[0]  # 遵义汇川绿色铝材有限公司: on the city list of 遵义 (520300)
CITY_OFFICIAL = "city-520300"


# ---------------------------------------------------------------------------------- helpers

def open_modeler(page, key: str) -> None:
    page.goto(f"/modeler/{key}")
    expect(page.locator("#modeler[data-ready='1']")).to_be_attached()


def to_screen(page, x: float, y: float) -> dict:
    """The screen position of diagram point (x, y) in the modeler's canvas."""
    return page.evaluate("""([x, y]) => {
        const canvas = document.getElementById('modeler').greenflowModeler.modeler.get('canvas');
        const vb = canvas.viewbox(); const box = canvas.getContainer().getBoundingClientRect();
        return {x: box.left + (x - vb.x) * vb.scale, y: box.top + (y - vb.y) * vb.scale};
    }""", [x, y])


def shape(page, element_id: str):
    return page.locator(f".djs-element[data-element-id='{element_id}']")


def center(page, element_id: str) -> dict:
    bounds = page.evaluate("""(id) => {
        const e = document.getElementById('modeler').greenflowModeler.modeler.get('elementRegistry').get(id);
        return {x: e.x + e.width / 2, y: e.y + e.height / 2};
    }""", element_id)
    return to_screen(page, bounds["x"], bounds["y"])


def click_flow(page, flow_id: str) -> None:
    """Click the middle of a sequence flow's last segment (its bounding box centre may be off the line)."""
    middle = page.evaluate("""(id) => {
        const w = document.getElementById('modeler').greenflowModeler.modeler.get('elementRegistry').get(id).waypoints;
        const a = w[w.length - 2], b = w[w.length - 1];
        return {x: (a.x + b.x) / 2, y: (a.y + b.y) / 2};
    }""", flow_id)
    point = to_screen(page, middle["x"], middle["y"])
    page.mouse.click(point["x"], point["y"])


def drag_to(page, element_id: str, x: float, y: float) -> None:
    """Drag an element with the mouse so that its centre lands on diagram point (x, y)."""
    start, end = center(page, element_id), to_screen(page, x, y)
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(start["x"] + 8, start["y"] + 8, steps=3)
    page.mouse.move(end["x"], end["y"], steps=12)
    page.mouse.up()


def select(page, element_id: str) -> None:
    """Click an element until it is selected: right after a drag, diagram-js swallows one click."""
    for _ in range(3):
        shape(page, element_id).click()
        try:
            page.wait_for_function("""(id) => document.getElementById('modeler').greenflowModeler.modeler
                .get('selection').get().map(e => e.id).join() === id""", arg=element_id, timeout=1500)
            return
        except Exception:  # noqa: BLE001 - try once more
            continue
    raise AssertionError(f"{element_id} could not be selected")


def selected_ids(page) -> list[str]:
    return page.evaluate("""() => document.getElementById('modeler').greenflowModeler.modeler
        .get('selection').get().map(e => e.id)""")


def user_task_named(page, name: str) -> str:
    return page.evaluate("""(name) => document.getElementById('modeler').greenflowModeler.modeler
        .get('elementRegistry').filter(e => e.type === 'bpmn:UserTask' && e.businessObject.name === name)
        .map(e => e.id)[0] || null""", name)


def click_empty_canvas(page) -> None:
    """Click a free spot of the canvas (ends label editing)."""
    box = page.locator("[data-testid=canvas]").bounding_box()
    page.mouse.click(box["x"] + box["width"] - 60, box["y"] + box["height"] - 40)


def problem(page, source: str, element_id: str):
    return page.locator(f"[data-testid=problems] li[data-source='{source}'][data-element-id='{element_id}']")


def running_version(site, instance_id: int) -> int:
    """The version number of its process an instance runs on."""
    from sqlalchemy import select

    from engine.models import ProcessInstance, ProcessVersion

    with site.engine.db.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        numbers = session.execute(select(ProcessVersion.definition_version_id, ProcessVersion.number)
                                  .where(ProcessVersion.process_id == instance.process_id)
                                  .order_by(ProcessVersion.number)).all()
    return max(number for dv, number in numbers if dv <= instance.version_id)


def untranslated(page) -> list[str]:
    """The modeler's labels that were shown in English on the Chinese page."""
    return page.evaluate("() => Array.from(window.GreenflowModeler.missingTranslations)")


def rename(page, element_id: str, name: str) -> None:
    shape(page, element_id).dblclick()
    expect(page.locator(".djs-direct-editing-parent")).to_be_visible()
    page.keyboard.press("Control+A")
    page.keyboard.type(name)
    click_empty_canvas(page)


def csp_violations(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    return messages


# ---------------------------------------------------------------------------------- the scenario

def test_an_owner_changes_a_process_and_deploys_v2_which_a_new_application_runs_on(page, page_errors, demo_site):
    violations = csp_violations(page)
    login(page, "owner")
    open_modeler(page, "unit_change")
    expect(page.locator("[data-testid=version-info]")).to_contain_text("v1")
    expect(page.locator(".djs-palette .entry[data-action='create.task']")).to_have_attribute("aria-label", "任务")
    expect(page.locator("[data-testid=problem-count]")).to_have_text("0")

    # 1. rename 变更复核 on the canvas (double-click, type, click away)
    shape(page, "change_review").dblclick()
    expect(page.locator(".djs-direct-editing-parent")).to_be_visible()
    page.keyboard.press("Control+A")
    page.keyboard.type("变更复核（含预审意见）")
    click_empty_canvas(page)
    expect(page.locator("#modeler[data-dirty='1']")).to_be_attached()
    expect(page.locator("[data-testid=save-state]")).to_have_text(re.compile("有未保存的更改|正在保存"))

    # 2. append a user task to 登记变更说明 from its context pad, named 预审
    shape(page, "register_change").click()
    append = page.locator(".djs-context-pad .entry[data-action='append.user-task']")
    expect(append).to_have_attribute("title", "追加用户任务")
    append.click()
    expect(page.locator(".djs-direct-editing-parent")).to_be_visible()
    page.keyboard.type("预审")
    click_empty_canvas(page)
    precheck = user_task_named(page, "预审")
    assert precheck, "the appended user task is on the canvas"

    # 3. the lint panel catches the dangling flow: 预审 ends the process, 登记变更说明 splits implicitly
    problems = page.locator("[data-testid=problems]")
    expect(problem(page, "lint", precheck)).to_contain_text("隐式结束")
    expect(problem(page, "lint", "register_change")).to_contain_text("隐式分支")
    expect(page.locator("[data-testid=problem-count]")).to_have_class(re.compile("has-errors"))
    problem(page, "lint", precheck).click()  # a click selects the element
    assert selected_ids(page) == [precheck]
    expect(page.locator("[data-testid=properties] .bio-properties-panel-header")).to_contain_text("预审")
    screenshot(page, "modeler-lint")

    # 4. fix it: drop the old flow, connect 预审 to the review, move 预审 into the reviewing lane
    click_flow(page, "Flow_register_change_to_change_review")
    assert selected_ids(page) == ["Flow_register_change_to_change_review"]
    page.keyboard.press("Delete")
    shape(page, precheck).click()
    page.locator(".djs-context-pad .entry[data-action='connect']").click()
    target = center(page, "change_review")
    page.mouse.move(target["x"], target["y"], steps=6)
    page.mouse.click(target["x"], target["y"])
    drag_to(page, precheck, 380, 290)  # Lane_authority, under 登记变更说明
    expect(problems.locator("li[data-source='lint']")).to_have_count(0)
    expect(page.locator("[data-testid=problem-count]")).to_have_text("0")

    # 5. its form: a new JSON Schema with one field, previewed as officials will see it; due in 5 working days
    select(page, precheck)
    properties = page.locator("[data-testid=properties]")
    expect(properties.locator(".bio-properties-panel-group-header.open", has_text="表单与期限")).to_be_visible()
    properties.locator("[data-action=create-form]").click()
    page.fill("[data-testid=new-form-name]", "change_precheck.schema.json")
    page.fill("[data-testid=new-form-title]", "变更预审")
    page.locator("[data-testid=create-form]").click()
    expect(page.locator("[data-testid=form-editor]")).to_be_visible()
    expect(page.locator("[data-testid=form-file]")).to_have_value("change_precheck.schema.json")
    expect(properties.locator("#bio-properties-panel-greenflow-form")).to_have_value("change_precheck.schema.json")
    add_field = page.locator("[data-testid=add-field]")
    add_field.locator("summary").click()
    add_field.locator("[name=field-key]").fill("precheck_note")
    add_field.locator("[name=field-title]").fill("预审意见")
    add_field.locator("[name=field-type]").select_option("textarea")
    add_field.locator("[name=field-required]").check()
    add_field.locator("[data-action=add-field]").click()
    preview = page.locator("[data-testid=form-preview-box]")
    expect(preview).to_contain_text("变更预审")
    expect(preview.locator("textarea[name=precheck_note]")).to_be_attached()
    expect(page.locator("[data-testid=form-json-editor] .cm-content")).to_contain_text('"precheck_note"')
    properties.locator("#bio-properties-panel-greenflow-due").fill("5")
    # the performer comes from the lane the task now stands in
    properties.locator(".bio-properties-panel-group-header", has_text="办理人").click()
    expect(properties.locator("[data-entry-id='greenflow-task-role']")).to_contain_text("authority_role")
    screenshot(page, "modeler")

    # 6. save (Ctrl+S), validate on the server: nothing to say
    page.keyboard.press("Control+s")
    expect(page.locator("#modeler[data-dirty='0']")).to_be_attached()
    expect(page.locator("[data-testid=save-state]")).to_contain_text("草稿已保存")
    page.locator(".modeler-toolbar [data-action=validate]").click()
    expect(page.locator("#modeler[data-validated='1']")).to_be_attached()
    expect(page.locator("[data-testid=modeler-alert]")).to_contain_text("校验通过")
    expect(page.locator("[data-testid=save-state]")).to_contain_text("草稿已保存")  # not "正在校验…" any more

    # 7. the diff against v1: added, removed, changed, and the new form
    page.locator(".modeler-toolbar [data-action=diff]").click()
    diff = page.locator("[data-testid=diff-dialog]")
    expect(diff.locator("[data-testid=diff-diagram][data-diff-ready='1']")).to_be_attached()
    expect(diff.locator(f"tr[data-element-id='{precheck}'][data-change='added']")).to_contain_text("办理期限（工作日）：5")
    expect(diff.locator("tr[data-element-id='Flow_register_change_to_change_review'][data-change='removed']")) \
        .to_be_attached()
    expect(diff.locator("tr[data-element-id='change_review'][data-change='changed']")) \
        .to_contain_text("变更复核 → 变更复核（含预审意见）")
    expect(diff.locator(".gf-diff-after .djs-element.diff-added[data-element-id='%s']" % precheck)).to_be_attached()
    expect(diff.locator(".gf-diff-before .djs-element.diff-removed[data-element-id='Flow_register_change_to_change_review']")) \
        .to_be_attached()
    expect(diff.locator("[data-testid=diff-forms] [data-form='change_precheck.schema.json']")).to_contain_text("预审意见")
    diff.locator("tr[data-element-id='change_review']").click()  # selects it in both diagrams
    expect(diff.locator(".gf-diff-after .djs-element.diff-focus[data-element-id='change_review']")).to_be_attached()
    screenshot(page, "modeler-diff")

    # 8. deploy: a change note is required
    diff.locator("[data-action=deploy]").click()
    deploy = page.locator("[data-testid=deploy-dialog]")
    expect(deploy).to_be_visible()
    expect(deploy.locator("[data-testid=deploy-summary]")).to_contain_text("新增 3")
    deploy.locator("[data-testid=confirm-deploy]").click()
    expect(deploy.locator("[data-testid=deploy-error]")).to_contain_text("请填写变更说明")
    page.fill("[data-testid=deploy-note]", "变更复核前增加预审（5个工作日），复核环节更名")
    deploy.locator("[data-testid=confirm-deploy]").click()
    expect(page.locator("[data-testid=modeler-alert]")).to_contain_text("已部署为版本 v2")
    expect(page.locator("[data-testid=version-info]")).to_contain_text("v2")
    expect(deploy).to_be_hidden()
    assert untranslated(page) == []

    # the versions pages draw the same diff from the two deployed versions
    page.goto("/modeler/unit_change/versions/1/diff/2")
    version_diff = page.locator(".modeler-diff[data-diff-ready='1']")
    expect(version_diff.locator(f"tr[data-element-id='{precheck}'][data-change='added']")).to_be_visible()
    expect(version_diff.locator(".gf-diff-title").first).to_have_text("v1")

    assert page_errors == []
    assert violations == []

    # 9. a unit reports a change: the new instance runs on v2 ...
    page.context.clear_cookies()
    login(page, f"ent-{UNIT.key.lower()}")
    page.goto("/processes/unit_change/start")
    page.fill("#f-credit_code", UNIT.credit_code)
    page.select_option("#f-change_kind", "name")
    page.fill("#f-old_value", UNIT.name)
    page.fill("#f-new_value", "遵义汇川绿色新材料有限公司")
    page.fill("#f-effective_date", "2026-03-20")
    page.fill("#f-explanation", "引入战略投资者后更名")
    page.locator("[data-testid=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text("已发起")
    instance_id = int(re.search(r"/instances/(\d+)", page.url).group(1))
    assert running_version(demo_site, instance_id) == 2

    # ... so the city official finds 预审 in the inbox and its form has the new field
    page.context.clear_cookies()
    login(page, CITY_OFFICIAL)
    page.goto("/inbox/?tab=claimable")
    row = page.locator("table[data-testid=inbox] tbody tr", has_text=UNIT.name).filter(has_text="预审")
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    expect(page.locator("main h1")).to_contain_text("预审")
    expect(page.locator("[data-testid=task-header]")).to_contain_text("剩 5 个工作日")  # dueInWorkingDays
    expect(page.locator("[data-field=precheck_note]")).to_contain_text("预审意见")


def test_a_script_that_imports_os_is_refused_with_its_element_selected(page, page_errors):
    login(page, "owner")
    open_modeler(page, "cultivation_plan")
    shape(page, "prepare_ack").click()
    properties = page.locator("[data-testid=properties]")
    expect(properties.locator(".bio-properties-panel-header")).to_contain_text("准备确认")
    script = properties.locator("#bio-properties-panel-greenflow-script-body")
    expect(script).to_have_value('opinion = ""')
    script.fill('import os\nopinion = os.getcwd()')
    expect(page.locator("#modeler[data-dirty='1']")).to_be_attached()

    click_empty_canvas(page)  # select nothing: the validation must select the script task itself
    assert selected_ids(page) != ["prepare_ack"]
    page.locator(".modeler-toolbar [data-action=validate]").click()
    expect(page.locator("#modeler[data-validated='errors']")).to_be_attached()
    refused = problem(page, "server", "prepare_ack")
    expect(refused.first).to_be_visible()
    expect(refused.first).to_contain_text("cultivation_plan.bpmn")
    expect(refused.first).to_contain_text(re.compile(r"第 \d+ 行"))
    assert selected_ids(page) == ["prepare_ack"]
    expect(properties.locator(".bio-properties-panel-header")).to_contain_text("准备确认")
    expect(shape(page, "prepare_ack")).to_have_class(re.compile("gf-server-error"))

    # deploying it is refused the same way
    page.locator(".modeler-toolbar [data-action=deploy]").click()
    page.fill("[data-testid=deploy-note]", "试图导入 os")
    page.locator("[data-testid=confirm-deploy]").click()
    expect(page.locator("[data-testid=deploy-error]")).to_contain_text("部署被拒绝")
    page.locator("[data-testid=deploy-dialog] [data-action=close-dialog]").click()
    assert selected_ids(page) == ["prepare_ack"]

    # the owner gives up: the draft is discarded and v1 is shown again
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-action=discard]").click()
    expect(page.locator("#modeler[data-ready='1'][data-row-version='']")).to_be_attached()
    shape(page, "prepare_ack").click()
    expect(page.locator("[data-testid=properties] #bio-properties-panel-greenflow-script-body")) \
        .to_have_value('opinion = ""')
    assert page_errors == []


def test_a_second_tab_is_told_its_draft_is_stale_and_reloads_it(page, page_errors):
    login(page, "owner")
    open_modeler(page, "evaluator_registry")
    other = page.context.new_page()
    open_modeler(other, "evaluator_registry")

    rename(page, "register_evaluator_task", "保存机构登记")
    page.keyboard.press("Control+s")
    expect(page.locator("#modeler[data-row-version='1']")).to_be_attached()

    rename(other, "registry_start", "登记第三方机构")
    other.keyboard.press("Control+s")
    alert = other.locator("[data-testid=modeler-alert]")
    expect(alert).to_contain_text("另一个标签页")
    expect(other.locator("[data-testid=save-state]")).to_have_text("草稿冲突")
    alert.locator("[data-action=reload-draft]").click()
    expect(other.locator("#modeler[data-ready='1'][data-row-version='1']")).to_be_attached()
    expect(alert).to_be_hidden()
    expect(shape(other, "register_evaluator_task")).to_contain_text("保存机构登记")

    # the owner throws the draft away
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-action=discard]").click()
    expect(page.locator("#modeler[data-ready='1'][data-row-version='']")).to_be_attached()
    expect(shape(page, "register_evaluator_task")).to_contain_text("保存登记")
    other.close()
    assert page_errors == []


def test_the_modeler_speaks_english_when_the_page_does(page, page_errors):
    login(page, "owner")
    page.goto("/modeler/?lang=en")
    open_modeler(page, "evaluator_registry")
    expect(page.locator(".modeler-toolbar [data-action=save]")).to_have_text("Save draft")
    expect(page.locator(".djs-palette .entry[data-action='create.task']")).to_have_attribute("aria-label", "Create task")
    shape(page, "register_evaluator_task").click()
    properties = page.locator("[data-testid=properties]")
    expect(properties.locator(".bio-properties-panel-group-header", has_text="Service task")).to_be_visible()
    expect(properties.locator("#bio-properties-panel-greenflow-operator")).to_have_value("register_evaluator")
    page.goto("/modeler/?lang=zh")
    assert page_errors == []
