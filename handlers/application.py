"""The shape of the ``application`` data (docs/application-process.md), checked before any rule.

The form schema already checks most of this when the instance starts; the service tasks
check again because they key database rows on these fields, and a bad key must fail as a
clear InvalidInput naming the field, never as a database error half-way through a command.
Content rules with articles live in ``handlers/rules``; this is only the shape.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import InvalidInput
from handlers.divisions import city_of
from handlers.uscc import validate_uscc

__all__ = ["UNIT_TYPES", "TARGET_LEVELS", "EVALUATION_MODES", "PARK_LEVELS", "normalise_application"]

UNIT_TYPES = ("factory", "supply_chain", "park")
TARGET_LEVELS = ("city", "province", "national")
EVALUATION_MODES = ("self", "third_party")
PARK_LEVELS = ("national", "provincial", "city", "county")
_MAX_LENGTH = {"unit_name": 200, "evaluator_id": 32}
_YEARS = range(2000, 2101)


def _choice(application: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = application.get(key)
    if value not in choices:
        raise InvalidInput(
            f"{key} 应为 {' / '.join(choices)} 之一，实为 {value!r} / {key} must be one of {', '.join(choices)}",
            field=key,
        )
    return str(value)


def _year(value: object) -> int:
    try:
        year = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    except ValueError:
        year = None
    if year not in _YEARS:
        raise InvalidInput(f"申报年度 {value!r} 无效 / year {value!r} is not a valid year", field="year")
    return year


def normalise_application(application: object) -> dict[str, Any]:
    """A copy of ``application`` with its keys checked and normalised.

    ``credit_code`` is verified (GB 32100) and upper-cased, ``county_code`` must be a
    Guizhou county or a city-level division (贵安新区 GA0000), ``year`` becomes an int, and
    unit type, target level and evaluation mode must be known; ``evaluator_id`` is dropped
    for a self-evaluation.  Raises InvalidInput naming the first bad field.
    """
    if not isinstance(application, Mapping):
        raise InvalidInput("申报数据应为对象 / application must be an object", field="application")
    app = dict(application)
    app["credit_code"] = validate_uscc(app.get("credit_code"))
    city_of(app.get("county_code"))  # raises InvalidInput(field="county_code")
    app["county_code"] = str(app["county_code"]).strip().upper()
    app["unit_type"] = _choice(app, "unit_type", UNIT_TYPES)
    app["target_level"] = _choice(app, "target_level", TARGET_LEVELS)
    app["evaluation_mode"] = _choice(app, "evaluation_mode", EVALUATION_MODES)
    app["year"] = _year(app.get("year"))
    name = app.get("unit_name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("单位名称必填 / unit_name is required", field="unit_name")
    app["unit_name"] = name.strip()
    if app["evaluation_mode"] == "self":
        app["evaluator_id"] = None
    elif app.get("evaluator_id") is not None:
        app["evaluator_id"] = str(app["evaluator_id"]).strip() or None
    for key, limit in _MAX_LENGTH.items():
        if isinstance(app.get(key), str) and len(app[key]) > limit:
            raise InvalidInput(f"{key} 超过{limit}个字符 / {key} is longer than {limit} characters", field=key)
    return app
