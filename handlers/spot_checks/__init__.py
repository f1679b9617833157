"""Spot checks of listed units (不定期现场抽查复核, 第二十六条; issue 16 item 7).

第二十六条: 各级工业和信息化主管部门应加强对本地区绿色制造单位的指导、监督、检查，不定期进行现场抽查复核……
贵州省工业和信息化厅加强对全省绿色制造单位的指导、监督、检查、抽查和复核.

The ``spot_check`` process, started by the province or a city department (``start_spot_check``
checks who and what): the service task ``draw_spot_check_sample`` draws the sample from the
current listings of the chosen level (and city, and type), reproducibly — the same seed and the
same population give the same sample (``draw``) — and records the population size, the population
and the drawn units (``SpotCheck``, ``SpotCheckUnit``).  Each drawn unit gets a ``spot_check_site``
instance (a multi-instance call activity): a site check for the organising department, due in the
working days of ``config/deadlines.toml`` ``[spot_check_site]``, whose finding
``record_spot_check_finding`` keeps.  A unit found to no longer meet the standard goes the removal
path shared by changes, incidents and credit records (``handlers.removals``): a PendingRemoval per
city and provincial listing citing 第二十六条, removed at the next list publication, the publishing
departments told, and for a national unit the province asked to report it to MIIT (第二十六条第二款).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date, get_clock
from engine.errors import Conflict, InvalidInput, NotFound, NotPermitted
from engine.identity import Actor, load_actor
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.divisions import PROVINCE, division
from handlers.records import Listing, Unit
from handlers.removals import current_listings, listing_view, queue_report, record_pending_removals
from handlers.spot_checks._models import (
    ARTICLE, FINDINGS, LIST_LEVELS, MAX_SAMPLE, PROCESS_ID, SITE_PROCESS_ID, UNIT_TYPES, SpotCheck, SpotCheckUnit,
)

__all__ = [
    "ARTICLE", "PROCESS_ID", "SITE_PROCESS_ID", "LIST_LEVELS", "UNIT_TYPES", "FINDINGS", "SpotCheck",
    "SpotCheckUnit", "draw", "organiser_grant", "normalise_request", "start_spot_check", "draw_spot_check_sample",
    "record_spot_check_finding", "close_spot_check", "spot_checks_for", "spot_check_view",
]


# --------------------------------------------------------------------------- the draw

def _rank(seed: str, credit_code: str) -> str:
    return hashlib.sha256(f"{seed}|{credit_code}".encode()).hexdigest()


def draw(population: list[str], seed: str, size: int) -> list[str]:
    """The ``size`` units of ``population`` whose sha256(seed|code) is smallest, in that order.

    Reproducible by anyone with the seed and the population (the order of ``population`` does not
    matter); the order is a hash, nothing is left to chance.
    """
    return sorted(set(population), key=lambda code: _rank(seed, code))[:max(0, size)]


def sample_size(population_size: int, *, size: int | None, rate: int | None) -> int:
    """The number to draw: ``size`` (at most the population) or ⌈population × rate %⌉ (at least 1)."""
    if size is not None:
        return min(size, population_size)
    return min(population_size, max(1, math.ceil(population_size * (rate or 0) / 100)))


def population_of(session: Session, *, level: str, scope: str | None, unit_type: str) -> list[str]:
    """Sorted credit codes with a current listing of ``level`` (of ``scope``, of ``unit_type``)."""
    query = select(Listing.credit_code).where(Listing.level == level, Listing.status == "listed").distinct()
    if scope is not None:
        query = query.where(Listing.scope == scope)
    if unit_type != "all":
        query = query.where(Listing.unit_type == unit_type)
    return sorted(set(session.scalars(query)))


# --------------------------------------------------------------------------- the request

def organiser_grant(actor: Actor) -> tuple[str, str]:
    """(role, scope) under which ``actor`` organises a spot check: the province, else a city department.

    Raises NotPermitted for anyone else (第二十六条: the province or a city; county departments
    report incidents but do not organise 抽查复核 here).
    """
    if actor.holds("province_official", PROVINCE):
        return "province_official", PROVINCE
    cities = actor.scopes("city_official")
    if cities:
        return "city_official", cities[0]
    raise NotPermitted(f"只有省工信厅或市（州）工业和信息化主管部门能组织现场抽查复核（{ARTICLE}） / only the province or "
                       "a city department organises spot checks (Article 26)")


def _whole(value: object, field: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        number = None
    if number is None or isinstance(value, float) and value != number or not low <= number <= high:
        raise InvalidInput(f"应为 {low}—{high} 的整数：{value!r} / must be a whole number from {low} to {high}",
                           field=field)
    return number


def normalise_request(fields: Mapping[str, Any], *, role: str, scope: str, actor: str,
                      now: dt.datetime) -> dict[str, Any]:
    """The spot check's parameters as the diagram keeps them; InvalidInput naming the field."""
    level = fields.get("list_level")
    if level not in LIST_LEVELS:
        raise InvalidInput(f"名单层级应为 {' / '.join(LIST_LEVELS)} / unknown list level {level!r}", field="list_level")
    if role == "city_official" and level != "city":
        raise InvalidInput(f"市（州）工业和信息化主管部门抽查本市（州）市级名单单位（{ARTICLE}“本地区”） / a city department "
                           "spot-checks its city list", field="list_level")
    unit_type = fields.get("unit_type") or "all"
    if unit_type not in UNIT_TYPES:
        raise InvalidInput(f"单位类型应为 {' / '.join(UNIT_TYPES)} / unknown unit type {unit_type!r}", field="unit_type")
    size = _whole(fields.get("sample_size"), "sample_size", 1, MAX_SAMPLE)
    rate = _whole(fields.get("sample_rate"), "sample_rate", 1, 100)
    if (size is None) == (rate is None):
        raise InvalidInput("抽查数量与抽查比例须且只须填写一项 / give either a sample size or a rate",
                           field="sample_size")
    seed = str(fields.get("seed") or "").strip()
    if len(seed) > 64:
        raise InvalidInput("随机种子不超过64个字符 / the seed has at most 64 characters", field="seed")
    if not seed:  # a fresh seed, recorded: derived from the engine clock and the organiser
        seed = hashlib.sha256(f"{now.isoformat()}|{actor}".encode()).hexdigest()[:16]
    note = str(fields.get("note") or "").strip()[:2000] or None
    list_scope = scope if role == "city_official" else ("520000" if level == "province" else
                                                         "national" if level == "national" else None)
    return {"list_level": level, "list_scope": list_scope, "unit_type": unit_type, "sample_size": size,
            "sample_rate": rate, "seed": seed, "note": note}


@start_hook(PROCESS_ID)
def start_spot_check(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check who organises (the province or a city department) and the parameters; nothing is drawn yet."""
    who = load_actor(session, actor)
    role, scope = organiser_grant(who)
    request = normalise_request(data, role=role, scope=scope, actor=actor, now=get_clock().now())
    for key in list(data):
        data.pop(key)
    place = "全省" if scope == PROVINCE else division(scope).name
    title = f"现场抽查复核 · {place} · {LIST_LEVELS[request['list_level']][0]}名单"
    return StartInfo(data={"spot_request": request, "organiser_role": role, "organiser_scope": scope},
                     title=title, business_key=None,
                     summary={"organiser_scope": scope, "list_level": request["list_level"], "seed": request["seed"]})


# --------------------------------------------------------------------------- service tasks

def _names(session: Session, codes: list[str]) -> dict[str, Unit]:
    return {u.credit_code: u for u in session.scalars(select(Unit).where(Unit.credit_code.in_(codes)))} if codes else {}


@service_task("draw_spot_check_sample")
def draw_spot_check_sample(ctx: ServiceContext, *, request: Mapping[str, Any], organiser_role: str,
                           organiser_scope: str) -> list[dict[str, Any]]:
    """Draw and record the sample (idempotent per instance); returns one ``site`` per drawn unit.

    Raises InvalidInput (field list_level) when no unit is on the chosen lists: nothing to check.
    """
    row = ctx.session.scalar(select(SpotCheck).where(SpotCheck.instance_id == ctx.instance_id))
    if row is None:
        population = population_of(ctx.session, level=request["list_level"], scope=request["list_scope"],
                                   unit_type=request["unit_type"])
        if not population:
            raise InvalidInput("所选名单中没有在册单位，无可抽查 / no listed unit to draw from", field="list_level")
        size = sample_size(len(population), size=request.get("sample_size"), rate=request.get("sample_rate"))
        sample = draw(population, request["seed"], size)
        row = SpotCheck(instance_id=ctx.instance_id, organiser_role=organiser_role, organiser_scope=organiser_scope,
                        list_level=request["list_level"], list_scope=request["list_scope"],
                        unit_type=request["unit_type"], sample_size=request.get("sample_size"),
                        sample_rate=request.get("sample_rate"), seed=request["seed"],
                        population_size=len(population), population=population, sample=sample,
                        note=request.get("note"), started_by=ctx.actor, started_at=ctx.clock.now(), status="open")
        ctx.session.add(row)
        ctx.session.flush()
        units = _names(ctx.session, sample)
        for position, code in enumerate(sample, start=1):
            unit = units.get(code)
            listings = current_listings(ctx.session, code)
            ctx.session.add(SpotCheckUnit(
                spot_check_id=row.id, position=position, credit_code=code, unit_name=unit.name if unit else code,
                unit_type=listings[0].unit_type if listings else (unit.unit_type if unit else "factory"),
                listings=listing_view(listings), checker_role=organiser_role, checker_scope=organiser_scope))
        ctx.session.flush()
        ctx.record("spot_check_sample_drawn", spot_check_id=row.id, seed=row.seed, population_size=len(population),
                   sample=sample, list_level=row.list_level, list_scope=row.list_scope, unit_type=row.unit_type,
                   article=ARTICLE)
    units = ctx.session.scalars(select(SpotCheckUnit).where(SpotCheckUnit.spot_check_id == row.id)
                                .order_by(SpotCheckUnit.position))
    return [{"spot_check_id": row.id, "unit_id": u.id, "credit_code": u.credit_code, "unit_name": u.unit_name,
             "checker_role": u.checker_role, "checker_scope": u.checker_scope} for u in units]


def _site_row(session: Session, site: Mapping[str, Any]) -> SpotCheckUnit:
    row = session.get(SpotCheckUnit, int(site.get("unit_id") or 0)) if isinstance(site, Mapping) else None
    if row is None:
        raise NotFound("抽查单位不存在 / no such drawn unit", fields={"site": "not found"})
    return row


@service_task("record_spot_check_finding")
def record_spot_check_finding(ctx: ServiceContext, *, site: Mapping[str, Any], finding: str, checked_on: str,
                              reason: str | None = None, evidence: str | None = None,
                              evidence_file: str | None = None) -> dict[str, Any]:
    """Keep a site check's finding; ``no_longer_meets`` starts the removal path citing 第二十六条.

    Raises InvalidInput naming the field (unknown finding, a date that is not a date or lies in the
    future, no reason for no_longer_meets), Conflict when the unit's finding is already kept.
    """
    if finding not in FINDINGS:
        raise InvalidInput(f"核查结论应为 {' / '.join(FINDINGS)} / unknown finding {finding!r}", field="spot_finding")
    try:
        day = dt.date.fromisoformat(str(checked_on or ""))
    except ValueError:
        raise InvalidInput("核查日期格式应为 YYYY-MM-DD / not a date", field="spot_checked_on") from None
    if day > china_date(ctx.clock.now()):
        raise InvalidInput("核查日期不能晚于今天 / the check date is in the future", field="spot_checked_on")
    reason = str(reason or "").strip() or None
    if finding == "no_longer_meets" and not reason:
        raise InvalidInput(f"不再符合标准的须写明理由（{ARTICLE}） / a reason is required", field="spot_reason")
    row = _site_row(ctx.session, site)
    if row.finding is not None:
        raise Conflict(f"{row.unit_name} 的核查结论已记录 / the finding is already kept")
    row.finding, row.checked_on, row.reason = finding, day, reason
    row.evidence = str(evidence or "").strip() or None
    row.evidence_file = str(evidence_file or "").strip() or None
    row.recorded_by, row.recorded_at = ctx.actor, ctx.clock.now()
    removals: list[dict[str, Any]] = []
    if finding == "no_longer_meets":
        what = f"{row.unit_name}（{row.credit_code}）经{day}现场抽查复核不再符合绿色制造相关标准：{reason}"
        removals = record_pending_removals(ctx, row.credit_code, article=ARTICLE, ground_item=None,
                                           reason=f"{what}（{ARTICLE}）")
        row.pending_removals = [r["id"] for r in removals]
        told = set()
        for removal in removals:
            role = "city_official" if removal["level"] == "city" else "province_official"
            if (role, removal["scope"]) not in told:
                told.add((role, removal["scope"]))
                queue_report(ctx, role=role, scope=removal["scope"], task_name="现场抽查复核",
                             message_zh=f"{what}，在新发布名单时予以移出并公告（{ARTICLE}）")
        if any(l.level == "national" for l in current_listings(ctx.session, row.credit_code)):
            queue_report(ctx, role="province_official", scope=PROVINCE, task_name="现场抽查复核",
                         message_zh=f"国家层面绿色制造单位{what}，请按要求及时上报工业和信息化部（{ARTICLE}第二款）")
    ctx.record("spot_check_finding_recorded", spot_check_id=row.spot_check_id, unit_id=row.id,
               credit_code=row.credit_code, finding=finding, checked_on=day.isoformat(), reason=reason,
               pending_removals=[r["id"] for r in removals], article=ARTICLE)
    return {"unit_id": row.id, "credit_code": row.credit_code, "finding": finding,
            "pending_removals": [r["id"] for r in removals]}


@service_task("close_spot_check")
def close_spot_check(ctx: ServiceContext, *, results: list | None = None) -> dict[str, Any]:
    """Every drawn unit checked: the spot check is closed; returns the counts by finding."""
    row = ctx.session.scalar(select(SpotCheck).where(SpotCheck.instance_id == ctx.instance_id))
    if row is None:
        raise NotFound("抽查记录不存在 / no spot check for this instance")
    units = list(ctx.session.scalars(select(SpotCheckUnit).where(SpotCheckUnit.spot_check_id == row.id)))
    counts = {key: sum(u.finding == key for u in units) for key in FINDINGS}
    if row.status == "open":
        row.status, row.closed_at = "closed", ctx.clock.now()
        ctx.record("spot_check_closed", spot_check_id=row.id, **counts, article=ARTICLE)
    return {"spot_check_id": row.id, **counts}


# --------------------------------------------------------------------------- pages

def _sees(actor: Actor, row: SpotCheck) -> bool:
    if actor.has_role("auditor") or actor.holds("province_official", PROVINCE):
        return True
    return actor.holds(row.organiser_role, row.organiser_scope)


def spot_checks_for(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The spot checks ``actor`` may see (the province and auditors all; a city its own), newest first."""
    rows = session.scalars(select(SpotCheck).order_by(SpotCheck.id.desc()).limit(200))
    return [spot_check_view(session, row, units=False) for row in rows if _sees(actor, row)]


def spot_check_view(session: Session, row: SpotCheck, *, units: bool = True) -> dict[str, Any]:
    drawn = list(session.scalars(select(SpotCheckUnit).where(SpotCheckUnit.spot_check_id == row.id)
                                 .order_by(SpotCheckUnit.position)))
    place = "全省" if row.organiser_scope == PROVINCE else division(row.organiser_scope).name
    view = {"id": row.id, "instance_id": row.instance_id, "organiser_scope": row.organiser_scope, "place": place,
            "list_level": row.list_level, "list_level_zh": LIST_LEVELS[row.list_level][0],
            "list_level_en": LIST_LEVELS[row.list_level][1], "list_scope": row.list_scope,
            "unit_type": row.unit_type, "unit_type_zh": UNIT_TYPES[row.unit_type][0],
            "unit_type_en": UNIT_TYPES[row.unit_type][1], "sample_size": row.sample_size,
            "sample_rate": row.sample_rate, "seed": row.seed, "population_size": row.population_size,
            "drawn": len(drawn), "checked": sum(u.finding is not None for u in drawn),
            "no_longer_meets": sum(u.finding == "no_longer_meets" for u in drawn), "status": row.status,
            "started_by": row.started_by, "started_at": row.started_at.isoformat(), "note": row.note,
            "closed_at": row.closed_at.isoformat() if row.closed_at else None}
    if units:
        view["units"] = [{"position": u.position, "credit_code": u.credit_code, "unit_name": u.unit_name,
                          "unit_type": u.unit_type, "finding": u.finding,
                          "finding_zh": FINDINGS[u.finding][0] if u.finding else None,
                          "finding_en": FINDINGS[u.finding][1] if u.finding else None,
                          "checked_on": u.checked_on.isoformat() if u.checked_on else None, "reason": u.reason,
                          "evidence": u.evidence, "evidence_file": u.evidence_file,
                          "pending_removals": u.pending_removals or []} for u in drawn]
        view["population"] = list(row.population)
    return view


def spot_check(session: Session, actor: Actor, spot_check_id: int) -> dict[str, Any]:
    """One spot check with its sample and progress; NotFound, or NotPermitted for another city."""
    row = session.get(SpotCheck, spot_check_id)
    if row is None:
        raise NotFound(f"抽查 {spot_check_id} 不存在 / no such spot check")
    if not _sees(actor, row):
        raise NotPermitted("只能查看本部门组织的抽查 / only the organising department sees this spot check")
    return spot_check_view(session, row)


__all__ += ["spot_check", "draw", "sample_size", "population_of"]
