"""办理时限 for the steps the regulation sets no period for (config/deadlines.toml; issue 15).

Registers with ``engine.deadlines`` where the periods come from and whom an overdue task is
escalated to (逾期督办):

- ``supervisor``: the supervising industry department of the task's role and scope
  (``supervisor_of`` / ``supervisor_scope_of``: county → city → province; the province for
  provincial work, experts and bureaus without a supervisor), as ``review_step`` does (第十八条);
- ``organiser``: the industry department of the same level, which organised the consultation of
  the four bureaus (第十九条): the city department for a city scope, the province for 520000;
- ``returner``: the officials whose step sent the task, i.e. the last task of the instance
  completed before it opened (an 退回修改: the reviewer who returned the application).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import config
from engine import deadlines
from engine.errors import EngineError
from engine.models import HumanTask
from handlers.campaign import supervisor_of, supervisor_scope_of
from handlers.divisions import PROVINCE

deadlines.deadline_source(config.deadlines)


@deadlines.escalation_target
def escalation_target(session: Session, task: HumanTask, how: str) -> tuple[str, str] | None:
    """(role, scope) to escalate an overdue ``task`` to, or None when nobody fits."""
    if how == "organiser":
        return ("province_official" if task.scope == PROVINCE else "city_official"), task.scope
    if how == "returner":
        before = session.scalar(
            select(HumanTask).where(HumanTask.instance_id == task.instance_id, HumanTask.status == "completed",
                                    HumanTask.completed_at <= task.created_at, HumanTask.id != task.id)
            .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))
        return (before.role, before.scope) if before is not None else None
    try:
        return supervisor_of(task.role), supervisor_scope_of(task.role, task.scope)
    except (ValueError, EngineError):
        return "province_official", PROVINCE
