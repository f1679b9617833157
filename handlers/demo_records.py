"""Demo samples of the regulation's records (issue 16): application notices (第十四条), one refused
second application, imported credit records (第二十七条) and the national platform's list (第八条).

Called by ``handlers.demo.seed``; ``publish_windows`` also opens the application notices of a
year for the scenario tests (``tests/conftest.py``), since every application needs an open one.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date
from handlers.application import UNIT_TYPES
from handlers.application_windows import ApplicationWindow, publish_window
from handlers.divisions import PROVINCE, cities

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine

__all__ = ["publish_windows", "seed_records"]

GUIDE = "《贵州省绿色制造体系建设评价指南》（{year}年版）"


def publish_windows(session: Session, year: int, *, now: dt.datetime, opens_on: dt.date | None = None,
                    national: tuple[dt.date, dt.date] | None = None) -> list[dict[str, Any]]:
    """Publish ``year``'s application notices of every city, the province and MIIT (第十四条).

    City and provincial notices accept every unit type from ``opens_on`` (default: January 1
    of ``year``) to December 31 of ``year``; MIIT's national notice too, unless ``national``
    gives its first and last day.  Published by the demo
    accounts ``city-<code>`` and ``province`` (run after ``handlers.demo.accounts`` exist).
    Does nothing for a year that already has a notice.  Returns the windows published.
    """
    if session.scalar(select(ApplicationWindow.id).where(ApplicationWindow.year == year).limit(1)) is not None:
        return []
    whole = (opens_on or dt.date(year, 1, 1), dt.date(year, 12, 31))
    made = []
    for city in cities():
        made.append(publish_window(session, {
            "level": "city", "scope": city.code, "year": year, "opens_on": whole[0], "closes_on": whole[1],
            "unit_types": list(UNIT_TYPES), "title": f"{city.name}{year}年度市级绿色制造名单申报通知",
            "notice_ref": f"{city.name}工信〔{year}〕1号", "guide_version": GUIDE.format(year=year)},
            actor=f"city-{city.code}", now=now))
    made.append(publish_window(session, {
        "level": "province", "scope": PROVINCE, "year": year, "opens_on": whole[0], "closes_on": whole[1],
        "unit_types": list(UNIT_TYPES), "title": f"关于组织开展{year}年度省级绿色制造名单申报工作的通知",
        "notice_ref": f"黔工信节〔{year}〕3号", "guide_version": GUIDE.format(year=year),
        "notice_url": "https://gxt.guizhou.gov.cn/"}, actor="province", now=now))
    opens, closes = national or whole
    made.append(publish_window(session, {
        "level": "national", "year": year, "opens_on": opens, "closes_on": closes, "unit_types": list(UNIT_TYPES),
        "title": f"工业和信息化部办公厅关于组织开展{year}年度绿色制造名单推荐工作的通知",
        "notice_ref": f"工信厅节函〔{year}〕100号", "guide_version": "工信部节〔2024〕13号附件1—3"},
        actor="province", now=now))
    return made


def seed_records(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    """One case of each (issue 16), for the demo's report: a refused second application (第十四条), a
    credit-record file imported (第二十七条), and MIIT's national list imported (第八条).  Each once."""
    from engine.errors import EngineError

    made: list[tuple[int | None, str]] = []
    for sample in (_windows_report, _second_application_refused, _credit_file_imported, _national_list_imported):
        try:
            made.extend(sample(engine))
        except EngineError as err:
            made.append((None, f"{sample.__name__}: 未生成 / not seeded: {err}"))
    return made


def _windows_report(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    from handlers.application_windows import open_windows

    today = china_date(engine.clock.now())
    with engine.db.session() as session:
        shown = open_windows(session, today)
    accepting = [w for w in shown if w["state"] == "open"]
    national = [w for w in shown if w["level"] == "national"]
    state = ("受理中" if national[0]["state"] == "open" else "未开始") if national else "已截止"
    return [(None, f"申报通知（第十四条）：{len(accepting)} 个受理中，工信部国家级通知{state}；申报单位在 /portal/ 查看，"
                   f"各级在 /records/windows 发布 / application notices")]


def _second_application_refused(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    from engine.errors import RuleViolation
    from handlers import demo

    unit = demo.UNITS[0]
    data = demo.application_data(unit, year=engine.clock.now().year)
    try:
        engine.start("green_application", data, actor=demo.applicant(engine, unit))
    except RuleViolation as err:
        return [(None, f"ent-u1 再次提交同一申报被拒绝 / a second application refused: {err.message[:120]}…")]
    return []


CREDIT_FILE = "信用中国-失信被执行人与经营异常（演示）.csv"


def _credit_file_imported(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    from handlers import credit_records, demo
    from handlers.credit_records import CreditImport
    from handlers.uscc import make_uscc

    with engine.db.session() as session:
        if session.scalar(select(CreditImport.id).where(CreditImport.filename == CREDIT_FILE)) is not None:
            return []
    unit = demo.LISTED_UNITS[1]  # on 贵阳's city list
    today = china_date(engine.clock.now())
    rows = [",".join(c.zh for c in credit_records.COLUMNS),
            f"{unit.credit_code},{unit.name},dishonest_debtor,{today - dt.timedelta(days=20)},中国执行信息公开网,"
            f"({today.year})黔0111执321号,演示数据",
            f"{make_uscc('91520112MA6DM0001')},贵阳某化工有限公司,abnormal_operation,{today - dt.timedelta(days=90)},"
            f"国家企业信用信息公示系统,筑市监异〔{today.year}〕12号,演示数据"]
    result = credit_records.import_file(engine, ("\n".join(rows) + "\n").encode("utf-8"), CREDIT_FILE,
                                        actor="province")
    made: list[tuple[int | None, str]] = [(None, f"信用记录导入 {CREDIT_FILE}：{len(result['records'])} 条（第二十七条第2、6项）"
                                                 f" / credit records imported")]
    made += [(iid, f"{unit.name} 被列为失信被执行人，在新发布贵阳市名单时移出（第二十七条第6项）/ removal path")
             for iid in result["removals"]]
    return made


def _national_list_imported(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    from handlers import interchange
    from handlers.interchange import NationalListImport
    from handlers.uscc import make_uscc

    year = engine.clock.now().year - 1
    with engine.db.session() as session:
        if session.scalar(select(NationalListImport.id).where(NationalListImport.year == year)) is not None:
            return []
    rows = [",".join(c.zh for c in interchange.NATIONAL_LIST_COLUMNS),
            f"{make_uscc('91520115MA6NL0001')},贵州观山湖绿色智造有限公司,绿色工厂,列入,贵州省,演示数据",
            f"{make_uscc('91430100MA4NL0001')},湖南某新材料有限公司,绿色工厂,列入,湖南省,演示数据"]
    result = interchange.import_national_list(
        engine, ("\n".join(rows) + "\n").encode("utf-8"), f"{year}年度国家层面绿色制造名单（演示）.csv",
        {"year": year, "notice_ref": f"工信厅节函〔{year}〕400号", "published_on": f"{year}-12-20"}, actor="province")
    return [(None, f"工信部{year}年度国家层面名单已导入：列入 {result['counts'].get('new_listing', 0)} 家，"
                   f"外省 {result['counts'].get('other_province', 0)} 家跳过（第八条）/ national list imported; "
                   f"export at /records/interchange")]
