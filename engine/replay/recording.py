"""What every command records beside its own events, for the audit trail and for replay.

DESIGN.md: an instance's history must be enough to show its state at any step and to re-execute
it. The command runner calls this module three times per command:

- ``begin(run, probe)`` before the handler: it takes the instance as it stands (the snapshot cached
  with the workflow since the last command, or a fresh one), and gives the command's
  ``ServiceContext`` its ``outside``: a ``Recorder``, which calls each service task and records what
  it returned in a ``service_called`` event (the way Temporal records activity results), or,
  inside a replay, the replay's ``Playback``, which hands back what was recorded.
- ``record_step(run, pending)`` once the command changed the workflow: one ``step`` event with what
  changed (``STEP_FORMAT`` 1), only the parts that did::

      {"v": 1,
       "data": {"set": {key: value}, "svc": {key: i}, "del": [key]},
       "done": {process: [BPMN ids completed by the command]},
       "active": {process: [...]}, "waiting": {process: [...]},
       "timers": [[BPMN id, due]], "messages": [name],
       "cal": "<fingerprint>", "via": {"channel": "web", "ip": "..."}}

  ``data`` is the change of the process data (``engine.runtime.moment``) against the data before
  the command with the submitted form applied (a ``task_completed`` event's ``data``): ``set``
  holds new values, ``svc`` names keys whose new value is the result of this command's i-th
  service call (kept once, in that ``service_called`` event), ``del`` the keys gone. ``active``,
  ``waiting``, ``timers`` and ``messages`` are written whole when they changed. ``cal`` names the
  working-day calendar the command read (kept in ``replay_calendar``), ``via`` where the command
  came from. A step holds diffs, never a snapshot: ``engine.replay.steps`` folds them back.
- ``record_origin(run)`` for a command that changed no workflow state (claim, transfer, …): a
  ``step`` with ``via`` only, when the origin is known.

``service_called`` is ``{"op": name, "params": <16 hex of the parameters' SHA-256>, "result": …}``,
the result as the workflow received it (JSON).
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sqlalchemy import select

from engine import calendar as _calendar
from engine import runtime
from engine.clock import isoformat_utc
from engine.history import canonical_json

if TYPE_CHECKING:  # pragma: no cover
    from engine.commands._base import InstanceRun

STEP_EVENT = "step"
SERVICE_EVENT = "service_called"
STEP_FORMAT = 1


# --- where a command comes from -----------------------------------------------------------

@dataclass(frozen=True)
class Origin:
    """Where a command came from: the channel (web, api, cli) and the client's address."""

    channel: str
    address: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {"channel": self.channel, **({"ip": self.address} if self.address else {})}


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("greenflow_origin", default=None)


def set_origin(origin: Origin | None) -> contextvars.Token:
    """Make ``origin`` the origin of the commands run from here (a request); ``reset_origin`` undoes it."""
    return _origin.set(origin)


def reset_origin(token: contextvars.Token) -> None:
    _origin.reset(token)


@contextlib.contextmanager
def use_origin(origin: Origin | None) -> Iterator[None]:
    token = set_origin(origin)
    try:
        yield
    finally:
        reset_origin(token)


def current_origin() -> Origin | None:
    return _origin.get()


# --- the instance at one moment -------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    """What a step compares: the process data (canonical JSON per key) and where the instance stands."""

    data: dict[str, str]
    done: dict[str, frozenset[str]]
    active: dict[str, list[str]]
    waiting: dict[str, list[str]]
    timers: list[list[str]]
    messages: list[str]


EMPTY = Snapshot({}, {}, {}, {}, [], [])


def take(wf, pending: runtime.Pending | None = None) -> tuple[Snapshot, dict[str, Any]]:
    """The snapshot of ``wf`` and its process data's values."""
    pending = pending if pending is not None else runtime.pending(wf)
    moment = runtime.moment(wf, pending.tasks)
    snapshot = Snapshot(
        data={key: canonical_json(value) for key, value in moment.data.items()},
        done={pid: frozenset(ids) for pid, ids in moment.done.items()},
        active={pid: sorted(ids) for pid, ids in sorted(moment.active.items())},
        waiting={pid: sorted(ids) for pid, ids in sorted(moment.waiting.items())},
        timers=sorted([t.bpmn_id, isoformat_utc(t.due_at)] for t in pending.timers),
        messages=sorted({w.name for w in pending.messages}),
    )
    return snapshot, moment.data


def initial(data: dict[str, Any]) -> Snapshot:
    """The snapshot of an instance not started yet: only its start data."""
    return Snapshot({k: canonical_json(v) for k, v in data.items() if not callable(v)}, {}, {}, {}, [], [])


# --- the working-day calendar a command read -----------------------------------------------

class CalendarProbe:
    """The runner's calendar loader: loads on first use, as before, and remembers what it loaded."""

    def __init__(self, load: Callable[[], Any]):
        self._load = load
        self.calendar = None

    def __call__(self):
        self.calendar = self._load()
        return self.calendar


def calendar_fingerprint(working_calendar) -> tuple[str, dict]:
    """(16-hex fingerprint, {year: {sha256, source, data}}) of a loaded calendar; cached on it."""
    cached = getattr(working_calendar, "_greenflow_replay", None)
    if cached is not None:
        return cached
    years = {}
    for year in working_calendar.loaded_years:
        data = working_calendar.get_year(year)
        years[str(year)] = {"sha256": _calendar.canonical_sha256(data), "source": data.source, "data": data.to_data()}
    fingerprint = hashlib.sha256(canonical_json({y: v["sha256"] for y, v in years.items()}).encode()).hexdigest()[:16]
    working_calendar._greenflow_replay = (fingerprint, years)
    return fingerprint, years


def archive_calendar(session, fingerprint: str, years: dict, now: dt.datetime) -> None:
    """Keep the calendar ``fingerprint`` names (once per database; concurrent first sights are fine)."""
    from engine.replay.models import ReplayCalendar

    if session.scalar(select(ReplayCalendar.fingerprint).where(ReplayCalendar.fingerprint == fingerprint)):
        return
    table = ReplayCalendar.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).values(fingerprint=fingerprint, years=years, first_seen_at=now)
                    .on_conflict_do_nothing(index_elements=["fingerprint"]))


# --- the outside world: recorded, or played back ---------------------------------------------

def params_digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()[:16]


def as_received(value: Any) -> Any:
    """A service result as the workflow receives it (the sandbox passes it on as JSON)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


class Outside:
    """One command's view of the outside world, and what its step needs: the instance before it."""

    def __init__(self) -> None:
        self.before: Snapshot = EMPTY
        self.probe: CalendarProbe | None = None
        self.results: list[str] = []  # canonical JSON of each service result, in order

    def start(self, before: Snapshot, probe: CalendarProbe | None) -> None:
        self.before, self.probe, self.results = before, probe, []

    def note(self, ctx, name: str, params: dict, result: Any) -> None:
        ctx.record(SERVICE_EVENT, op=name, params=params_digest(params), result=result)
        self.results.append(canonical_json(result))

    def call_service(self, name: str, fn, ctx, **params):  # pragma: no cover - subclasses
        raise NotImplementedError

    def message_hook(self, name: str, hook, ctx, payload: dict) -> dict:  # pragma: no cover - subclasses
        raise NotImplementedError

    def start_hook(self, process_id: str, hook, session, data: dict, actor: str):  # pragma: no cover
        raise NotImplementedError


class Recorder(Outside):
    """The live path: call the service and record its result; message hooks run as they are."""

    def call_service(self, name: str, fn, ctx, **params):
        value = fn(ctx, **params)
        self.note(ctx, name, params, as_received(value))
        return value

    def message_hook(self, name: str, hook, ctx, payload: dict) -> dict:
        return hook(ctx, payload)  # what it returned is the message event's "payload"

    def start_hook(self, process_id: str, hook, session, data: dict, actor: str):
        return hook(session, data, actor)  # what it added is in instance_started's "data" and the instance row


_playback: contextvars.ContextVar[Outside | None] = contextvars.ContextVar("greenflow_playback", default=None)


@contextlib.contextmanager
def playing(outside: Outside) -> Iterator[Outside]:
    """Run the commands of the block with ``outside`` (a replay's playback) instead of a Recorder."""
    token = _playback.set(outside)
    try:
        yield outside
    finally:
        _playback.reset(token)


# --- the runner's three calls ---------------------------------------------------------------

def begin(run: "InstanceRun", probe: CalendarProbe | None) -> None:
    """Before the handler: the instance as it stands, and the command's outside world."""
    cached = getattr(run.derived, "snapshot", None) if run.derived is not None else None
    if cached is not None:
        before = cached
    elif run.instance.row_version == 0:  # a new instance: only its start data
        before = initial(run.workflow.task_tree.data)
    else:  # restored from the database: taken now, before the handler changes the workflow
        before = take(run.workflow)[0]
    outside = _playback.get() or Recorder()
    outside.start(before, probe)
    run.context.outside = outside


def record_step(run: "InstanceRun", pending: runtime.Pending) -> None:
    """After a command that changed the workflow: its ``step`` event (see the module's docstring)."""
    outside = run.context.outside
    if not isinstance(outside, Outside):
        return
    after, values = take(run.workflow, pending)
    before = outside.before
    payload: dict[str, Any] = {"v": STEP_FORMAT}
    data = data_delta(before.data, after.data, values, outside.results, submitted_data(run.events))
    if data:
        payload["data"] = data
    done = {pid: sorted(ids - before.done.get(pid, frozenset())) for pid, ids in after.done.items()}
    done = {pid: ids for pid, ids in sorted(done.items()) if ids}
    if done:
        payload["done"] = done
    for key in ("active", "waiting", "timers", "messages"):
        if getattr(after, key) != getattr(before, key):
            payload[key] = getattr(after, key)
    if outside.probe is not None and outside.probe.calendar is not None:
        fingerprint, years = calendar_fingerprint(outside.probe.calendar)
        archive_calendar(run.session, fingerprint, years, run.now)
        payload["cal"] = fingerprint
    origin = current_origin()
    if origin is not None:
        payload["via"] = origin.to_dict()
    run.record(STEP_EVENT, payload)
    if run.derived is not None:
        run.derived.snapshot = after
    outside.before = after


def record_origin(run: "InstanceRun") -> None:
    """After a command that changed no workflow state: where it came from, when known."""
    origin = current_origin()
    if origin is not None:
        run.record(STEP_EVENT, {"v": STEP_FORMAT, "via": origin.to_dict()})


def submitted_data(events: list[dict]) -> dict[str, Any]:
    """The form data a ``task_completed`` event of these (chained) events put into the workflow."""
    for event in events:
        if event["type"] == "task_completed":
            return json.loads(event["payload"]).get("data") or {}
    return {}


def data_delta(before: dict[str, str], after: dict[str, str], values: dict[str, Any], results: list[str],
               submitted: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a step: ``after`` against ``before`` with ``submitted`` applied (canonical JSON per key)."""
    base = dict(before)
    base.update({key: canonical_json(value) for key, value in submitted.items()})
    by_result: dict[str, int] = {}
    for index, result in enumerate(results):
        by_result.setdefault(result, index)
    set_, svc = {}, {}
    for key, text in after.items():
        if base.get(key) == text:
            continue
        if text in by_result:
            svc[key] = by_result[text]
        else:
            set_[key] = values[key]
    gone = sorted(key for key in base if key not in after)
    delta: dict[str, Any] = {}
    if set_:
        delta["set"] = set_
    if svc:
        delta["svc"] = svc
    if gone:
        delta["del"] = gone
    return delta
