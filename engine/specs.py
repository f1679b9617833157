"""Parsed specs, cached per definition version (versions are immutable, so the cache never goes stale)."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.deploy import form_path, parse_xml_safely
from engine.errors import NotFound
from engine.models import DefinitionVersion


@dataclass
class LoadedVersion:
    version_id: int
    meta: dict
    forms: dict[str, dict]
    parser: SpiffBpmnParser
    _specs: dict[str, tuple] = field(default_factory=dict)
    # SpiffBpmnParser builds a spec in place and is not thread-safe: threads of a fresh process asking
    # for the same process at once got half-built specs (found by bench/soak.py after restarts).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def spec(self, process_id: str) -> tuple:
        """(spec, subprocess_specs) for an executable process of this version; parsed once, in one thread."""
        cached = self._specs.get(process_id)
        if cached is not None:
            return cached
        if process_id not in self.meta.get("executable", []):
            raise NotFound(f"process {process_id!r} is not in definition version {self.version_id}")
        with self._lock:
            cached = self._specs.get(process_id)
            if cached is None:
                cached = (self.parser.get_spec(process_id), self.parser.get_subprocess_specs(process_id))
                self._specs[process_id] = cached
            return cached

    def task_meta(self, process_id: str, bpmn_id: str) -> dict:
        return self.meta["processes"].get(process_id, {}).get("tasks", {}).get(bpmn_id, {})

    def form(self, name: str | None) -> dict | None:
        if not name:
            return None
        path = form_path(name, self.forms)
        return self.forms[path] if path else None

    def start_meta(self, process_id: str) -> dict:
        for task in self.meta["processes"].get(process_id, {}).get("tasks", {}).values():
            if task["type"] == "startEvent":
                return task
        return {}


class SpecCache:
    """Parsed versions of one database, by version id (immutable, so never stale)."""

    def __init__(self):
        self._versions: dict[int, LoadedVersion] = {}
        self._lock = threading.Lock()

    def load(self, session: Session, version_id: int) -> LoadedVersion:
        cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._versions.get(version_id)
            if cached is None:
                cached = self._versions[version_id] = _parse_version(session, version_id)
            return cached


def _parse_version(session: Session, version_id: int) -> LoadedVersion:
    version = session.get(DefinitionVersion, version_id)
    if version is None:
        raise NotFound(f"definition version {version_id} not found")
    parser = SpiffBpmnParser()
    forms: dict[str, dict] = {}
    for f in version.files:
        if f.path.endswith(".json"):
            forms[f.path] = json.loads(f.content)
        elif f.path.endswith(".dmn"):
            parser.add_dmn_xml(parse_xml_safely(f.path, f.content), filename=f.path)
        else:
            parser.add_bpmn_xml(parse_xml_safely(f.path, f.content), filename=f.path)
    return LoadedVersion(version_id=version.id, meta=version.meta, forms=forms, parser=parser)
