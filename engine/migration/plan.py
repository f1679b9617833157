"""Migration plans: process version N of a process to version M, and how their elements correspond.

Owners think in process versions (``engine.versions``); instances pin definition versions (whole
bundles). Version N of a process covers the definition versions from the one that brought N up to
the one before N+1: every instance pinning one of those is "on N". The target is the newest
definition version covering M — the bundle new instances of M start on.

The element correspondence is SpiffWorkflow's ``SpecDiff`` (same BPMN id, else by position among
aligned neighbours) with the owner's mapping on top (``--map OLD=NEW``: an element of N to one of
M, of the same kind and in the same process). Plans are computed once per pair of definition
versions and mapping and kept in memory (``diff_for``): versions never change.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import text
from engine.errors import InvalidInput, NotFound
from engine.migration.diff import VersionDiff
from engine.models import DefinitionVersion, ProcessVersion
from engine.specs import LoadedVersion

MAX_MAPPING = 200
MAX_ID_LENGTH = 120


@dataclass(frozen=True)
class VersionRef:
    """One process version as a migration sees it."""

    process_id: str
    number: int
    definition_version: int  # the bundle instances on it start on (the newest covering it)
    first_definition_version: int  # the bundle that brought it
    last_definition_version: int | None  # the last bundle still covering it (None: up to now)
    sha256: str  # the bundle's (definition_version.sha256)
    content_sha256: str  # the process's content (engine.versions)

    def covers(self, definition_version: int) -> bool:
        return definition_version >= self.first_definition_version and (
            self.last_definition_version is None or definition_version <= self.last_definition_version)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "definition_version": self.definition_version, "sha256": self.sha256,
                "content_sha256": self.content_sha256}


@dataclass
class Plan:
    """What a migration of ``process_id`` from ``source`` to ``target`` would do to the diagram."""

    process_id: str
    name: str
    source: VersionRef
    target: VersionRef
    mapping: dict[str, str]
    elements: list[dict[str, Any]]  # engine.migration.workflow.VersionDiff.elements
    forms: list[dict[str, Any]]  # {name, change}: forms of the process (and those it calls) that differ
    diff: VersionDiff = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"process_id": self.process_id, "name": self.name, "from": self.source.to_dict(),
                "to": self.target.to_dict(), "mapping": dict(self.mapping),
                "elements": [e for e in self.elements if e["change"] != "unchanged"],
                "unchanged": sum(1 for e in self.elements if e["change"] == "unchanged"), "forms": self.forms}


# --- versions ------------------------------------------------------------------------------------

def version_ref(session: Session, process_id: str, number: int) -> VersionRef:
    """Version ``number`` of ``process_id``; NotFound if there is none."""
    rows = session.execute(select(ProcessVersion.number, ProcessVersion.definition_version_id,
                                  ProcessVersion.content_sha256)
                           .where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.number)).all()
    if not rows:
        raise NotFound(f"流程 {process_id} 不存在（尚未部署）/ no process {process_id!r} has been deployed")
    for index, (n, first, content) in enumerate(rows):
        if n != number:
            continue
        following = rows[index + 1][1] if index + 1 < len(rows) else None
        last = following - 1 if following is not None else None
        query = (select(DefinitionVersion.id, DefinitionVersion.sha256, DefinitionVersion.meta)
                 .where(DefinitionVersion.id >= first).order_by(DefinitionVersion.id.desc()))
        if last is not None:
            query = query.where(DefinitionVersion.id <= last)
        covering = [(vid, sha) for vid, sha, meta in session.execute(query)
                    if process_id in meta.get("executable", [])]
        target_id, target_sha = covering[0]
        return VersionRef(process_id, number, target_id, first, last, target_sha, content)
    raise NotFound(f"流程 {process_id} 没有版本 {number} / process {process_id!r} has no version {number}")


def number_of(session: Session, process_id: str, definition_version: int) -> int | None:
    """The process version an instance pinning ``definition_version`` is on (None if none covers it)."""
    return session.scalar(select(ProcessVersion.number).where(
        ProcessVersion.process_id == process_id, ProcessVersion.definition_version_id <= definition_version)
        .order_by(ProcessVersion.number.desc()).limit(1))


# --- the element correspondence ------------------------------------------------------------------

class _DiffCache:
    """VersionDiffs by (source version, target version, process, mapping); versions never change."""

    def __init__(self, size: int = 32):
        self._entries: OrderedDict[tuple, tuple[Any, Any, VersionDiff]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, source: LoadedVersion, target: LoadedVersion, process_id: str, mapping: dict[str, str]):
        key = (id(source), id(target), process_id, tuple(sorted(mapping.items())))
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[2]
            diff = VersionDiff.build(process_id, source.spec(process_id), target.spec(process_id), mapping)
            # The loaded versions stay referenced with the entry, so their ids are not reused meanwhile.
            self._entries[key] = (source, target, diff)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            return diff


_DIFFS = _DiffCache()


def diff_for(source: LoadedVersion, target: LoadedVersion, process_id: str, mapping: dict[str, str]) -> VersionDiff:
    """The correspondence of ``process_id`` between two loaded versions, with ``mapping`` applied."""
    if process_id not in target.meta.get("executable", []):
        raise NotFound(f"目标版本不含流程 {process_id} / the target version has no process {process_id!r}")
    return _DIFFS.get(source, target, process_id, mapping)


def check_mapping(mapping: Any, source: LoadedVersion, target: LoadedVersion, process_id: str) -> dict[str, str]:
    """The owner's mapping, checked: each key an element of the source (the process or one it calls),
    each value an element of the same process and kind in the target. InvalidInput names the entry."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidInput("mapping 须为 {旧元素: 新元素} / mapping must be an object {old element: new element}",
                           field="mapping")
    if len(mapping) > MAX_MAPPING:
        raise InvalidInput(f"mapping has more than {MAX_MAPPING} entries", field="mapping")
    plain = diff_for(source, target, process_id, {})
    old_specs = {pid: d.alignment for pid, d in plain.processes.items() if d is not None}
    checked: dict[str, str] = {}
    for old_id, new_id in mapping.items():
        where = f"mapping.{text.printable(str(old_id))}"
        for value in (old_id, new_id):
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH \
                    or text.text_problem(value):
                raise InvalidInput(f"映射的元素须为 1–{MAX_ID_LENGTH} 字符的 BPMN id / a mapping names BPMN ids of "
                                   f"1–{MAX_ID_LENGTH} characters", field=where)
        owners = [pid for pid, alignment in old_specs.items()
                  if any(spec.name == old_id and spec.bpmn_id for spec in alignment)]
        if not owners:
            raise InvalidInput(f"源版本中没有元素 {old_id} / the source version has no element {old_id!r}", field=where)
        if len(owners) > 1:
            raise InvalidInput(f"元素 {old_id} 在多个流程中出现（{', '.join(owners)}）/ {old_id!r} is in several "
                               f"processes", field=where)
        owner = owners[0]
        old_spec = next(spec for spec in old_specs[owner] if spec.name == old_id)
        new_spec = plain.new_specs[owner].task_specs.get(new_id)
        if new_spec is None or not new_spec.bpmn_id:
            raise InvalidInput(f"目标版本的流程 {owner} 中没有元素 {new_id} / the target's process {owner} has no "
                               f"element {new_id!r}", field=where)
        if type(old_spec) is not type(new_spec):
            raise InvalidInput(f"不能把 {type(old_spec).__name__} 映射为 {type(new_spec).__name__} / cannot map a "
                               f"{type(old_spec).__name__} to a {type(new_spec).__name__}", field=where)
        checked[old_id] = new_id
    return checked


def changed_forms(source: LoadedVersion, target: LoadedVersion, process_ids: list[str]) -> list[dict[str, Any]]:
    """The forms that the tasks of these processes name and that differ between the two versions."""
    names: set[str] = set()
    for loaded in (source, target):
        for pid in process_ids:
            for task in loaded.meta.get("processes", {}).get(pid, {}).get("tasks", {}).values():
                names.update(task[key] for key in ("form", "ui") if task.get(key))
    rows = []
    for name in sorted(names):
        before, after = source.form(name), target.form(name)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        rows.append({"name": name, "change": change})
    return rows


def build(session: Session, specs, process_id: str, from_number: int, to_number: int,
          mapping: Any = None) -> Plan:
    """The plan of a migration; NotFound for an unknown process or version, InvalidInput for a bad mapping
    or the same version twice."""
    if from_number == to_number:
        raise InvalidInput("源版本与目标版本相同 / the source and target versions are the same", field="to")
    source = version_ref(session, process_id, from_number)
    target = version_ref(session, process_id, to_number)
    source_loaded = specs.load(session, source.definition_version)
    target_loaded = specs.load(session, target.definition_version)
    checked = check_mapping(mapping, source_loaded, target_loaded, process_id)
    diff = diff_for(source_loaded, target_loaded, process_id, checked)
    name = target_loaded.meta["processes"].get(process_id, {}).get("name") or process_id
    forms = changed_forms(source_loaded, target_loaded, sorted(diff.new_specs))
    return Plan(process_id, name, source, target, checked, diff.elements(), forms, diff)


__all__ = ["Plan", "VersionRef", "build", "version_ref", "number_of", "diff_for", "check_mapping", "changed_forms"]
