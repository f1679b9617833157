"""The engine object of an app, created once per app (per database URL)."""
from __future__ import annotations

from flask import Flask, current_app

import config as _config
import handlers  # noqa: F401  (registers service tasks, script functions, start hooks)
from engine import calendar
from engine.api import WorkflowEngine
from engine.db import Database


def init_app(app: Flask, settings: _config.Settings) -> None:
    calendar.configure(start_day_counts=settings.notice_start_day_counts)
    db = Database(settings.database_url)
    app.extensions["greenflow"] = WorkflowEngine(db, roles=_config.role_keys())


def engine() -> WorkflowEngine:
    return current_app.extensions["greenflow"]
