"""Public notices (公示) and their objections (公示异议), 第二十条.

A proposed listing is published for at least 7 working days; anyone may object during it,
every objection is verified and answered, and the list is published only when all are
settled.  ``open_notice`` and ``close_notice`` are service tasks of ``public_notice``;
``record_objection`` is called by the web layer when an objection arrives, before the
message reaches the instance, so the objection is on file even if the process is busy.

Every objection gets a receipt number (``YY2026-000042``) and an access code (查询码,
``objection_access_code``, see ``handlers.receipts``) that only its objector is shown.  The
officials' verdict (核实异议) is written to the objection as soon as it is given
(``answer_objection``), and the objector is answered then: a notification to the contact
they gave is queued in the outbox (``kind="notification"``, payload kind ``objection_reply``)
and ``objection_reply_queued`` is recorded.  ``close_notice`` counts the answers and answers
nobody twice.  ``objection_status`` is what the public may see of a receipt, given with its
access code.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import calendar
from engine.errors import InvalidInput, NotFound, RuleViolation
from engine.clock import china_date
from engine.models import Outbox
from engine.services import ServiceContext, message_hook, service_task
from handlers.application import normalise_application
from handlers.divisions import PROVINCE, city_of
from handlers.receipts import access_code, codes_match, parse_receipt_number, receipt_number
from handlers.records import Notice, Objection

__all__ = ["MIN_NOTICE_DAYS", "open_notice", "close_notice", "record_objection", "objection_receipt",
           "objection_access_code", "parse_objection_receipt", "objection_status", "OBJECTION_REPLY"]

ARTICLE = "第二十条"
OBJECTION_MESSAGE = "notice_objection"
MIN_NOTICE_DAYS = 7
# Objection fields and their column limits (None: no limit).
_FIELDS: dict[str, int | None] = {
    "name": 100, "id_number": 32, "organisation": 200, "contact": 100, "matter": None, "evidence": None,
}
_NOT_A_NAME = frozenset({"匿名", "anonymous", "无名氏"})
RECEIPT_PREFIX = "YY"  # 异议
OBJECTION_REPLY = "objection_reply"  # the payload kind of the notification to the objector
_LEVEL_WORDS = {"city": "市级", "province": "省级"}


def _as_id(value: object) -> int | None:
    """A row id given as an int or a digit string (web forms send strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _notice_row(session: Session, notice: object) -> Notice:
    """The Notice for a ``{"id": …}`` dict or an id.  Raises NotFound."""
    notice_id = notice.get("id") if isinstance(notice, Mapping) else notice
    key = _as_id(notice_id)
    row = session.get(Notice, key) if key is not None else None
    if row is None:
        raise NotFound(f"公示 {notice_id!r} 不存在 / notice {notice_id!r} not found", fields={"notice": "not found"})
    return row


def _expected_scope(level: str, application: dict[str, Any]) -> str:
    if level == "city":
        return city_of(application["county_code"])
    if level == "province":
        return PROVINCE
    raise InvalidInput(f"公示层级 {level!r} 应为 city 或 province / notice level must be city or province", field="level")


@service_task("open_notice")
def open_notice(
    ctx: ServiceContext, *, application: dict[str, Any], level: str, scope: str, days: int = MIN_NOTICE_DAYS
) -> dict[str, Any]:
    """Publish the unit's notice now; it runs ``days`` working days (第二十条: 不少于7个工作日).

    Days are counted on the State Council's working-day calendar: weekends and statutory
    holidays do not count, 调休 make-up workdays do. By default the publication day counts
    as day 1 (setting ``notice_start_day_counts``); a notice published on a non-working
    day starts on the next working day. The notice ends at 24:00 (China) of its last day.
    Idempotent per instance and level while the notice is open (a retried task reuses it).
    Returns ``{"id", "starts_at", "ends_at", "first_day", "last_day"}`` (aware ISO times in
    UTC, ISO dates in China).
    Raises InvalidInput for a level or scope that does not fit the application,
    RuleViolation(第二十条) for fewer than 7 days, CalendarYearMissing for a year without
    calendar data (the engine turns it into an incident).
    """
    app = normalise_application(application)
    expected = _expected_scope(level, app)
    if str(scope) != expected:
        raise InvalidInput(
            f"公示范围 {scope!r} 与申报单位不符，应为 {expected} / notice scope {scope!r} should be {expected}",
            field="scope",
        )
    if isinstance(days, bool) or not isinstance(days, int) or days < MIN_NOTICE_DAYS:
        raise RuleViolation(
            f"公示时间不少于7个工作日，不能为 {days!r} 天（{ARTICLE}） / a notice lasts at least 7 working days, "
            f"not {days!r} (Article 20)",
            article=ARTICLE, field="days",
        )
    notice = ctx.session.scalar(
        select(Notice).where(Notice.instance_id == ctx.instance_id, Notice.level == level, Notice.closed_at.is_(None))
    )
    if notice is None:
        now = ctx.clock.now()
        first_day, last_day = calendar.current_calendar().notice_period(
            china_date(now), days, start_day_counts=calendar.start_day_counts())
        notice = Notice(
            instance_id=ctx.instance_id, level=level, scope=expected,
            credit_code=app["credit_code"], unit_name=app["unit_name"],
            starts_at=now, ends_at=calendar.end_of_day(last_day), first_day=first_day, last_day=last_day,
        )
        ctx.session.add(notice)
        ctx.session.flush()
        ctx.record("notice_opened", notice_id=notice.id, level=level, scope=expected,
                   starts_at=notice.starts_at.isoformat(), ends_at=notice.ends_at.isoformat(),
                   first_day=first_day.isoformat(), last_day=last_day.isoformat(), working_days=days)
    return {"id": notice.id, "starts_at": notice.starts_at.isoformat(), "ends_at": notice.ends_at.isoformat(),
            "first_day": notice.first_day.isoformat() if notice.first_day else None,
            "last_day": notice.last_day.isoformat() if notice.last_day else None}


def _clean(payload: Mapping[str, Any]) -> dict[str, str | None]:
    """The objection fields, trimmed; raises InvalidInput listing every missing or too long field."""
    values = {k: (str(payload[k]).strip() or None) if payload.get(k) is not None else None for k in _FIELDS}
    problems: dict[str, str] = {}
    if not values["name"] or values["name"].lower() in _NOT_A_NAME:
        problems["name"] = "异议须实名 / a real name is required"
    if not values["id_number"] and not values["organisation"]:
        problems["id_number"] = "身份证件号码或所在单位至少填一项 / an ID number or an organisation is required"
    if not values["contact"]:
        problems["contact"] = "联系方式必填 / contact details are required"
    if not values["matter"]:
        problems["matter"] = "异议事项必填 / the matter objected to is required"
    for key, limit in _FIELDS.items():
        if limit and values[key] and len(values[key]) > limit:  # type: ignore[arg-type]
            problems[key] = f"超过{limit}个字符 / longer than {limit} characters"
    if problems:
        first = next(iter(problems))
        raise InvalidInput(f"异议信息不完整：{'；'.join(problems.values())}", field=first, fields=problems)
    return values


def record_objection(session: Session, notice_id: int, payload: Mapping[str, Any], now: dt.datetime) -> Objection:
    """File an objection to an open notice and return it (unsettled: ``upheld`` is None).

    Accepted from ``starts_at`` until just before ``ends_at``; put the returned id into
    the message payload as ``objection_id`` so ``close_notice`` settles this very row.
    Raises NotFound for an unknown notice, RuleViolation(第二十条, field="notice_id") when
    the notice is closed or not running at ``now``, InvalidInput for missing fields.
    """
    if now.tzinfo is None:
        raise ValueError("record_objection needs an aware time")
    notice = _notice_row(session, notice_id)
    if notice.closed_at is not None or not notice.starts_at <= now < notice.ends_at:
        raise RuleViolation(
            f"公示期为 {notice.starts_at.isoformat()} 至 {notice.ends_at.isoformat()}，当前不在公示期内，不受理异议（{ARTICLE}） / "
            f"objections are accepted only while the notice runs (Article 20)",
            article=ARTICLE, field="notice_id",
        )
    if not isinstance(payload, Mapping):
        raise InvalidInput("异议应为对象 / the objection must be an object", field="objection")
    objection = Objection(notice_id=notice.id, received_at=now, **_clean(payload))
    session.add(objection)
    session.flush()
    return objection


def _settle(session: Session, notice: Notice, stored: dict[int, Objection], taken: set[int], item: object,
            now: dt.datetime) -> None:
    """Apply one reviewed objection ``{objection_id?, upheld, reply, …}`` to its row.

    Without an id, an unsettled row with the same name, contact and matter is taken, else
    one settled with this very answer by an earlier call (each row once per call, ``taken``);
    failing that the objection was never filed, so it is filed now (received_at = now).
    """
    if not isinstance(item, Mapping):
        raise InvalidInput("每项异议应为对象 / each objection must be an object", field="objections")
    if isinstance(item.get("objection"), Mapping):  # as the diagram records it: {objection: payload, upheld, …}
        item = {**item["objection"], **{k: v for k, v in item.items() if k != "objection"}}
    upheld, reply = item.get("upheld"), str(item.get("reply") or "").strip()
    if not isinstance(upheld, bool) or not reply:
        raise InvalidInput("每项异议须有核实结论（upheld）与答复（reply） / each objection needs upheld and a reply",
                           field="objections")
    if item.get("objection_id") is not None:
        row = stored.get(_as_id(item["objection_id"]))  # type: ignore[arg-type]
        if row is None:
            raise InvalidInput(f"异议 {item['objection_id']!r} 不属于本公示 / objection is not of this notice",
                               field="objections")
    else:
        values = _clean(item)
        same = [o for o in stored.values() if o.id not in taken
                and (o.name, o.contact, o.matter) == (values["name"], values["contact"], values["matter"])]
        # An earlier call (the notice waited for a pending objection) may have settled it already.
        row = next((o for o in same if o.upheld is None), None) or \
            next((o for o in same if (o.upheld, o.reply) == (upheld, reply)), None)
        if row is None:
            row = Objection(notice_id=notice.id, received_at=now, **values)
            session.add(row)
            session.flush()
            stored[row.id] = row
    taken.add(row.id)
    row.upheld, row.reply = upheld, reply


@service_task("answer_objection")
def answer_objection(ctx: ServiceContext, *, notice: dict[str, Any], objections: list[dict[str, Any]] | None,
                     objection: dict[str, Any], upheld: bool, finding: str, reply: str) -> list[dict[str, Any]]:
    """Record an official's verification of one objection at once and answer the objector (第二十条).

    The verdict goes to the objection's row (``upheld``, ``reply``) and the reply is queued
    to the objector now, during the notice if it still runs; ``close_notice`` later counts
    the row and, finding the same answer, queues nothing more. Returns ``objections`` with
    this review appended (``{objection, upheld, finding, reply, reviewed_at}``), as the
    diagram keeps them. Raises InvalidInput for a review without a verdict or a reply.
    """
    row = _notice_row(ctx.session, notice)
    now = ctx.clock.now()
    reviewed = {"objection": objection, "upheld": upheld, "finding": finding, "reply": reply,
                "reviewed_at": now.astimezone(dt.timezone.utc).isoformat()}
    stored = {o.id: o for o in ctx.session.scalars(select(Objection).where(Objection.notice_id == row.id))}
    before = {o.id: (o.upheld, o.reply) for o in stored.values()}
    taken: set[int] = set()
    _settle(ctx.session, row, stored, taken, reviewed, now)
    for objection_id in taken:
        answered = stored[objection_id]
        if before.get(objection_id) != (answered.upheld, answered.reply):
            _reply_to_objector(ctx, row, answered)
    return list(objections or []) + [reviewed]


@service_task("close_notice")
def close_notice(
    ctx: ServiceContext, *, notice: dict[str, Any], objections: list[dict[str, Any]] | None = None
) -> dict[str, int]:
    """End the notice and settle its objections; returns ``{"upheld": n, "rejected": m, "pending": k}``.

    Each objection whose answer is written now (settled for the first time, or answered
    differently than before) gets its reply queued to the objector (``_reply_to_objector``);
    settling the same answers again, as the diagram does after a pending objection, queues
    nothing more.

    Counts every objection on file for the notice, so one filed by ``record_objection``
    during the notice but not yet reviewed keeps the notice open (经公示无异议的 … 发布):
    with ``pending > 0`` nothing is closed and the diagram waits for those objections,
    then calls again. Closing twice returns the first result. Raises NotFound for an
    unknown notice, RuleViolation(第二十条) before ``ends_at``, InvalidInput for a
    malformed objection.
    """
    row = _notice_row(ctx.session, notice)
    if row.closed_at is not None and row.result is not None:
        return dict(row.result)
    now = ctx.clock.now()
    if now < row.ends_at:
        raise RuleViolation(
            f"公示期至 {row.ends_at.isoformat()} 方满（{ARTICLE}） / "
            f"the notice runs until {row.ends_at.isoformat()} (Article 20)",
            article=ARTICLE, field="notice",
        )
    stored = {o.id: o for o in ctx.session.scalars(select(Objection).where(Objection.notice_id == row.id))}
    before = {o.id: (o.upheld, o.reply) for o in stored.values()}
    taken: set[int] = set()
    for item in objections or []:
        _settle(ctx.session, row, stored, taken, item, now)
    for objection in sorted(stored.values(), key=lambda o: o.id):
        if objection.upheld is not None and before.get(objection.id) != (objection.upheld, objection.reply):
            _reply_to_objector(ctx, row, objection)
    pending = sorted(o.id for o in stored.values() if o.upheld is None)
    result = {"upheld": sum(o.upheld is True for o in stored.values()),
              "rejected": sum(o.upheld is False for o in stored.values()), "pending": len(pending)}
    if pending:
        ctx.record("notice_waits_for_objections", notice_id=row.id, pending=pending)
        return result
    row.closed_at, row.result = now, result
    ctx.record("notice_closed", notice_id=row.id, **result)
    return result


@message_hook(OBJECTION_MESSAGE)
def take_objection(ctx: ServiceContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Intake of a public objection (公示异议) delivered to an application instance.

    Runs inside the delivering command: the objection is filed against the instance's
    running notice and its id is added to the message, atomically with the delivery.
    A late, early or anonymous objection is refused (第二十条) and nothing is written.
    """
    notice_id = payload.get("notice_id")
    query = select(Notice).where(Notice.instance_id == ctx.instance_id)
    if notice_id is not None:
        query = query.where(Notice.id == _as_id(notice_id))
    notice = ctx.session.scalars(query.order_by(Notice.id.desc()).limit(1)).first()
    if notice is None:
        raise RuleViolation("该申报没有正在进行的公示，不受理异议（第二十条） / this application has no notice running "
                            "(Article 20)", article=ARTICLE, field="notice_id")
    objection = record_objection(ctx.session, notice.id, payload, ctx.clock.now())
    ctx.record("objection_filed", notice_id=notice.id, objection_id=objection.id)
    return {**_clean(payload), "objection_id": objection.id, "notice_id": notice.id,
            "received_at": objection.received_at.isoformat()}


# --------------------------------------------------------------------------- answering the objector

def objection_receipt(objection: Objection) -> str:
    """The receipt number of an objection, e.g. ``YY2026-000042`` (异议): its id and China year of receipt."""
    return receipt_number(RECEIPT_PREFIX, china_date(objection.received_at).year, objection.id)


def objection_access_code(objection: Objection) -> str:
    """The access code (查询码) of an objection, e.g. ``3F9A-0C1E``: shown on its receipt page only.

    Derived from the id, the stored received time and the contact (``handlers.receipts``);
    never put in an event, the process data or a message.
    """
    return access_code("objection", objection.id, objection.received_at, objection.contact)


def parse_objection_receipt(receipt: object) -> tuple[int, int] | None:
    """(year, id) of a receipt number such as ``YY2026-000042``; None when it is not one."""
    return parse_receipt_number(RECEIPT_PREFIX, receipt)


def _outcome(objection: Objection) -> str | None:
    return None if objection.upheld is None else ("upheld" if objection.upheld else "rejected")


def _reply_to_objector(ctx: ServiceContext, notice: Notice, objection: Objection) -> Outbox:
    """Queue the answer to the objector (公示异议答复, 第二十条) and record it in the history.

    The notification carries what the objector gave (name, contact) and the answer: the
    outcome and the official's reply; the finding (核实情况) stays internal. The event holds
    ids, the receipt and the outcome only: the contact is in the outbox row, not the history.
    """
    receipt, outcome = objection_receipt(objection), _outcome(objection)
    verdict = "成立" if objection.upheld else "不成立"
    level = _LEVEL_WORDS.get(notice.level, "")
    outbox = Outbox(instance_id=ctx.instance_id, kind="notification", created_at=ctx.clock.now(), payload={
        "kind": OBJECTION_REPLY, "to": objection.contact, "objector_name": objection.name, "receipt": receipt,
        "notice_id": notice.id, "unit_name": notice.unit_name, "outcome": outcome, "reply": objection.reply,
        "article": ARTICLE,
        "message_zh": f"您对{notice.unit_name}拟列入{level}绿色制造名单公示提出的异议（受理编号 {receipt}），"
                      f"经核实异议{verdict}。答复意见：{objection.reply}（{ARTICLE}）",
        "instance_id": ctx.instance_id, "process_id": ctx.process_id})
    ctx.session.add(outbox)
    ctx.session.flush()
    ctx.record("objection_reply_queued", objection_id=objection.id, notice_id=notice.id, receipt=receipt,
               outcome=outcome, outbox_id=outbox.id, article=ARTICLE)
    return outbox


def objection_status(session: Session, receipt: object, code: object) -> dict[str, Any] | None:
    """``{receipt, status, received_on, notice_id, outcome, reply}`` for a receipt and its access code;
    None if there is no such receipt or ``code`` is not its code (the caller cannot tell which).

    ``status`` is ``verifying`` until the objection is settled, then ``answered`` with the
    outcome and the reply to the objector. Never the objector, the matter, the evidence or
    the officials' finding.
    """
    parsed = parse_objection_receipt(receipt)
    if parsed is None:
        return None
    year, key = parsed
    row = session.get(Objection, key)
    if row is None or objection_receipt(row) != str(receipt).strip().upper():  # the year and the digits as given
        return None
    if not codes_match(code, objection_access_code(row)):
        return None
    answered = row.upheld is not None
    return {"receipt": objection_receipt(row), "status": "answered" if answered else "verifying",
            "received_on": china_date(row.received_at), "notice_id": row.notice_id,
            "outcome": _outcome(row), "reply": row.reply if answered else None}
