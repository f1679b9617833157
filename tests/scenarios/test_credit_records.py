"""Credit and compliance records (第二十七条第2—6项): files imported all or nothing, records by hand,
the three-year bar on applying and the removal path of a listed unit, on both databases."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.errors import InvalidInput, NotPermitted
from engine.models import ProcessInstance
from handlers import credit_records, demo
from handlers.credit_records import CreditImport, CreditRecord
from handlers.divisions import city_of
from handlers.list_publication import compose_publication
from handlers.records import Listing, NegativeRecord, Unit
from handlers.removals import PendingRemoval
from handlers.uscc import make_uscc

U1, U2, U3 = demo.UNITS[0], demo.UNITS[1], demo.UNITS[2]
HEADER = "统一社会信用代码,单位名称,情形类别,发生日期,信息来源,文书编号,说明"
OUTSIDER = make_uscc("91520302MA7CR0001")  # a 遵义 unit that never applied here


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def row(unit_code: str, name: str, kind: str = "dishonest_debtor", day: str = "2026-01-15",
        source: str = "中国执行信息公开网", ref: str = "(2026)黔0302执100号", note: str = "") -> str:
    return ",".join([unit_code, name, kind, day, source, ref, note])


def counts(green) -> tuple[int, int, int]:
    with green.engine.db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (CreditRecord, NegativeRecord, CreditImport))


def listed(green, unit, *levels: str) -> list[int]:
    ids = []
    with green.engine.db.unit_of_work() as s:
        if s.scalar(select(Unit.id).where(Unit.credit_code == unit.credit_code)) is None:
            s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                       industry_code=unit.industry, created_at=green.engine.clock.now()))
        for level in levels:
            scope = {"city": city_of(unit.county), "province": "520000", "national": "national"}[level]
            listing = Listing(credit_code=unit.credit_code, unit_type="factory", level=level, scope=scope, year=2025,
                              status="listed", listed_at=dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc))
            s.add(listing)
            s.flush()
            ids.append(listing.id)
    return ids


def test_the_preview_is_a_dry_run_with_each_rows_effect(green):
    listed(green, U2, "city")
    data = csv_file(row(U2.credit_code, U2.name), row(OUTSIDER, "遵义某化工有限公司", "abnormal_operation", "2022-01-10",
                                                       "国家企业信用信息公示系统", "遵市监异〔2022〕3号"))
    preview = credit_records.preview_file(green.engine, data, "失信.csv", actor="province")
    assert preview["ok"] and counts(green) == (0, 0, 0)
    first, second = preview["rows"]
    assert (first["ground"], first["bars_until"], first["removal"], first["miit_report"]) == \
        ("第二十七条第6项", "2029-01-14", True, False)
    # more than three years ago (it barred until 2025-01-09): kept, but it no longer bars
    assert (second["ground"], second["bars_until"], second["removal"]) == ("第二十七条第2项", None, False)
    assert preview["counts"] == {"rows": 2, "new": 2, "duplicate": 0, "removal": 1,
                                                                  "miit_report": 0}


def test_one_bad_row_refuses_the_whole_file_naming_row_and_column(green):
    data = csv_file(row(U1.credit_code, U1.name),
                    row("91520302MA0000001X", "坏代码"),
                    row(U2.credit_code, U2.name, kind="late_filing"),
                    row(U3.credit_code, U3.name, day="2099-01-01"),
                    row(U3.credit_code, U3.name, source=""),
                    row(U1.credit_code, U1.name))  # repeats row 2
    preview = credit_records.preview_file(green.engine, data, "bad.csv", actor="province")
    assert not preview["ok"]
    assert {(e["row"], e["column"]) for e in preview["errors"]} == {
        (3, "credit_code"), (4, "kind"), (5, "occurred_on"), (6, "source"), (7, None)}
    with pytest.raises(InvalidInput) as err:
        credit_records.import_file(green.engine, data, "bad.csv", actor="province")
    assert "row 3 credit_code" in err.value.fields and "5 处错误" in err.value.message
    assert counts(green) == (0, 0, 0)


@pytest.mark.parametrize("content, name, problem", [
    (b"a,b\n1,2\n", "x.csv", "未知的列"),
    ("统一社会信用代码,单位名称\n".encode(), "x.csv", "缺少必填列"),
    (HEADER.encode() + b"\n", "x.csv", "没有数据行"),
    (b"%PDF-1.4", "x.pdf", ".csv 或 .xlsx"),
    (b"PK\x03\x04 not really a zip", "x.xlsx", "XLSX"),
])
def test_a_file_that_is_not_the_layout_is_refused_as_a_whole(green, content, name, problem):
    preview = credit_records.preview_file(green.engine, content, name, actor="province")
    assert not preview["ok"] and problem in preview["errors"][0]["message"]
    with pytest.raises(InvalidInput):
        credit_records.import_file(green.engine, content, name, actor="province")
    assert counts(green) == (0, 0, 0)


def test_an_import_bars_the_applicant_citing_the_item(green):
    result = credit_records.import_file(green.engine, csv_file(row(U1.credit_code, U1.name)), "失信.csv",
                                        actor="province", file_ref="sha256:" + "a" * 64)
    assert len(result["records"]) == 1 and result["removals"] == []  # U1 is on no list
    view = green.view(green.apply(U1))
    assert view["data"]["outcome"] == "refused"
    [violation] = view["data"]["eligibility"]["violations"]
    assert (violation["rule"], violation["article"]) == ("art27_item6_within_three_years", "第二十七条")
    assert "第二十七条第6项" in violation["message_zh"] and "第二十七条" in view["data"]["outcome_reason"]
    with green.engine.db.session() as s:
        [kept] = s.scalars(select(CreditImport)).all()
        assert (kept.rows_new, kept.file_ref, kept.imported_by) == (1, "sha256:" + "a" * 64, "province")


def test_importing_the_same_file_again_skips_what_is_kept(green):
    data = csv_file(row(U1.credit_code, U1.name), row(U2.credit_code, U2.name, "production_stopped"))
    credit_records.import_file(green.engine, data, "a.csv", actor="province")
    again = credit_records.import_file(green.engine, data + row(U3.credit_code, U3.name).encode() + b"\n", "b.csv",
                                       actor="province")
    assert again["preview"]["counts"] == {"rows": 3, "new": 1, "duplicate": 2, "removal": 0, "miit_report": 0}
    assert counts(green) == (3, 3, 2)


def test_a_listed_unit_goes_the_removal_path_of_a_confirmed_incident(green):
    city_listing, province_listing = listed(green, U2, "city", "province")
    result = credit_records.import_file(green.engine, csv_file(row(U2.credit_code, U2.name, "major_safety_accident",
                                                                   "2026-02-20", "应急管理部门通报", "黔应急〔2026〕7号")),
                                        "事故.csv", actor="province")
    [iid] = result["removals"]
    view = green.view(iid)
    assert view["status"] == "completed" and view["process_id"] == "credit_record"
    assert view["data"]["credit_removal"]["miit_report_needed"] is False
    with green.engine.db.session() as s:
        pending = s.scalars(select(PendingRemoval).order_by(PendingRemoval.id)).all()
        assert [(p.listing_id, p.ground_item, p.article) for p in pending] == [
            (province_listing, 3, "第二十七条"), (city_listing, 3, "第二十七条")]
        assert s.scalar(select(CreditRecord.removal_instance_id)) == iid
        composed = compose_publication(s, level="city", scope="520100", year=2026, today=dt.date(2026, 3, 2))
    [removed] = composed["removed"]
    assert removed["credit_code"] == U2.credit_code and removed["grounds"][0]["ground"] == "第二十七条第3项"
    assert "credit_record_removal" in [e["type"] for e in view["events"]]
    assert green.engine.verify_history(iid).ok


def test_a_national_unit_is_reported_to_miit_by_the_province(green):
    listed(green, U3, "province", "national")
    result = credit_records.import_file(green.engine, csv_file(row(U3.credit_code, U3.name, "inspection_finding",
                                                                   "2026-02-01", "国务院督查通报", "国办督〔2026〕2号")),
                                        "督查.csv", actor="province")
    [iid] = result["removals"]
    task = green.task(iid, "report_credit_to_miit")
    assert (task.role, task.scope) == ("province_official", "520000")
    green.step(iid, "report_credit_to_miit", {"miit_report_ref": "黔工信函〔2026〕12号", "miit_reported_on": "2026-03-02"})
    assert green.view(iid)["status"] == "completed"
    with green.engine.db.session() as s:
        kept = s.scalar(select(CreditRecord))
        assert (kept.miit_report_ref, kept.miit_reported_on) == ("黔工信函〔2026〕12号", dt.date(2026, 3, 2))


def test_an_xlsx_with_date_cells_and_chinese_kind_names_imports(green):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append([U1.credit_code, U1.name, "被列入经营异常名录且未被移出", dt.datetime(2025, 11, 3), "国家企业信用信息公示系统",
                  "遵市监异〔2025〕88号", None])
    out = io.BytesIO()
    book.save(out)
    result = credit_records.import_file(green.engine, out.getvalue(), "异常名录.xlsx", actor="province")
    with green.engine.db.session() as s:
        [kept] = s.scalars(select(CreditRecord)).all()
    assert result["records"] == [kept.id] and (kept.kind, kept.item, kept.occurred_on) == \
        ("abnormal_operation", 2, dt.date(2025, 11, 3))


def test_a_gb18030_csv_from_excel_imports(green):
    data = csv_file(row(U1.credit_code, U1.name, note="法院公告")).decode("utf-8").encode("gb18030")
    assert credit_records.preview_file(green.engine, data, "excel.csv", actor="province")["ok"]


def test_a_city_department_records_units_of_its_city_only(green):
    data = csv_file(row(U1.credit_code, U1.name), row(U2.credit_code, U2.name))  # 遵义, 贵阳
    preview = credit_records.preview_file(green.engine, data, "c.csv", actor="city-520300")
    assert [(e["row"], e["column"]) for e in preview["errors"]] == [(3, "credit_code")]
    credit_records.import_file(green.engine, csv_file(row(U1.credit_code, U1.name)), "c.csv", actor="city-520300")
    with green.engine.db.session() as s:
        assert s.scalar(select(CreditRecord.entered_scope)) == "520300"
    with pytest.raises(NotPermitted):
        credit_records.preview_file(green.engine, data, "c.csv", actor="county-520302")


def test_a_record_by_hand_needs_its_source_document(green):
    fields = {"credit_code": U1.credit_code, "unit_name": U1.name, "kind": "energy_rectification",
              "occurred_on": "2026-01-20", "source": "工业节能监察整改名单", "document_ref": "黔工信节监〔2026〕1号"}
    with pytest.raises(InvalidInput) as err:
        credit_records.record_by_hand(green.engine, fields, actor="province", document=None)
    assert "document_file" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        credit_records.record_by_hand(green.engine, {**fields, "occurred_on": "明天"}, actor="province",
                                      document=("sha256:" + "b" * 64, "整改名单.pdf"))
    assert "occurred_on" in err.value.fields
    assert counts(green) == (0, 0, 0)
    credit_records.record_by_hand(green.engine, fields, actor="province", document=("sha256:" + "b" * 64, "整改名单.pdf"))
    with pytest.raises(InvalidInput) as err:  # the same record twice
        credit_records.record_by_hand(green.engine, fields, actor="province", document=("sha256:" + "b" * 64, "x.pdf"))
    with green.engine.db.session() as s:
        [kept] = s.scalars(select(CreditRecord)).all()
        assert (kept.item, kept.document_file, kept.document_filename) == (5, "sha256:" + "b" * 64, "整改名单.pdf")


def test_the_removal_process_is_started_only_by_its_recorder(green):
    listed(green, U2, "city")
    credit_records.import_file(green.engine, csv_file(row(U2.credit_code, U2.name)), "a.csv", actor="province")
    with green.engine.db.session() as s:
        record_id = s.scalar(select(CreditRecord.id))
        before = s.scalar(select(func.count()).select_from(ProcessInstance))
    with pytest.raises(NotPermitted):
        green.engine.start("credit_record", {"credit_record_id": record_id}, actor=green.engine.actor("city-520100"))
    with green.engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == before
