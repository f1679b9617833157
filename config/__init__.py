"""Settings and reference data: defaults here, then ``GREENFLOW_*`` environment variables, then overrides."""
from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
PROJECT_DIR = CONFIG_DIR.parent


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{PROJECT_DIR / 'instance' / 'greenflow.db'}"
    bpmn_dir: str = str(PROJECT_DIR / "bpmn")
    upload_dir: str = str(PROJECT_DIR / "instance" / "uploads")
    secret_key: str = ""
    timezone: str = "Asia/Shanghai"
    # 公示 counting rule (第二十条): does the publication day count as the first working day?
    notice_start_day_counts: bool = True
    # Where Flask-Limiter keeps its counters: memory:// serves one process; use redis:// for several.
    ratelimit_storage: str = "memory://"
    # Budget of every diagram script, condition and expression, per evaluation (engine/sandbox.py).
    script_cpu_seconds: float = 1.0
    script_memory_mb: int = 256
    # Logins (web/sessions.py, web/login_guard.py, web/passwords.py; docs/web.md "Security").
    session_idle_minutes: int = 30  # a session unused this long ends
    session_max_hours: int = 12  # a session ends this long after its login, used or not
    password_min_length: int = 12
    login_max_failures: int = 5  # failed logins of one username before it is locked
    login_lockout_minutes: int = 1  # the first lock; each further failure doubles it
    login_lockout_max_minutes: int = 60
    login_failure_window_hours: int = 24  # failures older than this (or before a success) are forgotten
    # Secure flag of the cookies: "auto" (on when the request came over HTTPS), "true" or "false".
    secure_cookies: str = "auto"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
    trusted_proxies: int = 0
    # Mail delivery of notifications (engine/notifications/mail.py, docs/notifications.md): off while
    # smtp_host is empty (the default, also in the demo). Commands only write the outbox; the worker
    # sends, retrying a failed message after smtp_retry_seconds, doubling, and gives up after
    # smtp_max_attempts (the message is then marked failed for operators: `greenflow notifications mail`).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_security: str = "none"  # none / starttls / ssl
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "greenflow@localhost"
    smtp_timeout_seconds: float = 10.0
    smtp_max_attempts: int = 8
    smtp_retry_seconds: int = 60
    # The Ed25519 private key that signs history checkpoints (docs/audit-evidence.md): made by
    # `greenflow init` / `demo` when absent (mode 0600), never in git; auditors check with the public key.
    # Empty: audit-signing-key.pem in the app's instance folder (beside demo-credentials.txt).
    audit_signing_key: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, overrides: dict | None = None, environ: dict | None = None) -> "Settings":
        """Defaults, then GREENFLOW_<NAME> variables, then ``overrides`` (tests)."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            env = environ.get(f"GREENFLOW_{f.name.upper()}")
            if env:
                values[f.name] = _parse_setting(f.name, f.type, env)
        values.update(overrides or {})
        return cls(**values)

    def ensure_instance_dir(self) -> None:
        if self.database_url.startswith("sqlite:///"):
            Path(self.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        Path(self.upload_dir).mkdir(parents=True, exist_ok=True)


def _parse_setting(name: str, kind, text: str):
    """An environment string as the field's type; a malformed number names the variable."""
    kind = getattr(kind, "__name__", kind)
    if kind == "bool":
        return text.strip().lower() in ("1", "true", "yes", "on")
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            raise ValueError(f"GREENFLOW_{name.upper()} must be a number, not {text!r}") from None
    return text


@functools.cache
def roles() -> dict[str, dict]:
    """The roles of ``roles.toml``: key -> {zh, en, scope_kind, ...}."""
    with open(CONFIG_DIR / "roles.toml", "rb") as fh:
        return tomllib.load(fh)


def role_keys() -> set[str]:
    return set(roles())


@functools.cache
def deadlines() -> dict[str, dict]:
    """The 办理时限 of ``deadlines.toml``: name -> {zh, en, working_days, remind_after, escalate_to}.

    A user task names one with its ``deadline`` property (docs/notifications.md, docs/decisions.md).
    """
    with open(CONFIG_DIR / "deadlines.toml", "rb") as fh:
        return tomllib.load(fh)
