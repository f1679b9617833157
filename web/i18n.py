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
from urllib.parse import urlencode

from flask import Flask, request, session
from flask_babel import Babel, get_locale, gettext

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


def term(text: str | None) -> str:
    """A text that comes from data, not from our code (a task, lane or process name of a diagram, a
    form's hint), in the current language: its entry in the English catalog, else itself.

    Unlike ``_()`` it never %-formats, so a name with ``%`` in it is shown as it is.
    """
    if not text:
        return ""
    return gettext(text) if lang() == "en" else text


def pick(zh: str | None, en: str | None) -> str:
    """The English text in English when there is one (else the catalog's English of the Chinese)."""
    if lang() == "en":
        return en or term(zh) or ""
    return zh or en or ""


def localized(obj: dict, key: str = "title") -> str:
    """``obj[key]`` or its English twin ``x-<key>-en`` (the convention of form schemas and config)."""
    return pick(obj.get(key), obj.get(f"x-{key}-en") or obj.get(f"{key}_en"))


def china_time(value: dt.datetime | dt.date | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) moment as China time (Asia/Shanghai), ISO style in every language; '' for None.

    A naive datetime is taken as UTC (how the database returns stored moments); a date is a
    China calendar day already and is only formatted.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(CHINA).strftime(fmt)


def china_date(value: dt.datetime | dt.date | str | None) -> str:
    return china_time(value, "%Y-%m-%d")


def lang_switch_url() -> str:
    """This page in the other language, its query (filters, page) kept."""
    args = request.args.to_dict(flat=False)
    args["lang"] = ["zh" if lang() == "en" else "en"]
    return request.path + "?" + urlencode(args, doseq=True)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    # One Babel per app: Flask-Babel caches loaded catalogs on its instance, so a shared instance
    # would serve one app's translations to another (tests build many apps in one process).
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(lang=lang, pick=pick, localized=localized, term=term,
                                 lang_switch_url=lang_switch_url)
    from web import vocab  # imported here: vocab builds on this module
    from web.timeline import person_name

    app.jinja_env.globals.update(vocab_actor=vocab.actor_label, person_name=person_name)
    app.jinja_env.filters.update(china_time=china_time, china_date=china_date)
