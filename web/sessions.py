"""Web sessions that end: a per-user session generation, an idle timeout and an absolute lifetime.

The session lives in the signed cookie. At login it records the account's
``session_generation``, the login time and the time it was last used; on every request the
Flask-Login user loader (``load_user``) checks that

- the account still exists and is active,
- its generation is still the one of the session: logout, a password change and an
  administrator's disable bump it (``end_all_sessions``), which ends *every* session of that
  user, on every process, with nothing else shared between processes than the database;
- the session was used within ``session_idle_minutes`` and began within ``session_max_hours``
  (times read from the engine's clock, so tests move them).

A session that fails is emptied of its login (its language and CSRF token stay) and the
request is anonymous: pages send to the login page, as for anyone not logged in. The last-use
time is rewritten at most once a minute, so the cookie is not re-sent on every request.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, session
from flask_login import UserMixin, login_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.identity import Actor, actor_for
from engine.models import UserAccount
from web.extensions import engine

GENERATION = "_gf_gen"
LOGIN_AT = "_gf_login_at"
SEEN_AT = "_gf_seen_at"
TOUCH_SECONDS = 60
# What Flask-Login keeps in the session (besides our keys); removed when a session ends.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds", GENERATION, LOGIN_AT, SEEN_AT)


@dataclass(frozen=True)
class SessionUser(UserMixin):
    """The logged-in user as Flask-Login sees it: a thin wrapper around the engine's Actor."""

    actor: Actor

    def get_id(self) -> str:
        return self.actor.username

    @property
    def display_name(self) -> str:
        return self.actor.display_name or self.actor.username


def _now() -> float:
    return engine().clock.now().timestamp()


def begin(user: UserAccount) -> None:
    """Log ``user`` in on this session (a fresh one: only the language is kept)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    now = _now()
    session[GENERATION] = user.session_generation
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    login_user(SessionUser(actor_for(user)))


def clear() -> None:
    """Remove the login from this session (what ``logout_user`` does, and our keys)."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)


def expired(now: float) -> bool:
    """Whether this session is past its idle timeout or its absolute lifetime."""
    settings = current_app.config["GREENFLOW"]
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, (int, float)) or not isinstance(seen_at, (int, float)):
        return True  # a session from before these checks, or a malformed one
    return (now - seen_at > settings.session_idle_minutes * 60
            or now - login_at > settings.session_max_hours * 3600)


def load_user(username: str) -> SessionUser | None:
    """The Flask-Login user loader: the session's user if the session is still valid, else None."""
    now = _now()
    if expired(now):
        clear()
        return None
    with engine().db.session() as db:
        user = db.scalar(select(UserAccount).where(UserAccount.username == username))
        if user is None or not user.active or session.get(GENERATION) != user.session_generation:
            clear()
            return None
        actor = actor_for(user)
    if now - session[SEEN_AT] >= TOUCH_SECONDS:
        session[SEEN_AT] = now
    return SessionUser(actor)


def end_all_sessions(db: Session, username: str) -> None:
    """Bump the user's session generation (inside the caller's transaction): every session ends."""
    db.execute(update(UserAccount).where(UserAccount.username == username)
               .values(session_generation=UserAccount.session_generation + 1))
