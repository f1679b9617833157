"""Who may see what: the one place the web pages and the API ask before showing an instance or a task.

The engine already refuses commands from the wrong role or scope; these checks decide what a
user may *read*. Everyone sees only their own work:

- the provincial department, process owners and auditors read every instance (auditors only read);
- a county or city department reads the instances of its own counties / city (the instance's
  ``county_code`` / ``city_code`` facets);
- an applicant reads the applications of its own unit (the ``applicant_scope`` facet);
- anyone reads an instance they started, hold a task of (by role and scope), were assigned,
  delegated or CC'd, or completed a task of (bureaus and experts see what they were asked).

A failed check is a 403 with a plain message (``web.access.deny``); a missing row is a 404.
"""
from __future__ import annotations

from flask import abort
from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import Session

from engine import services
from engine.errors import EngineError
from engine.identity import Actor
from engine.models import HumanTask, InstanceFacet, ProcessInstance, TaskCc
from handlers.divisions import division

PROVINCE = "520000"
READ_ALL_ROLES = ("province_official", "auditor", "process_owner")
# Which facet of an instance a grant's scope is compared with.
FACET_OF_ROLE = {"county_official": "county_code", "city_official": "city_code", "applicant": "applicant_scope"}


# Who handles incidents (commands that failed inside the engine): list, retry, resolve, dismiss.
# The process owner (流程管理员) deploys the diagrams and loads the calendar, so it is the operator.
INCIDENT_ROLES = ("process_owner",)


def handles_incidents(actor: Actor) -> bool:
    return any(actor.has_role(role) for role in INCIDENT_ROLES)


def reads_everything(actor: Actor) -> bool:
    return any(actor.holds(role, PROVINCE) for role in READ_ALL_ROLES)


def visible_instances(actor: Actor):
    """A SQL condition on ``ProcessInstance`` selecting what ``actor`` may read."""
    if reads_everything(actor):
        return ProcessInstance.id.isnot(None)
    iid = ProcessInstance.id
    facet_matches = [exists().where(InstanceFacet.instance_id == iid, InstanceFacet.key == FACET_OF_ROLE[role],
                                    InstanceFacet.value == scope)
                     for role, scope in sorted(actor.grants) if role in FACET_OF_ROLE]
    grants = [and_(HumanTask.role == role, HumanTask.scope == scope) for role, scope in sorted(actor.grants)]
    me = actor.username
    task_matches = exists().where(HumanTask.instance_id == iid, or_(
        *grants or [false()], HumanTask.assignee == me, HumanTask.owner == me, HumanTask.completed_by == me))
    cc = exists().where(TaskCc.instance_id == iid, TaskCc.username == me)
    return or_(ProcessInstance.started_by == me, task_matches, cc, *facet_matches)


def may_read_instance(session: Session, actor: Actor, instance_id: int) -> bool:
    return session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id,
                                                           visible_instances(actor))) is not None


def may_act_on(actor: Actor, task: dict) -> bool:
    """May ``actor`` claim or complete the task (the engine checks again when it runs the command)?"""
    if actor.has_role("auditor") and not actor.holds(task["role"], task["scope"]):
        return False
    return actor.holds(task["role"], task["scope"]) or actor.username in (task.get("assignee"), task.get("owner"))


def may_read_task(session: Session, actor: Actor, task: dict) -> bool:
    """Those who may act on the task, its CCs, and officials who may read its instance.

    An applicant reads its application in the portal; of the officials' tasks it sees none
    (their page shows internal work: comments, colleagues, delegation).
    """
    if may_act_on(actor, task) or actor.username in task.get("cc", ()):
        return True
    officials_role = any(role != "applicant" for role, _ in actor.grants)
    return officials_role and may_read_instance(session, actor, task["instance_id"])


def require_instance(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    """The instance, or 404 if it does not exist, or 403 if ``actor`` may not read it."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        abort(404, description=f"流程实例 {instance_id} 不存在 / process instance {instance_id} not found")
    if not may_read_instance(session, actor, instance_id):
        deny(f"无权查看流程实例 {instance_id} / you may not see process instance {instance_id}")
    return instance


def supervises(actor: Actor, task: dict) -> bool:
    """Does ``actor`` supervise the department that holds the task (may 催办 and reassign)?"""
    return services.supervises(actor.grants, task["role"], task["scope"])


def scopes_above(scope: str) -> list[str]:
    """The org unit ``scope`` and the units above it (county → city → province)."""
    chain: list[str] = []
    code: str | None = scope
    while code and code not in chain:
        chain.append(code)
        try:
            code = division(code).parent_code
        except EngineError:  # not a division (an applicant or evaluator scope)
            break
    if PROVINCE not in chain:
        chain.append(PROVINCE)
    return chain


def deny(message: str):
    abort(403, description=message)


def not_found(message: str):
    abort(404, description=message)
