"""A replayed command's outside world, and the command rebuilt from its recorded first event.

``Playback`` is what a replayed command reaches instead of the outside world (``engine.services``'
``outside``): each service task returns the result recorded for it — called with the recorded
operator and parameters, in the recorded order, or the replay diverges — the start hook gives the
recorded start data and the instance row's title and summary, a message hook the recorded payload.

``command_for(run, first)`` rebuilds the command that recorded ``first``, its task ids and timer
guids mapped to the scratch database's (``run.ids``, ``run.twin``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from engine import commands
from engine.models import ProcessInstance, Timer
from engine.replay import compare
from engine.replay.compare import Difference
from engine.replay.recording import SERVICE_EVENT, Outside, params_digest
from engine.services import StartInfo


class Diverged(Exception):
    """Raised inside a replayed command (a service call the record does not have)."""

    def __init__(self, where: str, recorded: Any, replayed: Any, message: str):
        super().__init__(message)
        self.difference = Difference(where, recorded, replayed)


class Playback(Outside):
    """A replayed command's outside world: what the record says it saw, in order."""

    def __init__(self, group: list[dict], source_row: ProcessInstance):
        super().__init__()
        self.calls = [e["payload"] for e in group if e["type"] == SERVICE_EVENT]
        self.first = group[0]
        self.source_row = source_row

    def call_service(self, name: str, fn, ctx, **params):
        if not self.calls:
            raise Diverged("service_called", compare.MISSING, name,
                            f"the replay called service task {name!r}; the record has no further service call")
        recorded = self.calls.pop(0)
        digest = params_digest(params)
        if (recorded.get("op"), recorded.get("params")) != (name, digest):
            raise Diverged("service_called", f"{recorded.get('op')} {recorded.get('params')}", f"{name} {digest}",
                            f"the replay called service task {name!r} with other parameters or in another order")
        self.note(ctx, name, params, recorded.get("result"))
        return recorded.get("result")

    def message_hook(self, name: str, hook, ctx, payload: dict) -> dict:
        return dict((self.first.get("payload") or {}).get("payload") or {})

    def start_hook(self, process_id: str, hook, session, data: dict, actor: str) -> StartInfo:
        """The start data as recorded (a hook may reshape the submitted data in place), and the row's title,
        business key and summary as stored."""
        row = self.source_row
        data.clear()
        data.update((self.first.get("payload") or {}).get("data") or {})
        return StartInfo(title=row.title, business_key=row.business_key, summary=dict(row.summary or {}))


class KeyMissing(Exception):
    def __init__(self, where: str, recorded: Any, message: str):
        super().__init__(message)
        self.where, self.recorded = where, recorded


# --- rebuilding commands from their first events ------------------------------------------------

def _task(run, first: dict) -> int:
    recorded = (first.get("payload") or {}).get("task_id")
    if recorded not in run.ids.tasks:
        raise KeyMissing("payload.task_id", recorded, f"task {recorded} was never opened in the replay")
    return run.ids.tasks[recorded]


def _timer(run, first: dict) -> str:
    """The replayed twin of the recorded timer (its guid, else the waiting timer of the same BPMN id)."""
    guid = first.get("task_guid")
    if guid in run.ids.guids:
        return run.ids.guids[guid]
    due = (first.get("payload") or {}).get("due_at")
    with run.scratch.db.session() as session:
        timers = session.scalars(select(Timer).where(Timer.instance_id == run.twin,
                                                     Timer.bpmn_id == first.get("bpmn_id"))).all()
    exact = [t for t in timers if due and t.due_at == dt.datetime.fromisoformat(due)]
    found = (exact or timers)[:1]
    if not found:
        raise KeyMissing("timer", first.get("bpmn_id"), f"the replay has no timer {first.get('bpmn_id')} waiting")
    return found[0].task_guid


def _p(first: dict) -> dict:
    return first.get("payload") or {}


COMMANDS = {
    "instance_started": lambda run, f: commands.StartInstance(
        process_id=_p(f)["process_id"], data=dict(_p(f).get("submitted") or {}), version_id=_p(f).get("version_id")),
    "task_completed": lambda run, f: commands.CompleteTask(task_id=_task(run, f), data=dict(_p(f).get("data") or {})),
    "task_claimed": lambda run, f: commands.ClaimTask(task_id=_task(run, f)),
    "task_released": lambda run, f: commands.ReleaseTask(task_id=_task(run, f)),
    "message_received": lambda run, f: commands.DeliverMessage(
        instance_id=run.twin, name=_p(f)["name"], payload=dict(_p(f).get("submitted") or {})),
    "timer_fired": lambda run, f: commands.FireTimer(instance_id=run.twin, task_guid=_timer(run, f)),
    "instance_cancelled": lambda run, f: commands.CancelInstance(instance_id=run.twin, reason=_p(f).get("reason", "")),
    "task_transferred": lambda run, f: commands.TransferTask(task_id=_task(run, f), to_user=_p(f).get("to") or "",
                                                             note=_p(f).get("note") or ""),
    "task_delegated": lambda run, f: commands.DelegateTask(task_id=_task(run, f), to_user=_p(f).get("delegate") or "",
                                                           note=_p(f).get("note") or ""),
    "delegation_resolved": lambda run, f: commands.ResolveDelegation(
        task_id=_task(run, f), data=dict(_p(f).get("data") or {}), note=_p(f).get("note") or ""),
    "task_cc": lambda run, f: commands.CcTask(task_id=_task(run, f), to_users=tuple(_p(f).get("to") or ()),
                                              note=_p(f).get("note") or ""),
    "task_urged": lambda run, f: commands.UrgeTask(task_id=_task(run, f), note=_p(f).get("note") or ""),
    "comment_added": lambda run, f: commands.CommentTask(task_id=_task(run, f), text=_p(f).get("text") or ""),
}
# Issue 12: a migration is re-done at its recorded point (not in the batch job it ran in).
COMMANDS["instance_migrated"] = lambda run, f: commands.MigrateInstance(
    instance_id=run.twin, to_version=_p(f)["to_version"], mapping=dict(_p(f).get("mapping") or {}))


def command_for(run, first: dict):
    """The command that recorded ``first``; KeyMissing if it names a task or timer the replay lacks."""
    return COMMANDS[first["type"]](run, first)
