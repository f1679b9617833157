"""Who acts: users, their (role, scope) grants, and the permission checks every command uses."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, NotPermitted
from engine.models import UserAccount

SYSTEM = "system"
PUBLIC = "public"  # a member of the public without an account (objections, complaints)


@dataclass(frozen=True)
class Actor:
    username: str
    grants: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    display_name: str = ""

    def holds(self, role: str, scope: str) -> bool:
        return (role, scope) in self.grants

    def has_role(self, role: str) -> bool:
        return any(r == role for r, _ in self.grants)

    def scopes(self, role: str) -> list[str]:
        return sorted(s for r, s in self.grants if r == role)

    @property
    def is_system(self) -> bool:
        return self.username.startswith(f"{SYSTEM}:")


def system_actor(name: str = "scheduler") -> Actor:
    return Actor(username=f"{SYSTEM}:{name}", display_name=f"系统 ({name})")


def public_actor(label: str) -> Actor:
    """Someone without an account, named by what they submitted (e.g. an objection's receipt)."""
    return Actor(username=f"{PUBLIC}:{label}", display_name="社会公众")


def load_actor(session: Session, username: str) -> Actor:
    """The actor for ``username``; NotFound if unknown, NotPermitted if deactivated."""
    if username.startswith(f"{SYSTEM}:"):
        return system_actor(username.partition(":")[2] or "engine")
    if username.startswith(f"{PUBLIC}:"):
        return public_actor(username.partition(":")[2])
    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    if not user.active:
        raise NotPermitted(f"user {username!r} is deactivated")
    return actor_for(user)


def actor_for(user: UserAccount) -> Actor:
    """The actor of a loaded account (its grants, its display name); does not check ``active``."""
    return Actor(username=user.username, grants=frozenset((g.role, g.scope) for g in user.grants),
                 display_name=user.display_name)



def upsert_user(session: Session, username: str, *, display_name: str, grants: list[tuple[str, str]],
                password_hash: str | None = None) -> UserAccount:
    """Create or update a user with exactly ``grants``; the ``system:`` and ``public:`` prefixes are reserved."""
    from engine.errors import InvalidInput
    from engine.models import RoleGrant

    if username.startswith((f"{SYSTEM}:", f"{PUBLIC}:")) or not username.strip():
        raise InvalidInput(f"username {username!r} is empty or reserved", field="username")

    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is None:
        user = UserAccount(username=username, display_name=display_name, active=True)
        session.add(user)
    user.display_name = display_name
    if password_hash is not None:
        user.password_hash = password_hash
    wanted = set(grants)
    for grant in list(user.grants):
        if (grant.role, grant.scope) not in wanted:
            user.grants.remove(grant)
    have = {(g.role, g.scope) for g in user.grants}
    for role, scope in sorted(wanted - have):
        user.grants.append(RoleGrant(role=role, scope=scope))
    session.flush()
    return user


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (argon2-cffi's recommended parameters)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    if not password_hash:
        return False
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
