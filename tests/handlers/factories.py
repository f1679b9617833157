"""Builders for domain rows and application data, with sensible Guizhou defaults."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from engine.clock import UTC
from handlers.rules.eligibility_examples import sample_evidence
from handlers.records import ApplicationRecord, Evaluator, EvaluatorBan, Listing, NegativeRecord, Unit
from handlers.uscc import make_uscc

NOW = "2026-05-11T02:00:00+00:00"  # 10:00 in Guiyang
TODAY = dt.date(2026, 5, 11)
NOW_DT = dt.datetime.fromisoformat(NOW)
COUNTY = "520302"  # 红花岗区, 遵义市


def uscc(n: int) -> str:
    """A valid credit code numbered ``n`` (distinct for distinct n)."""
    return make_uscc(f"91520302MA{n:07d}")


def application(**overrides: Any) -> dict[str, Any]:
    """A factory applying for the city list, eligible on every rule."""
    data: dict[str, Any] = {
        "unit_type": "factory", "target_level": "city", "year": 2026,
        "unit_name": "遵义绿色示范有限公司", "credit_code": uscc(1),
        "county_code": COUNTY, "industry_code": "26", "park_level": None,
        "energy_tce": 1200.0, "energy_cert": False,
        "evaluation_mode": "self", "evaluator_id": None,
        "report_file": "report.pdf", "contact_name": "张三", "contact_phone": "0851-0000000",
    }
    data.update(overrides)
    # 第十、十一、十二条 evidence of the final unit type, unless given (docs/eligibility.md).
    evidence = sample_evidence(data["unit_type"], energy_tce=data["energy_tce"], energy_cert=data["energy_cert"])
    data.update({k: v for k, v in evidence.items() if k not in overrides})
    return data


def add_unit(session: Session, credit_code: str, *, unit_type: str = "factory", county_code: str = COUNTY) -> Unit:
    unit = Unit(credit_code=credit_code, name=f"单位{credit_code[-4:]}", unit_type=unit_type,
                county_code=county_code, industry_code="26" if unit_type != "park" else None,
                park_level="provincial" if unit_type == "park" else None, created_at=NOW_DT)
    session.add(unit)
    session.flush()
    return unit


def add_listing(session: Session, credit_code: str, level: str, *, unit_type: str = "factory",
                status: str = "listed", removed_at: dt.datetime | None = None) -> Listing:
    scope = {"city": "520300", "province": "520000", "national": "national"}[level]
    listing = Listing(credit_code=credit_code, unit_type=unit_type, level=level, scope=scope, year=2025,
                      status=status, listed_at=dt.datetime(2025, 6, 1, tzinfo=UTC), removed_at=removed_at)
    session.add(listing)
    session.flush()
    return listing


def add_negative(session: Session, credit_code: str, item: int, occurred_on: dt.date) -> NegativeRecord:
    record = NegativeRecord(credit_code=credit_code, item=item, occurred_on=occurred_on, note="", source="信用中国")
    session.add(record)
    session.flush()
    return record


def add_evaluator(session: Session, evaluator_id: str = "EV001", *, legal_representative: str = "李四") -> Evaluator:
    evaluator = Evaluator(id=evaluator_id, name=f"评价机构{evaluator_id}",
                          legal_representative=legal_representative, national_qualified=True)
    session.add(evaluator)
    session.flush()
    return evaluator


def add_ban(session: Session, evaluator_id: str, starts_on: dt.date, ends_on: dt.date) -> EvaluatorBan:
    ban = EvaluatorBan(evaluator_id=evaluator_id, reason="弄虚作假", article="第三十条",
                       starts_on=starts_on, ends_on=ends_on)
    session.add(ban)
    session.flush()
    return ban


def add_national_evaluations(session: Session, evaluator_id: str, count: int, *, year: int = 2026,
                             first_instance: int = 1000) -> None:
    """``count`` national third-party applications of distinct units evaluated by ``evaluator_id``."""
    for i in range(count):
        session.add(ApplicationRecord(
            instance_id=first_instance + i, credit_code=uscc(5000 + first_instance + i), unit_type="factory",
            target_level="national", year=year, evaluation_mode="third_party", evaluator_id=evaluator_id,
            status="open", submitted_at=NOW_DT,
        ))
    session.flush()
