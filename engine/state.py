"""The only module that serializes workflows.

The stored state is SpiffWorkflow's own JSON minus the specs (kept once per definition
version and parsed once per process, see ``engine.specs``), compressed with zlib (level 1:
about a tenth of a millisecond for a 50 KB state, which shrinks about sevenfold, so every
command writes far fewer bytes). It carries two versions: the library's
``serializer_version`` and our integer ``STATE_FORMAT``; an upgrade is a function in
``UPGRADES`` keyed by the old format.
"""
from __future__ import annotations

import json
import zlib
from typing import Callable

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers import DefaultRegistry
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

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


class _FinishedTaskCachingConverter(TaskConverter):
    """Converts a finished task once and reuses the result while the workflow stays in memory.

    A COMPLETED or CANCELLED task no longer changes: its data is its own deep copy and its
    parent is finished too, so its dict is the same at every save unless its state, time
    or children change (all three are part of the cache key). Saves of a long-running
    instance then convert only the tasks still moving.
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


def _uuid(value):
    from uuid import UUID

    return UUID(value)


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[Task] = _FinishedTaskCachingConverter
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
    text = json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode("utf-8"), 1)


def as_json(stored: bytes) -> dict:
    """The stored state as a dict (for inspection and tests)."""
    return json.loads(zlib.decompress(stored))


def load(stored: bytes, spec, subprocess_specs: dict) -> BpmnWorkflow:
    """Restore a workflow dumped by ``dump`` onto the given (cached) spec objects."""
    dct = as_json(stored)
    fmt = dct.pop("greenflow_format", STATE_FORMAT)
    while fmt < STATE_FORMAT:
        dct = UPGRADES[fmt](dct)
        fmt += 1
    _SERIALIZER.migrate(dct)
    return _SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
