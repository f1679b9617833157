"""Service tasks of ``green_application``: eligibility, outcome and listing (第十四–二十三条).

Each task writes through the command's session and never commits: the command runner
does, so a failing command leaves no half-written rows.  Times come from ``ctx.clock``
and legal dates are its China calendar date.  Notices and objections are in
``handlers.notices``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import InvalidInput
from engine.services import ServiceContext, service_task
from handlers.application import PARK_LEVELS, TARGET_LEVELS, normalise_application
from handlers.divisions import PROVINCE, city_of
from handlers.industries import industry_table
from handlers.records import ApplicationRecord, Listing, Unit
from handlers.rules import check_application

__all__ = [
    "OUTCOMES", "check_eligibility", "record_outcome", "record_listing", "upsert_unit", "upsert_application_record",
]

# The ends of green_application (docs/application-process.md, step 9).
OUTCOMES = frozenset({
    "refused", "rejected", "listed_city", "listed_province", "listed_national",
    "not_recommended", "miit_not_listed", "removed_after_notice",
})


def upsert_unit(session: Session, app: dict[str, Any], *, now: dt.datetime) -> Unit:
    """The Unit for a normalised application, created or brought up to date with it.

    An unknown industry code or park level is stored as None: the rules refuse it, and
    the column only keeps values that mean something.
    """
    unit = session.scalar(select(Unit).where(Unit.credit_code == app["credit_code"]))
    if unit is None:
        unit = Unit(credit_code=app["credit_code"], created_at=now)
        session.add(unit)
    is_park = app["unit_type"] == "park"
    industry = industry_table().get(str(app.get("industry_code") or "").strip())
    unit.name = app["unit_name"]
    unit.unit_type = app["unit_type"]
    unit.county_code = app["county_code"]
    unit.industry_code = industry.code if industry and not is_park else None
    unit.park_level = app.get("park_level") if is_park and app.get("park_level") in PARK_LEVELS else None
    return unit


def upsert_application_record(
    session: Session, instance_id: int, app: dict[str, Any], *, now: dt.datetime
) -> ApplicationRecord:
    """The ApplicationRecord of ``instance_id``, created at first sight and kept in step with the data."""
    record = session.scalar(select(ApplicationRecord).where(ApplicationRecord.instance_id == instance_id))
    if record is None:
        record = ApplicationRecord(instance_id=instance_id, submitted_at=now, status="open")
        session.add(record)
    record.credit_code = app["credit_code"]
    record.unit_type = app["unit_type"]
    record.target_level = app["target_level"]
    record.year = app["year"]
    record.evaluation_mode = app["evaluation_mode"]
    record.evaluator_id = app.get("evaluator_id")
    return record


@service_task("check_eligibility")
def check_eligibility(ctx: ServiceContext, *, application: dict[str, Any]) -> dict[str, Any]:
    """Run every rule (handlers.rules) and register the unit and this application.

    Returns ``{"eligible", "violations": [...], "flags": [...]}``, items shaped
    ``{rule, article, field, message_zh, message_en}``.  The rules run before this
    instance's record is written, so it never counts against itself (第三十一条).
    Raises InvalidInput for malformed data (see ``normalise_application``).
    """
    app = normalise_application(application)
    now = ctx.clock.now()
    result = check_application(ctx.session, app, china_date(now))
    upsert_unit(ctx.session, app, now=now)
    upsert_application_record(ctx.session, ctx.instance_id, app, now=now)
    ctx.record(
        "eligibility_checked",
        credit_code=app["credit_code"],
        eligible=result.eligible,
        violations=[v.rule for v in result.violations],
        flags=[f.rule for f in result.flags],
    )
    return result.to_dict()


@service_task("record_outcome")
def record_outcome(
    ctx: ServiceContext, *, application: dict[str, Any], outcome: str, reason: str | None = None
) -> dict[str, Any]:
    """Close this instance's ApplicationRecord with ``outcome`` (one of OUTCOMES) and its reason.

    Calling it again overwrites the outcome (the last end reached wins).
    Raises InvalidInput(field="outcome") for an outcome the contract does not know.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"未知的结果 {outcome!r} / unknown outcome {outcome!r}", field="outcome")
    app = normalise_application(application)
    now = ctx.clock.now()
    record = upsert_application_record(ctx.session, ctx.instance_id, app, now=now)
    record.status = "decided"
    record.outcome = outcome
    record.outcome_reason = reason or None
    record.decided_at = now
    ctx.record("outcome_recorded", credit_code=app["credit_code"], outcome=outcome, reason=reason)
    return {"outcome": outcome, "outcome_reason": reason, "decided_at": now.isoformat()}


def _listing_scope(level: str, county_code: str) -> str:
    return {"city": city_of(county_code), "province": PROVINCE, "national": "national"}[level]


@service_task("record_listing")
def record_listing(ctx: ServiceContext, *, application: dict[str, Any], level: str) -> dict[str, Any]:
    """Put the unit on the ``level`` list: scope is its city (第七条), 520000 or "national".

    Idempotent per instance and level: a retried or replayed task returns the listing it
    made the first time instead of listing the unit twice.
    Raises InvalidInput(field="level") for a level other than city / province / national.
    """
    if level not in TARGET_LEVELS:
        raise InvalidInput(f"未知的名单层级 {level!r} / unknown list level {level!r}", field="level")
    app = normalise_application(application)
    listing = ctx.session.scalar(
        select(Listing).where(Listing.instance_id == ctx.instance_id, Listing.level == level)
    )
    if listing is None:
        listing = Listing(
            credit_code=app["credit_code"],
            unit_type=app["unit_type"],
            level=level,
            scope=_listing_scope(level, app["county_code"]),
            year=app["year"],
            status="listed",
            listed_at=ctx.clock.now(),
            instance_id=ctx.instance_id,
        )
        ctx.session.add(listing)
        ctx.session.flush()
        ctx.record("listing_recorded", credit_code=listing.credit_code, level=level,
                   scope=listing.scope, year=listing.year)
    return {
        "id": listing.id,
        "level": listing.level,
        "scope": listing.scope,
        "year": listing.year,
        "listed_at": listing.listed_at.isoformat(),
    }
