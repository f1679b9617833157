"""How two versions of a process correspond: SpiffWorkflow's ``SpecDiff`` with the owner's mapping.

``SpecDiff`` (SpiffWorkflow 3.2, ``bpmn.util.diff``) aligns the task specs of two versions of one
process — the same BPMN id first, then by position among aligned neighbours — and lists what
changed in each aligned pair (by comparing their serialized forms). ``VersionDiff`` holds one per
process of an instance (the top one and those it calls) and answers the migration's questions:
what a task's element became, what changed in it, which elements were added or removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff

from engine import state

_REGISTRY = state.FULL_SERIALIZER.registry
# Attributes whose change leaves a live task as it was (its data, a timer's due time): the arrows,
# names, documentation and our own properties (role, scope, form, due date: the inbox row follows them).
KEEPS_STATE = frozenset({"inputs", "outputs", "bpmn_name", "description", "documentation", "lookahead",
                         "extensions", "lane"})


# --- diffs of the specs ---------------------------------------------------------------------------

def _compare(old, new) -> list[str]:
    """The attributes that differ between two task specs, as SpecDiff compares them."""
    first, second = _REGISTRY.convert(old), _REGISTRY.convert(new)
    if first.get("typename") != second.get("typename"):
        return ["typename"]
    return [key for key, value in first.items() if second.get(key) != value]


def spec_diff(old_spec, new_spec, mapping: dict[str, str]) -> SpecDiff:
    """SpiffWorkflow's alignment of two versions of one process, with the owner's mapping applied."""
    diff = SpecDiff(_REGISTRY, old_spec, new_spec)
    for old_id, new_id in mapping.items():
        old, new = old_spec.task_specs.get(old_id), new_spec.task_specs.get(new_id)
        if old is None or new is None:
            continue
        diff.alignment[old] = new
        if new in diff.added:
            diff.added.remove(new)
        diff.comparisons[old] = _compare(old, new)
    return diff


@dataclass
class VersionDiff:
    """A process and every process it calls, diffed against their versions in the target.

    ``processes`` maps a process id to its SpecDiff, or None when the target lacks that process.
    """

    process_id: str
    processes: dict[str, SpecDiff | None]
    new_specs: dict[str, Any]  # process id -> the target's spec (the top and the called ones)
    added_processes: list[str] = field(default_factory=list)
    _names: dict | None = field(default=None, repr=False)
    # What callers derive once per pair of versions and keep with it (the changed forms, the hashes).
    memo: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, process_id: str, old: tuple, new: tuple, mapping: dict[str, str]) -> "VersionDiff":
        """``old`` and ``new`` are (spec, subprocess specs) of ``process_id`` in the two versions."""
        (old_spec, old_subs), (new_spec, new_subs) = old, new
        new_specs = {process_id: new_spec, **new_subs}
        processes: dict[str, SpecDiff | None] = {process_id: spec_diff(old_spec, new_spec, mapping)}
        for name, spec in old_subs.items():
            processes[name] = spec_diff(spec, new_subs[name], mapping) if name in new_subs else None
        added = sorted(name for name in new_subs if name not in old_subs)
        return cls(process_id, processes, new_specs, added)

    def for_workflow(self, workflow) -> SpecDiff | None:
        return self.processes.get(workflow.spec.name)

    def aligned(self, task):
        """The target's spec for a task (None: the element is gone, or its whole process)."""
        diff = self.for_workflow(task.workflow)
        return diff.alignment.get(task.task_spec) if diff is not None else None

    def changes(self, task) -> list[str]:
        diff = self.for_workflow(task.workflow)
        return diff.comparisons.get(task.task_spec, []) if diff is not None else []

    def elements(self) -> list[dict[str, Any]]:
        """Every BPMN element of the old version with what became of it, then those the new one adds.

        ``change``: unchanged, changed, removed, renamed (aligned to another id by SpiffWorkflow or
        the mapping) or added; ``attributes``: what changed.
        """
        rows = []
        for process_id, diff in self.processes.items():
            if diff is None:
                rows.append({"process_id": process_id, "element": None, "name": process_id, "kind": "process",
                             "change": "removed", "target": None, "attributes": []})
                continue
            for old, new in diff.alignment.items():
                if old is None or not old.bpmn_id:
                    continue
                if new is None:
                    change, target = "removed", None
                elif new.name != old.name:
                    change, target = "renamed", new.bpmn_id
                else:
                    change, target = ("changed" if diff.comparisons.get(old) else "unchanged"), None
                rows.append({"process_id": process_id, "element": old.bpmn_id, "name": old.bpmn_name or old.bpmn_id,
                             "kind": type(old).__name__, "change": change, "target": target,
                             "attributes": sorted(diff.comparisons.get(old, []))})
            for new in diff.added:
                if new.bpmn_id:
                    rows.append({"process_id": process_id, "element": new.bpmn_id, "name": new.bpmn_name or new.bpmn_id,
                                 "kind": type(new).__name__, "change": "added", "target": None, "attributes": []})
        for name in self.added_processes:
            rows.append({"process_id": name, "element": None, "name": name, "kind": "process", "change": "added",
                         "target": None, "attributes": []})
        return rows

    def candidates(self, process_id: str, kind: str) -> list[tuple[str, str]]:
        """(BPMN id, name) of the target's elements of ``kind`` in ``process_id``: what one may map to."""
        spec = self.new_specs.get(process_id)
        if spec is None:
            return []
        return sorted((s.bpmn_id, s.bpmn_name or s.bpmn_id) for s in spec.task_specs.values()
                      if s.bpmn_id and type(s).__name__ == kind)

    def source_names(self) -> dict[tuple[str, str], str]:
        """(process id, BPMN id) -> name of every element of the source version."""
        if self._names is None:
            self._names = {(pid, old.bpmn_id): old.bpmn_name or old.bpmn_id
                           for pid, diff in self.processes.items() if diff is not None
                           for old in diff.alignment if old is not None and old.bpmn_id}
        return self._names

    def target_element(self, process_id: str, bpmn_id: str) -> str | None:
        """The BPMN id an element of the source became in the target (None: removed, or unknown)."""
        diff = self.processes.get(process_id)
        if diff is None:
            return None
        for old, new in diff.alignment.items():
            if old is not None and old.name == bpmn_id:
                return new.bpmn_id if new is not None else None
        return None


__all__ = ["VersionDiff", "spec_diff", "KEEPS_STATE"]
