"""What an app is built from: the engine (one per database URL), logins, CSRF, rate limits."""
from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

import config as _config
import handlers  # noqa: F401  (registers service tasks, script functions, start hooks)
from engine import calendar
from engine.api import WorkflowEngine
from engine.db import Database
from engine.script_budget import ScriptLimits

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_app(app: Flask, settings: _config.Settings) -> None:
    calendar.configure(start_day_counts=settings.notice_start_day_counts)
    db = Database(settings.database_url)
    limits = ScriptLimits(cpu_seconds=settings.script_cpu_seconds,
                          memory_bytes=settings.script_memory_mb * 1024 * 1024)
    app.extensions["greenflow"] = WorkflowEngine(db, roles=_config.role_keys(), script_limits=limits)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.ratelimit_storage)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录 / Please log in"
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)


def engine() -> WorkflowEngine:
    return current_app.extensions["greenflow"]
