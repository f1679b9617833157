"""Registries that connect diagrams to code: service tasks and expression functions.

``handlers/`` fills them with decorators::

    @service_task("check_eligibility")
    def check_eligibility(ctx: ServiceContext, *, application: dict) -> dict: ...

    @script_function("city_of")
    def city_of(county_code: str) -> str: ...

A service task receives the running command's context (database session, clock, actor,
instance id) and its parameters as keyword arguments; it returns a JSON-serialisable
value, stored in the task's ``resultVariable``.  Script functions are pure: they get only
their arguments.  Deploy refuses a diagram that names an unknown service operator.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from engine.clock import Clock

ServiceFunction = Callable[..., Any]

_SERVICES: dict[str, ServiceFunction] = {}
_FUNCTIONS: dict[str, Callable[..., Any]] = {}


@dataclass
class ServiceContext:
    """What a service task may use: the command's session and clock, who acts, on what."""

    session: "Session"
    clock: "Clock"
    instance_id: int
    actor: str
    process_id: str
    # Records that the service wants in the history (type, payload); the runtime appends them.
    events: list[tuple[str, dict]] = field(default_factory=list)

    # Outbox ids of the process starts requested by this command (see engine/followups.py).
    requested_starts: list[int] = field(default_factory=list)

    # How this command reaches the outside world (engine.replay.recording): None calls service tasks
    # and message hooks directly; the command runner records what they returned, and a replay hands
    # back what was recorded instead of calling them.
    outside: Any = None

    def record(self, event_type: str, **payload: Any) -> None:
        self.events.append((event_type, payload))

    def start_process(self, process_id: str, data: dict[str, Any], *, business_key: str | None = None) -> int:
        """Ask for an instance of ``process_id`` to be started once this command has committed.

        Written to the outbox in this command's transaction and started right after the commit
        (or by the worker after a crash), as the acting person; ``business_key`` makes the
        request idempotent. Records ``process_start_requested``; returns the outbox id.
        """
        from engine import followups

        row = followups.request(self.session, instance_id=self.instance_id, now=self.clock.now(),
                                process_id=process_id, data=data, actor=self.actor, business_key=business_key)
        self.requested_starts.append(row.id)
        self.record("process_start_requested", outbox_id=row.id, process_id=process_id, business_key=business_key)
        return row.id


current_context: contextvars.ContextVar[ServiceContext | None] = contextvars.ContextVar(
    "greenflow_service_context", default=None
)


def service_task(name: str) -> Callable[[ServiceFunction], ServiceFunction]:
    """Register ``fn`` as the implementation of ``serviceTaskOperator id=name``."""

    def register(fn: ServiceFunction) -> ServiceFunction:
        if name in _SERVICES and _SERVICES[name] is not fn:
            raise ValueError(f"service task {name!r} registered twice")
        _SERVICES[name] = fn
        return fn

    return register


def script_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make ``fn`` callable by that name from scripts, conditions and timer expressions."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _FUNCTIONS and _FUNCTIONS[name] is not fn:
            raise ValueError(f"script function {name!r} registered twice")
        _FUNCTIONS[name] = fn
        return fn

    return register


def get_service(name: str) -> ServiceFunction | None:
    """The service task ``name`` as the running command calls it (recorded, or replayed: ``outside``)."""
    fn = _SERVICES.get(name)
    ctx = current_context.get()
    if fn is None or ctx is None or ctx.outside is None:
        return fn
    return lambda context, **params: ctx.outside.call_service(name, fn, context, **params)


def service_names() -> set[str]:
    return set(_SERVICES)


def script_functions() -> dict[str, Callable[..., Any]]:
    return dict(_FUNCTIONS)


@dataclass
class StartInfo:
    """What a start hook adds to a new instance: extra data, a title, a business key."""

    data: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    business_key: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)


StartHook = Callable[["Session", dict, str], StartInfo]
_START_HOOKS: dict[str, StartHook] = {}


def start_hook(process_id: str) -> Callable[[StartHook], StartHook]:
    """Register ``fn(session, data, actor_username) -> StartInfo``, run before ``process_id`` starts.

    It validates the start data beyond its JSON Schema (raise InvalidInput/RuleViolation)
    and derives data the diagram needs (for example the applicant's scope).
    """

    def register(fn: StartHook) -> StartHook:
        _START_HOOKS[process_id] = fn
        return fn

    return register


def get_start_hook(process_id: str) -> StartHook | None:
    """The start hook of ``process_id``; inside a replay (a context with ``outside`` set around the
    start), the one that hands back what the recorded start held."""
    hook = _START_HOOKS.get(process_id)
    ctx = current_context.get()
    if hook is None or ctx is None or ctx.outside is None:
        return hook
    return lambda session, data, actor: ctx.outside.start_hook(process_id, hook, session, data, actor)


MessageHook = Callable[[ServiceContext, dict], dict]
_MESSAGE_HOOKS: dict[str, MessageHook] = {}


def message_hook(message_name: str) -> Callable[[MessageHook], MessageHook]:
    """Register ``fn(ctx, payload) -> payload``, run inside the delivering command's transaction.

    It validates an incoming message (raise InvalidInput/RuleViolation to refuse it, and
    nothing is written) and may store a record and add its id to the payload, atomically
    with the delivery.
    """

    def register(fn: MessageHook) -> MessageHook:
        _MESSAGE_HOOKS[message_name] = fn
        return fn

    return register


def get_message_hook(message_name: str) -> MessageHook | None:
    """The hook of ``message_name`` as the running command calls it (a replay hands back the recorded payload)."""
    hook = _MESSAGE_HOOKS.get(message_name)
    ctx = current_context.get()
    if hook is None or ctx is None or ctx.outside is None:
        return hook
    return lambda context, payload: ctx.outside.message_hook(message_name, hook, context, payload)


SupervisionCheck = Callable[[frozenset, str, str], bool]
_SUPERVISION: list[SupervisionCheck] = []


def supervision(fn: SupervisionCheck) -> SupervisionCheck:
    """Register ``fn(grants, role, scope) -> bool``: do ``grants`` supervise work of ``role`` at ``scope``?

    The engine asks it before a 催办 (urge); the domain decides what supervision means
    (county → city → province). Without a registered check nobody supervises.
    """
    _SUPERVISION[:] = [fn]
    return fn


def supervises(grants: frozenset, role: str, scope: str) -> bool:
    return bool(_SUPERVISION) and _SUPERVISION[0](grants, role, scope)
