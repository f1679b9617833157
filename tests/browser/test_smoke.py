"""Smoke tests in a real browser: logging in, the language switch, the process diagram viewer."""
from __future__ import annotations

import json

import pytest
from flask import render_template_string

from tests.browser.conftest import PROJECT_DIR, login, screenshot

pytestmark = pytest.mark.browser

BPMN = PROJECT_DIR / "bpmn"


def test_province_official_logs_in_and_switches_language(page, demo_site):
    login(page, "province")

    assert page.locator("[data-testid=current-user]").inner_text().strip() == "省工信厅 审核处"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(page, "home")

    page.get_by_role("link", name="English", exact=True).click()
    page.wait_for_selector("html[lang=en]")
    assert page.get_by_role("link", name="中文", exact=True).is_visible()
    assert page.locator("[data-testid=current-user]").inner_text().strip() == "省工信厅 审核处"
    screenshot(page, "home-en")


# --- the diagram viewer (static/js/diagram.js, templates/_diagram.html) ---------------------------

def diagram_fixture() -> dict:
    """What the instance diagram endpoint returns for an application at city review:
    the main process with the county review done, and the review sub-process at its user task."""
    return {"diagrams": [
        {"process_id": "green_application", "name": "绿色制造名单申报",
         "xml": (BPMN / "green_application.bpmn").read_text(encoding="utf-8"),
         "completed": ["start_application", "eligibility_check", "eligibility_gateway", "guian_gateway",
                       "set_county_reviewer", "county_review", "county_gateway", "city_merge",
                       "set_city_reviewer"],
         "current": ["city_review"]},
        {"process_id": "review_step", "name": "市级审核",
         "xml": (BPMN / "review_step.bpmn").read_text(encoding="utf-8"),
         "completed": ["review_start", "review_merge", "prepare_review"],
         "current": ["review"]},
    ]}


TEST_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>diagram</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/app.css') }}"></head>
<body><main><h1>流程图 diagram.js</h1>
{% from "_diagram.html" import diagram %}{{ diagram(src) }}
</main></body></html>"""


def open_diagram_page(page, demo_site, data=None, status=200) -> None:
    """A page at the app's origin with the real macro; the JSON (and the page) come from page.route."""
    with demo_site.app.test_request_context("/"):
        html = render_template_string(TEST_PAGE, src="/__test__/diagram.json")
    page.unroute("**/__test__/diagram.json")
    page.unroute("**/__test__/diagram")
    page.route("**/__test__/diagram.json", lambda route: route.fulfill(
        status=status, content_type="application/json", body=json.dumps(data if data is not None else {})))
    page.route("**/__test__/diagram", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=html))
    page.goto("/__test__/diagram")


def test_diagram_shows_progress_of_an_instance(page, page_errors, demo_site):
    open_diagram_page(page, demo_site, diagram_fixture())
    panel = page.locator('.diagram-panel[data-diagram-ready="1"]')
    panel.wait_for()

    assert panel.get_attribute("data-diagram-process") == "green_application"
    assert page.locator(".diagram-fallback").is_hidden()
    done = page.locator(".djs-element.done")
    assert done.count() >= 9
    assert "done" in page.locator('[data-element-id="county_review"]').first.get_attribute("class").split()
    assert "current" in page.locator('[data-element-id="city_review"]').first.get_attribute("class").split()
    # a flow is done when its source is completed and its target completed or current
    flow = lambda fid: page.locator(f'.djs-connection[data-element-id="{fid}"]').get_attribute("class").split()
    assert "done" in flow("Flow_start_application_to_eligibility_check")
    assert "done" in flow("Flow_set_city_reviewer_to_city_review")
    assert "done" not in flow("Flow_city_review_to_city_gateway")
    assert "done" not in flow("Flow_eligibility_gateway_to_set_outcome_refused")
    # the marker CSS reaches the drawn path (bpmn-js draws with inline styles)
    stroke = page.locator('[data-element-id="Flow_start_application_to_eligibility_check"] .djs-visual > path')
    assert stroke.evaluate("p => getComputedStyle(p).stroke") == "rgb(23, 100, 58)"
    assert page.locator(".diagram-legend").is_visible()
    screenshot(page, "diagram")

    tabs = page.locator(".diagram-tabs [role=tab]")
    assert tabs.all_inner_texts() == ["绿色制造名单申报", "市级审核"]
    tabs.nth(1).click()
    page.locator('.diagram-panel[data-diagram-ready="1"][data-diagram-process="review_step"]').wait_for()
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    assert "current" in page.locator('[data-element-id="review"]').first.get_attribute("class").split()
    assert "done" in page.locator('.djs-connection[data-element-id="Flow_review_merge_to_prepare_review"]') \
        .get_attribute("class").split()
    screenshot(page, "diagram-review-step")
    assert page_errors == []


def test_diagram_errors_show_in_the_panel(page, page_errors, demo_site):
    open_diagram_page(page, demo_site, {"error": "not found"}, status=404)
    alert = page.locator(".diagram-panel [role=alert]")
    alert.wait_for()
    assert "HTTP 404" in alert.inner_text()
    assert page.locator(".diagram-panel").get_attribute("data-diagram-ready") == "0"

    bad = {"diagrams": [{"process_id": "x", "name": "坏的", "xml": "<not-bpmn/>", "completed": [], "current": []}]}
    open_diagram_page(page, demo_site, bad)
    page.locator('.diagram-panel[data-diagram-error="1"]').wait_for()
    assert "流程图无法显示" in page.locator(".diagram-panel [role=alert]").inner_text()
    assert page_errors == []
