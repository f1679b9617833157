"""The tables officials exchange as files (handlers.tabular), read for the credit-record import and the
national list: every problem is a row error, never an exception; and the three-year bar's last day."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from handlers.credit_records import COLUMNS, bar_end
from handlers.tabular import Column, read_table, write_xlsx

LAYOUT = (Column("code", "代码"), Column("day", "日期"), Column("note", "说明", required=False))


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_csv_is_read_by_chinese_or_english_headers_with_spreadsheet_row_numbers():
    data = "\ufeff代码,day\n\nA1,2026-01-02\n,,\nB2,2026-01-03\n".encode("utf-8")
    table = read_table(data, "x.csv", LAYOUT, max_rows=10)
    assert table.errors == []
    assert table.rows == [(3, {"code": "A1", "day": "2026-01-02"}), (5, {"code": "B2", "day": "2026-01-03"})]


def test_a_gb18030_csv_is_read():
    table = read_table("代码,日期,说明\n甲,2026-01-02,法院\n".encode("gb18030"), "x.csv", LAYOUT, max_rows=10)
    assert table.rows == [(2, {"code": "甲", "day": "2026-01-02", "note": "法院"})]


def test_an_xlsx_gives_date_cells_as_dates_and_whole_numbers_as_text():
    data = xlsx([["代码", "日期"], [123, dt.datetime(2026, 1, 2)], [None, None], ["X", "2026-02-03"]])
    table = read_table(data, "x.xlsx", LAYOUT, max_rows=10)
    assert table.rows == [(2, {"code": "123", "day": dt.date(2026, 1, 2)}), (4, {"code": "X", "day": "2026-02-03"})]


@pytest.mark.parametrize("data, name, problem", [
    (b"code,day,colour\n1,2,3\n", "x.csv", "未知的列"),
    (b"code,code,day\n1,2,3\n", "x.csv", "重复"),
    (b"code\n1\n", "x.csv", "缺少必填列"),
    (b"code,day\n1,2,3\n", "x.csv", "表头之外"),
    (b"", "x.csv", "没有表头"),
    (b"code,day\n", "x.csv", "没有数据行"),
    (b"code,day\n" + b"1,2\n" * 4, "x.csv", "超过 3 行"),
    (b"code,day", "x.txt", ".csv 或 .xlsx"),
    (b"PK\x03\x04broken", "x.xlsx", "XLSX"),
    (b"\x00" * (5 * 1024 * 1024 + 1), "x.csv", "MiB"),
])
def test_a_file_outside_the_layout_is_one_error_and_no_rows(data, name, problem):
    table = read_table(data, name, LAYOUT, max_rows=3)
    assert table.rows == [] and len(table.errors) >= 1 and problem in table.errors[0].message


def test_what_is_written_as_xlsx_reads_back():
    data = write_xlsx([("记录", LAYOUT, [["A", "2026-01-02", None], ["B", "2026-01-03", "注"]])])
    assert read_table(data, "x.xlsx", LAYOUT, max_rows=10).rows == [
        (2, {"code": "A", "day": "2026-01-02", "note": None}), (3, {"code": "B", "day": "2026-01-03", "note": "注"})]


def test_the_credit_layout_documents_every_column():
    assert [c.key for c in COLUMNS] == ["credit_code", "unit_name", "kind", "occurred_on", "source", "document_ref",
                                        "note"]
    assert all(c.zh and c.help_zh and c.help_en for c in COLUMNS)


@pytest.mark.parametrize("day, last", [(dt.date(2023, 6, 1), dt.date(2026, 5, 31)),
                                       (dt.date(2024, 2, 29), dt.date(2027, 2, 27))])
def test_a_record_bars_until_the_day_before_its_third_anniversary(day, last):
    assert bar_end(day) == last
