"""What an export needs to know of the domain, asked through one small interface.

The engine knows instances, events and tasks; which business objects an event touches (a unit,
an application, a notice …), what a domain event is called, which data is personal and what
describes a case belong to the domain (``handlers.audit_objects`` implements this for the green-
manufacturing processes). ``PlainDomain`` is the engine-only answer: no objects, no extra words.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ObjectType:
    name: str  # OCEL object type, e.g. unit
    label_zh: str
    attributes: tuple[tuple[str, str], ...] = ()  # (name, OCEL type: string / integer / float / boolean / time)


@dataclass(frozen=True)
class BusinessObject:
    id: str  # e.g. unit:91520302MA00000010
    type: str
    attributes: dict[str, Any] = field(default_factory=dict)
    relationships: tuple[tuple[str, str], ...] = ()  # (object id, qualifier)
    since: dt.datetime | None = None  # when its attributes took these values (OCEL attribute time)


Link = tuple[str, str]  # (object id, qualifier)


class Domain(Protocol):
    personal_keys: frozenset[str]
    case_columns: tuple[tuple[str, str], ...]  # the case attributes as (key, Chinese heading), for CSV

    def event_label(self, event_type: str) -> tuple[str, str] | None:
        """(Chinese, English) name of a domain event type, or None if the engine's words apply."""

    def role_label(self, role: str) -> str:
        """The Chinese name of a role (a task's lane), e.g. 县级工信部门."""

    def case_attributes(self, session: Session, instance_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Attributes describing each case (XES trace, CSV columns), e.g. unit type, level, county, outcome."""

    def object_types(self) -> list[ObjectType]:
        """The OCEL object types."""

    def objects(self, session: Session) -> Iterator[BusinessObject]:
        """Every business object (OCEL objects), with their relationships to each other."""

    def instance_links(self, session: Session, instance_ids: list[int]) -> dict[int, list[Link]]:
        """The objects every event of an instance touches (its application, the application's unit …)."""

    def event_links(self, event_type: str, payload: dict[str, Any]) -> list[Link]:
        """The objects one event names in its payload (a notice, an objection, a filing …)."""


class PlainDomain:
    """No business objects, no personal data known: the engine's own view."""

    personal_keys: frozenset[str] = frozenset()
    case_columns: tuple[tuple[str, str], ...] = ()

    def event_label(self, event_type: str) -> tuple[str, str] | None:
        return None

    def role_label(self, role: str) -> str:
        return role

    def case_attributes(self, session: Session, instance_ids: list[int]) -> dict[int, dict[str, Any]]:
        return {}

    def object_types(self) -> list[ObjectType]:
        return []

    def objects(self, session: Session) -> Iterator[BusinessObject]:
        return iter(())

    def instance_links(self, session: Session, instance_ids: list[int]) -> dict[int, list[Link]]:
        return {}

    def event_links(self, event_type: str, payload: dict[str, Any]) -> list[Link]:
        return []
