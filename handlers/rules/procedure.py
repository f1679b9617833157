"""第二十二条、第二十三条: the order in which a unit climbs the lists, and what a park must show.

Listing order (第二十二条) and a supply-chain enterprise being a green factory first
(第二十三条第一款) are softened by 原则上, so they only flag.  The park condition of
第二十三条第二款 says 应 with no exception, so it refuses.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.park_members import members_on
from handlers.records import CultivationRecord, Listing
from handlers.rules._base import Application, Violation, flag, refuse

ARTICLE_22 = "第二十二条"
ARTICLE_23 = "第二十三条"

# Levels that satisfy each target.  A higher list implies the lower ones (第七条 for the city list).
_LISTING_BEFORE = {"province": ("city", "province", "national"), "national": ("province", "national")}
_FACTORY_BEFORE_SUPPLY_CHAIN = {"province": ("province", "national"), "national": ("national",)}
_LEVEL_ZH = {"city": "市级", "province": "省级", "national": "国家级"}

PARK_MIN_PROVINCIAL_UNITS = 3
PARK_MIN_NATIONAL_UNITS = 1
PARK_MIN_CULTIVATED = 3


def current_levels(session: Session, credit_code: str, unit_type: str) -> set[str]:
    """The levels of the lists ``credit_code`` is currently on as ``unit_type``."""
    rows = session.scalars(
        select(Listing.level).where(
            Listing.credit_code == credit_code, Listing.unit_type == unit_type, Listing.status == "listed"
        )
    )
    return set(rows)


def art22_listing_order(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A province target should already be on a city (or higher) list, a national target on the province list.

    Flag only: 第二十二条 says 原则上, so skipping a level is for the reviewer to accept or not.
    """
    target = application.get("target_level")
    needed = _LISTING_BEFORE.get(str(target))
    if needed is None:
        return []
    held = current_levels(session, str(application.get("credit_code")), str(application.get("unit_type")))
    if held & set(needed):
        return []
    lower = needed[0]
    return [
        flag(
            f"art22_{target}_needs_{lower}_listing", ARTICLE_22, "target_level",
            f"申报{_LEVEL_ZH[target]}名单，原则上应先列入{_LEVEL_ZH[lower]}名单，该单位目前未在{_LEVEL_ZH[lower]}及以上名单中",
            f"a {target} application should in principle follow a {lower} listing; "
            f"the unit is on no {lower}-or-higher list of this type",
        )
    ]


def art23_supply_chain_needs_green_factory(
    session: Session, application: Application, today: dt.date
) -> list[Violation]:
    """A province (national) supply-chain enterprise should already be a province (national) green factory.

    Flag only: 第二十三条 says 原则上.
    """
    target = application.get("target_level")
    needed = _FACTORY_BEFORE_SUPPLY_CHAIN.get(str(target))
    if application.get("unit_type") != "supply_chain" or needed is None:
        return []
    if current_levels(session, str(application.get("credit_code")), "factory") & set(needed):
        return []
    return [
        flag(
            "art23_supply_chain_needs_green_factory", ARTICLE_23, "unit_type",
            f"推荐为{_LEVEL_ZH[target]}绿色供应链管理企业的企业原则上应为{_LEVEL_ZH[target]}绿色工厂，该企业不在相应绿色工厂名单中",
            f"a {target} green supply-chain enterprise should in principle already be a {target} green factory; "
            "it is not on that list",
        )
    ]


def _member_levels(session: Session, park_code: str, today: dt.date) -> dict[str, list[str]]:
    """The park's confirmed members on ``today`` that are on a list, by level (level -> "名称（代码）")."""
    members = {row.member_credit_code: row.member_name for row in members_on(session, park_code, today)}
    if not members:
        return {}
    rows = session.execute(
        select(Listing.level, Listing.credit_code).where(
            Listing.credit_code.in_(sorted(members)), Listing.unit_type != "park", Listing.status == "listed"
        ).distinct()
    )
    found: dict[str, set[str]] = {}
    for level, code in rows:
        found.setdefault(level, set()).add(code)
    return {level: [f"{members[c]}（{c}）" for c in sorted(codes)] for level, codes in found.items()}


def art23_park_needs_green_units(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A park recommended to the province list needs ≥3 provincial or 1 national green units among its
    member enterprises, or ≥3 units cultivated in the application year.

    The members are the park's **confirmed** members on the day of the check (handlers.park_members);
    no county approximation any more (docs/parks-and-spot-checks.md).
    Refuses: 第二十三条第二款 says 应 without 原则上.
    """
    if application.get("unit_type") != "park" or application.get("target_level") != "province":
        return []
    park_code = str(application.get("credit_code"))
    listed = _member_levels(session, park_code, today)
    provincial, national = listed.get("province", []), listed.get("national", [])
    cultivated = session.scalar(
        select(func.count(func.distinct(CultivationRecord.unit_credit_code))).where(
            CultivationRecord.park_credit_code == park_code, CultivationRecord.year == application.get("year")
        )
    ) or 0
    if (
        len(provincial) >= PARK_MIN_PROVINCIAL_UNITS
        or len(national) >= PARK_MIN_NATIONAL_UNITS
        or cultivated >= PARK_MIN_CULTIVATED
    ):
        return []
    named = "、".join(provincial) or "无"
    return [
        refuse(
            "art23_park_needs_green_units", ARTICLE_23, "target_level",
            f"推荐为省层面绿色工业园区应至少创建3家省级或1家国家级绿色制造单位，或在申报年度培育创建至少3家；"
            f"经县级确认的入园企业中现有省级{len(provincial)}家（{named}）、国家级{len(national)}家，"
            f"申报年度培育{cultivated}家",
            f"a park recommended to the province list needs 3 provincial or 1 national green units among its "
            f"confirmed member enterprises, or 3 units cultivated in the application year; found "
            f"{len(provincial)} provincial, {len(national)} national, {cultivated} cultivated",
        )
    ]
