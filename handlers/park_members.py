"""A park's member enterprises (开发区内企业, issue 16 item 3): 第二十三条 and 第二十七条 count them.

第二十三条: 推荐为省层面绿色工业园区的开发区，应至少创建了3家省级绿色制造单位或1家国家级绿色制造单位，
或在申报年度组织培育创建至少3家绿色制造单位.  第二十七条: 近三年有下列1—6项情况的企业或开发区
（含开发区内企业），不得申请.

The park's managing body (its applicant account, scope ``unit:<park credit code>``) proposes a member
(credit code, name, join date) or a member's leaving (leave date); the industry department of the
park's county (a county-less park such as 贵安新区: its city department) confirms or rejects each
proposal on the members page.  Only **confirmed** membership at the relevant date counts
(``members_on``).  Every proposal and decision is kept on the row (who, when, note) and in
``ParkMemberEvent`` (the history: one row per proposal and decision).

Decisions (docs/parks-and-spot-checks.md): a page, not a process — a membership list changes
in small steps and has no deadline; the county's pending proposals are listed on its page.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, UTCDateTime
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.identity import Actor
from handlers.divisions import city_of, division, is_county
from handlers.records import Unit
from handlers.uscc import validate_uscc

__all__ = [
    "ParkMember", "ParkMemberEvent", "STATUSES", "park_of", "may_maintain", "confirmer_grant", "may_confirm",
    "propose_member", "propose_leave", "decide", "members", "members_on", "confirmed_members", "pending_for", "member_view",
]

STATUSES = ("proposed", "confirmed", "rejected")
ARTICLES = "第二十三条、第二十七条"


class ParkMember(Base):
    """One enterprise's membership of a park, from ``joined_on`` to ``left_on`` (exclusive; None: still in).

    ``status`` is the join proposal's state; a confirmed member's proposed leaving is
    ``leave_proposed_on`` until the county confirms it into ``left_on``.
    """

    __tablename__ = "park_members"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'confirmed', 'rejected')", name="status"),
        Index("ix_park_members_park_status", "park_credit_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    park_credit_code: Mapped[str] = mapped_column(String(18))
    member_credit_code: Mapped[str] = mapped_column(String(18), index=True)
    member_name: Mapped[str] = mapped_column(String(200))
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    leave_proposed_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by: Mapped[str] = mapped_column(String(120))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class ParkMemberEvent(Base):
    """The history of the member list: every proposal and decision, who and when."""

    __tablename__ = "park_member_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("park_members.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # propose_join / propose_leave / confirm / reject
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- who

def park_of(session: Session, park_code: object) -> Unit:
    """The park registered as ``park_code``; InvalidInput for a bad code, NotFound for no such park."""
    code = validate_uscc(park_code)
    unit = session.scalar(select(Unit).where(Unit.credit_code == code))
    if unit is None or unit.unit_type != "park":
        raise NotFound(f"{code} 不是本平台登记的开发区（园区） / no park {code} is registered",
                       fields={"park_credit_code": "not found"})
    return unit


def applicant_scope(credit_code: str) -> str:
    """The scope of a unit's own account (as handlers.start gives it; not imported: the rules import this)."""
    return f"unit:{credit_code}"


def may_maintain(actor: Actor, park: Unit) -> bool:
    """The park's managing body: its applicant account."""
    return actor.holds("applicant", applicant_scope(park.credit_code))


def confirmer_grant(park: Unit) -> tuple[str, str]:
    """(role, scope) that confirms the park's members: its county's department, else its city's."""
    if is_county(park.county_code):
        return "county_official", park.county_code
    return "city_official", city_of(park.county_code)


def may_confirm(actor: Actor, park: Unit) -> bool:
    return actor.holds(*confirmer_grant(park))


def _date(value: object, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{value!r} / {field} is not a date", field=field) from None


def _log(session: Session, row: ParkMember, action: str, actor: str, now: dt.datetime, note: str | None) -> None:
    session.add(ParkMemberEvent(member_id=row.id, action=action, actor=actor, at=now, note=note))


def _overlapping(session: Session, park: str, member: str, start: dt.date) -> ParkMember | None:
    return session.scalar(select(ParkMember).where(
        ParkMember.park_credit_code == park, ParkMember.member_credit_code == member,
        ParkMember.status.in_(("proposed", "confirmed")),
        or_(ParkMember.left_on.is_(None), ParkMember.left_on > start)))


# --------------------------------------------------------------------------- commands

def propose_member(session: Session, park_code: object, fields: dict[str, Any], *, actor: Actor,
                   now: dt.datetime, today: dt.date) -> ParkMember:
    """The managing body proposes a member enterprise; it counts once the county confirms.

    Raises NotPermitted (not the park's account), InvalidInput naming the field (credit code,
    name, date in the future, the park itself), Conflict (already a member or proposed).
    """
    park = park_of(session, park_code)
    if not may_maintain(actor, park):
        raise NotPermitted("只有园区管理机构（园区的申报账户）能维护入园企业 / only the park's managing body maintains members")
    member = validate_uscc(fields.get("member_credit_code"))
    if member == park.credit_code:
        raise InvalidInput("园区不能是自己的入园企业 / a park is not its own member", field="member_credit_code")
    other = session.scalar(select(Unit).where(Unit.credit_code == member))
    if other is not None and other.unit_type == "park":
        raise InvalidInput("入园企业应为企业，不能是另一园区 / a member is an enterprise, not a park",
                           field="member_credit_code")
    name = str(fields.get("member_name") or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("须填写企业名称（不超过200字） / the enterprise's name is required (≤ 200)",
                           field="member_name")
    joined = _date(fields.get("joined_on"), "joined_on")
    if joined > today:
        raise InvalidInput(f"入园日期 {joined} 晚于今天 / the join date is in the future", field="joined_on")
    if _overlapping(session, park.credit_code, member, joined) is not None:
        raise Conflict(f"{name}（{member}）已是该园区的入园企业或正待确认 / already a member or proposed",
                       fields={"member_credit_code": "already a member"})
    row = ParkMember(park_credit_code=park.credit_code, member_credit_code=member, member_name=name,
                     joined_on=joined, status="proposed", proposed_by=actor.username, proposed_at=now)
    session.add(row)
    session.flush()
    _log(session, row, "propose_join", actor.username, now, None)
    return row


def _member(session: Session, member_id: object) -> ParkMember:
    try:
        row = session.get(ParkMember, int(str(member_id)))
    except ValueError:
        row = None
    if row is None:
        raise NotFound(f"入园企业记录 {member_id!r} 不存在 / no such member record", fields={"member_id": "not found"})
    return row


def propose_leave(session: Session, member_id: object, left_on: object, *, actor: Actor, now: dt.datetime,
                  today: dt.date) -> ParkMember:
    """The managing body reports that a confirmed member left the park on ``left_on``.

    Raises NotFound, NotPermitted, InvalidInput (not a date, before joining, in the future),
    Conflict (not a current confirmed member, or a leaving already proposed).
    """
    row = _member(session, member_id)
    park = park_of(session, row.park_credit_code)
    if not may_maintain(actor, park):
        raise NotPermitted("只有园区管理机构（园区的申报账户）能维护入园企业 / only the park's managing body maintains members")
    day = _date(left_on, "left_on")
    if row.status != "confirmed" or row.left_on is not None or row.leave_proposed_on is not None:
        raise Conflict(f"{row.member_name} 不是已确认的在园企业，或迁出已在待确认 / not a current confirmed member",
                       fields={"member_id": "not current"})
    if day <= row.joined_on or day > today:
        raise InvalidInput(f"迁出日期应晚于入园日期 {row.joined_on} 且不晚于今天 / the leave date must be after "
                           f"joining and not in the future", field="left_on")
    row.leave_proposed_on = day
    _log(session, row, "propose_leave", actor.username, now, day.isoformat())
    return row


def decide(session: Session, member_id: object, decision: str, *, actor: Actor, now: dt.datetime,
           note: str | None = None) -> ParkMember:
    """The county confirms or rejects the open proposal (joining, or leaving) of a member row.

    Raises NotFound, NotPermitted (not the park's county / city department), InvalidInput
    (unknown decision; a rejection without a note), Conflict (nothing is waiting).
    """
    row = _member(session, member_id)
    park = park_of(session, row.park_credit_code)
    if not may_confirm(actor, park):
        raise NotPermitted("只有园区所在县（区）工业和信息化主管部门能确认入园企业 / only the park's county confirms")
    if decision not in ("confirm", "reject"):
        raise InvalidInput("结论应为确认或不予确认 / decision must be confirm or reject", field="decision")
    note = str(note or "").strip() or None
    if decision == "reject" and not note:
        raise InvalidInput("不予确认的须说明理由 / a reason is required to reject", field="note")
    if row.status == "proposed":
        row.status = "confirmed" if decision == "confirm" else "rejected"
    elif row.status == "confirmed" and row.leave_proposed_on is not None:
        if decision == "confirm":
            row.left_on = row.leave_proposed_on
        row.leave_proposed_on = None
    else:
        raise Conflict("该记录没有待确认的事项 / nothing waits for confirmation", fields={"member_id": "decided"})
    row.decided_by, row.decided_at, row.note = actor.username, now, note
    _log(session, row, decision, actor.username, now, note)
    return row


# --------------------------------------------------------------------------- queries

def members_on(session: Session, park_code: str, day: dt.date) -> list[ParkMember]:
    """Confirmed members in the park on ``day`` (joined on or before it, not left by it)."""
    return list(session.scalars(select(ParkMember).where(
        ParkMember.park_credit_code == park_code, ParkMember.status == "confirmed", ParkMember.joined_on <= day,
        or_(ParkMember.left_on.is_(None), ParkMember.left_on > day)).order_by(ParkMember.member_credit_code)))


def confirmed_members(session: Session, park_code: str) -> list[ParkMember]:
    """Every confirmed membership of the park, current or past."""
    return list(session.scalars(select(ParkMember).where(
        ParkMember.park_credit_code == park_code, ParkMember.status == "confirmed").order_by(ParkMember.id)))


def member_view(row: ParkMember) -> dict[str, Any]:
    if row.status == "confirmed" and row.leave_proposed_on is not None:
        state = "leave_proposed"
    elif row.status == "confirmed" and row.left_on is not None:
        state = "left"
    else:
        state = row.status
    return {"id": row.id, "park_credit_code": row.park_credit_code, "credit_code": row.member_credit_code,
            "name": row.member_name, "joined_on": row.joined_on.isoformat(),
            "left_on": row.left_on.isoformat() if row.left_on else None,
            "leave_proposed_on": row.leave_proposed_on.isoformat() if row.leave_proposed_on else None,
            "status": row.status, "state": state, "proposed_by": row.proposed_by,
            "proposed_at": row.proposed_at.isoformat(), "decided_by": row.decided_by,
            "decided_at": row.decided_at.isoformat() if row.decided_at else None, "note": row.note,
            "waiting": row.status == "proposed" or row.leave_proposed_on is not None}


def members(session: Session, park_code: str) -> list[dict[str, Any]]:
    """Every member row of the park, newest first."""
    rows = session.scalars(select(ParkMember).where(ParkMember.park_credit_code == park_code)
                           .order_by(ParkMember.id.desc()))
    return [member_view(row) for row in rows]


def pending_for(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Proposals waiting for ``actor``'s confirmation (parks of its counties, county-less parks of its city)."""
    counties = set(actor.scopes("county_official"))
    cities = set(actor.scopes("city_official"))
    if not counties and not cities:
        return []
    rows = session.execute(select(ParkMember, Unit).join(Unit, Unit.credit_code == ParkMember.park_credit_code)
                           .where(or_(ParkMember.status == "proposed", ParkMember.leave_proposed_on.is_not(None)))
                           .order_by(ParkMember.id))
    found = []
    for row, park in rows:
        role, scope = confirmer_grant(park)
        if (role == "county_official" and scope in counties) or (role == "city_official" and scope in cities):
            found.append({**member_view(row), "park_name": park.name,
                          "park_place": division(park.county_code).name})
    return found


# --------------------------------------------------------------------------- pages

def may_read(actor: Actor, park: Unit) -> bool:
    """The park's body, its confirming department, its city, the province and auditors."""
    if may_maintain(actor, park) or may_confirm(actor, park) or actor.has_role("auditor"):
        return True
    return actor.holds("province_official", "520000") or actor.holds("city_official", city_of(park.county_code))


def park_page(session: Session, actor: Actor, park_code: object, *, today: dt.date) -> dict[str, Any]:
    """The park with its member rows and what ``actor`` may do; NotFound, NotPermitted."""
    park = park_of(session, park_code)
    if not may_read(actor, park):
        raise NotPermitted("只有园区管理机构、园区所在县（区）、市（州）工信部门和省工信厅能查看入园企业 / not yours to read")
    current = members_on(session, park.credit_code, today)
    return {"credit_code": park.credit_code, "name": park.name, "place": division(park.county_code).name,
            "park_level": park.park_level, "members": members(session, park.credit_code),
            "current": len(current), "can_maintain": may_maintain(actor, park), "can_confirm": may_confirm(actor, park)}


def parks_for(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The parks ``actor`` may read (its own for a park's body), with their current member counts."""
    own = {scope.removeprefix("unit:") for scope in actor.scopes("applicant")}
    query = select(Unit).where(Unit.unit_type == "park").order_by(Unit.credit_code)
    if own:
        query = query.where(Unit.credit_code.in_(sorted(own)))
    found = []
    for park in session.scalars(query):
        if park.credit_code in own or may_read(actor, park):
            rows = session.scalars(select(ParkMember).where(ParkMember.park_credit_code == park.credit_code)).all()
            found.append({"credit_code": park.credit_code, "name": park.name,
                          "place": division(park.county_code).name,
                          "confirmed": sum(r.status == "confirmed" and r.left_on is None for r in rows),
                          "waiting": sum(r.status == "proposed" or r.leave_proposed_on is not None for r in rows)})
    return found


__all__ += ["may_read", "park_page", "parks_for"]
