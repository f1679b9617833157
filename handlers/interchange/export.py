"""Units and listings as a structured document for the national platform (第八条), in JSON and XLSX.

第八条: 工业和信息化部负责建设和运维的工业节能与绿色发展管理平台……是开展绿色制造梯度培育及管理的
统一平台。企业和开发区申报市、省、国家层面的绿色制造名单，开展动态管理，均需通过绿色发展管理平台提交资料.

The document (format ``greenflow-interchange``, ``format_version`` 1, docs/interchange.md)::

    {"format", "format_version", "generated_at" (Asia/Shanghai), "province": {"code", "name"},
     "filters": {"level", "year", "status"},
     "units": [{credit_code, name, unit_type, unit_type_zh, county_code, county_name, city_code,
                city_name, industry_code, industry_name, park_level}],
     "listings": [{credit_code, unit_name, unit_type, unit_type_zh, level, level_zh, scope, scope_name,
                   year, status, listed_on, removed_on, removal_ground}]}

The XLSX has the same columns in two sheets (单位, 名单) and a third (说明) naming each column's
key.  ``units`` holds the units the listings name, and with no filter every registered unit.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import CHINA, china_date
from engine.errors import InvalidInput
from handlers.application import TARGET_LEVELS
from handlers.divisions import PROVINCE, city_of, division
from handlers.industries import industry_table
from handlers.records import Listing, Unit
from handlers.tabular import Column, write_xlsx

FORMAT = "greenflow-interchange"
FORMAT_VERSION = 1
UNIT_TYPE_ZH = {"factory": "绿色工厂", "supply_chain": "绿色供应链管理企业", "park": "绿色工业园区"}
LEVEL_ZH = {"city": "市级", "province": "省级", "national": "国家级"}
STATUSES = ("listed", "removed")

UNIT_COLUMNS: tuple[Column, ...] = (
    Column("credit_code", "统一社会信用代码"), Column("name", "单位名称"), Column("unit_type", "类型代码"),
    Column("unit_type_zh", "类型"), Column("county_code", "县（区）代码"), Column("county_name", "县（区）"),
    Column("city_code", "市（州）代码"), Column("city_name", "市（州）"), Column("industry_code", "行业代码"),
    Column("industry_name", "行业"), Column("park_level", "园区级别"),
)
LISTING_COLUMNS: tuple[Column, ...] = (
    Column("credit_code", "统一社会信用代码"), Column("unit_name", "单位名称"), Column("unit_type", "类型代码"),
    Column("unit_type_zh", "名单类型"), Column("level", "层级代码"), Column("level_zh", "层级"),
    Column("scope", "发布范围代码"), Column("scope_name", "发布范围"), Column("year", "年度"),
    Column("status", "状态"), Column("listed_on", "列入日期"), Column("removed_on", "移出日期"),
    Column("removal_ground", "移出依据"),
)


def _division_name(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return division(code).name
    except InvalidInput:
        return None


def _scope_name(level: str, scope: str) -> str:
    if level == "national":
        return "工业和信息化部"
    return _division_name(scope) or scope


def unit_row(unit: Unit) -> dict[str, Any]:
    try:
        city = city_of(unit.county_code)
    except InvalidInput:
        city = None
    found = industry_table().get(unit.industry_code or "")
    return {"credit_code": unit.credit_code, "name": unit.name, "unit_type": unit.unit_type,
            "unit_type_zh": UNIT_TYPE_ZH.get(unit.unit_type, unit.unit_type), "county_code": unit.county_code,
            "county_name": _division_name(unit.county_code), "city_code": city, "city_name": _division_name(city),
            "industry_code": unit.industry_code, "industry_name": found.name if found else None,
            "park_level": unit.park_level}


def listing_row(listing: Listing, unit_name: str | None) -> dict[str, Any]:
    return {"credit_code": listing.credit_code, "unit_name": unit_name, "unit_type": listing.unit_type,
            "unit_type_zh": UNIT_TYPE_ZH.get(listing.unit_type, listing.unit_type), "level": listing.level,
            "level_zh": LEVEL_ZH.get(listing.level, listing.level), "scope": listing.scope,
            "scope_name": _scope_name(listing.level, listing.scope), "year": listing.year, "status": listing.status,
            "listed_on": china_date(listing.listed_at).isoformat(),
            "removed_on": china_date(listing.removed_at).isoformat() if listing.removed_at else None,
            "removal_ground": listing.removal_ground}


def export_document(session: Session, *, now: dt.datetime, level: str | None = None, year: int | None = None,
                    status: str | None = None) -> dict[str, Any]:
    """The document (see the module docstring); reads only.  InvalidInput naming a bad filter."""
    if level is not None and level not in TARGET_LEVELS:
        raise InvalidInput(f"层级应为 {' / '.join(TARGET_LEVELS)} / unknown level", field="level")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"状态应为 {' / '.join(STATUSES)} / unknown status", field="status")
    if year is not None and not 2000 <= year <= 2100:
        raise InvalidInput("年度无效 / invalid year", field="year")
    query = select(Listing).order_by(Listing.level, Listing.scope, Listing.year, Listing.credit_code, Listing.id)
    if level:
        query = query.where(Listing.level == level)
    if year:
        query = query.where(Listing.year == year)
    if status:
        query = query.where(Listing.status == status)
    listings = list(session.scalars(query))
    unit_query = select(Unit).order_by(Unit.credit_code)
    if level or year or status:
        unit_query = unit_query.where(Unit.credit_code.in_(sorted({l.credit_code for l in listings}) or [""]))
    units = list(session.scalars(unit_query))
    names = {u.credit_code: u.name for u in units}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "generated_at": now.astimezone(CHINA).isoformat(),
            "province": {"code": PROVINCE, "name": _division_name(PROVINCE)},
            "filters": {"level": level, "year": year, "status": status},
            "units": [unit_row(u) for u in units],
            "listings": [listing_row(l, names.get(l.credit_code)) for l in listings]}


def export_xlsx(document: dict[str, Any]) -> bytes:
    """The document as a workbook: 单位, 名单 and 说明 (each column's key and Chinese header)."""
    def rows(items: list[dict[str, Any]], columns: tuple[Column, ...]):
        return ([item.get(c.key) for c in columns] for item in items)

    legend = [("单位", c.key, c.zh) for c in UNIT_COLUMNS] + [("名单", c.key, c.zh) for c in LISTING_COLUMNS]
    legend.append(("文件", "format", f"{document['format']} v{document['format_version']}，生成于 {document['generated_at']}"))
    return write_xlsx([
        ("单位", UNIT_COLUMNS, rows(document["units"], UNIT_COLUMNS)),
        ("名单", LISTING_COLUMNS, rows(document["listings"], LISTING_COLUMNS)),
        ("说明", (Column("sheet", "工作表"), Column("key", "字段"), Column("zh", "列名")), legend),
    ])
