"""The scratch database a replay re-executes on: empty, in memory, filled only with what the record names.

- the definition versions the instance ran on (copied rows and files, checked against their
  sha256: never the current ``bpmn/`` folder), migrations' targets included;
- the users who acted or were named (转办, 委派, 抄送 targets), with their grants now and every
  grant the record shows them using (a grant may have been withdrawn since; which grants a user
  held on a past day is not recorded, so replay takes the record's word for it);
- the working-day calendar each command read (``replay_calendar``, by the fingerprint of its step).

It shares the source engine's parsed specs (versions are immutable, so parsing them twice would
only cost time) and runs commands through an ordinary ``WorkflowEngine`` on a frozen clock.

Creating the schema (some 80 tables) and copying a version's rows cost more than replaying a dozen
instances, so each source engine keeps a *template* in memory: the empty schema plus the version
rows copied so far. A scratch database starts as a copy of it (SQLite's backup API, about a
millisecond) — still a database of its own per batch; the in-memory database a finished batch gives
back is reused, its content replaced whole by the template's, so its engine's compiled statements are
kept (a new engine compiles each of the command path's statements again). A version already in the
template is checked against its sha256 again in the source at every batch, as before; only its rows
are not copied again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import threading
import weakref
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import delete, select
from sqlalchemy.pool import StaticPool

from engine.clock import FrozenClock
from engine.db import Base, Database
from engine.errors import NotFound
from engine.identity import PUBLIC, SYSTEM, upsert_user
from engine.models import CalendarYearRecord, DefinitionFile, DefinitionVersion, ProcessVersion, UserAccount
from engine.replay.models import ReplayCalendar

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
IDLE_SCRATCHES = 2  # scratch databases kept per source for the next batches


class ScratchError(Exception):
    """The record names something the scratch database cannot be given (a version, a calendar)."""


class Scratch:
    """One empty scratch database and the engine that replays on it; reused for many instances."""

    def __init__(self, source: "WorkflowEngine"):
        from engine.api import WorkflowEngine

        self.source = source
        self._template = _template_for(source)
        self.db, copied = self._template.take()
        self._copied = copied  # version id -> sha256 of the versions the copy came with
        self.clock = FrozenClock(EPOCH)
        self.engine = WorkflowEngine(self.db, roles=source.roles, clock=self.clock,
                                     script_limits=source.script_limits)
        self.engine.specs = source.specs  # immutable versions: the parsed specs are the same
        self._versions: set[int] = set()
        self._grants: dict[str, set[tuple[str, str]]] = {}
        self._actors: dict = {}
        self._calendars: dict[str, dict] = {}
        self.calendar_fingerprint: str | None = None
        self._copy_current_calendar()

    def dispose(self) -> None:
        self._template.give_back(self.db)

    # --- definition versions --------------------------------------------------------------
    def ensure_versions(self, version_ids: Iterable[int]) -> None:
        """Copy these definition versions (ids kept) from the source, with the process versions that number
        their processes (and the definition versions those point to); ScratchError if one is missing or its
        files no longer match its sha256."""
        wanted = sorted(set(v for v in version_ids if v is not None) - self._versions)
        if not wanted:
            return
        numbering: list[ProcessVersion] = []
        with self.source.db.session() as source:
            rows = []
            for version_id in wanted:
                version = source.get(DefinitionVersion, version_id)
                if version is None:
                    raise ScratchError(f"definition version {version_id} is not stored any more")
                files = dict(source.execute(select(DefinitionFile.path, DefinitionFile.content)
                                            .where(DefinitionFile.version_id == version_id)).all())
                if bundle_sha256(files) != version.sha256:
                    raise ScratchError(f"the files of definition version {version_id} do not match its sha256")
                rows.append((version, files))
                for process_id in version.meta.get("executable", []):
                    found = source.scalar(select(ProcessVersion).where(
                        ProcessVersion.process_id == process_id, ProcessVersion.definition_version_id <= version_id)
                        .order_by(ProcessVersion.number.desc()).limit(1))
                    if found is not None:
                        source.expunge(found)
                        numbering.append(found)
            for version, _ in rows:
                source.expunge(version)
        # Rows the copy came with (checked just now) are there already; the others go into this
        # database and into the template, for the next batches.
        stale = [v.id for v, _ in rows if v.id in self._copied and self._copied[v.id] != v.sha256]
        if stale:  # the source was emptied and deployed anew under the same engine: start the template over
            _forget_template(self.source)
            with self.db.unit_of_work() as target:
                target.execute(delete(ProcessVersion).where(ProcessVersion.definition_version_id.in_(stale)))
                target.execute(delete(DefinitionFile).where(DefinitionFile.version_id.in_(stale)))
                target.execute(delete(DefinitionVersion).where(DefinitionVersion.id.in_(stale)))
            for version_id in stale:
                del self._copied[version_id]
        missing = [(v, f) for v, f in rows if self._copied.get(v.id) != v.sha256]
        if missing:
            _write_versions(self.db, missing)
            self._template.add_versions(missing)
        self._versions.update(wanted)
        # The process version numbers a migration records (engine.migration.plan.number_of).
        self.ensure_versions(row.definition_version_id for row in numbering)
        _write_numbering(self.db, numbering)
        self._template.add_numbering(numbering)

    # --- users -------------------------------------------------------------------------------
    def ensure_users(self, needed: dict[str, set[tuple[str, str]]]) -> None:
        """Every named user with its grants now plus the grants in ``needed`` (username -> grants)."""
        needed = {u: g for u, g in needed.items() if u and not u.startswith((f"{SYSTEM}:", f"{PUBLIC}:"))}
        new = [u for u in needed if u not in self._grants]
        names: dict[str, str] = {}
        if new:
            with self.source.db.session() as source:
                for account in source.scalars(select(UserAccount).where(UserAccount.username.in_(new))):
                    self._grants[account.username] = {(g.role, g.scope) for g in account.grants}
                    names[account.username] = account.display_name
        changed = [u for u, grants in needed.items() if u in new or not grants <= self._grants[u]]
        if not changed:
            return
        with self.db.unit_of_work() as target:
            for username in changed:
                self._grants[username] = self._grants.get(username, set()) | needed[username]
                existing = target.scalar(select(UserAccount.display_name).where(UserAccount.username == username))
                upsert_user(target, username, display_name=names.get(username) or existing or username,
                            grants=sorted(self._grants[username]))
                self._actors.pop(username, None)

    # --- calendars -----------------------------------------------------------------------------
    def _copy_current_calendar(self) -> None:
        with self.source.db.session() as source, self.db.unit_of_work() as target:
            for record in source.scalars(select(CalendarYearRecord)):
                target.add(CalendarYearRecord(year=record.year, data=record.data, source=record.source,
                                              sha256=record.sha256, imported_by=record.imported_by,
                                              imported_at=record.imported_at))

    def install_calendar(self, fingerprint: str | None) -> None:
        """Make the calendar a command read (by its step's fingerprint) the scratch database's calendar."""
        if fingerprint is None or fingerprint == self.calendar_fingerprint:
            return
        years = self._calendars.get(fingerprint)
        if years is None:
            with self.source.db.session() as source:
                row = source.get(ReplayCalendar, fingerprint)
            if row is None:
                raise ScratchError(f"the calendar {fingerprint} a command read is not kept in replay_calendar")
            years = self._calendars[fingerprint] = row.years
        with self.db.unit_of_work() as target:
            target.execute(delete(CalendarYearRecord))
            for year, entry in sorted(years.items()):
                target.add(CalendarYearRecord(year=int(year), data=entry["data"], source=entry["source"],
                                              sha256=entry["sha256"], imported_by="replay", imported_at=EPOCH))
        self.calendar_fingerprint = fingerprint

    def actor(self, username: str):
        """The scratch database's actor (cached until its grants change)."""
        actor = self._actors.get(username)
        if actor is None:
            try:
                actor = self.engine.actor(username)
            except NotFound:  # a user the record names but the source no longer has: as the record shows them
                self.ensure_users({username: set()})
                actor = self.engine.actor(username)
            self._actors[username] = actor
        return actor


def _write_versions(db: Database, rows: list[tuple[DefinitionVersion, dict[str, bytes]]]) -> None:
    with db.unit_of_work() as target:
        for version, files in rows:
            target.add(DefinitionVersion(id=version.id, sha256=version.sha256, deployed_by=version.deployed_by,
                                         deployed_at=version.deployed_at, meta=version.meta))
            target.flush()
            for path, content in sorted(files.items()):
                target.add(DefinitionFile(version_id=version.id, path=path, content=content,
                                          sha256=hashlib.sha256(content).hexdigest()))


def _write_numbering(db: Database, numbering: list[ProcessVersion]) -> None:
    if not numbering:
        return
    with db.unit_of_work() as target:
        present = set(target.scalars(select(ProcessVersion.id).where(
            ProcessVersion.id.in_([row.id for row in numbering]))))
        for row in numbering:
            if row.id not in present:
                present.add(row.id)
                target.add(ProcessVersion(id=row.id, process_id=row.process_id, number=row.number,
                                          definition_version_id=row.definition_version_id,
                                          content_sha256=row.content_sha256, deployed_by=row.deployed_by,
                                          deployed_at=row.deployed_at, note=row.note))


class _Template:
    """The empty schema and the version rows copied so far from one source, in memory."""

    def __init__(self):
        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        self.db = Database("sqlite://", poolclass=StaticPool, creator=lambda: self._connection)
        Base.metadata.create_all(self.db.engine)
        self.versions: dict[int, str] = {}  # version id -> sha256
        self._idle: list[Database] = []  # scratch databases given back, to be reused
        self._connections: dict[int, sqlite3.Connection] = {}  # id of a scratch Database -> its connection
        self._lock = threading.Lock()

    def take(self) -> tuple[Database, dict[int, str]]:
        """A scratch database holding just what the template holds, and the versions it came with.

        A database given back is reused (its engine has compiled the command path's statements
        already): its content is replaced whole by the template's."""
        with self._lock:
            db = self._idle.pop() if self._idle else None
            if db is None:
                connection = sqlite3.connect(":memory:", check_same_thread=False)
                db = Database("sqlite://", poolclass=StaticPool, creator=lambda: connection)
                self._connections[id(db)] = connection
            self._connection.backup(self._connections[id(db)])
            return db, dict(self.versions)

    def give_back(self, db: Database) -> None:
        with self._lock:
            if len(self._idle) < IDLE_SCRATCHES:
                self._idle.append(db)
                return
            self._connections.pop(id(db), None)
        db.dispose()

    def add_versions(self, rows: list[tuple[DefinitionVersion, dict[str, bytes]]]) -> None:
        with self._lock:
            rows = [(v, f) for v, f in rows if v.id not in self.versions]
            if rows:
                _write_versions(self.db, rows)
                self.versions.update({v.id: v.sha256 for v, _ in rows})

    def add_numbering(self, numbering: list[ProcessVersion]) -> None:
        with self._lock:
            _write_numbering(self.db, numbering)


_TEMPLATES: "weakref.WeakKeyDictionary[WorkflowEngine, _Template]" = weakref.WeakKeyDictionary()
_TEMPLATES_LOCK = threading.Lock()


def _forget_template(source: "WorkflowEngine") -> None:
    with _TEMPLATES_LOCK:
        _TEMPLATES.pop(source, None)


def _template_for(source: "WorkflowEngine") -> _Template:
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(source)
        if template is None:
            template = _TEMPLATES[source] = _Template()
        return template


def bundle_sha256(files: dict[str, bytes]) -> str:
    """The sha256 deploy gives a bundle (``engine.deploy.Bundle.sha256``)."""
    from engine.deploy import Bundle

    return Bundle(files).sha256

