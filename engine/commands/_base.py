"""What every command handler gets: the locked instance, its workflow, and the tools to record."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from sqlalchemy.orm import Session

from engine import history
from engine.identity import Actor
from engine.models import ProcessInstance
from engine.services import ServiceContext

if TYPE_CHECKING:  # pragma: no cover
    from engine.specs import LoadedVersion


@dataclass(frozen=True)
class Command:
    """Base of all commands. ``event_type`` names the history event the command appends."""

    event_type: ClassVar[str] = "command"

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **dataclasses.asdict(self)}


@dataclass
class InstanceRun:
    """The state of one command on one instance, inside its transaction."""

    session: Session
    instance: ProcessInstance
    workflow: Any  # the SpiffWorkflow BpmnWorkflow (only runtime.py drives it)
    loaded: "LoadedVersion"
    actor: Actor
    now: dt.datetime
    context: ServiceContext
    # The human task (row) a command acts on, so the sync can record who completed it.
    acted_task_guid: str | None = None
    outcome: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    # When set, the command changed no workflow state (claim, release): skip dump and sync.
    state_untouched: bool = False
    known_roles: set[str] | None = None
    # The derived-table snapshot (engine.commands.runner.Derived); None means "read it from the database".
    derived: Any = None
    # The engine's parsed versions (engine.specs.SpecCache), for a command that loads another version
    # (MigrateInstance).
    specs: Any = None

    # Events of this command, chained in order and written together at the end.
    events: list[dict] = field(default_factory=list)

    def record(self, type: str, payload: dict[str, Any] | None = None, *, task_guid: str | None = None,
               bpmn_id: str | None = None) -> None:
        self.events.append(history.chain(self.instance, at=self.now, actor=self.actor.username, type=type,
                                         payload=payload, task_guid=task_guid, bpmn_id=bpmn_id))


Handler = Callable[[InstanceRun, Command], None]
