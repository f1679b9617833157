"""Migration jobs: the picked instances, migrated one by one by the worker, each in its own command.

- ``create_job`` checks the plan, resolves the selection to instances (those running on the source
  version now) and stores the job with one ``pending`` item per instance; nothing moves yet.
- ``run_jobs`` is the worker's job (``engine.worker``, leader only): it takes the oldest unfinished
  job — or one whose runner fell silent for ``STALE_SECONDS`` (a crash) — and migrates its pending
  items in order, each by ``MigrateInstance`` (lock, re-check *now*, move, save, re-derive, record),
  until its time budget is spent; the next tick goes on where it stopped. A migrated item is marked
  in the command's own transaction, so a crash never loses or repeats one; a refused, skipped or
  failed item is marked right after, and a crash before that only makes the next run check it again.
- ``cancel_job``: the job stops before its next instance; instances already migrated stay migrated.
- ``job_view`` / ``jobs_of``: what the pages, the API and ``greenflow migrations show`` display.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sqlalchemy import func, select, update

from engine.clock import isoformat_utc
from engine.errors import Conflict, EngineError, NotFound
from engine.identity import Actor
from engine.incidents import IncidentRaised
from engine.migration import dryrun, plan as plans
from engine.migration.models import MigrationItem, MigrationJob
from engine.migration.reasons import MigrationRefused, Reason
from engine.models import ProcessInstance

log = logging.getLogger(__name__)

STALE_SECONDS = 120  # a runner silent this long is presumed dead; another takes its job over
BATCH = 50  # items read at a time
UNFINISHED = ("pending", "running")
SKIP_CODES = ("already_on_target",)


def create_job(engine, *, process_id: str, from_number: int, to_number: int, mapping: Any = None,
               selection: dryrun.Selection | None = None, created_by: str, note: str | None = None) -> dict[str, Any]:
    """Store a job for the selected running instances on ``from_number``; returns its view.

    NotFound / InvalidInput as ``plan.build``; Conflict when no running instance is selected.
    """
    selection = selection or dryrun.Selection()
    now = engine.clock.now()
    with engine.db.session() as session:
        plan = plans.build(session, engine.specs, process_id, from_number, to_number, mapping)
        instance_ids = dryrun.selected_ids(session, plan, selection)
    if not instance_ids:
        raise Conflict("没有符合条件的运行中实例 / no running instance on the source version matches the selection",
                       fields={"selection": "empty"})
    with engine.db.unit_of_work() as session:
        job = MigrationJob(process_id=process_id, from_number=from_number, to_number=to_number,
                           to_version=plan.target.definition_version, mapping=dict(plan.mapping),
                           selection=selection.to_dict(), note=note, status="pending", created_by=created_by,
                           created_at=now)
        session.add(job)
        session.flush()
        session.execute(MigrationItem.__table__.insert(), [
            {"job_id": job.id, "instance_id": iid, "status": "pending", "reasons": []} for iid in instance_ids])
        job_id = job.id
    return job_view(engine, job_id)


def cancel_job(engine, job_id: int, *, by: str) -> dict[str, Any]:
    """Stop a job before its next instance; its pending items become ``cancelled``. Conflict if it finished."""
    now = engine.clock.now()
    with engine.db.unit_of_work() as session:
        job = _job(session, job_id, lock=True)
        if job.status not in UNFINISHED:
            raise Conflict(f"迁移任务 {job_id} 已{_STATUS_ZH[job.status]} / migration job {job_id} is already {job.status}")
        job.status, job.cancelled_by, job.cancelled_at, job.finished_at, job.runner = "cancelled", by, now, now, None
        session.execute(update(MigrationItem).where(MigrationItem.job_id == job_id, MigrationItem.status == "pending")
                        .values(status="cancelled", finished_at=now))
    return job_view(engine, job_id)


# --- the worker's job ------------------------------------------------------------------------------

def run_jobs(engine, *, runner: str, budget_seconds: float = 2.0) -> int:
    """Migrate pending items of unfinished jobs for about ``budget_seconds``; returns how many were handled."""
    handled = 0
    ends = time.perf_counter() + budget_seconds
    while time.perf_counter() < ends:
        job = _claim(engine, runner)
        if job is None:
            break
        count, more = _work(engine, job, runner, ends)
        handled += count
        if more:
            break
    return handled


def run_job(engine, job_id: int, *, runner: str) -> dict[str, Any]:
    """Run one job to its end in this process (``greenflow migrate run --wait``); returns its view."""
    while True:
        job = _claim(engine, runner, job_id=job_id)
        if job is None:
            return job_view(engine, job_id)
        _, more = _work(engine, job, runner, None)
        if not more:
            return job_view(engine, job_id)


def _work(engine, job: dict[str, Any], runner: str, ends: float | None) -> tuple[int, bool]:
    """Migrate the job's pending items until none is left, the job is cancelled or taken over, or ``ends``;
    returns (items handled, whether the job still has work left for this runner)."""
    handled = 0
    beat = time.perf_counter()
    while True:
        items = _pending(engine, job["id"])
        if not items:
            _finish(engine, job["id"], runner)
            return handled, False
        for item_id, instance_id in items:
            if ends is not None and time.perf_counter() >= ends:
                return handled, True
            if time.perf_counter() - beat >= 1.0 or handled == 0:
                if not _still_ours(engine, job["id"], runner):  # cancelled or taken over: stop here
                    return handled, False
                beat = time.perf_counter()
            _migrate_item(engine, job, item_id, instance_id)
            handled += 1


def _claim(engine, runner: str, *, job_id: int | None = None) -> dict[str, Any] | None:
    """The oldest unfinished job nobody else runs (or whose runner fell silent), now held by ``runner``."""
    now = engine.clock.now()
    stale = now - dt.timedelta(seconds=STALE_SECONDS)
    with engine.db.unit_of_work() as session:
        query = select(MigrationJob).where(MigrationJob.status.in_(UNFINISHED)).order_by(MigrationJob.id)
        if job_id is not None:
            query = query.where(MigrationJob.id == job_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for job in session.scalars(query):
            if job.runner not in (None, runner) and job.heartbeat_at is not None and job.heartbeat_at > stale:
                continue
            job.runner, job.heartbeat_at, job.status = runner, now, "running"
            job.started_at = job.started_at or now
            return {"id": job.id, "to_version": job.to_version, "mapping": dict(job.mapping),
                    "created_by": job.created_by, "process_id": job.process_id,
                    "source": plans.version_ref(session, job.process_id, job.from_number)}
    return None


def _pending(engine, job_id: int) -> list[tuple[int, int]]:
    with engine.db.session() as session:
        return [tuple(row) for row in session.execute(
            select(MigrationItem.id, MigrationItem.instance_id)
            .where(MigrationItem.job_id == job_id, MigrationItem.status == "pending")
            .order_by(MigrationItem.id).limit(BATCH))]


def _still_ours(engine, job_id: int, runner: str) -> bool:
    """Keep holding the job (heartbeat); False once it was cancelled or taken over."""
    with engine.db.unit_of_work() as session:
        job = session.get(MigrationJob, job_id)
        if job is None or job.status not in UNFINISHED or job.runner != runner:
            return False
        job.heartbeat_at = engine.clock.now()
        return True


def _finish(engine, job_id: int, runner: str) -> None:
    with engine.db.unit_of_work() as session:
        job = session.get(MigrationJob, job_id)
        if job is not None and job.status in UNFINISHED and job.runner == runner:
            job.status, job.finished_at, job.runner = "completed", engine.clock.now(), None


def _migrate_item(engine, job: dict[str, Any], item_id: int, instance_id: int) -> None:
    """One instance: the command marks a migrated item itself; anything else is marked here."""
    from engine.commands import MigrateInstance  # here: engine.commands imports this package's checks

    with engine.db.session() as session:  # the two columns, not the row object: one per instance adds up
        instance = session.execute(select(ProcessInstance.version_id, ProcessInstance.status)
                                   .where(ProcessInstance.id == instance_id)).first()
        on_source = instance is not None and job["source"].covers(instance.version_id)
    if instance is None or instance.status in ("completed", "cancelled"):
        status = instance.status if instance is not None else "deleted"
        return _settle(engine, item_id, "skipped", [Reason("finished", detail=status)])
    if not on_source:
        code = "already_on_target" if instance.version_id == job["to_version"] else "not_on_source"
        return _settle(engine, item_id, "skipped", [Reason(code, detail=str(instance.version_id))])
    command = MigrateInstance(instance_id=instance_id, to_version=job["to_version"], mapping=job["mapping"],
                              job_id=job["id"])
    try:
        engine.execute(command, actor=Actor(username=job["created_by"]))
    except MigrationRefused as refused:
        skipped = all(r.code in SKIP_CODES for r in refused.reasons)
        _settle(engine, item_id, "skipped" if skipped else "refused", refused.reasons)
    except IncidentRaised as err:
        _settle(engine, item_id, "failed", [], message=err.message)
    except EngineError as err:  # the instance finished or was moved meanwhile, a version went missing
        status = "skipped" if isinstance(err, (NotFound, Conflict)) else "failed"
        _settle(engine, item_id, status, [], message=f"{err.code}: {err.message}")
    except Exception as exc:  # a bug: report it on the item and go on with the others
        log.exception("migrating instance %s (job %s) failed", instance_id, job["id"])
        _settle(engine, item_id, "failed", [], message=f"{type(exc).__name__}: {exc}"[:1000])


def _settle(engine, item_id: int, status: str, reasons: list[Reason], *, message: str | None = None) -> None:
    with engine.db.unit_of_work() as session:
        session.execute(update(MigrationItem).where(MigrationItem.id == item_id, MigrationItem.status == "pending")
                        .values(status=status, reasons=[r.to_dict() for r in reasons], message=message,
                                finished_at=engine.clock.now()))


# --- views ---------------------------------------------------------------------------------------

_STATUS_ZH = {"pending": "等待执行", "running": "执行中", "completed": "完成", "cancelled": "取消"}


def _job(session, job_id: int, *, lock: bool = False) -> MigrationJob:
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise NotFound(f"migration job {job_id!r} not found")
    query = select(MigrationJob).where(MigrationJob.id == job_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    job = session.scalar(query)
    if job is None:
        raise NotFound(f"迁移任务 {job_id} 不存在 / migration job {job_id} not found")
    return job


def _counts(session, job_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {jid: {} for jid in job_ids}
    for job_id, status, n in session.execute(
            select(MigrationItem.job_id, MigrationItem.status, func.count())
            .where(MigrationItem.job_id.in_(job_ids)).group_by(MigrationItem.job_id, MigrationItem.status)):
        counts[job_id][status] = n
    return counts


def _view(job: MigrationJob, counts: dict[str, int]) -> dict[str, Any]:
    from engine.migration.models import ITEM_STATUSES

    full = {status: counts.get(status, 0) for status in ITEM_STATUSES}
    return {"id": job.id, "process_id": job.process_id, "from_number": job.from_number, "to_number": job.to_number,
            "to_version": job.to_version, "mapping": dict(job.mapping), "selection": dict(job.selection),
            "note": job.note, "status": job.status, "created_by": job.created_by,
            "created_at": isoformat_utc(job.created_at), "started_at": isoformat_utc(job.started_at),
            "finished_at": isoformat_utc(job.finished_at), "cancelled_by": job.cancelled_by,
            "cancelled_at": isoformat_utc(job.cancelled_at), "total": sum(full.values()), "counts": full}


def jobs_of(engine, process_id: str | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest jobs (of one process), with their counts per item status."""
    with engine.db.session() as session:
        query = select(MigrationJob).order_by(MigrationJob.id.desc()).limit(limit)
        if process_id is not None:
            query = query.where(MigrationJob.process_id == process_id)
        jobs = list(session.scalars(query))
        counts = _counts(session, [j.id for j in jobs])
        return [_view(j, counts[j.id]) for j in jobs]


def job_view(engine, job_id: int, *, status: str | None = None, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    """One job with its counts and one page of its items (of ``status``, or all), by instance."""
    with engine.db.session() as session:
        job = _job(session, job_id)
        view = _view(job, _counts(session, [job_id])[job_id])
        query = (select(MigrationItem, ProcessInstance.title, ProcessInstance.version_id)
                 .join(ProcessInstance, ProcessInstance.id == MigrationItem.instance_id)
                 .where(MigrationItem.job_id == job_id).order_by(MigrationItem.id))
        if status is not None:
            query = query.where(MigrationItem.status == status)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
        view["items"] = [{"instance_id": item.instance_id, "title": title, "status": item.status,
                          "from_version": item.from_version, "version_now": version_now, "reasons": item.reasons,
                          "message": item.message, "finished_at": isoformat_utc(item.finished_at)}
                         for item, title, version_now in rows]
        view.update(page=page, per_page=per_page, items_total=total, pages=max(1, -(-total // per_page)))
    return view


__all__ = ["create_job", "cancel_job", "run_jobs", "run_job", "job_view", "jobs_of", "STALE_SECONDS"]
