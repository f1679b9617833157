"""The password policy: long enough, not containing the username, not a common password.

Passwords are stored as Argon2id hashes (``engine.identity.hash_password``). The policy applies
to every password set through the app (``/auth/password``, ``greenflow users set-password``);
each broken rule is one ``Problem`` naming it, with a Chinese message id (English in
``web/translations/en/security.po``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from config import CONFIG_DIR

COMMON_PASSWORDS_FILE = CONFIG_DIR / "common-passwords.txt"
MAX_LENGTH = 200


@dataclass(frozen=True)
class Problem:
    rule: str  # min_length, max_length, username, common
    msgid: str  # Chinese, with %(n)d placeholders
    params: dict = field(default_factory=dict)

    def text(self) -> str:
        """The message in the request's language (needs a request context)."""
        from flask_babel import gettext

        return gettext(self.msgid, **self.params)

    def __str__(self) -> str:  # the Chinese text, for the command line
        return self.msgid % self.params if self.params else self.msgid


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (lower case); lines starting with # are comments."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def policy_problems(password: str, *, username: str, min_length: int) -> list[Problem]:
    """Every rule ``password`` breaks (empty: acceptable)."""
    problems: list[Problem] = []
    if len(password) < min_length:
        problems.append(Problem("min_length", "新密码至少需要 %(n)d 个字符", {"n": min_length}))
    if len(password) > MAX_LENGTH:
        problems.append(Problem("max_length", "新密码不能超过 %(n)d 个字符", {"n": MAX_LENGTH}))
    if username.strip() and username.strip().lower() in password.lower():
        problems.append(Problem("username", "新密码不能包含用户名"))
    if password.strip().lower() in common_passwords():
        problems.append(Problem("common", "新密码过于常见（在常用密码列表中），请另选一个"))
    return problems
