"""The published lists (第三条、第七条) on the public portal: ``/public/lists``, no login.

The listings, filtered by level, year, unit type and city and searched by name or credit code,
paged. A provincial or national unit also counts as on the city list of its city (第七条) and is
shown with the level it was listed at. Unknown filter values are ignored, never an error.
Part of the ``public`` blueprint (``web.blueprints.public``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from sqlalchemy import and_, case, func, or_, select

from handlers.application import TARGET_LEVELS, UNIT_TYPES
from handlers.divisions import cities, counties_of
from handlers.records import Listing, Unit
from web import vocab
from web.blueprints.public import PAGE_SIZE, _place, bp
from web.extensions import engine

_LEVEL_ORDER = {"national": 0, "province": 1, "city": 2}


@dataclass(frozen=True)
class ListFilters:
    level: str = ""
    year: int | None = None
    unit_type: str = ""
    city: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "ListFilters":
        """The filters of the query string; unknown values are ignored, never an error."""
        city_codes = {c.code for c in cities()}
        year = args.get("year", "").strip()
        page = args.get("page", "").strip()
        return cls(
            level=args.get("level", "") if args.get("level") in TARGET_LEVELS else "",
            year=int(year) if year.isdigit() and len(year) == 4 else None,
            unit_type=args.get("unit_type", "") if args.get("unit_type") in UNIT_TYPES else "",
            city=args.get("city", "").upper() if args.get("city", "").upper() in city_codes else "",
            q=args.get("q", "").strip()[:100],
            page=max(int(page), 1) if page.isdigit() and len(page) < 7 else 1,
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for a link (empty filters left out)."""
        values = {"level": self.level, "year": self.year, "unit_type": self.unit_type, "city": self.city,
                  "q": self.q, "page": self.page, **changes}
        return {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}


@dataclass(frozen=True)
class ListRow:
    unit_name: str
    credit_code: str
    unit_type: str
    level: str
    year: int
    place: str
    counted_as_city: bool  # 第七条: on a provincial or national list, shown on the city list


def _list_conditions(f: ListFilters) -> list[Any]:
    conditions: list[Any] = [Listing.status == "listed"]
    if f.level in ("province", "national"):
        conditions.append(Listing.level == f.level)
    # level == "city": every level — 第七条: national and provincial units count as on the city list.
    if f.year is not None:
        conditions.append(Listing.year == f.year)
    if f.unit_type:
        conditions.append(Listing.unit_type == f.unit_type)
    if f.city:
        codes = [f.city, *(c.code for c in counties_of(f.city))]
        conditions.append(or_(and_(Listing.level == "city", Listing.scope == f.city), Unit.county_code.in_(codes)))
    if f.q:
        conditions.append(or_(Unit.name.contains(f.q, autoescape=True),
                              Listing.credit_code.contains(f.q.upper(), autoescape=True)))
    return conditions


@bp.get("/lists")
def lists():
    """The published lists: filter by level, year, unit type and city, search by name or credit code."""
    f = ListFilters.from_args(request.args)
    base = select(Listing, Unit).outerjoin(Unit, Unit.credit_code == Listing.credit_code).where(*_list_conditions(f))
    with engine().db.session() as session:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        pages = max(math.ceil(total / PAGE_SIZE), 1)
        page = min(f.page, pages)
        rows = session.execute(
            base.order_by(Listing.year.desc(), case(_LEVEL_ORDER, value=Listing.level), Unit.name,
                          Listing.credit_code, Listing.id)
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        ).all()
        years = sorted(session.scalars(select(Listing.year).where(Listing.status == "listed").distinct()),
                       reverse=True)
    items = [ListRow(unit_name=unit.name if unit else "", credit_code=listing.credit_code,
                     unit_type=listing.unit_type, level=listing.level, year=listing.year,
                     place=_place(unit.county_code if unit else (listing.scope if listing.level == "city" else None)),
                     counted_as_city=f.level == "city" and listing.level != "city")
             for listing, unit in rows]
    return render_template("public/lists.html", filters=f, rows=items, total=total, page=page, pages=pages,
                           years=years, cities=cities(), levels=vocab.options(vocab.LEVELS),
                           unit_types=vocab.options(vocab.UNIT_TYPES))
