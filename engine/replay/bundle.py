"""Recorded histories as values: export instances with everything a replay needs, import them elsewhere.

Like Temporal's saved workflow histories, a bundle keeps instances as they were recorded — their
events, stored rows and state, the definition versions they ran on, the users they name and the
calendars their commands read — so that a later version of the code can replay them: a change that
alters what a past command did then fails (``tests/scenarios/test_saved_histories_replay.py`` replays
the bundles in ``tests/fixtures/histories/``). A bundle is JSON (gzip-compressed on disk), with
``format`` 1; datetimes are ISO text, binary columns base64.

``export_bundle(engine, ids)`` reads; ``import_bundle(engine, bundle)`` writes into an empty database
(ids kept) and returns the instance ids.
"""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Date, LargeBinary, insert, select

from engine.db import UTCDateTime
from engine.models import (
    BufferedMessage,
    CalendarYearRecord,
    DefinitionFile,
    DefinitionVersion,
    Event,
    HumanTask,
    InstanceFacet,
    MessageWait,
    ProcessInstance,
    ProcessVersion,
    RoleGrant,
    Timer,
    UserAccount,
)
from engine.replay.models import ReplayCalendar

FORMAT = 1
# In the order they are written (a row's foreign keys point to rows written before it).
TABLES = [DefinitionVersion, DefinitionFile, ProcessVersion, UserAccount, RoleGrant, CalendarYearRecord, ReplayCalendar,
          ProcessInstance, InstanceFacet, Event, HumanTask, Timer, MessageWait, BufferedMessage]
_BY_INSTANCE = (InstanceFacet, Event, HumanTask, Timer, MessageWait, BufferedMessage)
_USER_KEYS = ("to", "from", "delegate", "owner")


def _dump(model, row) -> dict[str, Any]:
    out = {}
    for column in model.__table__.columns:
        value = getattr(row, column.key)
        if value is not None and isinstance(column.type, LargeBinary):
            value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, (dt.datetime, dt.date)):
            value = value.isoformat()
        out[column.name] = value
    return out


def _load(model, values: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for column in model.__table__.columns:
        value = values.get(column.name)
        if value is not None:
            if isinstance(column.type, LargeBinary):
                value = base64.b64decode(value)
            elif isinstance(column.type, UTCDateTime):
                value = dt.datetime.fromisoformat(value)
            elif isinstance(column.type, Date):
                value = dt.date.fromisoformat(value)
        row[column.name] = value
    return row


def _numbering(session, versions: set[int]) -> list[ProcessVersion]:
    """The process versions that number the processes of ``versions`` (a migration records them)."""
    found: dict[int, ProcessVersion] = {}
    for version in session.scalars(select(DefinitionVersion).where(DefinitionVersion.id.in_(versions))):
        for process_id in version.meta.get("executable", []):
            row = session.scalar(select(ProcessVersion).where(
                ProcessVersion.process_id == process_id, ProcessVersion.definition_version_id <= version.id)
                .order_by(ProcessVersion.number.desc()).limit(1))
            if row is not None:
                found[row.id] = row
    return list(found.values())


def export_bundle(engine, instance_ids: list[int], *, note: str = "") -> dict[str, Any]:
    """The instances ``instance_ids`` with everything their replay needs, as a JSON-ready dict."""
    bundle: dict[str, Any] = {"format": FORMAT, "note": note, "tables": {}}
    with engine.db.session() as session:
        instances = session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(instance_ids))).all()
        events = session.scalars(select(Event).where(Event.instance_id.in_(instance_ids))).all()
        versions = {i.version_id for i in instances}
        usernames: set[str] = set()
        for event in events:
            payload = json.loads(event.payload)
            versions |= {payload.get(k) for k in ("version_id", "from_version", "to_version")
                         if event.type in ("instance_started", "instance_migrated") and isinstance(payload.get(k), int)}
            usernames.add(event.actor)
            for key in _USER_KEYS:
                value = payload.get(key)
                usernames.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
        users = session.scalars(select(UserAccount).where(UserAccount.username.in_(usernames))).all()
        numbering = _numbering(session, versions)
        versions |= {row.definition_version_id for row in numbering}
        rows = {
            ProcessVersion: numbering,
            DefinitionVersion: session.scalars(select(DefinitionVersion).where(DefinitionVersion.id.in_(versions))),
            DefinitionFile: session.scalars(select(DefinitionFile).where(DefinitionFile.version_id.in_(versions))),
            UserAccount: users,
            RoleGrant: session.scalars(select(RoleGrant).where(RoleGrant.user_id.in_([u.id for u in users]))),
            CalendarYearRecord: session.scalars(select(CalendarYearRecord)),
            ReplayCalendar: session.scalars(select(ReplayCalendar)),
            ProcessInstance: instances,
        }
        for model in _BY_INSTANCE:
            rows[model] = session.scalars(select(model).where(model.instance_id.in_(instance_ids)))
        for model in TABLES:
            bundle["tables"][model.__tablename__] = [_dump(model, row) for row in rows[model]]
    for user in bundle["tables"]["user_account"]:
        user["password_hash"] = None  # never carried along
    return bundle


def import_bundle(engine, bundle: dict[str, Any]) -> list[int]:
    """Write a bundle into an empty database (ids kept); returns its instance ids, oldest first.

    ValueError for a bundle of another format."""
    if bundle.get("format") != FORMAT:
        raise ValueError(f"a history bundle of format {bundle.get('format')!r}; this platform reads format {FORMAT}")
    with engine.db.unit_of_work() as session:
        for model in TABLES:
            values = [_load(model, row) for row in bundle["tables"].get(model.__tablename__, [])]
            if values:
                session.execute(insert(model.__table__), values)
    return sorted(row["id"] for row in bundle["tables"]["process_instance"])


def write(path: str | Path, bundle: dict[str, Any]) -> None:
    text = json.dumps(bundle, ensure_ascii=False, sort_keys=True, indent=1)
    Path(path).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def read(path: str | Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(Path(path).read_bytes()))


__all__ = ["FORMAT", "export_bundle", "import_bundle", "read", "write"]
