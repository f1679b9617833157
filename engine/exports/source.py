"""The cases and events an export writes, read in one streamed pass and described for people.

A case is a process instance (with the domain's attributes: unit type, level, county, outcome);
its events are the instance's history in order, each with the activity's Chinese name (the task's
name for task events), the XES lifecycle transition, the actor and the actor's role, and the
payload — masked unless the exporter may see personal data. Events are fetched a few thousand
rows at a time; memory holds the cases and, per case, its open tasks, never the whole history.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from engine.clock import CHINA, UTC, end_of_china_day, start_of_china_day
from engine.errors import InvalidInput
from engine.exports.domain import Domain
from engine.models import INSTANCE_STATUSES, Event, ProcessInstance

STREAM_ROWS = 2000

# The XES lifecycle transition (IEEE 1849 standard lifecycle model) of each task event.
LIFECYCLE = {"task_opened": "schedule", "task_claimed": "assign", "task_released": "reassign",
             "task_transferred": "reassign", "task_delegated": "reassign", "delegation_resolved": "reassign",
             "task_completed": "complete", "task_cancelled": "withdraw"}
# The engine's own event types that are not about one task (a task event is named after its task).
ENGINE_LABELS = {
    "instance_started": ("发起流程", "Process started"),
    "instance_completed": ("流程结束", "Process completed"),
    "instance_cancelled": ("流程撤销", "Process cancelled"),
    "timer_fired": ("定时器到期", "Timer fired"),
    "message_received": ("收到消息", "Message received"),
    "message_delivered": ("消息送达", "Message delivered"),
    "task_urged": ("催办", "Task urged"),
    "task_cc": ("抄送", "Task copied to colleagues"),
    "comment_added": ("添加意见", "Comment added"),
    "incident_resolved": ("故障已解决", "Incident resolved"),
    "incident_dismissed": ("故障已忽略", "Incident dismissed"),
    "process_start_requested": ("请求发起流程", "Process start requested"),
    "notification_queued": ("发送通知", "Notification queued"),
}


@dataclass(frozen=True)
class ExportFilter:
    """Which cases to export: by process, status, and the China date range they started in."""

    process_id: str | None = None
    status: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    instance_ids: tuple[int, ...] = ()

    def __post_init__(self):
        if self.status is not None and self.status not in INSTANCE_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(INSTANCE_STATUSES)}", field="status")
        if self.since and self.until and self.since > self.until:
            raise InvalidInput("since is after until", field="until")

    def condition(self):
        conditions = []
        if self.process_id:
            conditions.append(ProcessInstance.process_id == self.process_id)
        if self.status:
            conditions.append(ProcessInstance.status == self.status)
        if self.since:
            conditions.append(ProcessInstance.created_at >= start_of_china_day(self.since))
        if self.until:
            conditions.append(ProcessInstance.created_at < end_of_china_day(self.until))
        if self.instance_ids:
            conditions.append(ProcessInstance.id.in_(self.instance_ids))
        return and_(True, *conditions)

    def to_dict(self) -> dict:
        return {key: (value.isoformat() if isinstance(value, dt.date) else list(value) if isinstance(value, tuple)
                      else value) for key, value in asdict(self).items() if value not in (None, ())}




@dataclass(frozen=True)
class Case:
    instance_id: int
    process_id: str
    process_name: str
    title: str
    status: str
    started_by: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportEvent:
    instance_id: int
    seq: int
    at: dt.datetime
    actor: str
    type: str
    activity: str  # Chinese: the task's name, or the event's
    activity_en: str
    lifecycle: str
    role: str | None
    role_label: str | None
    scope: str | None
    bpmn_id: str | None
    hash: str
    payload: dict[str, Any]
    raw_payload: dict[str, Any]  # unmasked, for finding the objects the event touches (never written)

    @property
    def id(self) -> str:
        return f"{self.instance_id}-{self.seq}"


def china_time(value: dt.datetime) -> str:
    """A stored time as China time with its offset, e.g. 2026-03-02T09:00:00.000+08:00."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA).isoformat(timespec="milliseconds")


def load_cases(session: Session, flt: ExportFilter, domain: Domain, process_names: dict[str, str]) -> list[Case]:
    rows = session.execute(select(ProcessInstance.id, ProcessInstance.process_id, ProcessInstance.title,
                                  ProcessInstance.status, ProcessInstance.started_by, ProcessInstance.created_at,
                                  ProcessInstance.completed_at)
                           .where(flt.condition()).order_by(ProcessInstance.id)).all()
    attributes = domain.case_attributes(session, [row[0] for row in rows])
    return [Case(iid, pid, process_names.get(pid, pid), title, status, by, created, completed, attributes.get(iid, {}))
            for iid, pid, title, status, by, created, completed in rows]


class _Tasks:
    """What a case's task events say about each task (name, role, scope), as its events go by."""

    def __init__(self) -> None:
        self.known: dict[Any, tuple[str, str | None, str | None]] = {}

    def describe(self, type_: str, payload: dict, bpmn_id: str | None) -> tuple[str | None, str | None, str | None]:
        task_id = payload.get("task_id")
        name, role, scope = self.known.get(task_id, (None, None, None))
        if type_ == "task_opened":
            name, role, scope = payload.get("name"), payload.get("role"), payload.get("scope")
            self.known[task_id] = (name, role, scope)
        return name or payload.get("name") or bpmn_id, role, scope


def iter_events(session: Session, flt: ExportFilter, domain: Domain, mask: Callable[[Any], Any]) -> Iterator[ExportEvent]:
    """The events of the filtered cases, in (instance, seq) order, described and masked."""
    rows = session.execute(
        select(Event.instance_id, Event.seq, Event.at, Event.actor, Event.type, Event.bpmn_id, Event.payload,
               Event.hash)
        .where(Event.instance_id.in_(select(ProcessInstance.id).where(flt.condition())))
        .order_by(Event.instance_id, Event.seq).execution_options(yield_per=STREAM_ROWS))
    current, tasks = None, _Tasks()
    for iid, seq, at, actor, type_, bpmn_id, payload_text, digest in rows:
        if iid != current:
            current, tasks = iid, _Tasks()
        payload = json.loads(payload_text)
        role = scope = None
        if type_ in LIFECYCLE:
            activity, role, scope = tasks.describe(type_, payload, bpmn_id)
            activity_en, lifecycle = activity, LIFECYCLE[type_]
        else:
            activity, activity_en = _label(domain, type_, payload)
            lifecycle = "complete"
        yield ExportEvent(iid, seq, at if at.tzinfo else at.replace(tzinfo=UTC), actor, type_, activity or type_,
                          activity_en or type_, lifecycle, role, domain.role_label(role) if role else None, scope,
                          bpmn_id, digest, mask(payload), payload)


def _label(domain: Domain, type_: str, payload: dict) -> tuple[str, str]:
    if type_ == "message_received" and payload.get("name"):
        found = domain.event_label(f"message_received:{payload['name']}")
        if found:
            return found
    return domain.event_label(type_) or ENGINE_LABELS.get(type_) or (type_, type_)
