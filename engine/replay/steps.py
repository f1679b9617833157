"""An instance's history as steps: the state at each command, folded from the recorded events alone.

A step is one command: its first event (``instance_started``, ``task_completed``, ``timer_fired``…)
and every event the command recorded after it. Folding the steps in order rebuilds, without
running anything, what the instance was after each of them:

- the process data (``instance_started``'s data, then each ``step`` event's diff; see
  ``engine.replay.recording``) and what changed against the step before;
- the diagram: elements completed so far, active and waiting at that moment;
- the derived inbox rows (opened, claimed, transferred, delegated, completed, cancelled), the
  timers and the message waits;
- who acted and how: the task acted on (its role, scope and due date), the delegation it was under,
  the address the command came from, the definition version in force.

``steps_of`` is what the auditors' step-through pages and the API show; the replayer compares the
recorded and the re-executed instance with the same events.
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.clock import china_date
from engine.errors import EngineError
from engine.history import canonical_json
from engine.replay.recording import SERVICE_EVENT, STEP_EVENT

# The first event of each command (engine.commands: ``event_type`` of every command class).
COMMAND_EVENTS = frozenset({
    "instance_started", "task_completed", "task_claimed", "task_released", "message_received", "timer_fired",
    "instance_cancelled", "task_transferred", "task_delegated", "delegation_resolved", "task_cc", "task_urged",
    "comment_added", "instance_migrated",
})
# Keys of a completion whose value is its outcome (engine.commands.complete.OUTCOME_KEYS).
OUTCOME_KEYS = ("decision", "opinion", "outcome")


@dataclass
class TaskRow:
    """A human task as the inbox held it at one moment."""

    task_id: int
    guid: str | None
    bpmn_id: str | None
    process_id: str | None
    name: str
    role: str
    scope: str
    due_at: str | None
    opened_at: str
    status: str = "open"
    assignee: str | None = None
    owner: str | None = None
    completed_by: str | None = None
    completed_at: str | None = None
    outcome: str | None = None
    draft: dict | None = None
    urge_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Change:
    """One key of the process data that a step added, changed or removed."""

    key: str
    kind: str  # "added", "changed", "removed"
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "before": self.before, "after": self.after}


@dataclass
class Step:
    """The instance right after one command."""

    index: int  # 1-based position in the history's steps
    seq: int  # the seq of the command's first event
    last_seq: int
    type: str  # the command's first event type
    at: str
    actor: str
    event: dict  # the command's first event
    events: list[dict]  # every event of the command, first included
    data: dict[str, Any]
    changes: list[Change]
    done: dict[str, list[str]]  # completed so far, per (sub)process
    done_now: dict[str, list[str]]  # completed by this command
    active: dict[str, list[str]]
    waiting: dict[str, list[str]]
    timers: list[list[str]]  # [BPMN id, due (UTC ISO)]
    messages: list[str]
    tasks: list[TaskRow]  # open after the step
    task: TaskRow | None  # the task the command acted on, as it was then
    version_id: int | None
    via: dict | None
    calendar: str | None
    services: list[dict] = field(default_factory=list)  # {op, params, result}
    late: bool | None = None  # a completion: after its due date? (None: not a completion with a due date)
    late_working_days: int | None = None  # how many working days after the due date's day
    on_behalf_of: str | None = None  # delegation: the official the actor acted for

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "seq": self.seq, "last_seq": self.last_seq, "type": self.type, "at": self.at,
            "actor": self.actor, "event": self.event, "events": self.events, "data": self.data,
            "changes": [c.to_dict() for c in self.changes], "done": self.done, "done_now": self.done_now,
            "active": self.active, "waiting": self.waiting, "timers": self.timers, "messages": self.messages,
            "tasks": [t.to_dict() for t in self.tasks], "task": self.task.to_dict() if self.task else None,
            "version_id": self.version_id, "via": self.via, "calendar": self.calendar, "services": self.services,
            "late": self.late, "late_working_days": self.late_working_days, "on_behalf_of": self.on_behalf_of,
        }


def groups_of(events: list[dict]) -> list[list[dict]]:
    """The events split by command: each group starts with a command's first event."""
    groups: list[list[dict]] = []
    for event in events:
        if event["type"] in COMMAND_EVENTS or not groups:
            groups.append([event])
        else:
            groups[-1].append(event)
    return groups


class _Fold:
    """The state as the steps are folded in, one command at a time."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.done: dict[str, set[str]] = {}
        self.active: dict[str, list[str]] = {}
        self.waiting: dict[str, list[str]] = {}
        self.timers: list[list[str]] = []
        self.messages: list[str] = []
        self.tasks: dict[int, TaskRow] = {}
        self.version_id: int | None = None

    def apply_step(self, payload: dict, submitted: dict, services: list[dict]) -> None:
        delta = payload.get("data") or {}
        data = dict(self.data)
        data.update(copy.deepcopy(submitted))
        data.update(copy.deepcopy(delta.get("set") or {}))
        for key, index in (delta.get("svc") or {}).items():
            data[key] = copy.deepcopy(services[index]["result"]) if 0 <= index < len(services) else None
        for key in delta.get("del") or []:
            data.pop(key, None)
        self.data = data
        for pid, ids in (payload.get("done") or {}).items():
            self.done.setdefault(pid, set()).update(ids)
        for key in ("active", "waiting", "timers", "messages"):
            if key in payload:
                setattr(self, key, payload[key])

    def apply_task_event(self, event: dict) -> TaskRow | None:
        """Update the inbox rows for one event; the row it concerns, if any."""
        payload, kind = event.get("payload") or {}, event["type"]
        if kind == "task_opened":
            row = TaskRow(task_id=payload.get("task_id"), guid=event.get("task_guid"), bpmn_id=event.get("bpmn_id"),
                          process_id=None, name=payload.get("name", ""), role=payload.get("role", ""),
                          scope=payload.get("scope", ""), due_at=payload.get("due_at"), opened_at=event["at"])
            self.tasks[row.task_id] = row
            return row
        row = self.tasks.get(payload.get("task_id")) if "task_id" in payload else None
        if row is None:
            if kind == "instance_cancelled":
                for open_row in self.tasks.values():
                    if open_row.status == "open":
                        open_row.status = "cancelled"
            return None
        if kind == "task_completed":
            data = payload.get("data") or {}
            row.status, row.completed_by, row.completed_at = "completed", event["actor"], event["at"]
            row.process_id = payload.get("process_id") or row.process_id
            row.outcome = next((str(data[k]) for k in OUTCOME_KEYS if k in data), None)
        elif kind == "task_cancelled":
            row.status, row.completed_at = "cancelled", event["at"]
        elif kind == "task_claimed":
            row.assignee = event["actor"]
        elif kind == "task_released":
            row.assignee = None
        elif kind == "task_transferred":
            row.assignee = payload.get("to")
        elif kind == "task_delegated":
            row.owner, row.assignee = payload.get("owner"), payload.get("delegate")
        elif kind == "delegation_resolved":
            row.assignee, row.owner, row.draft = payload.get("owner"), None, payload.get("data")
        elif kind == "task_urged":
            row.urge_count = payload.get("count") or row.urge_count + 1
        elif kind == "task_migrated":  # a migration changed the row: {field: [before, after]}
            for name, change in (payload.get("changes") or {}).items():
                if hasattr(row, name) and isinstance(change, list) and len(change) == 2:
                    setattr(row, name, change[1])
        return row


def steps_of(events: list[dict], *, calendar: Any = None) -> list[Step]:
    """Every step of a history (``engine.history.events_of``), oldest first.

    ``calendar`` (a ``WorkingCalendar``) counts how many working days late a completion was; without
    it, or for a year it lacks, ``late_working_days`` stays None.
    """
    fold = _Fold()
    steps: list[Step] = []
    for group in groups_of(events):
        first = group[0]
        before = fold.data
        payload = first.get("payload") or {}
        if first["type"] == "instance_started":
            fold.data = copy.deepcopy(payload.get("data") or {})
            fold.version_id = payload.get("version_id")
        elif first["type"] == "instance_migrated":
            fold.version_id = payload.get("to_version", fold.version_id)
        submitted = (payload.get("data") or {}) if first["type"] == "task_completed" else {}
        # The row as it was when the command acted (before its own completion is folded in).
        acted = fold.tasks.get(payload.get("task_id")) if "task_id" in payload else None
        acted_before = copy.copy(acted) if acted is not None else None
        services = [e["payload"] for e in group if e["type"] == SERVICE_EVENT]
        step_payload, done_now, via, cal = None, {}, None, None
        for event in group:
            kind = event["type"]
            if kind == STEP_EVENT:
                step_payload = event.get("payload") or {}
                via = step_payload.get("via") or via
                cal = step_payload.get("cal") or cal
                fold.apply_step(step_payload, submitted, services)
                done_now = step_payload.get("done") or done_now
            elif kind == "instance_completed":
                fold.data = copy.deepcopy((event.get("payload") or {}).get("data") or fold.data)
            elif kind == "instance_cancelled":
                fold.active, fold.waiting, fold.timers, fold.messages = {}, {}, [], []
            fold.apply_task_event(event)
        task = copy.copy(fold.tasks.get(acted.task_id)) if acted is not None else None  # as the command left it
        steps.append(Step(
            index=len(steps) + 1, seq=first["seq"], last_seq=group[-1]["seq"], type=first["type"], at=first["at"],
            actor=first["actor"], event=first, events=group, data=fold.data, changes=diff(before, fold.data),
            done={pid: sorted(ids) for pid, ids in sorted(fold.done.items())}, done_now=done_now,
            active=fold.active, waiting=fold.waiting, timers=fold.timers, messages=fold.messages,
            tasks=[copy.copy(r) for r in fold.tasks.values() if r.status == "open"], task=task,
            version_id=fold.version_id, via=via, calendar=cal, services=services,
            late=_is_late(task, first), late_working_days=_late(task, first, calendar),
            on_behalf_of=_on_behalf_of(first, acted_before)))
    return steps


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What changed in the process data, key by key, in key order."""
    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            changes.append(Change(key, "removed", before[key], None))
        elif key not in before:
            changes.append(Change(key, "added", None, after[key]))
        elif canonical_json(before[key]) != canonical_json(after[key]):
            changes.append(Change(key, "changed", before[key], after[key]))
    return changes


def _on_behalf_of(first: dict, row: TaskRow | None) -> str | None:
    """The official a delegate worked for (委派), or whom a delegated task was signed off for."""
    if row is None:
        return None
    if first["type"] == "delegation_resolved":
        return (first.get("payload") or {}).get("owner")
    if row.owner and row.owner != first["actor"]:
        return row.owner
    return None


def _is_late(task: TaskRow | None, first: dict) -> bool | None:
    if task is None or first["type"] != "task_completed" or not task.due_at:
        return None
    return dt.datetime.fromisoformat(first["at"]) > dt.datetime.fromisoformat(task.due_at)


def _late(task: TaskRow | None, first: dict, calendar: Any) -> int | None:
    """Working days from a late completion's due date to its completion (0: later the same day)."""
    if not _is_late(task, first) or calendar is None:
        return None
    due, done = dt.datetime.fromisoformat(task.due_at), dt.datetime.fromisoformat(first["at"])
    try:
        return calendar.working_days_between(china_date(due), china_date(done))
    except EngineError:  # a year the calendar lacks
        return None


def state_at(steps: list[Step], index: int) -> Step:
    """The step ``index`` (1-based), clamped to the history; ValueError for an empty history."""
    if not steps:
        raise ValueError("the history has no steps")
    return steps[max(1, min(index, len(steps))) - 1]

