"""Colleagues to pick from when transferring, delegating or CC'ing a task."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import RoleGrant, UserAccount


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str


def _people(session: Session, *conditions) -> list[Person]:
    rows = session.execute(select(UserAccount.username, UserAccount.display_name).join(RoleGrant)
                           .where(UserAccount.active.is_(True), *conditions).distinct()
                           .order_by(UserAccount.username)).all()
    return [Person(u, n) for u, n in rows]


def same_role_and_scope(session: Session, role: str, scope: str, *, exclude: str) -> list[Person]:
    """Who may take a task over (转办): same role, same org unit."""
    return [p for p in _people(session, RoleGrant.role == role, RoleGrant.scope == scope) if p.username != exclude]


def same_org_unit(session: Session, scope: str, *, exclude: str) -> list[Person]:
    """Who may prepare an answer (委派): anyone of the same org unit."""
    return [p for p in _people(session, RoleGrant.scope == scope) if p.username != exclude]


def officials_near(session: Session, scopes: list[str], *, exclude: str) -> list[Person]:
    """Whom to CC (抄送): officials of the task's org unit and of the units above it."""
    return [p for p in _people(session, RoleGrant.scope.in_(scopes), RoleGrant.role != "applicant")
            if p.username != exclude]
