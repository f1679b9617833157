"""第二十七条: the grounds that bar a unit from applying for three years (items 1–6).

Items 2–8 also remove a listed unit, but that happens at the next list publication, not
in the eligibility check.  Item 1 (taken off a list by dynamic management) is read from
removed listings as well as from negative records, so a removal never needs entering twice.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date
from handlers.records import Listing, NegativeRecord, Unit
from handlers.rules._base import Application, Violation, flag, refuse

ARTICLE = "第二十七条"
BAR_YEARS = 3
BARRING_ITEMS: dict[int, tuple[str, str]] = {
    1: ("被动态调整出绿色制造名单", "was taken off a green-manufacturing list"),
    2: ("未正常经营生产", "did not operate normally (deregistered, stopped 12+ months, abnormal operation list)"),
    3: ("发生重大及以上安全、质量、环境污染等事故或偷漏税等违法违规行为",
        "had a major safety, quality or pollution accident, or tax evasion or similar"),
    4: ("在国务院及有关部委督查中被发现存在严重问题", "was found with serious problems by State Council inspection"),
    5: ("被列入工业节能监察整改名单且未按要求完成整改",
        "is on the industrial energy-inspection rectification list and did not rectify"),
    6: ("被列为失信被执行人", "is listed as a dishonest judgment debtor"),
}


def bar_starts(today: dt.date) -> dt.date:
    """The first day whose events still bar on ``today``: 近三年 ends on the third anniversary.

    An event on 2023-06-01 bars until 2026-05-31; on 2026-06-01 it no longer does.
    """
    try:
        anniversary = today.replace(year=today.year - BAR_YEARS)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - BAR_YEARS, day=28)
    return anniversary + dt.timedelta(days=1)


def barring_items(session: Session, credit_codes: Iterable[str], today: dt.date) -> dict[str, dict[int, dt.date]]:
    """For each unit with a bar on ``today``: item -> latest date it happened."""
    codes = list(credit_codes)
    if not codes:
        return {}
    since = bar_starts(today)
    found: dict[str, dict[int, dt.date]] = {}

    def note(code: str, item: int, day: dt.date) -> None:
        items = found.setdefault(code, {})
        items[item] = max(day, items.get(item, day))

    for record in session.scalars(
        select(NegativeRecord).where(
            NegativeRecord.credit_code.in_(codes),
            NegativeRecord.item.in_(BARRING_ITEMS),
            NegativeRecord.occurred_on >= since,
            NegativeRecord.occurred_on <= today,
        )
    ):
        note(record.credit_code, record.item, record.occurred_on)
    for listing in session.scalars(
        select(Listing).where(Listing.credit_code.in_(codes), Listing.status == "removed")
    ):
        if listing.removed_at is not None and since <= china_date(listing.removed_at) <= today:
            note(listing.credit_code, 1, china_date(listing.removed_at))
    return found


def art27_no_recent_bar(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A unit with any of items 1–6 in the last three years may not apply (不得申请): refuses, one per item."""
    code = str(application.get("credit_code"))
    items = barring_items(session, [code], today).get(code, {})
    return [
        refuse(
            f"art27_item{item}_within_three_years", ARTICLE, "credit_code",
            f"该单位近三年{BARRING_ITEMS[item][0]}（{day.isoformat()}），不得申请绿色制造名单",
            f"within the last three years the unit {BARRING_ITEMS[item][1]} ({day.isoformat()}); it may not apply",
            item=item,
        )
        for item, day in sorted(items.items())
    ]


def art27_park_enterprises_clear(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A park is barred by items 1–6 of its enterprises too (开发区（含开发区内企业）).

    Only a flag: without park boundaries the enterprises are approximated by the park's
    county (as for 第二十三条), which may include enterprises outside the park, so the
    reviewer checks which of them are really inside.
    """
    if application.get("unit_type") != "park":
        return []
    park_code = str(application.get("credit_code"))
    nearby = session.scalars(
        select(Unit.credit_code).where(
            Unit.county_code == str(application.get("county_code")),
            Unit.credit_code != park_code,
            Unit.unit_type != "park",
        )
    )
    barred = barring_items(session, nearby, today)
    if not barred:
        return []
    codes = "、".join(sorted(barred))
    items = sorted({item for found in barred.values() for item in found})
    return [
        flag(
            "art27_park_enterprises_clear", ARTICLE, "credit_code",
            f"园区所在区县有企业近三年存在第{'、'.join(map(str, items))}项情形（{codes}），请核实是否位于园区内",
            f"enterprises in the park's county have grounds {', '.join(map(str, items))} within three years "
            f"({', '.join(sorted(barred))}); check whether they are inside the park",
        )
    ]
