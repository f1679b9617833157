"""Publication of the annual city and provincial lists, with their removals (第七、二十、二十七、二十九条).

第二十条: 经公示无异议的通过官网发布市（省）层面绿色制造名单.  第二十七条: 已发布名单中的企业或开发区存在
第2—8项情形的，在新发布省、市层面绿色制造年度名单时予以移出并进行公告.  第二十九条: 变更后不再符合的
…在新发布名单时予以公开.

``list_publication`` (started by a city department for its city list or by the province for
the provincial list, for a year):

1. ``prepare_list_publication`` composes the list: every unit currently on the list of that
   level and scope (those listed in ``year`` marked ``new``), the units to remove with their
   grounds, and — for a city list — the provincial and national units of the city that count
   as on the city list (第七条).  Removal grounds come from ``handlers.removals`` (PendingRemoval
   rows left by changes, incidents, complaints) **and** from NegativeRecords of items 2–8 that
   arose while the unit was listed and have no PendingRemoval yet (the annual campaign's item 7
   leaves only a NegativeRecord); for those the publication records the PendingRemoval itself.
2. The publisher checks it (核对发布名单): publish with the document number, or refresh.
3. ``publish_list_publication`` settles every removal (``removals.settle_removal``: the Listing
   becomes ``removed`` citing its ground), keeps a ``PublishedRemoval`` per unit and ground
   (the announcement: ground and article), and marks the ``ListPublication`` published.

**Decision — 第七条** (已列入国家、省层面名单的，可自动视为市层面名单): a city list shows, besides its
own listings, the city's units with a current provincial or national listing as ``deemed``
entries (视为市层面, with their level).  No city Listing is created for them, and a city
publication never removes them: only the province removes provincial listings (its own
publication) and only MIIT national ones.  A unit removed from the city list in this
publication is not shown as deemed even if its provincial listing still stands: the same
ground removes it from the provincial list at the province's next publication.

**Decision — the bar after removal**: nothing is written here for the three-year bar.
Items 2–6 bar through their NegativeRecords (``handlers.rules.management``); that rule also
counts every removed Listing as item 1 (被动态调整出绿色制造名单), whatever the ground — see
docs/list-publication.md for the open question on items 7/8.

Services never commit: the command runner does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import china_date, get_clock
from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotPermitted
from engine.identity import load_actor
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.divisions import PROVINCE, city_of, division
from handlers.records import Listing, NegativeRecord, Unit
from handlers.removals import PendingRemoval, ground_text, pending_removals, settle_removal

__all__ = [
    "PROCESS_ID", "LEVELS", "ListPublication", "PublishedRemoval", "start_list_publication",
    "compose_publication", "prepare_list_publication", "publish_list_publication",
    "publication_view", "publications",
]

PROCESS_ID = "list_publication"
LEVELS = ("city", "province")
ARTICLE_PUBLISH = "第二十条"
ARTICLE_REMOVE = "第二十七条"
ARTICLE_DEEMED = "第七条"
REMOVAL_ITEMS = (2, 3, 4, 5, 6, 7, 8)  # 第二十七条: 存在以下2—8项情形的 … 予以移出
ITEM_TEXT = {
    2: "未正常经营生产", 3: "发生重大及以上安全、质量、环境污染等事故或偷漏税等违法违规行为",
    4: "在国务院及有关部委督查工作中被发现存在严重问题", 5: "被列入工业节能监察整改名单且未按要求完成整改",
    6: "被列为失信被执行人", 7: "拒不按时填报动态管理表", 8: "所提交材料或数据存在造假等问题",
}
_LEVEL_ZH = {"city": "市层面", "province": "省层面", "national": "国家层面"}
_RANK = {"city": 1, "province": 2, "national": 3}


class ListPublication(Base):
    """One published (or being prepared) annual list of a level and scope (第二十条)."""

    __tablename__ = "list_publications"
    __table_args__ = (
        CheckConstraint("level IN ('city', 'province')", name="level"),
        CheckConstraint("status IN ('prepared', 'published')", name="status"),
        UniqueConstraint("level", "scope", "year", name="uq_list_publications_level_scope_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    level: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))  # city code or "520000"
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="prepared")
    prepared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(200))  # document number of the publication
    note: Mapped[str | None] = mapped_column(Text)
    listed: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # own listings, new ones marked
    deemed: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 第七条 (city lists only)


class PublishedRemoval(Base):
    """A unit taken off a list by a publication, with one ground (第二十七条第N项 / 第二十九条): the announcement."""

    __tablename__ = "published_removals"
    __table_args__ = (
        CheckConstraint("ground_item IS NULL OR ground_item BETWEEN 1 AND 8", name="ground_item"),
        UniqueConstraint("publication_id", "listing_id", "ground", name="uq_published_removals_listing_ground"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("list_publications.id"), index=True)
    listing_id: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str] = mapped_column(String(16))
    ground_item: Mapped[int | None] = mapped_column(Integer)
    article: Mapped[str] = mapped_column(String(32))
    ground: Mapped[str] = mapped_column(String(40))  # 第二十七条第7项 / 第二十九条
    reason: Mapped[str] = mapped_column(Text)
    pending_removal_id: Mapped[int | None] = mapped_column(Integer)


# --------------------------------------------------------------------------- start

def _year(value: object, today: dt.date) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= today.year:
        raise InvalidInput(f"年度无效：{value!r}（不能晚于今年）/ invalid year {value!r}", field="publication_year")
    return value


def normalise_publication(fields: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """``{level, scope, year}`` of a publication; InvalidInput naming the field (第三条 levels and scopes)."""
    level = fields.get("publication_level")
    if level not in LEVELS:
        raise InvalidInput(f"名单层级应为 city / province（第三条）/ unknown level {level!r}", field="publication_level")
    scope = str(fields.get("publication_scope") or (PROVINCE if level == "province" else "")).strip()
    if level == "province" and scope != PROVINCE:
        raise InvalidInput(f"省层面名单的范围为 {PROVINCE}（第三条）/ the provincial list's scope is {PROVINCE}",
                           field="publication_scope")
    if level == "city":
        found = division(scope, field="publication_scope")
        if not found.is_city:
            raise InvalidInput(f"{scope} 不是市（州）级行政区，不发布市层面名单（第三条）/ {scope} publishes no city list",
                               field="publication_scope")
    return {"level": level, "scope": scope, "year": _year(fields.get("publication_year"), today)}


@start_hook(PROCESS_ID)
def start_list_publication(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check what is published and by whom: a city department its city list, the province the provincial list.

    Raises InvalidInput (level, scope, year), NotPermitted (another authority's list, 第七、二十条),
    Conflict (that year's list of that scope is already prepared or published).
    """
    today = china_date(get_clock().now())
    pub = normalise_publication(data, today=today)
    role = "city_official" if pub["level"] == "city" else "province_official"
    if not load_actor(session, actor).holds(role, pub["scope"]):
        raise NotPermitted(f"{actor} 不是该名单的发布机关（第七条、第二十条）/ only the {role} of {pub['scope']} "
                           f"publishes this list")
    existing = session.scalar(select(ListPublication).where(
        ListPublication.level == pub["level"], ListPublication.scope == pub["scope"], ListPublication.year == pub["year"]))
    if existing is not None:
        raise Conflict(f"{pub['year']}年度{_LEVEL_ZH[pub['level']]}名单（{pub['scope']}）已由流程实例 "
                       f"{existing.instance_id} 发布或正在发布 / already in instance {existing.instance_id}")
    for key in list(data):
        data.pop(key)
    name = division(pub["scope"], field="publication_scope").name
    return StartInfo(
        data={"publication_level": pub["level"], "publication_scope": pub["scope"], "publication_year": pub["year"],
              "publisher_role": role, "publisher_scope": pub["scope"],
              # optional form fields read by the services: present even when left empty
              "publication_ref": "", "publication_note": ""},
        title=f"{pub['year']}年度{name}{_LEVEL_ZH[pub['level']]}绿色制造名单发布",
        summary={"publication_level": pub["level"], "publication_scope": pub["scope"],
                 "publication_year": pub["year"]},
    )


# --------------------------------------------------------------------------- composing the list

def _names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Unit.credit_code, Unit.name).where(Unit.credit_code.in_(sorted(codes)))).all())


def _derived_grounds(session: Session, listing: Listing, today: dt.date) -> list[NegativeRecord]:
    """NegativeRecords of items 2–8 that arose while ``listing`` was listed, oldest first."""
    return list(session.scalars(select(NegativeRecord).where(
        NegativeRecord.credit_code == listing.credit_code, NegativeRecord.item.in_(REMOVAL_ITEMS),
        NegativeRecord.occurred_on >= china_date(listing.listed_at), NegativeRecord.occurred_on <= today)
        .order_by(NegativeRecord.item, NegativeRecord.occurred_on, NegativeRecord.id)))


def _record_derived_removals(ctx: ServiceContext, listings: list[Listing], today: dt.date) -> None:
    """A PendingRemoval (source: this publication) for listings whose only grounds are NegativeRecords.

    One per listing and instance (the hand-off table's key); a ground already carried by a
    PendingRemoval of the listing (e.g. an incident's item 3) is not recorded twice.
    """
    for listing in listings:
        existing = list(ctx.session.scalars(select(PendingRemoval).where(PendingRemoval.listing_id == listing.id)))
        covered = {row.ground_item for row in existing}
        fresh = [rec for rec in _derived_grounds(ctx.session, listing, today) if rec.item not in covered]
        if not fresh or any(row.source_instance_id == ctx.instance_id for row in existing):
            continue
        first = fresh[0]
        row = PendingRemoval(
            credit_code=listing.credit_code, listing_id=listing.id, level=listing.level, scope=listing.scope,
            ground_item=first.item, article=ARTICLE_REMOVE,
            reason=first.note or first.source or ITEM_TEXT[first.item],
            source_process=PROCESS_ID, source_instance_id=ctx.instance_id, recorded_at=ctx.clock.now())
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("removal_pending", pending_removal_id=row.id, credit_code=listing.credit_code,
                   listing_id=listing.id, level=listing.level, scope=listing.scope,
                   ground=ground_text(ARTICLE_REMOVE, first.item), article=ARTICLE_REMOVE, ground_item=first.item,
                   negative_record_id=first.id)


def compose_publication(session: Session, *, level: str, scope: str, year: int, today: dt.date) -> dict[str, Any]:
    """The list as it would be published now; nothing is written.

    ``listed``: units staying on the list (``new`` when listed in ``year``); ``removed``: units
    to take off, each with its grounds ``[{ground, article, item, reason, pending_removal_id}]``;
    ``deemed`` (city lists): the city's provincial and national units (第七条).
    """
    listings = list(session.scalars(select(Listing).where(
        Listing.level == level, Listing.scope == scope, Listing.status == "listed").order_by(Listing.id)))
    by_id = {row.id: row for row in listings}
    grounds: dict[int, list[dict[str, Any]]] = {}
    for pending in pending_removals(session, level=level, scope=scope):
        if pending.listing_id in by_id:
            grounds.setdefault(pending.listing_id, []).append({
                "ground": ground_text(pending.article, pending.ground_item), "article": pending.article,
                "item": pending.ground_item, "reason": pending.reason, "pending_removal_id": pending.id})
    for listing_id, found in list(grounds.items()):
        listing = by_id[listing_id]
        carrier = found[0]["pending_removal_id"]
        have = {g["item"] for g in found}
        for rec in _derived_grounds(session, listing, today):
            if rec.item not in have:
                have.add(rec.item)
                found.append({"ground": ground_text(ARTICLE_REMOVE, rec.item), "article": ARTICLE_REMOVE,
                              "item": rec.item, "reason": rec.note or rec.source or ITEM_TEXT[rec.item],
                              "pending_removal_id": carrier})
    for listing in listings:  # grounds without any PendingRemoval yet (recorded on prepare)
        if listing.id not in grounds:
            derived = _derived_grounds(session, listing, today)
            if derived:
                grounds[listing.id] = [{"ground": ground_text(ARTICLE_REMOVE, rec.item), "article": ARTICLE_REMOVE,
                                        "item": rec.item, "reason": rec.note or rec.source or ITEM_TEXT[rec.item],
                                        "pending_removal_id": None} for rec in derived]
    removed_codes = {by_id[i].credit_code for i in grounds}
    deemed_rows: dict[str, list[Listing]] = {}
    if level == "city":
        own = {row.credit_code for row in listings}
        higher = session.execute(select(Listing, Unit.county_code).join(Unit, Unit.credit_code == Listing.credit_code)
                                 .where(Listing.level.in_(("province", "national")), Listing.status == "listed")
                                 .order_by(Listing.id)).all()
        for row, county in higher:
            if city_of(county) == scope and row.credit_code not in own and row.credit_code not in removed_codes:
                deemed_rows.setdefault(row.credit_code, []).append(row)
    names = _names(session, {row.credit_code for row in listings} | set(deemed_rows))

    def entry(row: Listing) -> dict[str, Any]:
        return {"credit_code": row.credit_code, "unit_name": names.get(row.credit_code, ""),
                "unit_type": row.unit_type, "listing_id": row.id, "listed_year": row.year, "new": row.year == year}

    removed = []
    for listing_id, found in grounds.items():
        found.sort(key=lambda g: (g["item"] is None, g["item"] or 0))
        removed.append({**entry(by_id[listing_id]), "grounds": found})
    deemed = [{"credit_code": code, "unit_name": names.get(code, ""), "unit_type": rows[0].unit_type,
               "levels": sorted({r.level for r in rows}, key=lambda lv: -_RANK[lv]), "article": ARTICLE_DEEMED}
              for code, rows in sorted(deemed_rows.items())]
    return {"level": level, "scope": scope, "year": year,
            "listed": [entry(row) for row in listings if row.id not in grounds],
            "removed": sorted(removed, key=lambda r: r["listing_id"]), "deemed": deemed}


def _row_of(ctx: ServiceContext) -> ListPublication | None:
    return ctx.session.scalar(select(ListPublication).where(ListPublication.instance_id == ctx.instance_id))


def _summary(composed: dict[str, Any]) -> dict[str, Any]:
    return {"listed": [u["credit_code"] for u in composed["listed"]],
            "new": [u["credit_code"] for u in composed["listed"] if u["new"]],
            "deemed": [u["credit_code"] for u in composed["deemed"]],
            "removed": [{"credit_code": u["credit_code"], "grounds": [g["ground"] for g in u["grounds"]]}
                        for u in composed["removed"]]}


@service_task("prepare_list_publication")
def prepare_list_publication(ctx: ServiceContext, *, level: str, scope: str, year: int) -> dict[str, Any]:
    """Compose ``year``'s ``level`` list of ``scope`` for the publisher to check; runs again on refresh.

    Records the PendingRemovals the list needs (NegativeRecords of items 2–8 without one) and
    the ListPublication row (status ``prepared``).  Raises Conflict when another instance
    already holds that list, InvalidInput for a bad level, scope or year.
    """
    today = china_date(ctx.clock.now())
    pub = normalise_publication({"publication_level": level, "publication_scope": scope, "publication_year": year},
                                today=today)
    row = ctx.session.scalar(select(ListPublication).where(
        ListPublication.level == pub["level"], ListPublication.scope == pub["scope"], ListPublication.year == pub["year"]))
    if row is not None and row.instance_id != ctx.instance_id:
        raise Conflict(f"{year}年度该名单已由流程实例 {row.instance_id} 发布或正在发布 / already in instance {row.instance_id}")
    if row is not None and row.status == "published":
        raise Conflict(f"{year}年度该名单已发布 / this list is already published")
    listings = list(ctx.session.scalars(select(Listing).where(
        Listing.level == pub["level"], Listing.scope == pub["scope"], Listing.status == "listed")))
    _record_derived_removals(ctx, listings, today)
    composed = compose_publication(ctx.session, today=today, **pub)
    if row is None:
        row = ListPublication(instance_id=ctx.instance_id, status="prepared", **pub)
        ctx.session.add(row)
    row.prepared_at = ctx.clock.now()
    row.listed, row.deemed = composed["listed"], composed["deemed"]
    ctx.session.flush()
    ctx.record("list_publication_prepared", publication_id=row.id, level=row.level, scope=row.scope, year=row.year,
               **_summary(composed))
    return {"id": row.id, **composed}


@service_task("publish_list_publication")
def publish_list_publication(ctx: ServiceContext, *, publication: Mapping[str, Any], reference: str,
                             note: str | None = None) -> dict[str, Any]:
    """Publish the list (第二十条) with its removals and their grounds (第二十七、二十九条).

    The list is composed again at this moment (a removal recorded since the check is
    included); every removal is settled (Listing ``removed`` citing its ground) and announced
    as PublishedRemoval rows.  Raises InvalidInput(field="publication_ref") without a
    document number, Conflict when this instance has no prepared list.
    """
    reference = str(reference or "").strip()
    if not reference:
        raise InvalidInput(f"发布名单须填写发布文号（{ARTICLE_PUBLISH}：通过官网发布）/ the document number is required",
                           field="publication_ref")
    row = _row_of(ctx)
    if row is None or (isinstance(publication, Mapping) and publication.get("id") not in (None, row.id)):
        raise Conflict("本流程没有待发布的名单 / no prepared list in this instance")
    if row.status == "published":
        return publication_view(ctx.session, row.level, row.scope, row.year) or {}
    now = ctx.clock.now()
    today = china_date(now)
    listings = list(ctx.session.scalars(select(Listing).where(
        Listing.level == row.level, Listing.scope == row.scope, Listing.status == "listed")))
    _record_derived_removals(ctx, listings, today)
    composed = compose_publication(ctx.session, level=row.level, scope=row.scope, year=row.year, today=today)
    pending_ids = sorted({g["pending_removal_id"] for u in composed["removed"] for g in u["grounds"]},
                         key=lambda pid: pid or 0)
    by_pending = {p.id: p for p in ctx.session.scalars(select(PendingRemoval).where(PendingRemoval.id.in_(pending_ids)))}
    for unit in composed["removed"]:
        for ground in unit["grounds"]:  # lowest item first: the Listing keeps the first ground settled
            pending = by_pending.get(ground["pending_removal_id"])
            if pending is not None and pending.published_at is None:
                settle_removal(ctx.session, pending, now=now, publication_instance_id=ctx.instance_id)
            ctx.session.add(PublishedRemoval(
                publication_id=row.id, listing_id=unit["listing_id"], credit_code=unit["credit_code"],
                unit_name=unit["unit_name"], unit_type=unit["unit_type"], ground_item=ground["item"],
                article=ground["article"], ground=ground["ground"], reason=ground["reason"],
                pending_removal_id=ground["pending_removal_id"]))
        ctx.record("listing_removed", credit_code=unit["credit_code"], listing_id=unit["listing_id"],
                   level=row.level, scope=row.scope, grounds=[g["ground"] for g in unit["grounds"]],
                   article=ARTICLE_REMOVE)
    row.status, row.published_at, row.published_by = "published", now, ctx.actor
    row.reference, row.note = reference, (str(note or "").strip() or None)
    row.listed, row.deemed = composed["listed"], composed["deemed"]
    ctx.session.flush()
    ctx.record("list_published", publication_id=row.id, level=row.level, scope=row.scope, year=row.year,
               reference=reference, article=ARTICLE_PUBLISH, **_summary(composed))
    return publication_view(ctx.session, row.level, row.scope, row.year) or {}


# --------------------------------------------------------------------------- for the public portal

def _view(session: Session, row: ListPublication) -> dict[str, Any]:
    removed: dict[int, dict[str, Any]] = {}
    for item in session.scalars(select(PublishedRemoval).where(PublishedRemoval.publication_id == row.id)
                                .order_by(PublishedRemoval.id)):
        unit = removed.setdefault(item.listing_id, {"credit_code": item.credit_code, "unit_name": item.unit_name,
                                                    "unit_type": item.unit_type, "grounds": []})
        unit["grounds"].append({"ground": item.ground, "article": item.article, "item": item.ground_item,
                                "text_zh": ITEM_TEXT.get(item.ground_item or 0, "变更后不再符合相关标准"),
                                "reason": item.reason})
    return {"id": row.id, "level": row.level, "scope": row.scope, "year": row.year, "status": row.status,
            "reference": row.reference, "note": row.note,
            "published_at": row.published_at.isoformat() if row.published_at else None,
            "listed": list(row.listed or []), "deemed": list(row.deemed or []), "removed": list(removed.values())}


def publication_view(session: Session, level: str, scope: str, year: int) -> dict[str, Any] | None:
    """A publication as the public portal shows it, or None if that list was never prepared.

    ``{id, level, scope, year, status, reference, note, published_at, listed: [{credit_code,
    unit_name, unit_type, listing_id, listed_year, new}], deemed: [{credit_code, unit_name,
    unit_type, levels, article}], removed: [{credit_code, unit_name, unit_type, grounds:
    [{ground, article, item, text_zh, reason}]}]}``.  Show only ``status == "published"``.
    """
    row = session.scalar(select(ListPublication).where(
        ListPublication.level == level, ListPublication.scope == scope, ListPublication.year == year))
    return _view(session, row) if row is not None else None


def publications(session: Session, *, published_only: bool = True) -> list[dict[str, Any]]:
    """``[{id, level, scope, year, status, reference, published_at}]``, newest year first."""
    query = select(ListPublication).order_by(ListPublication.year.desc(), ListPublication.level.desc(),
                                             ListPublication.scope)
    if published_only:
        query = query.where(ListPublication.status == "published")
    return [{"id": r.id, "level": r.level, "scope": r.scope, "year": r.year, "status": r.status,
             "reference": r.reference, "published_at": r.published_at.isoformat() if r.published_at else None}
            for r in session.scalars(query)]
