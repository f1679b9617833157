"""Start a process instance on the newest (or a given) definition version."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import insert

from engine import deploy, forms, runtime, services, state
from engine.commands._base import Command, InstanceRun
from engine.errors import NotFound, NotPermitted
from engine.models import DefinitionVersion, InstanceFacet, ProcessInstance


@dataclass(frozen=True)
class StartInstance(Command):
    process_id: str
    data: dict[str, Any] = field(default_factory=dict)
    version_id: int | None = None
    business_key: str | None = None

    event_type: ClassVar[str] = "instance_started"


def creator(engine, cmd: StartInstance, actor):
    """Validate the start, then build the row and the workflow (nothing runs yet)."""

    def create(session, now):
        if cmd.version_id is not None:
            version = session.get(DefinitionVersion, cmd.version_id)
        else:
            version = deploy.latest_version_for(session, cmd.process_id)
        if version is None or cmd.process_id not in version.meta.get("executable", []):
            raise NotFound(f"no deployed process {cmd.process_id!r}")
        loaded = engine.specs.load(session, version.id)
        start = loaded.start_meta(cmd.process_id)
        data = forms.validate(loaded.form(start.get("form")), cmd.data, form_name=start.get("name", "start"))
        data = dict(data)
        hook = services.get_start_hook(cmd.process_id)
        info = hook(session, data, actor.username) if hook else services.StartInfo()
        data.update(info.data)
        _check_may_start(start, data, actor, cmd.process_id)
        spec, subprocess_specs = loaded.spec(cmd.process_id)
        workflow = runtime.new_workflow(spec, subprocess_specs, data)
        instance = ProcessInstance(
            version_id=version.id, process_id=cmd.process_id, business_key=cmd.business_key or info.business_key,
            title=info.title or loaded.meta["processes"][cmd.process_id]["name"], status="running",
            started_by=actor.username, created_at=now, updated_at=now, row_version=0,
            state_format=state.STATE_FORMAT, state=b"", summary=info.summary,
        )
        session.add(instance)
        session.flush()
        write_facets(session, instance.id, info.summary)
        return instance, workflow, loaded

    return create


def write_facets(session, instance_id: int, summary: dict) -> None:
    """Index the summary's scalar values (strings, numbers, booleans) for inbox filters."""
    rows = [{"instance_id": instance_id, "key": str(key)[:60], "value": str(value)[:200]}
            for key, value in (summary or {}).items()
            if isinstance(value, (str, int, float, bool)) and value != ""]
    if rows:
        session.execute(insert(InstanceFacet), rows)


def _check_may_start(start: dict, data: dict, actor, process_id: str) -> None:
    role = start.get("role")
    if not role or actor.is_system:
        return
    scope_expression = start.get("scope")
    scope = runtime.SCRIPT_ENGINE.environment.evaluate(scope_expression, dict(data)) if scope_expression else None
    if scope is None:
        if not actor.has_role(role):
            raise NotPermitted(f"{actor.username} may not start {process_id}: it needs role {role}")
    elif not actor.holds(role, scope):
        raise NotPermitted(f"{actor.username} may not start {process_id} for {scope}: it needs role {role} there")


def handle(run: InstanceRun, cmd: StartInstance) -> None:
    run.record(cmd.event_type, {"process_id": cmd.process_id, "version_id": run.instance.version_id,
                                "submitted": cmd.data, "data": dict(run.workflow.task_tree.data)})
    runtime.advance(run.workflow)
    run.result = {"instance_id": run.instance.id}
