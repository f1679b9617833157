"""What the modeler pages read: deployed processes, their versions with instance counts, one
version's diagram and forms, drafts. Reads only; writes go through ``engine.api`` and ``engine.drafts``."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from engine import drafts, versions
from engine.api import WorkflowEngine
from engine.models import DefinitionFile, DefinitionVersion, ModelerDraft, ProcessInstance, ProcessVersion


@dataclass(frozen=True)
class VersionContent:
    """One process version: its row, its diagram and its forms (from the bundle it was deployed in)."""

    version: versions.VersionView
    name: str
    bpmn_path: str
    xml: str
    forms: dict[str, dict]
    form_paths: dict[str, str]  # form name -> bundle path
    raw_forms: dict[str, bytes]  # form name -> its bytes as deployed

    def files(self) -> dict[str, bytes]:
        """The process's files as deployed, by bundle path (for the bundle download)."""
        result = {self.bpmn_path: self.xml.encode("utf-8")}
        for name, path in self.form_paths.items():
            result[path] = self.raw_forms[name]
        return result


def overview(eng: WorkflowEngine) -> list[dict]:
    """Every process that has a version: key, name, latest version and who deployed it when, the
    running instances per version, and who holds a draft of it; by key."""
    names = eng.process_names()
    with eng.db.session() as session:
        latest = versions.latest_rows(session)
        held = drafts.counts(session)
        running = _running_by_version(session)
    rows = []
    for pid in sorted(latest):
        row = latest[pid]
        rows.append({"key": pid, "name": names.get(pid, pid), "version": row.number, "deployed_by": row.deployed_by,
                     "deployed_at": row.deployed_at, "note": row.note, "running": running.get(pid, {}),
                     "drafts": held.get(pid, [])})
    return rows


def _running_by_version(session) -> dict[str, dict[int, int]]:
    """process id -> {version number: running instances} (versions without any left out)."""
    starts: dict[str, list[tuple[int, int]]] = {}
    for pid, dv, number in session.execute(select(ProcessVersion.process_id, ProcessVersion.definition_version_id,
                                                  ProcessVersion.number).order_by(ProcessVersion.number)):
        starts.setdefault(pid, []).append((dv, number))
    result: dict[str, dict[int, int]] = {}
    rows = session.execute(select(ProcessInstance.process_id, ProcessInstance.version_id, func.count())
                           .where(ProcessInstance.status.not_in(versions.FINISHED))
                           .group_by(ProcessInstance.process_id, ProcessInstance.version_id))
    for pid, version_id, count in rows:
        number = None
        for dv, n in starts.get(pid, []):
            if dv <= version_id:
                number = n
        if number is not None:
            per = result.setdefault(pid, {})
            per[number] = per.get(number, 0) + count
    return result


def version_list(eng: WorkflowEngine, key: str) -> list[dict]:
    """Every version of a process, newest first, with its running and finished instance counts."""
    with eng.db.session() as session:
        rows = versions.versions_of(session, key)
        counts = versions.instance_counts(session, key)
    return [{"version": v.number, "note": v.note, "deployed_by": v.deployed_by, "deployed_at": v.deployed_at,
             "definition_version": v.definition_version, "content_sha256": v.content_sha256,
             "instances": counts.get(v.number, {"running": 0, "finished": 0})} for v in reversed(rows)]


def latest(eng: WorkflowEngine, key: str) -> versions.VersionView | None:
    with eng.db.session() as session:
        return versions.latest_of(session, key)


def version(eng: WorkflowEngine, key: str, number: int) -> versions.VersionView | None:
    with eng.db.session() as session:
        return versions.version_of(session, key, number)


def content(eng: WorkflowEngine, key: str, number: int | None = None) -> VersionContent | None:
    """A version of a process (the latest when ``number`` is None) with its diagram and forms."""
    with eng.db.session() as session:
        view = versions.latest_of(session, key) if number is None else versions.version_of(session, key, number)
        if view is None:
            return None
        meta = session.scalar(select(DefinitionVersion.meta).where(DefinitionVersion.id == view.definition_version))
        process = meta["processes"][key]
        paths = set(session.scalars(select(DefinitionFile.path)
                                    .where(DefinitionFile.version_id == view.definition_version)))
        form_paths = {}
        for name in sorted(versions.form_names(meta, key)):
            path = versions.form_file(name, paths)
            if path:
                form_paths[name] = path
        wanted = [process["file"], *form_paths.values()]
        raw = dict(session.execute(select(DefinitionFile.path, DefinitionFile.content)
                                   .where(DefinitionFile.version_id == view.definition_version,
                                          DefinitionFile.path.in_(wanted))).all())
    raw_forms = {name: raw[path] for name, path in form_paths.items()}
    return VersionContent(version=view, name=process.get("name") or key, bpmn_path=process["file"],
                          xml=xml_text(raw[process["file"]]),
                          forms={name: json.loads(data) for name, data in raw_forms.items()},
                          form_paths=form_paths, raw_forms=raw_forms)


def xml_text(data: bytes) -> str:
    """A stored diagram as text: UTF-8 as deploy stores it, else re-serialised from the encoding it declares."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from lxml import etree

        from engine.deploy import parse_xml_safely

        return etree.tostring(parse_xml_safely("diagram.bpmn", data), encoding="unicode")


def draft_of(eng: WorkflowEngine, key: str, owner: str) -> tuple[ModelerDraft | None, int | None, list[dict]]:
    """(the owner's draft, the number of the version it is based on, the other owners' drafts)."""
    with eng.db.session() as session:
        draft = drafts.get(session, key, owner)
        base = None
        if draft is not None and draft.base_version_id is not None:
            base = session.scalar(select(ProcessVersion.number).where(ProcessVersion.id == draft.base_version_id))
        return draft, base, drafts.others(session, key, owner)


def recent_deployments(eng: WorkflowEngine, limit: int = 20) -> list[dict]:
    with eng.db.session() as session:
        return [{"id": d.id, "definition_version": d.definition_version_id, "deployed_by": d.deployed_by,
                 "deployed_at": d.deployed_at, "note": d.note, "bundle_sha256": d.bundle_sha256,
                 "created": d.created, "source": d.source} for d in versions.deployments(session, limit=limit)]
