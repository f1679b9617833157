"""Removals waiting for the next list publication, and reports to MIIT (第二十六、二十七、二十九条).

A decision that takes a unit off a list never removes the listing on the spot: 第二十七条
(items 2–8) and 第二十九条 remove it "在新发布省、市层面绿色制造（年度）名单时", with a public
announcement.  The deciding process therefore records a **PendingRemoval** per listing,
and the list-publication process (another piece of work) takes them over:

- ``pending_removals(session, level=, scope=)`` lists what the next list of that level
  and scope must leave out (``published_at`` is None);
- ``settle_removal(session, row, now=, publication_instance_id=)`` marks the listing
  removed (``Listing.status = "removed"``, ``removed_at``, ``removal_ground``) and the
  pending row published, when that publication goes out;
- ``standing_grounds(session, item, until=)`` (read-only) tells which currently listed units
  still carry a ground of a given 第二十七条 item (used by the green codes for item 8).

Only city and provincial listings get a PendingRemoval: the national list is MIIT's.  For
a national unit the province reports to MIIT instead (第二十六条第二款, 第二十九条), recorded
as a **MiitReport** once the province has sent it.

Services never commit: the command runner does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import config
from engine.clock import china_date
from engine.db import Base, UTCDateTime
from engine.errors import InvalidInput
from engine.models import Outbox, ProcessInstance
from engine.services import ServiceContext, service_task
from handlers.records import Listing, NegativeRecord

__all__ = [
    "LEVEL_RANK", "LOCAL_LEVELS", "PendingRemoval", "MiitReport", "current_listings", "highest_level",
    "record_pending_removals", "pending_removals", "settle_removal", "queue_report", "record_miit_report",
    "ground_text", "listing_view", "standing_grounds",
]

LEVEL_RANK = {"city": 1, "province": 2, "national": 3}
LOCAL_LEVELS = ("city", "province")  # the lists Guizhou publishes (第二十七、二十九条)
MIIT_MATTERS = ("change", "incident")


def ground_text(article: str, item: int | None) -> str:
    """``第二十七条第3项`` or ``第二十九条``: how a removal ground is cited."""
    return f"{article}第{item}项" if item else article


class PendingRemoval(Base):
    """A listing to be taken off at the next publication of its list (hand-off to the publication process).

    One row per listing and deciding instance.  ``ground_item`` is the item of 第二十七条
    (None when the ground is 第二十九条: no longer meets the standard after a change).
    ``published_at`` stays None until the list that leaves the unit out is published.
    """

    __tablename__ = "pending_removals"
    __table_args__ = (
        CheckConstraint("level IN ('city', 'province')", name="level"),
        CheckConstraint("ground_item IS NULL OR ground_item BETWEEN 1 AND 8", name="ground_item"),
        UniqueConstraint("listing_id", "source_instance_id", name="uq_pending_removals_listing_source"),
        Index("ix_pending_removals_open", "level", "scope", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    listing_id: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))  # city code or "520000": whose list
    ground_item: Mapped[int | None] = mapped_column(Integer)
    article: Mapped[str] = mapped_column(String(32))  # 第二十七条 / 第二十九条
    reason: Mapped[str] = mapped_column(Text)
    source_process: Mapped[str] = mapped_column(String(60))  # unit_change / unit_incident / …
    source_instance_id: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    publication_instance_id: Mapped[int | None] = mapped_column(Integer)


class MiitReport(Base):
    """What the province reported to MIIT about a national unit (第二十六条第二款、第二十九条)."""

    __tablename__ = "miit_reports"
    __table_args__ = (CheckConstraint("matter IN ('change', 'incident')", name="matter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    matter: Mapped[str] = mapped_column(String(16))
    article: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(200))  # the document number sent, e.g. 黔工信节〔2026〕5号
    reported_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    source_instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- listings

def current_listings(session: Session, credit_code: str) -> list[Listing]:
    """The unit's listings with status ``listed``, highest level first."""
    rows = session.scalars(select(Listing).where(Listing.credit_code == credit_code, Listing.status == "listed")
                           .order_by(Listing.id)).all()
    return sorted(rows, key=lambda row: -LEVEL_RANK.get(row.level, 0))


def highest_level(listings: Iterable[Listing]) -> str | None:
    levels = [row.level for row in listings]
    return max(levels, key=lambda level: LEVEL_RANK.get(level, 0)) if levels else None


def record_pending_removals(ctx: ServiceContext, credit_code: str, *, article: str, ground_item: int | None,
                            reason: str) -> list[dict[str, Any]]:
    """A PendingRemoval for each current city and provincial listing of the unit; idempotent per instance.

    Returns ``[{id, listing_id, level, scope}]``.  National listings are left to MIIT.
    """
    made = []
    now = ctx.clock.now()
    for listing in current_listings(ctx.session, credit_code):
        if listing.level not in LOCAL_LEVELS:
            continue
        row = ctx.session.scalar(select(PendingRemoval).where(PendingRemoval.listing_id == listing.id,
                                                              PendingRemoval.source_instance_id == ctx.instance_id))
        if row is None:
            row = PendingRemoval(credit_code=credit_code, listing_id=listing.id, level=listing.level,
                                 scope=listing.scope, ground_item=ground_item, article=article, reason=reason,
                                 source_process=ctx.process_id, source_instance_id=ctx.instance_id,
                                 recorded_at=now)
            ctx.session.add(row)
            ctx.session.flush()
            ctx.record("removal_pending", pending_removal_id=row.id, credit_code=credit_code,
                       listing_id=listing.id, level=listing.level, scope=listing.scope,
                       ground=ground_text(article, ground_item), article=article, ground_item=ground_item)
        made.append({"id": row.id, "listing_id": listing.id, "level": row.level, "scope": row.scope})
    return made


def pending_removals(session: Session, *, level: str, scope: str) -> list[PendingRemoval]:
    """What the next ``level`` list of ``scope`` must leave out: unpublished removals, oldest first."""
    return list(session.scalars(select(PendingRemoval).where(
        PendingRemoval.level == level, PendingRemoval.scope == scope, PendingRemoval.published_at.is_(None))
        .order_by(PendingRemoval.id)))


def settle_removal(session: Session, row: PendingRemoval, *, now: dt.datetime,
                   publication_instance_id: int | None = None) -> None:
    """The publication left the unit out: its listing is removed, citing the ground; the row is published."""
    listing = session.get(Listing, row.listing_id)
    if listing is not None and listing.status == "listed":
        listing.status = "removed"
        listing.removed_at = now
        listing.removal_ground = ground_text(row.article, row.ground_item)
    row.published_at = now
    row.publication_instance_id = publication_instance_id


# --------------------------------------------------------------------------- reports

def queue_report(ctx: ServiceContext, *, role: str, scope: str, message_zh: str,
                 task_name: str | None = None) -> int:
    """An outbox notification of kind ``report`` (上报 / 告知) to ``role`` at ``scope``; returns its id.

    Same payload as handlers.campaign's notifications (kind, role, scope, message_zh,
    instance_id, process_id, instance_title, task_name, due_at), so one delivery serves both;
    ``campaign.notify`` only knows reminders and escalations.
    """
    if role not in config.roles():
        raise InvalidInput(f"未知的角色 {role!r} / unknown role {role!r}", field="role")
    instance = ctx.session.get(ProcessInstance, ctx.instance_id)
    payload = {"kind": "report", "role": role, "scope": scope, "message_zh": message_zh,
               "instance_id": ctx.instance_id, "process_id": ctx.process_id,
               "instance_title": instance.title if instance is not None else None,
               "task_name": task_name, "due_at": None}
    row = Outbox(instance_id=ctx.instance_id, kind="notification", payload=payload, created_at=ctx.clock.now())
    ctx.session.add(row)
    ctx.session.flush()
    ctx.record("notification_queued", outbox_id=row.id, kind="report", role=role, scope=scope,
               task_name=task_name, due_at=None, message_zh=message_zh)
    return row.id


def _date(value: object, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{value!r} / not a date", field=field) from None


@service_task("record_miit_report")
def record_miit_report(ctx: ServiceContext, *, credit_code: str, matter: str, article: str, summary: str,
                       reference: str, reported_on: str, note: str | None = None) -> dict[str, Any]:
    """Keep what the province sent to MIIT about a national unit (第二十六条第二款、第二十九条).

    Idempotent per instance.  Raises InvalidInput for an unknown matter, an empty
    reference or a report date that is not a date or lies in the future.
    """
    if matter not in MIIT_MATTERS:
        raise InvalidInput(f"未知的上报事项 {matter!r} / unknown matter", field="matter")
    reference = str(reference or "").strip()
    if not reference:
        raise InvalidInput("须填写上报文号 / the document number is required", field="miit_report_ref")
    day = _date(reported_on, "miit_reported_on")
    if day > china_date(ctx.clock.now()):
        raise InvalidInput("上报日期不能晚于今天 / the report date is in the future", field="miit_reported_on")
    row = ctx.session.scalar(select(MiitReport).where(MiitReport.source_instance_id == ctx.instance_id))
    if row is None:
        row = MiitReport(credit_code=credit_code, matter=matter, article=article, summary=summary,
                         reference=reference, reported_on=day, note=(note or "").strip() or None,
                         source_instance_id=ctx.instance_id, recorded_by=ctx.actor, recorded_at=ctx.clock.now())
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("miit_report_recorded", miit_report_id=row.id, credit_code=credit_code, matter=matter,
                   article=article, reference=reference, reported_on=day.isoformat())
    return {"id": row.id, "reference": row.reference, "reported_on": row.reported_on.isoformat()}


def listing_view(rows: Iterable[Listing]) -> list[dict[str, Any]]:
    """``[{id, level, scope, unit_type}]``: the listings as instance data keeps them."""
    return [{"id": row.id, "level": row.level, "scope": row.scope, "unit_type": row.unit_type} for row in rows]


# --------------------------------------------------------------------------- read-only queries

def standing_grounds(session: Session, item: int, *, until: dt.date,
                     credit_codes: Iterable[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Units with a current listing that still carry a ground of 第二十七条 item ``item`` dated ≤ ``until``.

    A ground still stands while the listing it concerns has not been taken off (第二十七条: removal only
    at the next list publication). Two records carry grounds:

    - a ``NegativeRecord`` of that item dated (China date) no earlier than the China date of the
      unit's earliest current listing — it arose while that listing stood (the rule
      ``handlers.list_publication`` uses for derived grounds); this also covers a unit listed only
      nationally, which gets no PendingRemoval;
    - an unpublished ``PendingRemoval`` with that ``ground_item`` whose listing is still listed,
      dated by the China date of ``recorded_at``.

    ``until`` bounds the date (e.g. 31 December of a year); ``credit_codes`` limits the units.
    Returns ``{credit_code: [{"source", "id", "on"}]}`` (``source``: ``negative_record`` or
    ``pending_removal``; ``on``: the ISO date), oldest first; units without such a ground are absent.
    Nothing is written.
    """
    listed = select(Listing.credit_code, Listing.listed_at).where(Listing.status == "listed")
    wanted = None if credit_codes is None else sorted(set(credit_codes))
    if wanted is not None:
        if not wanted:
            return {}
        listed = listed.where(Listing.credit_code.in_(wanted))
    since: dict[str, dt.date] = {}
    for credit_code, listed_at in session.execute(listed):
        day = china_date(listed_at)
        since[credit_code] = min(day, since.get(credit_code, day))
    if not since:
        return {}
    codes = sorted(since)
    found: dict[str, list[dict[str, Any]]] = {}
    for record in session.scalars(select(NegativeRecord).where(
            NegativeRecord.item == item, NegativeRecord.credit_code.in_(codes), NegativeRecord.occurred_on <= until)
            .order_by(NegativeRecord.occurred_on, NegativeRecord.id)):
        if record.occurred_on >= since[record.credit_code]:
            found.setdefault(record.credit_code, []).append(
                {"source": "negative_record", "id": record.id, "on": record.occurred_on.isoformat()})
    for row in session.scalars(select(PendingRemoval).join(Listing, Listing.id == PendingRemoval.listing_id).where(
            PendingRemoval.ground_item == item, PendingRemoval.published_at.is_(None),
            PendingRemoval.credit_code.in_(codes), Listing.status == "listed").order_by(PendingRemoval.id)):
        day = china_date(row.recorded_at)
        if day <= until:
            found.setdefault(row.credit_code, []).append({"source": "pending_removal", "id": row.id,
                                                          "on": day.isoformat()})
    return {code: sorted(grounds, key=lambda g: (g["on"], g["source"], g["id"]))
            for code, grounds in sorted(found.items())}
