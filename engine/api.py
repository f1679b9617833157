"""The engine's public face: one object per database that deploys, runs commands and answers queries."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import and_, func, or_, select

from engine import commands as _commands
from engine import deploy as _deploy
from engine import followups, history, incidents, runtime, state, text, versions
from engine import inbox as _inbox
from engine.clock import Clock, get_clock, isoformat_utc
from engine.commands import runner
from engine.commands.start import creator
from engine.commands.timers import due_timers
from engine.db import Database
from engine.errors import Conflict, DeployError, DeployProblem, EngineError, NotFound
from engine.identity import Actor, load_actor, system_actor
from engine.models import DefinitionVersion, HumanTask, Incident, ProcessInstance, TaskCc, Timer
from engine.script_budget import ScriptLimits
from engine.specs import SpecCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployResult:
    version_id: int
    sha256: str
    created: bool
    processes: list[str]
    deployment_id: int | None = None
    # process id -> its version number after this deploy (every executable process of the bundle)
    versions: dict[str, int] = field(default_factory=dict)
    # the processes that got a new version in this deploy
    changed: list[str] = field(default_factory=list)


# Extra checks of a bundle beside deploy's own (the web layer's bpmnlint): called with the whole
# bundle and the paths that differ from the newest deployed bundle, before deploy analyses it; it
# returns a function that waits for and returns the problems that refuse the bundle.
BundleChecks = Callable[[dict[str, bytes], set[str]], Callable[[], list[DeployProblem]]]


class WorkflowEngine:
    """Deploy bundles, execute commands, read instances, tasks and incidents."""

    def __init__(self, db: Database, *, roles: set[str], clock: Clock | None = None,
                 script_limits: ScriptLimits | None = None):
        self.db = db
        self.script_limits = script_limits or ScriptLimits()
        self.roles = set(roles)
        self.clock: Clock = clock or get_clock()
        self.specs = SpecCache()
        self.cache = _commands.WorkflowCache()
        runtime.script_engine()  # pick up script functions registered so far

    # --- deploy ----------------------------------------------------------------------
    # One pipeline for every door (the CLI, the REST API, the modeler and its upload page): files in, a new
    # immutable version or every problem out, nothing stored when there is one (docs/modeler.md).
    def deploy(self, directory: str | Path, *, deployed_by: str, note: str | None = None, source: str = "cli",
               checks: BundleChecks | None = None) -> DeployResult:
        """Check and store exactly the bundle in ``directory``; identical content is a no-op."""
        return self.deploy_files(_deploy.read_directory(directory), deployed_by=deployed_by, note=note,
                                 source=source, checks=checks)

    def latest_bundle(self) -> tuple[int | None, dict[str, bytes]]:
        """The newest definition version's id and files (None and {} before the first deploy)."""
        with self.db.session() as session:
            version = session.scalar(select(DefinitionVersion).order_by(DefinitionVersion.id.desc()).limit(1))
            if version is None:
                return None, {}
            return version.id, {f.path: f.content for f in version.files}

    def _prepare(self, files: dict[str, bytes], overlay: bool) -> tuple[int | None, dict[str, bytes], set[str]]:
        """(newest version id, the bundle to analyse, paths that differ from the newest bundle)."""
        base_id, base = self.latest_bundle()
        merged = {**base, **files} if overlay else dict(files)
        if len(merged) > _deploy.MAX_BUNDLE_FILES:
            raise DeployError([DeployProblem("(bundle)", f"more than {_deploy.MAX_BUNDLE_FILES} files")])
        changed = {path for path, content in merged.items() if base.get(path) != content}
        return base_id, merged, changed

    def _analyse(self, files: dict[str, bytes], changed: set[str], checks: BundleChecks | None) -> _deploy.Bundle:
        pending = checks(files, changed) if checks is not None else None
        problems: list[DeployProblem] = []
        bundle = None
        try:
            bundle = _deploy.analyse(files, known_roles=self.roles)
        except DeployError as err:
            problems.extend(err.problems)
        if pending is not None:
            problems.extend(pending())
        if problems:
            raise DeployError(problems)
        return bundle

    def check_files(self, files: dict[str, bytes], *, overlay: bool = False,
                    checks: BundleChecks | None = None) -> _deploy.Bundle:
        """Every check deploy runs, storing nothing: the bundle, or DeployError with every problem."""
        _, merged, changed = self._prepare(files, overlay)
        return self._analyse(merged, changed, checks)

    def deploy_files(self, files: dict[str, bytes], *, deployed_by: str, note: str | None = None,
                     source: str = "api", overlay: bool = False, checks: BundleChecks | None = None) -> DeployResult:
        """Check and store a bundle; ``overlay`` lays ``files`` over the newest bundle (same path
        replaces, a new path adds) and stores the result as a whole.

        Identical content is a no-op, still logged (``created`` false). Every executable process
        whose content changed gets its next process version, with ``note`` (engine.versions).
        """
        for _ in range(3):
            base_id, merged, changed = self._prepare(files, overlay)
            bundle = self._analyse(merged, changed, checks)
            with self.db.unit_of_work() as session:
                versions.lock_deploys(session)
                newest = session.scalar(select(func.max(DefinitionVersion.id)))
                if overlay and newest != base_id:
                    continue  # another deploy landed meanwhile: lay the files over that one
                versions.backfill(session)
                now = self.clock.now()
                version, created = _deploy.store(session, bundle, deployed_by=deployed_by, now=now)
                added = versions.record(session, version, deployed_by=deployed_by, now=now, note=note) \
                    if created else []
                row = versions.log(session, version=version, deployed_by=deployed_by, now=now, note=note,
                                   created=created, source=source)
                executable = list(version.meta.get("executable", []))
                numbers = {pid: r.number for pid, r in versions.latest_rows(session, executable).items()}
                return DeployResult(version.id, version.sha256, created, executable, deployment_id=row.id,
                                    versions=numbers, changed=sorted(r.process_id for r in added))
        raise Conflict("other deployments kept landing while this one was checked; deploy again")

    def backfill_versions(self) -> int:
        """Number the processes of bundles deployed before process versions existed (idempotent)."""
        with self.db.unit_of_work() as session:
            versions.lock_deploys(session)
            return versions.backfill(session)

    # --- commands --------------------------------------------------------------------
    def execute(self, command: _commands.Command, *, actor: Actor, resolving: int | None = None,
                retried_by: str | None = None) -> runner.Outcome:
        """Run one command. Input that is not JSON made of valid text is refused first (InvalidText,
        400, nothing written): a caller's mistake never becomes an incident (engine/text.py)."""
        text.check_command(command)
        route = _commands.COMMANDS[type(command)]
        if route.locate is None:
            outcome = runner.run_new_instance(self, command, actor, creator(self, command, actor), route.handle,
                                              resolving=resolving, retried_by=retried_by)
        else:
            outcome = runner.run_on_instance(self, command, actor, route.locate(command), route.handle,
                                             resolving=resolving, retried_by=retried_by)
        if outcome.requested_starts:  # committed: start what the command asked for (engine/followups.py)
            try:
                followups.dispatch(self, outcome.requested_starts)
            except Exception:  # the command stands; the worker's sweep starts what is left
                log.exception("requested starts %s of instance %s left to the worker",
                              outcome.requested_starts, outcome.instance_id)
        return outcome

    def start(self, process_id: str, data: dict[str, Any], *, actor: Actor, **kw) -> runner.Outcome:
        return self.execute(_commands.StartInstance(process_id=process_id, data=data, **kw), actor=actor)

    def complete(self, task_id: int, data: dict[str, Any], *, actor: Actor, **kw) -> runner.Outcome:
        return self.execute(_commands.CompleteTask(task_id=task_id, data=data, **kw), actor=actor)

    def claim(self, task_id: int, *, actor: Actor) -> runner.Outcome:
        return self.execute(_commands.ClaimTask(task_id=task_id), actor=actor)

    def release(self, task_id: int, *, actor: Actor) -> runner.Outcome:
        return self.execute(_commands.ReleaseTask(task_id=task_id), actor=actor)

    def transfer(self, task_id: int, to_user: str, *, actor: Actor, note: str = "") -> runner.Outcome:
        return self.execute(_commands.TransferTask(task_id=task_id, to_user=to_user, note=note), actor=actor)

    def delegate(self, task_id: int, to_user: str, *, actor: Actor, note: str = "") -> runner.Outcome:
        return self.execute(_commands.DelegateTask(task_id=task_id, to_user=to_user, note=note), actor=actor)

    def resolve_delegation(self, task_id: int, data: dict[str, Any], *, actor: Actor,
                           note: str = "") -> runner.Outcome:
        return self.execute(_commands.ResolveDelegation(task_id=task_id, data=data, note=note), actor=actor)

    def cc(self, task_id: int, to_users: list[str], *, actor: Actor, note: str = "") -> runner.Outcome:
        return self.execute(_commands.CcTask(task_id=task_id, to_users=tuple(to_users), note=note), actor=actor)

    def urge(self, task_id: int, *, actor: Actor, note: str = "") -> runner.Outcome:
        return self.execute(_commands.UrgeTask(task_id=task_id, note=note), actor=actor)

    def comment(self, task_id: int, text: str, *, actor: Actor) -> runner.Outcome:
        return self.execute(_commands.CommentTask(task_id=task_id, text=text), actor=actor)

    def deliver(self, instance_id: int, name: str, payload: dict[str, Any], *, actor: Actor,
                require_waiting: bool = False) -> runner.Outcome:
        return self.execute(_commands.DeliverMessage(instance_id=instance_id, name=name, payload=payload,
                                                     require_waiting=require_waiting), actor=actor)

    def fire_due_timers(self, *, limit: int = 500) -> int:
        """Fire every timer due by now (one command each), also those that firing made due;
        returns how many fired. Stops after 100 rounds (a timer that keeps re-arming itself)."""
        fired = 0
        actor = system_actor("scheduler")
        for _ in range(100):
            with self.db.session() as session:
                due = due_timers(session, self.clock.now(), limit=limit)
            progress = 0
            for instance_id, guid in due:
                try:
                    outcome = self.execute(_commands.FireTimer(instance_id=instance_id, task_guid=guid),
                                           actor=actor)
                except EngineError:  # an incident was recorded, or the instance moved on meanwhile
                    continue
                progress += bool(outcome.result.get("fired"))
            fired += progress
            if progress == 0:
                break
        return fired

    def retry_incident(self, incident_id: int, *, operator: str) -> runner.Outcome:
        """Run the failed command again as its actor; success resolves the incident.

        A command that can no longer run as recorded — refused as a caller's error (its task was
        completed meanwhile, the instance finished, its input is not valid text, its actor lost
        the role) — resolves the incident with a note saying why instead of failing forever; the
        outcome's result then says ``"ran": False``. Failing inside the engine again re-opens it.
        """
        with self.db.session() as session:
            incident = session.get(Incident, incident_id) if isinstance(incident_id, int) else None
            if incident is None:
                raise NotFound(f"incident {incident_id!r} not found")
            if incident.status != "open":
                raise Conflict(f"incident {incident_id} is already {incident.status}")
            recorded = dict(incident.command)
        try:
            command = _commands.from_dict(recorded)
            actor = self.actor(recorded["actor"])
            return self.execute(command, actor=actor, resolving=incident_id, retried_by=operator)
        except incidents.IncidentRaised:
            raise
        except EngineError as err:
            if err.becomes_incident:  # the platform still lacks something: the incident stays open
                raise
            reason = f"{err.code}: {err.message}"
        except (KeyError, TypeError) as err:
            reason = f"the recorded command cannot be rebuilt ({type(err).__name__}: {err})"
        note = text.safe(f"retried by {operator}; the command can no longer run as recorded ({reason})")
        view = incidents.close(self, incident_id, status=incidents.RESOLVED, note=note[:incidents.MAX_NOTE],
                               actor=operator, how="obsolete")
        with self.db.session() as session:
            instance = session.get(ProcessInstance, view["instance_id"]) if view["instance_id"] else None
            row_version = instance.row_version if instance is not None else 0
        return runner.Outcome(view["instance_id"] or 0, view["instance_status"] or "", row_version,
                              {"incident_id": incident_id, "ran": False, "note": view["note"]})

    def resolve_incident(self, incident_id: int, *, note: str, operator: str) -> dict:
        """Close an open incident as resolved with a note (engine/incidents.py); returns its view."""
        return incidents.resolve(self, incident_id, note, operator)

    def dismiss_incident(self, incident_id: int, *, note: str, operator: str) -> dict:
        """Close an open incident as dismissed with a note (engine/incidents.py); returns its view."""
        return incidents.dismiss(self, incident_id, note, operator)

    # --- queries ---------------------------------------------------------------------
    def actor(self, username: str) -> Actor:
        with self.db.session() as session:
            return load_actor(session, username)

    def instance(self, instance_id: int) -> dict:
        with self.db.session() as session:
            inst = session.get(ProcessInstance, instance_id)
            if inst is None:
                raise NotFound(f"process instance {instance_id} not found")
            tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                    .order_by(HumanTask.id)).all()
            timers = session.scalars(select(Timer).where(Timer.instance_id == instance_id)).all()
            loaded = self.specs.load(session, inst.version_id)
            spec, subs = loaded.spec(inst.process_id)
            wf = state.load(inst.state, spec, subs)
            return {
                "id": inst.id, "process_id": inst.process_id, "version": inst.version_id, "title": inst.title,
                "business_key": inst.business_key, "status": inst.status, "row_version": inst.row_version,
                "summary": dict(inst.summary or {}),
                "started_by": inst.started_by, "created_at": _iso(inst.created_at),
                "completed_at": _iso(inst.completed_at),
                "data": _last_data(wf),
                "tasks": [task_view(t) for t in tasks],
                "timers": [{"bpmn_id": t.bpmn_id, "due_at": _iso(t.due_at)} for t in timers],
                "completed_path": runtime.completed_path(wf),
                "events": history.events_of(session, instance_id),
            }

    def tasks_for(self, actor: Actor, *, status: str = "open", limit: int = 200) -> list[dict]:
        """Tasks the actor may act on: its (role, scope) grants, open or completed by it."""
        with self.db.session() as session:
            query = select(HumanTask)
            if status == "open":
                if not actor.grants:
                    return []
                query = query.where(HumanTask.status == "open",
                                    or_(*[and_(HumanTask.role == r, HumanTask.scope == s) for r, s in actor.grants]))
            else:
                query = query.where(HumanTask.completed_by == actor.username)
            rows = session.scalars(query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
                                   .limit(limit)).all()
            return [task_view(t) for t in rows]

    def diagrams(self, instance_id: int) -> list[dict]:
        """The diagrams an instance went through, top-level first, with finished and current elements."""
        with self.db.session() as session:
            inst = session.get(ProcessInstance, instance_id)
            if inst is None:
                raise NotFound(f"process instance {instance_id} not found")
            loaded = self.specs.load(session, inst.version_id)
            spec, subs = loaded.spec(inst.process_id)
            positions = runtime.positions(state.load(inst.state, spec, subs))
            version = session.get(DefinitionVersion, inst.version_id)
            files = {f.path: f.content for f in version.files}
        processes = version.meta["processes"]
        order = [inst.process_id] + sorted(pid for pid in positions if pid != inst.process_id and pid in processes)
        return [{"process_id": pid, "name": processes[pid].get("name") or pid,
                 "xml": files[processes[pid]["file"]].decode("utf-8"),
                 **positions.get(pid, {"completed": [], "current": []})} for pid in order]

    def inbox(self, actor: Actor, query: _inbox.InboxQuery) -> _inbox.InboxPage:
        """One page of the actor's inbox with the counts of every tab (engine.inbox)."""
        with self.db.session() as session:
            return _inbox.inbox_page(session, actor, query, self.clock.now())

    def task(self, task_id: int) -> dict:
        """One human task with its CCs; NotFound if there is none (callers check who may see it)."""
        with self.db.session() as session:
            row = session.get(HumanTask, task_id) if isinstance(task_id, int) else None
            if row is None:
                raise NotFound(f"task {task_id!r} not found")
            cc = session.scalars(select(TaskCc.username).where(TaskCc.task_id == task_id).order_by(TaskCc.id)).all()
            version_id = session.scalar(select(ProcessInstance.version_id).where(ProcessInstance.id == row.instance_id))
            return {**task_view(row), "cc": list(cc), "version_id": version_id}

    def incidents(self, *, status: str | None = "open") -> list[dict]:
        """Incidents of ``status`` (every one for None), oldest first (``incidents.view``)."""
        with self.db.session() as session:
            return [incidents.view(i, session.get(ProcessInstance, i.instance_id) if i.instance_id else None)
                    for i in incidents.list_incidents(session, status=status)]

    def incident_page(self, *, status: str | None, page: int = 1, per_page: int = 20) -> tuple[list[dict], int]:
        """One page of incidents of ``status`` (every one for None), newest first, and their total."""
        with self.db.session() as session:
            return incidents.page(session, status=status, offset=(page - 1) * per_page, limit=per_page)

    def incident(self, incident_id: int) -> dict:
        with self.db.session() as session:
            row = session.get(Incident, incident_id) if isinstance(incident_id, int) else None
            if row is None:
                raise NotFound(f"incident {incident_id!r} not found")
            return incidents.view(row, session.get(ProcessInstance, row.instance_id) if row.instance_id else None)

    def verify_history(self, instance_id: int) -> history.ChainCheck:
        """Recompute one instance's hash chain; NotFound if there is no such instance.

        The rules of ``engine.evidence.chains`` (also an emptied history is broken); all instances at
        once, and against a checkpoint: ``engine.evidence.verify.verify_all``.
        """
        from engine.evidence.chains import check_one

        with self.db.session() as session:
            found = check_one(session, instance_id)
        if found is None:
            raise NotFound(f"流程实例 {instance_id} 不存在 / process instance {instance_id} not found")
        return history.ChainCheck(found.ok, found.events, found.first_bad_seq, found.reason)

    def versions(self) -> list[dict]:
        with self.db.session() as session:
            return [{"version": v.id, "sha256": v.sha256, "deployed_by": v.deployed_by,
                     "deployed_at": _iso(v.deployed_at), "processes": v.meta.get("executable", [])}
                    for v in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id))]

    def process_names(self) -> dict[str, str]:
        """Every executable process of the newest versions: id -> name (for filters and menus)."""
        names: dict[str, str] = {}
        with self.db.session() as session:
            for version in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id.desc())):
                for pid in version.meta.get("executable", []):
                    names.setdefault(pid, version.meta["processes"].get(pid, {}).get("name") or pid)
        return names

    def form(self, version_id: int, name: str | None) -> dict | None:
        """A form (JSON Schema or UI hints file) of a deployed version, by the name a task gives."""
        with self.db.session() as session:
            return self.specs.load(session, version_id).form(name)

    def startable(self) -> list[dict]:
        """Processes of the newest version that a person starts with a form: id, name, version, form, role."""
        with self.db.session() as session:
            version = session.scalar(select(DefinitionVersion).order_by(DefinitionVersion.id.desc()).limit(1))
            if version is None:
                return []
            loaded = self.specs.load(session, version.id)
        result = []
        for pid in version.meta.get("executable", []):
            start = loaded.start_meta(pid)
            if start.get("form") and not start.get("schedule"):
                result.append({"process_id": pid, "name": version.meta["processes"][pid].get("name") or pid,
                               "version_id": version.id, "form": start["form"], "role": start.get("role")})
        return result

    def started_by_a_person(self, process_id: str) -> bool | None:
        """Does a person start ``process_id`` with a form, on the version new instances get? None if unknown."""
        with self.db.session() as session:
            version = _deploy.latest_version_for(session, process_id)
            if version is None:
                return None
            loaded = self.specs.load(session, version.id)
        start = loaded.start_meta(process_id)
        return bool(start.get("form") and not start.get("schedule"))

    def start_form(self, version_id: int, process_id: str) -> dict | None:
        """The JSON Schema of a process's start form, if it has one."""
        with self.db.session() as session:
            loaded = self.specs.load(session, version_id)
            return loaded.form(loaded.start_meta(process_id).get("form"))

    def count_instances(self) -> dict[str, int]:
        with self.db.session() as session:
            return dict(session.execute(select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())


def task_view(t: HumanTask) -> dict:
    return {"id": t.id, "instance_id": t.instance_id, "name": t.name, "bpmn_id": t.bpmn_id,
            "process_id": t.process_id, "role": t.role, "scope": t.scope, "status": t.status,
            "assignee": t.assignee, "form": t.form, "created_at": _iso(t.created_at), "due_at": _iso(t.due_at),
            "completed_at": _iso(t.completed_at), "completed_by": t.completed_by, "outcome": t.outcome,
            "owner": t.owner, "draft": t.draft, "urged_at": _iso(t.urged_at), "urge_count": t.urge_count or 0}


def _last_data(wf) -> dict:
    """The instance's data as of its newest task (subprocesses included)."""
    if wf.is_completed():
        return dict(wf.data)
    latest = runtime.latest_task(wf)
    return {k: v for k, v in latest.data.items() if not callable(v)}


_iso = isoformat_utc

