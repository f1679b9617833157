"""The audit replay: step-through views of a history, and its re-execution against the record.

Public surface (DESIGN.md, "Auditors' path"; STYLE.md habit 10):

- ``steps_of(events, *, calendar=None)`` (``engine.replay.steps``): every step of an instance's
  history as it was then — process data and its diff, elements completed / active / waiting, open
  tasks, timers, lateness in working days — folded from the recorded events alone, without running
  anything;
- ``replay(engine, instance_id)`` and ``replay_many(engine, ids, *, stop_on_first=False)``
  (``engine.replay.replayer``): re-run the recorded commands on an empty scratch database with the
  recorded clock, definition versions, users and outside world, and compare every step;
- ``record_run`` and ``instance_ids`` (``engine.replay.replayer``): keep a replay's findings, pick the
  instances of ``--all [--since]``;
- ``engine.replay.bundle``: recorded histories as values (export, import), for saved histories;
- ``Origin`` / ``use_origin`` / ``set_origin`` (``engine.replay.recording``): where the commands of a
  request come from (the web layer sets it), written into each step.

The command runner records what replay needs (``engine.replay.recording``). Everything here is
imported lazily: ``engine.models`` imports this package's tables, and the replayer needs the command
package, which imports the recorder.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

_RECORDING = ("Origin", "current_origin", "reset_origin", "set_origin", "use_origin")


def __getattr__(name: str) -> Any:
    if name in _RECORDING:
        from engine.replay import recording

        return getattr(recording, name)
    raise AttributeError(f"module 'engine.replay' has no attribute {name!r}")

if TYPE_CHECKING:  # pragma: no cover
    from engine.replay.replayer import ReplayReport, ReplayResult


def replay(engine: Any, instance_id: int, **options: Any) -> "ReplayResult":
    """Re-execute one instance against its record (see ``engine.replay.replayer.replay``)."""
    from engine.replay import replayer

    return replayer.replay(engine, instance_id, **options)


def replay_many(engine: Any, instance_ids: list[int], **options: Any) -> "ReplayReport":
    """Re-execute several instances (see ``engine.replay.replayer.replay_many``)."""
    from engine.replay import replayer

    return replayer.replay_many(engine, instance_ids, **options)


def steps_of(events: list[dict], **options: Any) -> list:
    """The steps of a history (see ``engine.replay.steps.steps_of``)."""
    from engine.replay import steps

    return steps.steps_of(events, **options)


__all__ = ["Origin", "current_origin", "reset_origin", "set_origin", "use_origin", "replay", "replay_many",
           "steps_of"]
