"""``greenflow records``: credit records, MIIT's national list and the interchange export from files
(issue 16 items 2 and 8), on both databases: the same checks as the pages, all or nothing."""
from __future__ import annotations

import json

from openpyxl import load_workbook
from sqlalchemy import func, select

from handlers import demo
from handlers.credit_records import CreditImport, CreditRecord
from handlers.records import Listing
from tests.scenarios import test_credit_records as credit
from tests.scenarios import test_interchange as national
from tests.scenarios.test_list_publication import put_on_list

U1, U2 = demo.UNITS[0], demo.UNITS[1]


def invoke(site, *args: str):
    return site.app.test_cli_runner().invoke(args=["records", *args])


def count(site, model) -> int:
    with site.engine.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_credit_file_is_previewed_then_imported_and_kept(site, tmp_path):
    path = tmp_path / "失信.csv"
    path.write_bytes(credit.csv_file(credit.row(U1.credit_code, U1.name), credit.row(U2.credit_code, U2.name)))
    preview = invoke(site, "credit-import", str(path), "--by", "province", "--dry-run", "--json")
    assert preview.exit_code == 0, preview.output
    assert json.loads(preview.output)["counts"]["new"] == 2 and count(site, CreditRecord) == 0  # a dry run
    done = invoke(site, "credit-import", str(path), "--by", "province")
    assert done.exit_code == 0, done.output
    assert "2 records, 0 duplicates skipped" in done.output and count(site, CreditRecord) == 2
    with site.engine.db.session() as s:
        kept = s.scalar(select(CreditImport))
        assert kept.filename == "失信.csv" and kept.file_ref.startswith("sha256:")


def test_a_bad_row_fails_the_dry_run_and_refuses_the_whole_file(site, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(credit.csv_file(credit.row(U1.credit_code, U1.name),
                                     credit.row("91520302MA0000000X", "某公司", day="2026-13-40")))
    preview = invoke(site, "credit-import", str(path), "--by", "province", "--dry-run")
    assert preview.exit_code == 1 and "row 3" in preview.output
    refused = invoke(site, "credit-import", str(path), "--by", "province")
    assert refused.exit_code == 2 and count(site, CreditRecord) == 0 and count(site, CreditImport) == 0


def test_the_command_line_acts_for_an_official_with_the_grant(site, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(credit.csv_file(credit.row(U1.credit_code, U1.name)))
    assert invoke(site, "credit-import", str(path)).exit_code == 2  # --by is required
    refused = invoke(site, "credit-import", str(path), "--by", "ent-u1")
    assert refused.exit_code == 2 and count(site, CreditRecord) == 0
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    wrong = invoke(site, "credit-import", str(pdf), "--by", "province")
    assert wrong.exit_code == 2 and "CSV" in wrong.output


def test_the_national_list_is_imported_from_a_file(site, tmp_path):
    put_on_list(site.engine, U2.credit_code, U2.name, U2.county, "province")
    path = tmp_path / "2026国家级名单.csv"
    path.write_bytes(national.csv_file(f"{U2.credit_code},{U2.name},绿色工厂,列入,贵州省,"))
    args = ["national-list", str(path), "--year", "2026", "--notice-ref", "工信厅节函〔2026〕300号",
            "--published-on", "2026-03-02", "--by", "province"]
    assert invoke(site, *args, "--dry-run").exit_code == 0
    done = invoke(site, *args)
    assert done.exit_code == 0, done.output
    with site.engine.db.session() as s:
        assert s.scalar(select(Listing.status).where(Listing.credit_code == U2.credit_code,
                                                     Listing.level == "national")) == "listed"


def test_units_and_listings_export_as_json_and_xlsx(site, tmp_path):
    put_on_list(site.engine, U1.credit_code, U1.name, U1.county, "city")
    out = tmp_path / "export.json"
    done = invoke(site, "export", "--format", "json", "--out", str(out), "--level", "city")
    assert done.exit_code == 0, done.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [row["credit_code"] for row in document["listings"]] == [U1.credit_code]
    xlsx = tmp_path / "export.xlsx"
    assert invoke(site, "export", "--format", "xlsx", "--out", str(xlsx)).exit_code == 0
    assert {"单位", "名单", "说明"} <= set(load_workbook(xlsx).sheetnames)
    assert invoke(site, "export", "--format", "csv", "--out", str(xlsx)).exit_code == 2  # click: bad choice
