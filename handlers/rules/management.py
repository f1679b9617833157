"""第二十七条: the grounds that bar a unit from applying for three years (items 1–6).

Items 2–8 also remove a listed unit, but that happens at the next list publication, not
in the eligibility check.  Item 1 (taken off a list by dynamic management) is read from
removed listings as well as from negative records, so a removal never needs entering twice.
A park is barred by its confirmed member enterprises' grounds as well (开发区（含开发区内企业）).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date
from handlers.park_members import ParkMember, confirmed_members
from handlers.records import Listing, NegativeRecord
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


def _member_on(row: ParkMember, day: dt.date) -> bool:
    return row.joined_on <= day and (row.left_on is None or row.left_on > day)


def art27_park_enterprises_clear(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A park is barred by items 1–6 of its member enterprises too (开发区（含开发区内企业）): refuses.

    A member counts for a ground that arose while it was a **confirmed** member of the park
    (handlers.park_members): joining after the event, or a membership never confirmed, does not
    bar the park; leaving after it does not lift the bar.  One violation per member and item,
    naming the member (docs/parks-and-spot-checks.md).
    """
    if application.get("unit_type") != "park":
        return []
    park_code = str(application.get("credit_code"))
    memberships: dict[str, list[ParkMember]] = {}
    for row in confirmed_members(session, park_code):
        memberships.setdefault(row.member_credit_code, []).append(row)
    if not memberships:
        return []
    since = bar_starts(today)
    found: dict[tuple[str, int], dt.date] = {}

    def note(code: str, item: int, day: dt.date) -> None:
        if since <= day <= today and any(_member_on(row, day) for row in memberships[code]):
            key = (code, item)
            found[key] = max(day, found.get(key, day))

    for record in session.scalars(select(NegativeRecord).where(
            NegativeRecord.credit_code.in_(sorted(memberships)), NegativeRecord.item.in_(BARRING_ITEMS))):
        note(record.credit_code, record.item, record.occurred_on)
    for listing in session.scalars(select(Listing).where(
            Listing.credit_code.in_(sorted(memberships)), Listing.status == "removed")):
        if listing.removed_at is not None:
            note(listing.credit_code, 1, china_date(listing.removed_at))
    names = {code: rows[0].member_name for code, rows in memberships.items()}
    return [
        refuse(
            f"art27_park_member_item{item}", ARTICLE, "credit_code",
            f"园区入园企业{names[code]}（{code}）近三年{BARRING_ITEMS[item][0]}（{day.isoformat()}），"
            f"开发区（含开发区内企业）不得申请绿色制造名单",
            f"the park's member enterprise {names[code]} ({code}) {BARRING_ITEMS[item][1]} within the last three "
            f"years ({day.isoformat()}); the park (including its enterprises) may not apply",
            item=item,
        )
        for (code, item), day in sorted(found.items())
    ]
