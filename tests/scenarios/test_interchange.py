"""Interchange with the national platform (第八条): the export of units and listings, and MIIT's published
national list imported to update the national listings and settle the tasks waiting for it."""
from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.errors import InvalidInput, NotPermitted
from engine.identity import system_actor
from handlers import demo, interchange
from handlers.interchange import NationalListImport
from handlers.national_recommendation import NationalRecommendation
from handlers.records import Listing
from handlers.uscc import make_uscc
from tests.scenarios.driver import PASS
from tests.scenarios.test_list_publication import put_on_list

U1, U2, U3, U4 = demo.UNITS[:4]
HEADER = "统一社会信用代码,单位名称,名单类型,操作,省份,说明"
ANNOUNCEMENT = {"year": 2026, "notice_ref": "工信厅节函〔2026〕300号", "published_on": "2026-03-02"}
NEWCOMER = make_uscc("91520115MA8NL0001")  # a Guizhou unit that never applied here
HUNAN = make_uscc("91430100MA4L00001")


def csv_file(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def national(green, code: str) -> list[tuple[str, str, int]]:
    with green.engine.db.session() as s:
        return [(l.status, l.unit_type, l.year) for l in s.scalars(
            select(Listing).where(Listing.credit_code == code, Listing.level == "national").order_by(Listing.id))]


# --------------------------------------------------------------------------- export

def test_the_export_describes_units_and_listings_in_json_and_xlsx(green):
    put_on_list(green.engine, U1.credit_code, U1.name, U1.county, "city", year=2025)
    put_on_list(green.engine, U2.credit_code, U2.name, U2.county, "province", year=2026)
    with green.engine.db.session() as s:
        document = interchange.export_document(s, now=green.engine.clock.now())
        provincial = interchange.export_document(s, now=green.engine.clock.now(), level="province")
    assert (document["format"], document["format_version"], document["province"]["code"]) == \
        ("greenflow-interchange", 1, "520000")
    assert document["generated_at"].endswith("+08:00")
    [listing] = provincial["listings"]
    assert listing == {"credit_code": U2.credit_code, "unit_name": U2.name, "unit_type": "factory",
                       "unit_type_zh": "绿色工厂", "level": "province", "level_zh": "省级", "scope": "520000",
                       "scope_name": "贵州省", "year": 2026, "status": "listed", "listed_on": listing["listed_on"],
                       "removed_on": None, "removal_ground": None}
    assert [u["credit_code"] for u in provincial["units"]] == [U2.credit_code]
    unit = provincial["units"][0]
    assert (unit["city_name"], unit["county_code"], unit["industry_code"]) == ("贵阳市", "520103", "39")
    json.dumps(document, ensure_ascii=False)  # JSON as it is
    book = load_workbook(io.BytesIO(interchange.export_xlsx(document)), read_only=True)
    assert book.sheetnames == ["单位", "名单", "说明"]
    rows = list(book["名单"].iter_rows(values_only=True))
    assert rows[0][:4] == ("统一社会信用代码", "单位名称", "类型代码", "名单类型") and len(rows) == 3


@pytest.mark.parametrize("filters, field", [({"level": "county"}, "level"), ({"status": "gone"}, "status"),
                                            ({"year": 1900}, "year")])
def test_a_bad_export_filter_is_refused_naming_it(green, filters, field):
    with green.engine.db.session() as s, pytest.raises(InvalidInput) as err:
        interchange.export_document(s, now=green.engine.clock.now(), **filters)
    assert field in err.value.fields


# --------------------------------------------------------------------------- MIIT's national list

def test_the_list_lists_removes_and_skips_other_provinces(green):
    put_on_list(green.engine, U2.credit_code, U2.name, U2.county, "province")
    put_on_list(green.engine, U3.credit_code, U3.name, U3.county, "national", year=2024)
    data = csv_file(f"{U2.credit_code},{U2.name},绿色工厂,列入,贵州省,",
                    f"{NEWCOMER},贵阳新材料有限公司,factory,,,",
                    f"{U3.credit_code},{U3.name},绿色工厂,移出,,动态调整",
                    f"{HUNAN},长沙某电子有限公司,绿色工厂,列入,湖南省,")
    preview = interchange.preview_national_list(green.engine, data, "2026国家级名单.csv", ANNOUNCEMENT, actor="province")
    assert preview["ok"] and [r["status"] for r in preview["rows"]] == \
        ["new_listing", "new_listing", "remove", "other_province"]
    assert national(green, U2.credit_code) == []  # a dry run
    result = interchange.import_national_list(green.engine, data, "2026国家级名单.csv", ANNOUNCEMENT,
                                              actor="province", file_ref="sha256:" + "c" * 64)
    assert national(green, U2.credit_code) == [("listed", "factory", 2026)]
    assert national(green, NEWCOMER) == [("listed", "factory", 2026)]
    assert national(green, HUNAN) == []
    with green.engine.db.session() as s:
        removed = s.scalar(select(Listing).where(Listing.credit_code == U3.credit_code, Listing.level == "national"))
        assert removed.status == "removed" and "工信厅节函〔2026〕300号" in removed.removal_ground
        kept = s.get(NationalListImport, result["import_id"])
        assert (kept.year, kept.notice_ref, kept.file_ref) == (2026, "工信厅节函〔2026〕300号", "sha256:" + "c" * 64)
    # imported again: nothing changes twice
    again = interchange.preview_national_list(green.engine, data, "again.csv", ANNOUNCEMENT, actor="province")
    assert [r["status"] for r in again["rows"]] == ["already_listed", "already_listed", "not_on_list", "other_province"]


def test_a_bad_row_or_announcement_imports_nothing(green):
    data = csv_file(f"{U2.credit_code},{U2.name},绿色工厂,列入,,", f"{U1.credit_code},,绿色农场,撤销,,",
                    f"{U2.credit_code},{U2.name},factory,,,")
    with pytest.raises(InvalidInput) as err:
        interchange.import_national_list(green.engine, data, "x.csv", ANNOUNCEMENT, actor="province")
    assert {"row 3 unit_name", "row 3 unit_type", "row 3 action", "row 4"} <= set(err.value.fields)
    assert national(green, U2.credit_code) == []
    for bad, field in (({"notice_ref": ""}, "notice_ref"), ({"published_on": "2099-01-01"}, "published_on"),
                       ({"year": "x"}, "year")):
        with pytest.raises(InvalidInput) as err:
            interchange.import_national_list(green.engine, csv_file(f"{U2.credit_code},{U2.name},factory,,,"), "x.csv",
                                             {**ANNOUNCEMENT, **bad}, actor="province")
        assert field in err.value.fields
    with pytest.raises(NotPermitted):
        interchange.preview_national_list(green.engine, data, "x.csv", ANNOUNCEMENT, actor="city-520300")


def _waiting_for_miit(green, unit) -> int:
    iid = green.apply(unit, target_level="national")
    green.pass_review(iid)
    green.pass_review(iid)
    green.panel(iid, [92, 90, 94], opinion="优秀")  # the province's expert panel (第十八条)
    green.pass_review(iid)
    green.consult(iid)
    green.end_notice()
    green.step(iid, "recommend_national", {"national_recommendation": "recommend", "recommendation_file": "推荐.pdf"})
    assert green.open_tasks(iid) == ["record_miit_result"]
    return iid


def test_applications_waiting_for_miit_get_the_result_instead_of_being_typed(green):
    listed_iid, absent_iid = _waiting_for_miit(green, U1), _waiting_for_miit(green, U2)
    data = csv_file(f"{U1.credit_code},{U1.name},绿色工厂,列入,,")
    when = {**ANNOUNCEMENT, "published_on": "2026-03-20"}
    preview = interchange.preview_national_list(green.engine, data, "x.csv", when, actor="province")
    assert preview["rows"][0]["status"] == "via_application" and preview["applications"] == [
        {"instance_id": listed_iid, "task_id": preview["applications"][0]["task_id"], "credit_code": U1.credit_code,
         "result": "listed"}]
    result = interchange.import_national_list(green.engine, data, "x.csv", {**when, "complete": True},
                                              actor="province")
    assert {(s["instance_id"], s["result"], s["settled"]) for s in result["settled"]} == \
        {(listed_iid, "listed", True), (absent_iid, "not_listed", True)}
    assert green.view(listed_iid)["data"]["outcome"] == "listed_national"
    assert national(green, U1.credit_code) == [("listed", "factory", 2026)]  # one listing, made by the application
    assert green.view(absent_iid)["data"]["outcome"] == "miit_not_listed"
    assert green.view(listed_iid)["tasks"][-1]["completed_by"] == "province"


def test_the_years_batch_gets_its_result_when_every_recommended_unit_is_on_the_list(green):
    for unit in (U2, U3):
        put_on_list(green.engine, unit.credit_code, unit.name, unit.county, "province")
    green.engine.clock.set("2026-06-01T09:00:01+08:00")
    batch = green.engine.start("national_recommendation", {"scheduled_for": "2026-06-01T09:00:00+08:00",
                                                           "scheduled_year": 2026},
                               actor=system_actor("scheduler")).instance_id
    green.step(batch, "select_units", {"recommended_units": [U2.credit_code, U3.credit_code],
                                       "recommendation_ref": "黔工信节〔2026〕20号", "recommendation_file": "推荐.pdf"})
    green.engine.clock.set("2026-12-01T10:00:00+08:00")
    when = {**ANNOUNCEMENT, "published_on": "2026-11-28"}
    partial = interchange.preview_national_list(green.engine, csv_file(f"{U2.credit_code},{U2.name},factory,,,"),
                                                "x.csv", when, actor="province")
    assert partial["batch"]["settle"] is False  # U3 missing and not marked complete: left to the province
    data = csv_file(f"{U2.credit_code},{U2.name},factory,,,", f"{U3.credit_code},{U3.name},factory,,,")
    result = interchange.import_national_list(green.engine, data, "x.csv", when, actor="province")
    assert [(s["instance_id"], s["settled"]) for s in result["settled"]] == [(batch, True)]
    assert green.view(batch)["status"] == "completed"
    with green.engine.db.session() as s:
        assert sorted(r.status for r in s.scalars(select(NationalRecommendation))) == ["listed", "listed"]
    assert national(green, U2.credit_code) == [("listed", "factory", 2026)]  # the import's, reused by the batch
