"""``greenflow calendar`` on a real database (both backends)."""
from __future__ import annotations

import dataclasses
import json

import pytest

from engine.calendar import seed_from_config
from web.app import create_app
from web.cli_calendar import calendar_group

YEAR_2027 = """\
year = 2027
source = "test schedule"
[[holidays]]
name = "元旦"
dates = ["2027-01-01"]
"""


@pytest.fixture
def app(empty_db_url, clock, tmp_path):
    app = create_app({"database_url": empty_db_url, "upload_dir": str(tmp_path / "uploads"), "secret_key": "t"})
    app.instance_path = str(tmp_path / "instance")
    if "calendar" not in app.cli.commands:
        app.cli.add_command(calendar_group)
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    db = app.extensions["greenflow"].db
    with db.unit_of_work() as session:  # until init seeds the calendar itself
        seed_from_config(session)
    yield app
    db.dispose()


def run(app, *args):
    return app.test_cli_runner().invoke(args=["calendar", *args])


def test_show_lists_holidays_and_make_up_workdays(app):
    shown = run(app, "show", "2026", "--json")
    assert shown.exit_code == 0, shown.output
    days = json.loads(shown.output)["days"]
    assert {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"} in days
    assert {"date": "2026-02-17", "kind": "holiday", "name": "春节"} in days
    human = run(app, "show", "2026")
    assert "2026-01-04" in human.output and "元旦调休上班" in human.output


def test_show_of_a_missing_year_exits_2(app):
    missing = run(app, "show", "2027")
    assert missing.exit_code == 2
    assert "calendar for 2027 not loaded" in missing.output and "Traceback" not in missing.output


def test_add_days_counts_working_days(app):
    added = run(app, "add-days", "2026-09-28", "7")
    assert (added.exit_code, added.output.strip()) == (0, "2026-10-13")
    assert run(app, "add-days", "2026-03-02", "0").output.strip() == "2026-03-02"


def test_notice_end_honours_the_counting_rule(app):
    assert run(app, "notice-end", "2026-09-28", "7").output.strip() == "2026-10-12"
    assert run(app, "notice-end", "2026-02-12", "7").output.strip() == "2026-02-27"
    assert run(app, "notice-end", "2026-09-28", "7", "--start-day-not-counted").output.strip() == "2026-10-13"
    settings = app.config["GREENFLOW"]
    app.config["GREENFLOW"] = dataclasses.replace(settings, notice_start_day_counts=False)
    assert run(app, "notice-end", "2026-09-28", "7").output.strip() == "2026-10-13"
    assert run(app, "notice-end", "2026-09-28", "7", "--start-day-counts").output.strip() == "2026-10-12"


def test_notice_end_into_a_missing_year_exits_2(app):
    result = run(app, "notice-end", "2026-12-28", "7")
    assert result.exit_code == 2 and "calendar for 2027 not loaded" in result.output


@pytest.mark.parametrize("args", [["add-days", "2026/09/28", "7"], ["add-days", "2026-09-28", "-1"],
                                  ["notice-end", "2026-09-28", "0"]])
def test_bad_arguments_exit_2(app, args):
    result = run(app, *args)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_import_stores_a_new_year_and_reports_changes(app, tmp_path):
    path = tmp_path / "2027.toml"
    path.write_text(YEAR_2027, encoding="utf-8")
    imported = run(app, "import", str(path), "--by", "ops", "--json")
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output) | {"sha256": ""} == {
        "year": 2027, "holidays": 1, "workdays": 0, "sha256": "", "source": "test schedule",
        "imported_by": "ops", "status": "new"}
    # 2027-01-01 is a holiday now, so the notice of 2026-12-28 can be counted.
    assert run(app, "notice-end", "2026-12-28", "7").output.strip() == "2027-01-06"
    assert "(unchanged)" in run(app, "import", str(path)).output
    path.write_text(YEAR_2027.replace('["2027-01-01"]', '["2027-01-01", "2027-01-04"]'), encoding="utf-8")
    again = run(app, "import", str(path))
    assert again.exit_code == 0 and "calendar 2027 imported (replaced)" in again.output
    assert run(app, "notice-end", "2026-12-28", "7").output.strip() == "2027-01-07"


@pytest.mark.parametrize("content, problem", [
    ("year = [", "not valid TOML"),
    ('year = 2027\n[[workdays]]\nname = "x"\ndates = ["2027-01-05"]\n', "not a Saturday or Sunday"),
    ('year = 2027\n[[holidays]]\nname = "元旦"\ndates = ["2026-01-01"]\n', "outside the year 2027"),
])
def test_import_of_an_invalid_file_exits_2_and_stores_nothing(app, tmp_path, content, problem):
    path = tmp_path / "2027.toml"
    path.write_text(content, encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 2
    assert problem in result.output and "2027.toml" in result.output and "Traceback" not in result.output
    assert run(app, "show", "2027").exit_code == 2


def test_import_of_a_non_utf8_file_exits_2(app, tmp_path):
    path = tmp_path / "2027.toml"
    path.write_bytes(YEAR_2027.encode("gbk"))
    result = run(app, "import", str(path))
    assert result.exit_code == 2 and "not UTF-8" in result.output
