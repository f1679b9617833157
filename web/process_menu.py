"""Which processes a filter offers: those people start or that the platform starts on a schedule —
not the sub-processes they call (审核, 公示, 征求部门意见), which are never an instance of their own —
and, for an official's inbox, only those with a step of one of the official's roles.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import select

from engine.identity import Actor
from engine.models import DefinitionVersion
from web.extensions import engine
from web.i18n import term


@dataclass(frozen=True)
class ProcessEntry:
    process_id: str
    name: str  # as drawn (Chinese); the menus show ``term(name)``
    roles: frozenset[str]  # roles of its user tasks, those of the processes it calls included


def _version_ids() -> tuple[int, ...]:
    with engine().db.session() as session:
        return tuple(session.scalars(select(DefinitionVersion.id).order_by(DefinitionVersion.id)))


@functools.lru_cache(maxsize=8)
def _entries(url: str, version_ids: tuple[int, ...]) -> tuple[ProcessEntry, ...]:
    metas: dict[str, dict] = {}
    with engine().db.session() as session:
        for version in session.scalars(select(DefinitionVersion).where(DefinitionVersion.id.in_(version_ids))
                                       .order_by(DefinitionVersion.id.desc())):
            for pid in version.meta.get("executable", []):
                metas.setdefault(pid, version.meta["processes"].get(pid, {}))
    called = {t["called"] for meta in metas.values() for t in meta.get("tasks", {}).values() if t.get("called")}

    def roles_of(pid: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        tasks = metas.get(pid, {}).get("tasks", {}).values()
        found = {t["role"] for t in tasks if t.get("type") == "userTask" and t.get("role")}
        if any(t.get("type") == "userTask" and t.get("role_expression") for t in tasks):
            found.add("*")  # decided while running: any role may get a step
        for t in tasks:
            if t.get("called") and t["called"] not in seen:
                found |= roles_of(t["called"], seen | {pid})
        return frozenset(found)

    return tuple(ProcessEntry(pid, meta.get("name") or pid, roles_of(pid))
                 for pid, meta in metas.items() if pid not in called)


def top_level() -> list[ProcessEntry]:
    """Every process that runs as an instance of its own, in its drawn order of deployment."""
    eng = engine()
    return list(_entries(eng.db.url, _version_ids()))


def choices(actor: Actor | None = None) -> list[tuple[str, str]]:
    """(process id, name in the current language) for a filter; with ``actor``, only the processes
    that have a step for one of the actor's roles."""
    roles = {role for role, _ in actor.grants} if actor is not None else None
    entries = [e for e in top_level() if roles is None or "*" in e.roles or e.roles & roles]
    return sorted(((e.process_id, term(e.name)) for e in entries), key=lambda pair: pair[1])
