"""Administering accounts: disable, enable, set a password. Each ends the user's sessions.

Plain functions over the engine's database, wrapped by ``greenflow users`` (``web.cli_users``)
and used by the tests. A disabled account cannot log in, its web sessions end at once (its
session generation is bumped and the user loader checks ``active``) and its API tokens are
refused (``web.api.auth.authenticate`` checks ``active``). Enabling it again lets the user log
in anew and its tokens work again unless revoked (``greenflow tokens revoke``); its old sessions
stay ended.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.api import WorkflowEngine
from engine.errors import InvalidInput, NotFound
from engine.identity import hash_password
from engine.models import UserAccount
from web.passwords import policy_problems
from web.sessions import end_all_sessions


def _account(db: Session, username: str) -> UserAccount:
    user = db.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def set_active(eng: WorkflowEngine, username: str, active: bool) -> dict:
    """Enable or disable ``username``; disabling ends every session of the user."""
    with eng.db.unit_of_work() as db:
        user = _account(db, username)
        user.active = active
        db.flush()
        end_all_sessions(db, username)
        return {"username": username, "active": active}


def set_password(eng: WorkflowEngine, username: str, password: str, *, min_length: int) -> None:
    """Set a new password (the policy applies) and end every session of the user.

    InvalidInput naming each broken rule (field ``password``) if the policy refuses it.
    """
    problems = policy_problems(password, username=username, min_length=min_length)
    if problems:
        raise InvalidInput("the password breaks the policy: " + "; ".join(f"{p.rule}: {p}" for p in problems),
                           field="password")
    password_hash = hash_password(password)
    with eng.db.unit_of_work() as db:
        _account(db, username).password_hash = password_hash
        db.flush()
        end_all_sessions(db, username)


def set_email(eng: WorkflowEngine, username: str, email: str | None) -> dict:
    """Set (or, with None / "", clear) the address ``username``'s notifications are mailed to.

    InvalidInput (field ``email``) for something that is not an e-mail address.
    """
    from engine.notifications.fanout import is_email

    email = (email or "").strip() or None
    if email is not None and not is_email(email):
        raise InvalidInput(f"not an e-mail address: {email!r}", field="email")
    with eng.db.unit_of_work() as db:
        _account(db, username).email = email
    return {"username": username, "email": email}
