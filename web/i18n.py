"""Languages: Chinese first (zh_CN), English available.

Message ids in templates and code are the Chinese text, ``_("待办")``; the English catalog is
assembled from ``web/translations/en/*.po`` (one file per area of the UI) and compiled by
``scripts/compile_translations.py``, which the setup command runs. A missing English entry
shows the Chinese text, never an error.

The language is chosen by ``?lang=zh|en`` (remembered in the session), else the browser's
Accept-Language, else Chinese.
"""
from __future__ import annotations

import datetime as dt

from flask import Flask, request, session
from flask_babel import Babel, get_locale

from config import PROJECT_DIR
from engine.clock import CHINA

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
TRANSLATIONS_DIR = PROJECT_DIR / "web" / "translations"



def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT) or DEFAULT


def lang() -> str:
    """The current language as ``zh`` or ``en``."""
    return "en" if str(get_locale() or DEFAULT).startswith("en") else "zh"


def pick(zh: str | None, en: str | None) -> str:
    """The English text in English when there is one, else the Chinese."""
    return (en or zh or "") if lang() == "en" else (zh or en or "")


def localized(obj: dict, key: str = "title") -> str:
    """``obj[key]`` or its English twin ``x-<key>-en`` (the convention of form schemas and config)."""
    return pick(obj.get(key), obj.get(f"x-{key}-en") or obj.get(f"{key}_en"))


def china_time(value: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) moment as China time; '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(CHINA).strftime(fmt)


def china_date(value: dt.datetime | str | None) -> str:
    return china_time(value, "%Y-%m-%d")


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    # One Babel per app: Flask-Babel caches loaded catalogs on its instance, so a shared instance
    # would serve one app's translations to another (tests build many apps in one process).
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(lang=lang, pick=pick, localized=localized)
    app.jinja_env.filters.update(china_time=china_time, china_date=china_date)
