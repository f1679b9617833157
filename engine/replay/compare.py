"""Comparing a recorded command with its re-execution, and the stored instance with the replayed one.

Ids differ between the two databases (task rows, SpiffWorkflow's task guids, buffered messages),
so the comparison maps them as they appear: the n-th task opened by a command on one side is the
n-th on the other, and from then on a recorded id must always meet its mapped twin. Everything
else must be equal: event types in order, times, actors, BPMN ids and payloads, the ``step``
records (process data, positions, timers, calendar) but for ``via`` (a replay comes from no
address), and the service calls (operation and parameters).

Not compared: the domain's own events (``objection_filed``, ``outcome_recorded``…; the service tasks
that wrote them are not run again, their results are), incident notes (``incident_resolved``,
``incident_dismissed``: an operator's, or a retry's, bookkeeping), and the ``job_id`` of a migration
(the operator's batch, replayed as a single migration).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine import state
from engine.history import canonical_json
from engine.models import HumanTask, MessageWait, ProcessInstance, Timer
from engine.replay.recording import SERVICE_EVENT, STEP_EVENT, take
from engine.replay.steps import COMMAND_EVENTS

# What the engine itself records (the rest comes from service tasks and hooks).
ENGINE_EVENTS = COMMAND_EVENTS | {"task_opened", "task_cancelled", "instance_completed", "message_delivered",
                                  "task_migrated", STEP_EVENT, SERVICE_EVENT}
MISSING = "(none)"


@dataclass(frozen=True)
class Difference:
    """Where two things differ: a dotted path, and the two values there."""

    where: str
    recorded: Any
    replayed: Any


@dataclass
class IdMap:
    """Recorded id -> replayed id, for task rows, task guids and buffered messages."""

    tasks: dict[int, int] = field(default_factory=dict)
    guids: dict[str, str] = field(default_factory=dict)
    buffered: dict[int, int] = field(default_factory=dict)

    def pair(self, kind: dict, recorded: Any, replayed: Any) -> bool:
        """Map ``recorded`` to ``replayed`` the first time; afterwards, True when they still match."""
        if recorded is None or replayed is None:
            return recorded is None and replayed is None
        if recorded not in kind:
            if replayed in kind.values():
                return False
            kind[recorded] = replayed
            return True
        return kind[recorded] == replayed


def comparable(events: list[dict]) -> list[dict]:
    """The events of a command the replay must reproduce."""
    return [e for e in events if e["type"] in ENGINE_EVENTS]


def compare_command(recorded: list[dict], replayed: list[dict], ids: IdMap) -> tuple[dict | None, Difference] | None:
    """The first difference between a recorded command's events and the replayed ones, with the
    recorded event it concerns (None when a recorded event is missing at the end); None if equal."""
    recorded, replayed = comparable(recorded), comparable(replayed)
    for index in range(max(len(recorded), len(replayed))):
        if index >= len(recorded):
            extra = replayed[index]
            return None, Difference("event", MISSING, _describe(extra))
        if index >= len(replayed):
            return recorded[index], Difference("event", _describe(recorded[index]), MISSING)
        difference = compare_event(recorded[index], replayed[index], ids)
        if difference is not None:
            return recorded[index], difference
    return None


def compare_event(recorded: dict, replayed: dict, ids: IdMap) -> Difference | None:
    for key in ("type", "at", "actor", "bpmn_id"):
        if recorded.get(key) != replayed.get(key):
            return Difference(key, recorded.get(key), replayed.get(key))
    if not ids.pair(ids.guids, recorded.get("task_guid"), replayed.get("task_guid")):
        return Difference("task_guid", recorded.get("task_guid"), replayed.get("task_guid"))
    mine, theirs = dict(recorded.get("payload") or {}), dict(replayed.get("payload") or {})
    if recorded["type"] == STEP_EVENT:
        mine.pop("via", None)  # a replay comes from no address
        theirs.pop("via", None)
        if "cal" not in mine or "cal" not in theirs:  # a service task read it: its results are recorded
            mine.pop("cal", None)
            theirs.pop("cal", None)
    if recorded["type"] == "instance_migrated":  # the batch job an operator ran it in is not the instance's
        mine.pop("job_id", None)
        theirs.pop("job_id", None)
    for key, kind in (("task_id", ids.tasks), ("buffered_id", ids.buffered)):
        if key in mine or key in theirs:
            a, b = mine.pop(key, None), theirs.pop(key, None)
            if not ids.pair(kind, a, b):
                return Difference(f"payload.{key}", a, b)
    return first_difference(mine, theirs, "payload")


def first_difference(recorded: Any, replayed: Any, where: str) -> Difference | None:
    """The first place (in key order) where two JSON values differ."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in sorted(set(recorded) | set(replayed), key=str):
            if key not in recorded:
                return Difference(f"{where}.{key}", MISSING, replayed[key])
            if key not in replayed:
                return Difference(f"{where}.{key}", recorded[key], MISSING)
            found = first_difference(recorded[key], replayed[key], f"{where}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        for index, (a, b) in enumerate(zip(recorded, replayed)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    if canonical_json(recorded) != canonical_json(replayed):
        return Difference(where, recorded, replayed)
    return None


def _describe(event: dict) -> str:
    return f"{event['type']} ({event.get('bpmn_id') or ''})".replace(" ()", "")


# --- the stored instance against the replayed one ---------------------------------------------

TASK_FIELDS = ("bpmn_id", "process_id", "name", "role", "scope", "form", "status", "assignee", "owner",
               "completed_by", "outcome", "due_at", "created_at", "completed_at", "draft", "urge_count")


def compare_rows(stored: list[dict], replayed: list[dict], ids: IdMap) -> Difference | None:
    """The stored human task rows against the replayed ones (mapped by id), every field of TASK_FIELDS."""
    by_id = {row["id"]: row for row in replayed}
    if len(stored) != len(replayed):
        return Difference("human_task rows", len(stored), len(replayed))
    for row in stored:
        twin = by_id.get(ids.tasks.get(row["id"]))
        if twin is None:
            return Difference(f"human_task {row['id']}", row["name"], MISSING)
        for name in TASK_FIELDS:
            if canonical_json(row.get(name)) != canonical_json(twin.get(name)):
                return Difference(f"human_task {row['id']}.{name}", row.get(name), twin.get(name))
    return None


def stored_view(engine, instance_id: int, *, cached: bool = False) -> dict[str, Any]:
    """What is stored of an instance: its row, tasks, timers, waits and its state read back (``cached``:
    the snapshot its last step took, if the engine still holds it — the replayed twin's)."""
    with engine.db.session() as session:
        row = session.get(ProcessInstance, instance_id)
        tasks = [{c.name: getattr(t, c.name) for c in HumanTask.__table__.columns}
                 for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                          .order_by(HumanTask.id))]
        for task in tasks:
            for key in ("due_at", "created_at", "completed_at"):
                task[key] = task[key].isoformat() if task[key] else None
        timers = sorted([t.bpmn_id, t.due_at.isoformat()] for t in session.scalars(
            select(Timer).where(Timer.instance_id == instance_id)))
        messages = sorted(session.scalars(select(MessageWait.message_name).where(MessageWait.instance_id == instance_id)))
        snapshot = None
        if cached and row.status != "cancelled":  # a cancel records no step
            workflow, derived = engine.cache.take(instance_id, row.row_version)
            snapshot = getattr(derived, "snapshot", None) if workflow is not None else None
        if snapshot is None:
            loaded = engine.specs.load(session, row.version_id)
            snapshot, _ = take(state.load(row.state, *loaded.spec(row.process_id)))
        return {"status": row.status, "row_version": row.row_version, "buffered_count": row.buffered_count,
                "completed_at": row.completed_at.isoformat() if row.completed_at else None, "tasks": tasks,
                "timers": timers, "messages": messages,
                "snapshot": {"data": snapshot.data, "done": {k: sorted(v) for k, v in snapshot.done.items()},
                             "active": snapshot.active, "waiting": snapshot.waiting}}
