"""Reviewers open the report they must review: the demo's evaluation reports are real, stored PDFs,
listed under 材料与附件 on the task page and downloadable by those entitled (issue 15, item 5)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.models import Attachment, HumanTask
from handlers import demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

U1 = demo.UNITS[0]


def u1_review(demo_site) -> tuple[int, Attachment]:
    """U1's county review task (open in the demo) and its report's attachment row."""
    with demo_site.engine.db.session() as s:
        report = s.scalar(select(Attachment).where(Attachment.filename == demo.demo_file_name(U1)))
        task = s.scalar(select(HumanTask).where(HumanTask.instance_id == report.instance_id,
                                                HumanTask.role == "county_official").order_by(HumanTask.id))
        return task.id, report


def test_an_official_downloads_the_applicants_report(page, demo_site):
    task_id, report = u1_review(demo_site)
    login(page, f"county-{U1.county}")
    page.goto(f"/tasks/{task_id}")
    documents = page.locator("[data-testid=documents]")
    link = documents.get_by_role("link", name=report.filename)
    expect(link).to_be_visible()
    expect(page.locator("[data-testid=submitted]")).to_contain_text(report.filename)  # named in the application
    screenshot(page, "task-attachments")

    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == report.filename
    content = open(download.path(), "rb").read()
    assert content.startswith(b"%PDF-1.4") and content.rstrip().endswith(b"%%EOF") and len(content) == report.size

    page.goto(f"/tasks/{task_id}?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=documents]").get_by_role("link", name=report.filename)).to_be_visible()
    screenshot(page, "task-attachments-en")


def test_the_report_is_refused_to_an_official_of_another_county(page, demo_site):
    _, report = u1_review(demo_site)
    url = f"/instances/{report.instance_id}/files/{report.sha256}"
    login(page, "county-520103")  # 云岩区: not U1's county
    assert page.request.get(url).status == 403  # may not read that instance
    login(page, f"ent-{U1.key.lower()}")  # the applicant reads its own file
    response = page.request.get(url)
    assert response.status == 200 and response.body().startswith(b"%PDF")
