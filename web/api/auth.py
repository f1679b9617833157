"""API tokens: issue, list and revoke them, and authenticate a request by its bearer token.

A token is ``gf_`` followed by ``secrets.token_urlsafe(32)``; it is shown once, when it is
issued, and only its SHA-256 is stored (``engine.models.ApiToken``). A request carries it as
``Authorization: Bearer gf_…``. A missing, unknown or revoked token, or one whose user has
been deactivated, is refused with 401 and nothing else is said about why it failed beyond
the message.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy import or_, select, update

from engine.api import WorkflowEngine
from engine.clock import isoformat_utc
from engine.errors import InvalidInput, NotAuthenticated, NotFound
from engine.identity import Actor, load_actor
from engine.models import ApiToken, UserAccount
from web.extensions import limiter

TOKEN_PREFIX = "gf_"
MAX_TOKEN_LENGTH = 200
# last_used_at is written at most this often per token (a write per request would serialise reads).
TOUCH_INTERVAL = dt.timedelta(minutes=1)
DEFAULT_WRITE_LIMIT = "120 per minute"


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the actor behind the token, and the token itself."""

    actor: Actor
    token_id: int
    token_sha256: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- administration (the ``greenflow tokens`` commands and tests) ---------------------------

def issue_token(eng: WorkflowEngine, username: str, *, name: str) -> tuple[dict, str]:
    """Create a token for ``username``; returns its description and the token (shown once).

    NotFound if the user does not exist, InvalidInput if the name is empty or too long.
    """
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        raise InvalidInput("a token needs a name of 1 to 120 characters", field="name")
    token = new_token()
    with eng.db.unit_of_work() as session:
        user = session.scalar(select(UserAccount).where(UserAccount.username == username))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        row = ApiToken(user_id=user.id, name=name, token_sha256=hash_token(token), created_at=eng.clock.now())
        session.add(row)
        session.flush()
        return _token_view(row, user.username), token


def list_tokens(eng: WorkflowEngine, *, username: str | None = None) -> list[dict]:
    """Every token (or those of ``username``), oldest first, without secrets."""
    with eng.db.session() as session:
        query = select(ApiToken, UserAccount.username).join(UserAccount, UserAccount.id == ApiToken.user_id)
        if username is not None:
            query = query.where(UserAccount.username == username)
        return [_token_view(row, owner) for row, owner in session.execute(query.order_by(ApiToken.id))]


def revoke_token(eng: WorkflowEngine, token_id: int) -> dict:
    """Revoke a token (idempotent: revoking twice keeps the first time); NotFound if there is none."""
    with eng.db.unit_of_work() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"no API token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = eng.clock.now()
        owner = session.scalar(select(UserAccount.username).where(UserAccount.id == row.user_id))
        return _token_view(row, owner or "")


def _token_view(row: ApiToken, username: str) -> dict:
    return {"id": row.id, "username": username, "name": row.name, "created_at": _iso(row.created_at),
            "last_used_at": _iso(row.last_used_at), "revoked_at": _iso(row.revoked_at)}


_iso = isoformat_utc


# --- authentication ----------------------------------------------------------------------

def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header; NotAuthenticated if absent or malformed."""
    if not header:
        raise NotAuthenticated("missing bearer token: send 'Authorization: Bearer gf_…'")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise NotAuthenticated("invalid token")
    return token


def authenticate(eng: WorkflowEngine, header: str | None) -> Caller:
    """The caller behind the header's token; NotAuthenticated if the token is unknown, revoked or its user inactive."""
    digest = hash_token(bearer_token(header))
    with eng.db.session() as session:
        found = session.execute(select(ApiToken, UserAccount)
                                .join(UserAccount, UserAccount.id == ApiToken.user_id)
                                .where(ApiToken.token_sha256 == digest)).first()
        if found is None:
            raise NotAuthenticated("invalid token")
        token, user = found
        if token.revoked_at is not None:
            raise NotAuthenticated("this token has been revoked")
        if not user.active:
            raise NotAuthenticated(f"user {user.username!r} is deactivated")
        actor = load_actor(session, user.username)
        stale = token.last_used_at is None or token.last_used_at <= eng.clock.now() - TOUCH_INTERVAL
    if stale:
        _touch(eng, token.id)
    return Caller(actor=actor, token_id=token.id, token_sha256=digest)


def _touch(eng: WorkflowEngine, token_id: int) -> None:
    """Record the token's use, unless another request did within the last minute."""
    now = eng.clock.now()
    with eng.db.unit_of_work() as session:
        session.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_INTERVAL),
        ).values(last_used_at=now))


def current_caller() -> Caller:
    """The authenticated caller of this request (set by the blueprint's ``before_request``)."""
    return g.api_caller


def current_actor() -> Actor:
    return current_caller().actor


def rate_limit_key() -> str:
    """Flask-Limiter key: one bucket per token (the first characters of its hash)."""
    caller = g.get("api_caller")
    return f"api-token:{caller.token_sha256[:24]}" if caller is not None else f"api-ip:{request.remote_addr}"


def write_limit() -> str:
    """The per-token limit on write requests; ``API_WRITE_LIMIT`` in the app config overrides it."""
    return current_app.config.get("API_WRITE_LIMIT", DEFAULT_WRITE_LIMIT)


# One bucket per token shared by every write endpoint (``@writes`` below the route decorator).
writes = limiter.shared_limit(write_limit, scope="api-write", key_func=rate_limit_key)
