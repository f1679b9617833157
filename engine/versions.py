"""Process versions and the deployment log.

A definition version is the whole immutable bundle that instances pin. Owners think in versions
of *one* process: ``process_version`` numbers them per process key. At each deploy, every
executable process whose content changed gets the next number (the first deploy of a process
is 1). A process's content is, by SHA-256:

- the bytes of its .bpmn file,
- the bytes of every form file its tasks name (``formJsonSchemaFilename``, ``formUiSchemaFilename``;
  deploy's meta knows which), and
- the content of every process it calls (``callActivity calledElement``), recursively,

so changing one field of a form used by two processes bumps both, and changing a called
sub-process bumps its callers; an unrelated process keeps its number. The content is computed
from the stored file hashes (``definition_file.sha256``), never from the bytes.

``deployment`` is the append-only deployment log: one row per deploy that passed its checks,
also for identical content (``created`` false). Nothing updates or deletes process versions or
deployment rows.

Bundles deployed before process versions existed are numbered by ``backfill`` (``greenflow
init`` and every deploy run it): each definition version not yet covered, oldest first, as if
it had just been deployed, with its own deployer and time and no note.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.models import DefinitionFile, DefinitionVersion, Deployment, ProcessInstance, ProcessVersion

SOURCES = ("cli", "modeler", "api", "upload")
FINISHED = ("completed", "cancelled")
# PostgreSQL advisory lock serialising deploys ("gfdeploy"); SQLite serialises with BEGIN IMMEDIATE.
DEPLOY_LOCK_KEY = 0x6766646570


@dataclass(frozen=True)
class VersionView:
    process_id: str
    number: int
    definition_version: int
    content_sha256: str
    deployed_by: str
    deployed_at: dt.datetime
    note: str | None
    id: int


def lock_deploys(session: Session) -> None:
    """Make concurrent deploys take turns (numbers and the 'newest bundle' must not race)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DEPLOY_LOCK_KEY})


def form_names(meta: dict, process_id: str) -> set[str]:
    """The form names (as the tasks give them) used by one process's own tasks."""
    tasks = meta.get("processes", {}).get(process_id, {}).get("tasks", {})
    return {t[key] for t in tasks.values() for key in ("form", "ui") if t.get(key)}


def called_processes(meta: dict, process_id: str) -> set[str]:
    tasks = meta.get("processes", {}).get(process_id, {}).get("tasks", {})
    return {t["called"] for t in tasks.values() if t.get("called")}


def form_file(name: str, paths) -> str | None:
    """The bundle path of a form a task names (``review.schema.json`` → ``forms/review.schema.json``)."""
    for candidate in (name, f"forms/{name}"):
        if candidate in paths:
            return candidate
    return None


def content_shas(meta: dict, file_shas: dict[str, str]) -> dict[str, str]:
    """process id -> SHA-256 of its content (its file, its forms, the processes it calls)."""
    processes = meta.get("processes", {})
    done: dict[str, str] = {}

    def content(pid: str, stack: tuple[str, ...]) -> str:
        if pid in done:
            return done[pid]
        process = processes[pid]
        parts = [f"file {process['file']} {file_shas.get(process['file'], '-')}"]
        for name in sorted(form_names(meta, pid)):
            path = form_file(name, file_shas)
            parts.append(f"form {name} {file_shas.get(path, '-') if path else '-'}")
        for called in sorted(called_processes(meta, pid)):
            if called in processes and called not in stack:
                parts.append(f"calls {called} {content(called, stack + (called,))}")
            else:  # not in the bundle (deploy refuses that), or a cycle: its name stands for it
                parts.append(f"calls {called}")
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
        if not stack[:-1]:  # only memoise results computed without a cycle cut short above them
            done[pid] = digest
        return digest

    return {pid: content(pid, (pid,)) for pid in processes}


def _file_shas(session: Session, version_id: int) -> dict[str, str]:
    return dict(session.execute(select(DefinitionFile.path, DefinitionFile.sha256)
                                .where(DefinitionFile.version_id == version_id)).all())


def latest_rows(session: Session, process_ids=None) -> dict[str, ProcessVersion]:
    """process id -> its newest process version row."""
    newest = select(ProcessVersion.process_id, func.max(ProcessVersion.number).label("n")) \
        .group_by(ProcessVersion.process_id)
    if process_ids is not None:
        newest = newest.where(ProcessVersion.process_id.in_(list(process_ids)))
    sub = newest.subquery()
    rows = session.scalars(select(ProcessVersion).join(
        sub, (ProcessVersion.process_id == sub.c.process_id) & (ProcessVersion.number == sub.c.n)))
    return {row.process_id: row for row in rows}


def record(session: Session, version: DefinitionVersion, *, deployed_by: str, now: dt.datetime,
           note: str | None) -> list[ProcessVersion]:
    """Append the process versions a newly stored definition version brings; returns them."""
    executable = list(version.meta.get("executable", []))
    shas = content_shas(version.meta, _file_shas(session, version.id))
    latest = latest_rows(session, executable)
    added = []
    for pid in sorted(executable):
        previous = latest.get(pid)
        if previous is not None and previous.content_sha256 == shas[pid]:
            continue
        row = ProcessVersion(process_id=pid, number=(previous.number + 1) if previous else 1,
                             definition_version_id=version.id, content_sha256=shas[pid],
                             deployed_by=deployed_by, deployed_at=now, note=note)
        session.add(row)
        added.append(row)
    session.flush()
    return added


def backfill(session: Session) -> int:
    """Number the processes of definition versions deployed before process versions existed.

    Covers every definition version newer than the newest one any process version points to,
    oldest first; returns how many process versions were added. Idempotent.
    """
    covered = session.scalar(select(func.max(ProcessVersion.definition_version_id))) or 0
    added = 0
    for version in session.scalars(select(DefinitionVersion).where(DefinitionVersion.id > covered)
                                   .order_by(DefinitionVersion.id)):
        added += len(record(session, version, deployed_by=version.deployed_by, now=version.deployed_at, note=None))
    return added


def log(session: Session, *, version: DefinitionVersion, deployed_by: str, now: dt.datetime, note: str | None,
        created: bool, source: str) -> Deployment:
    """Append one row to the deployment log."""
    if source not in SOURCES:
        raise ValueError(f"unknown deployment source {source!r}")
    row = Deployment(definition_version_id=version.id, deployed_by=deployed_by, deployed_at=now, note=note,
                     bundle_sha256=version.sha256, created=created, source=source)
    session.add(row)
    session.flush()
    return row


# --- reading ---------------------------------------------------------------------------------

def view(row: ProcessVersion) -> VersionView:
    return VersionView(process_id=row.process_id, number=row.number, definition_version=row.definition_version_id,
                       content_sha256=row.content_sha256, deployed_by=row.deployed_by, deployed_at=row.deployed_at,
                       note=row.note, id=row.id)


def versions_of(session: Session, process_id: str) -> list[VersionView]:
    """Every version of one process, oldest first."""
    return [view(r) for r in session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                                             .order_by(ProcessVersion.number))]


def version_of(session: Session, process_id: str, number: int) -> VersionView | None:
    row = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                      ProcessVersion.number == number))
    return view(row) if row is not None else None


def latest_of(session: Session, process_id: str) -> VersionView | None:
    row = latest_rows(session, [process_id]).get(process_id)
    return view(row) if row is not None else None


def instance_counts(session: Session, process_id: str) -> dict[int, dict[str, int]]:
    """process version number -> {"running": n, "finished": n} of the instances started on it.

    An instance pins a definition version; it belongs to the newest process version deployed at
    or before that definition version (the process's content did not change in between).
    """
    numbers = sorted(session.execute(select(ProcessVersion.definition_version_id, ProcessVersion.number)
                                     .where(ProcessVersion.process_id == process_id)).all())
    counts: dict[int, dict[str, int]] = {n: {"running": 0, "finished": 0} for _, n in numbers}
    rows = session.execute(select(ProcessInstance.version_id, ProcessInstance.status, func.count())
                           .where(ProcessInstance.process_id == process_id)
                           .group_by(ProcessInstance.version_id, ProcessInstance.status)).all()
    for version_id, status, count in rows:
        number = None
        for definition_version, n in numbers:
            if definition_version <= version_id:
                number = n
        if number is not None:
            counts[number]["finished" if status in FINISHED else "running"] += count
    return counts


def deployments(session: Session, *, limit: int = 100) -> list[Deployment]:
    """The newest rows of the deployment log."""
    return list(session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(limit)))
