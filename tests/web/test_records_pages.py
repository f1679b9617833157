"""名单事务 pages (issue 16): notices (第十四条), credit records (第二十七条), the national platform (第八条),
and the open notices on the applicants' portal; the real app on both databases."""
from __future__ import annotations

import io
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from handlers import demo
from handlers.credit_records import CreditRecord
from handlers.records import Listing
from web.upload_sweep import referenced_hashes
from web.uploads import FileStore

U1, U2 = demo.UNITS[0], demo.UNITS[1]
CSV = ("统一社会信用代码,单位名称,情形类别,发生日期,信息来源,文书编号\n"
       f"{U1.credit_code},{U1.name},dishonest_debtor,2026-01-15,中国执行信息公开网,(2026)黔0302执100号\n").encode()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


def store(site) -> FileStore:
    return FileStore(Path(site.app.config["GREENFLOW"].upload_dir))


def test_the_portal_shows_the_notices_open_and_coming(site):
    html = site.client("ent-u1").get("/portal/").get_data(as_text=True)
    assert 'data-testid="open-windows"' in html and "关于组织开展2026年度省级绿色制造名单申报工作的通知" in html
    assert "受理中" in html and "2026-01-01 — 2026-12-31" in html
    english = site.client("ent-u1").get("/portal/?lang=en").get_data(as_text=True)
    assert "Application notices" in english and "Accepting" in english


def test_a_city_department_publishes_and_withdraws_its_notice(site):
    client = site.client("city-520300")
    form = {"level": "city", "scope": "520300", "year": "2028", "opens_on": "2027-12-01", "closes_on": "2028-03-31",
            "unit_types": ["factory", "park"], "title": "遵义市2028年度市级绿色制造名单申报通知",
            "notice_ref": "遵工信〔2027〕50号", "guide_version": "2028年版"}
    response = client.post("/records/windows", data=form)
    assert response.status_code == 303
    page = client.get("/records/windows").get_data(as_text=True)
    assert "遵工信〔2027〕50号" in page and "未开始" in page
    bad = client.post("/records/windows", data={**form, "closes_on": "2027-01-01", "notice_ref": "x"})
    assert bad.status_code == 422 and "截止日期早于开始日期" in bad.get_data(as_text=True)
    assert client.post("/records/windows", data={**form, "scope": "520100"}).status_code == 403
    assert client.post("/records/windows", data={**form, "level": "province"}).status_code == 403
    with site.engine.db.session() as s:
        from handlers.application_windows import ApplicationWindow
        made = s.scalar(select(ApplicationWindow.id).where(ApplicationWindow.notice_ref == "遵工信〔2027〕50号"))
    assert client.post(f"/records/windows/{made}/withdraw", data={"reason": ""}).status_code == 422
    assert client.post(f"/records/windows/{made}/withdraw", data={"reason": "时间有误"}).status_code == 303
    assert "已撤回" in client.get("/records/windows").get_data(as_text=True)
    assert site.client("province").post(f"/records/windows/{made}/withdraw", data={"reason": "x"}).status_code == 403


def test_credit_file_preview_then_confirm_imports_it(site):
    client = site.client("province")
    preview = client.post("/records/credit/import", data={"action": "preview", "file": (io.BytesIO(CSV), "失信.csv")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'data-testid="credit-preview"' in html and "第二十七条第6项" in html
    with site.engine.db.session() as s:
        assert s.scalars(select(CreditRecord)).all() == []  # a dry run
    sha = html.split('name="file_sha256" value="')[1].split('"')[0]
    assert site.client("city-520300").post("/records/credit/import", data={"action": "confirm",
                                                                           "file_sha256": sha}).status_code == 422
    done = client.post("/records/credit/import", data={"action": "confirm", "file_sha256": sha})
    assert done.status_code == 303
    with site.engine.db.session() as s:
        [kept] = s.scalars(select(CreditRecord)).all()
        assert kept.credit_code == U1.credit_code and sha in referenced_hashes(s)
    assert U1.name in client.get("/records/credit").get_data(as_text=True)


def test_a_file_with_errors_shows_them_by_row_and_cannot_be_confirmed(site):
    bad = CSV.replace(b"dishonest_debtor", b"no_such_kind")
    response = site.client("province").post("/records/credit/import",
                                            data={"action": "preview", "file": (io.BytesIO(bad), "bad.csv")},
                                            content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-testid="row-errors"' in html and "confirm-import" not in html


def test_a_record_by_hand_keeps_its_source_document(site):
    client = site.client("city-520300")
    fields = {"credit_code": U1.credit_code, "unit_name": U1.name, "kind": "production_stopped",
              "occurred_on": "2026-02-01", "source": "县工信局核查", "document_ref": "红工信〔2026〕3号"}
    missing = client.post("/records/credit/manual", data=fields, content_type="multipart/form-data")
    assert missing.status_code == 422 and "来源文书" in missing.get_data(as_text=True)
    done = client.post("/records/credit/manual", data={**fields, "document_file": (io.BytesIO(PDF), "核查报告.pdf")},
                       content_type="multipart/form-data")
    assert done.status_code == 303
    with site.engine.db.session() as s:
        kept = s.scalar(select(CreditRecord))
        sha = kept.document_file.removeprefix("sha256:")
        assert kept.document_filename == "核查报告.pdf" and sha in referenced_hashes(s)
    assert store(site).exists(sha)
    other_city = {**fields, "credit_code": U2.credit_code, "unit_name": U2.name,
                  "document_file": (io.BytesIO(PDF), "x.pdf")}
    refused = client.post("/records/credit/manual", data=other_city, content_type="multipart/form-data")
    assert refused.status_code == 422 and "不在本市" in refused.get_data(as_text=True)


def test_the_province_exports_and_imports_the_national_list(site):
    client = site.client("province")
    exported = client.get("/records/interchange/export.json?level=&year=&status=")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert json.loads(exported.get_data())["format"] == "greenflow-interchange"
    xlsx = client.get("/records/interchange/export.xlsx")
    assert load_workbook(io.BytesIO(xlsx.get_data())).sheetnames == ["单位", "名单", "说明"]
    assert client.get("/records/interchange/export.json?level=county").status_code == 422
    assert site.client("city-520300").get("/records/interchange/export.json").status_code == 403

    listing = f"统一社会信用代码,单位名称,名单类型\n{U2.credit_code},{U2.name},绿色工厂\n".encode()
    form = {"year": "2026", "notice_ref": "工信厅节函〔2026〕300号", "published_on": "2026-03-01"}
    preview = client.post("/records/interchange/national-list",
                          data={**form, "action": "preview", "file": (io.BytesIO(listing), "国家名单.csv")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "列入国家层面名单" in html
    sha = html.split('name="file_sha256" value="')[1].split('"')[0]
    done = client.post("/records/interchange/national-list", data={**form, "action": "confirm", "file_sha256": sha})
    assert done.status_code == 200 and 'data-testid="national-result"' in done.get_data(as_text=True)
    with site.engine.db.session() as s:
        assert s.scalar(select(Listing.level).where(Listing.credit_code == U2.credit_code)) == "national"


def test_the_pages_are_for_the_departments_that_use_them(site):
    assert site.client("county-520302").get("/records/windows").status_code == 200
    assert site.client("county-520302").get("/records/credit").status_code == 403
    assert site.client("city-520300").get("/records/interchange").status_code == 403
    assert site.client("ent-u1").get("/records/").status_code == 403
    nav = site.client("city-520300").get("/inbox/").get_data(as_text=True)
    assert 'href="/records/"' in nav and "名单事务" in nav
