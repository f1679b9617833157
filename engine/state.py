"""The only module that serializes workflows.

The stored state is SpiffWorkflow's own JSON minus the specs (kept once per definition
version and parsed once per process, see ``engine.specs``), compressed with zlib (level 1:
about a tenth of a millisecond for a 50 KB state, which shrinks about sevenfold, so every
command writes far fewer bytes). It carries two versions: the library's
``serializer_version`` and our integer ``STATE_FORMAT``; an upgrade is a function in
``UPGRADES`` keyed by the old format.

The JSON is written and read with orjson (about eight times faster than ``json`` both ways on a
300-task state; docs/performance.md). Anything orjson refuses — a non-string key, an integer
beyond 64 bits, a ``NaN`` literal in an old state — goes through ``json`` exactly as before, so
the document is the same JSON either way. Types orjson would write its own way (datetimes,
dataclasses) are handed to the library's registry as the ``json`` encoder hands them. One
difference: a float NaN or infinity in task data is written as ``null`` (JSON has neither).
"""
from __future__ import annotations

import functools
import json
import zlib
from types import ModuleType
from typing import Callable
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers import DefaultRegistry
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

import orjson

STATE_FORMAT = 1
LIBRARY_VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow without its specs and restores it onto cached spec objects."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("restoring a specless workflow needs its spec")
        dct = dict(dct, spec=None)
        dct.pop("spec")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _TaskConverter(TaskConverter):
    """The library's task converter, with a cheaper way both ways.

    Writing: a finished task is converted once and the result reused while the workflow stays in
    memory. A COMPLETED or CANCELLED task no longer changes: its data is its own deep copy and its
    parent is finished too, so its dict is the same at every save unless its state, time or
    children change (all three are part of the cache key). Saves of a long-running instance then
    convert only the tasks still moving.

    Reading: ``from_dict`` is SpiffWorkflow 3.2.0's (pinned), with UUIDs parsed through a cache and
    task data restored by ``_restore`` — the same values, at about half the cost (restoring
    dominates a load: a command on an instance this process does not hold pays it).
    """

    FINISHED = (TaskState.COMPLETED, TaskState.CANCELLED)

    def to_dict(self, task):
        if task.state not in self.FINISHED:
            return super().to_dict(task)
        key = (task.state, task.last_state_change, tuple(task._children))
        cached = getattr(task, "_greenflow_dict", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        dct = super().to_dict(task)
        task._greenflow_dict = (key, dct)
        return dct

    def from_dict(self, dct, workflow):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = _restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            data.update(_restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                if key in data:
                    del data[key]
        else:
            data = _restore(dct["data"])
        task.data = data
        return task


_PRIMITIVES = frozenset({str, int, float, bool, type(None)})


def _restore(value):
    """``registry.restore`` for a value read from JSON (dicts, lists and primitives): registered types
    (a dict with a ``typename``) go to the registry; everything else is rebuilt without a call per
    primitive."""
    kind = type(value)
    if kind is dict:
        if "typename" in value:
            return _SERIALIZER.registry.restore(value)
        return {k: v if type(v) in _PRIMITIVES else _restore(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _PRIMITIVES else _restore(v) for v in value]
    return _SERIALIZER.registry.restore(value)


@functools.lru_cache(maxsize=32768)
def _uuid(value: str) -> UUID:
    """A task id parsed once (UUIDs are immutable; each id appears as a key, an id, a parent and a child)."""
    return UUID(value)


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[Task] = _TaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config, DefaultRegistry()))


_SERIALIZER = _make_serializer()
# The full serializer (with specs) is what deploy uses to check a spec round-trips.
FULL_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG, DefaultRegistry()))

UPGRADES: dict[int, Callable[[dict], dict]] = {}


def dump(workflow: BpmnWorkflow) -> bytes:
    """Compressed JSON state of ``workflow`` without its specs."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
    finally:
        registry._encoder_mode = False
    dct[LIBRARY_VERSION_KEY] = _SERIALIZER.VERSION
    dct["greenflow_format"] = STATE_FORMAT
    try:
        text = orjson.dumps(dct, default=_encode_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:  # what orjson refuses, json writes (or refuses) as it always did
        text = json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
    return zlib.compress(text, 1)


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _encode_default(obj):
    """The library's JSON encoder's ``default`` (SpiffWorkflow ``create_encoder``), for orjson."""
    registry = _SERIALIZER.registry
    typename = registry.typenames.get(type(obj))
    if typename is not None:
        return registry.convert_to_dict[typename](obj)
    if callable(obj) or isinstance(obj, ModuleType):
        return None
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def as_json(stored: bytes) -> dict:
    """The stored state as a dict (for inspection and tests)."""
    text = zlib.decompress(stored)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN literals, integers beyond 64 bits: json reads them as before
        return json.loads(text)


def load(stored: bytes, spec, subprocess_specs: dict) -> BpmnWorkflow:
    """Restore a workflow dumped by ``dump`` onto the given (cached) spec objects."""
    dct = as_json(stored)
    fmt = dct.pop("greenflow_format", STATE_FORMAT)
    while fmt < STATE_FORMAT:
        dct = UPGRADES[fmt](dct)
        fmt += 1
    _SERIALIZER.migrate(dct)
    return _SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
