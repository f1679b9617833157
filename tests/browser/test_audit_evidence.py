"""An auditor in a real browser: verifies every history from the audit pages, takes a checkpoint and
downloads it signed, downloads an XES log, and checks the database against the kept checkpoint."""
from __future__ import annotations

import dataclasses

import pytest
from lxml import etree
from playwright.sync_api import expect

from engine.evidence import statement
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def auditor_page(page, demo_site, tmp_path):
    """The page, logged in as the demo auditor; the site signs with a key in the test's directory."""
    app = demo_site.app
    statement.ensure_key(tmp_path / "audit.pem")  # as greenflow init does
    kept = app.config["GREENFLOW"]
    app.config["GREENFLOW"] = dataclasses.replace(kept, audit_signing_key=str(tmp_path / "audit.pem"))
    login(page, "auditor")
    yield page
    app.config["GREENFLOW"] = kept


def test_an_auditor_verifies_takes_a_checkpoint_and_downloads_it_and_an_xes_log(auditor_page, tmp_path):
    page = auditor_page
    page.goto("/audit/verify")
    expect(page.locator("nav.audit-tabs a.active")).to_have_text("完整性校验")
    page.get_by_test_id("verify-all").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_contain_text("全部完好")
    expect(page.get_by_test_id("verify-instances")).to_contain_text("完好")
    screenshot(page, "audit-verify")

    page.get_by_role("link", name="检查点").click()
    page.get_by_test_id("create-checkpoint").click()
    expect(page.locator(".flash")).to_contain_text("已生成检查点")
    expect(page.get_by_test_id("key-fingerprint")).to_contain_text("ed25519:")
    screenshot(page, "audit-checkpoints")
    row = page.get_by_test_id("checkpoints").locator("tbody tr").first
    with page.expect_download() as download:
        row.get_by_role("link", name="下载签名文件").click()
    kept = tmp_path / download.value.suggested_filename
    download.value.save_as(kept)
    parsed = statement.parse(kept.read_bytes())
    assert parsed.signature_valid and parsed.hash_valid

    page.get_by_role("link", name="导出").click()
    expect(page.locator("main")).to_contain_text("个人信息已遮盖")
    screenshot(page, "audit-export")
    with page.expect_download() as download:
        page.get_by_test_id("export-xes").click()
    assert download.value.suggested_filename.endswith(".xes")
    log = etree.parse(download.value.path())
    traces = log.getroot().findall("{http://www.xes-standard.org/}trace")
    assert len(traces) >= 8 and log.getroot().get("xes.version") == "2.0"

    page.get_by_role("link", name="完整性校验").click()
    page.set_input_files("#statement", str(kept))
    page.get_by_test_id("verify-all").click()
    expect(result).to_contain_text("全部完好")
    expect(result).to_contain_text("来自上传的文件")
    expect(result).to_contain_text("签名有效")
    screenshot(page, "audit-verify-against-checkpoint")

    page.get_by_role("link", name="访问日志").click()
    log_table = page.get_by_test_id("access-log")
    for action in ("导出历史", "下载检查点", "生成检查点", "完整性校验"):
        expect(log_table).to_contain_text(action)
    screenshot(page, "audit-access-log")
