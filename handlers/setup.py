"""Bring a database up: schema (Alembic), then the org units of Guizhou from ``config/divisions.csv``."""
from __future__ import annotations

from sqlalchemy import select

from engine import calendar, schema
from engine.api import WorkflowEngine
from engine.models import OrgUnit
from handlers._config import read_config_csv


def init_database(engine: WorkflowEngine) -> int:
    """Upgrade the schema (and number the processes of bundles deployed before process versions:
    engine.versions), load the shipped working-day calendars of years not yet stored, and upsert
    the divisions as org units; returns how many org units exist."""
    schema.upgrade(engine.db)
    engine.backfill_versions()  # process versions of bundles deployed before they existed
    with engine.db.unit_of_work() as session:
        calendar.seed_from_config(session, by="greenflow init", now=engine.clock.now())
    with engine.db.unit_of_work() as session:
        existing = {o.code: o for o in session.scalars(select(OrgUnit))}
        for row in read_config_csv("divisions.csv"):
            unit = existing.get(row["code"])
            if unit is None:
                unit = OrgUnit(code=row["code"])
                session.add(unit)
            unit.name, unit.level, unit.parent_code = row["name"], row["level"], row["parent_code"] or None
        session.flush()
        return len(existing) or len(read_config_csv("divisions.csv"))
