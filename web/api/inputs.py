"""Reading API requests: the JSON body and query parameters, each field type-checked by name.

Every failure is a typed error that ``web.errors`` renders as ``{error, message, fields}``:
a body that is not JSON (or not an object) is 400, a body that is not ``application/json``
is 415, a body over ``MAX_CONTENT_LENGTH`` is 413 (raised by Werkzeug while reading it), and
a field of the wrong type, missing or unknown is 422 naming the field.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

from flask import request

from engine import calendar
from engine.errors import EngineError, InvalidInput
from web.inputs_guard import strict_json

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_TEXT = 10_000


class MalformedBody(EngineError):
    """The body is not a JSON object."""

    code = "bad_request"
    http_status = 400


class UnsupportedMediaType(EngineError):
    """The body is not sent as ``application/json``."""

    code = "unsupported_media_type"
    http_status = 415


def json_body(*, allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object (``{}`` when there is no body); unknown keys are refused (422).

    Reads the body first, so an oversized one is refused with 413 before anything else.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(f"send the body as application/json, not {request.mimetype or 'no content type'}",
                                   fields={"body": "expected application/json"})
    try:
        value = strict_json(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedBody(f"the body is not valid JSON: {exc}", fields={"body": "not valid JSON"}) from None
    if not isinstance(value, dict):
        raise MalformedBody("the body must be a JSON object", fields={"body": "expected a JSON object"})
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}",
                           fields={name: "unknown field" for name in unknown})
    return value


def text(body: Mapping[str, Any], name: str, *, required: bool = False, default: str = "",
         max_length: int = MAX_TEXT) -> str:
    """A string field; 422 if it is missing (when required), not a string, or too long."""
    if name not in body or body[name] is None:
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return default
    value = body[name]
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    if required and not value.strip():
        raise InvalidInput(f"{name} must not be empty", field=name)
    if len(value) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters", field=name)
    return value


def obj(body: Mapping[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    """A JSON-object field (``{}`` when absent and optional); 422 if it is anything else."""
    if name not in body or body[name] is None:
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return {}
    value = body[name]
    if not isinstance(value, dict):
        raise InvalidInput(f"{name} must be a JSON object", field=name)
    return value


def integer(body: Mapping[str, Any], name: str) -> int | None:
    """An optional whole-number field (booleans and floats are refused)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number", field=name)
    if not 0 <= value <= MAX_ID:
        raise InvalidInput(f"{name} is out of range", field=name)
    return value


def boolean(body: Mapping[str, Any], name: str, *, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value


def text_list(body: Mapping[str, Any], name: str, *, max_items: int = 100) -> list[str]:
    """A required, non-empty list of non-empty strings (user names, at most 120 characters each)."""
    value = body.get(name)
    if value is None:
        raise InvalidInput(f"{name} is required", field=name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"{name} must be a list of strings", field=name)
    if not value:
        raise InvalidInput(f"{name} must name at least one user", field=name)
    if any(not item.strip() for item in value):
        raise InvalidInput(f"{name} must not contain an empty name", field=name)
    if len(value) > max_items or any(len(item) > 120 for item in value):
        raise InvalidInput(f"{name} is too long", field=name)
    return value


# --- query string ------------------------------------------------------------------------
#
# A typed parameter (a number, a choice, a date) is either absent or exactly right: ``page=``,
# ``page= 2`` or ``due_by=`` are refused (422 naming it), as the OpenAPI document says. Only the
# free-text filters treat an empty value as no filter.

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The end of 9999-12-31 in China is past what a datetime holds: that filter keeps every due date.
LAST_DAY_END = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def query_int(name: str, *, default: int, low: int = 1, high: int = MAX_ID) -> int:
    """A whole-number query parameter between ``low`` and ``high``; 422 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", field=name)
    return int(raw)


def query_text(name: str, *, max_length: int = 200) -> str | None:
    """A text filter, stripped; None when absent, empty or blank. Longer than ``max_length`` is 422."""
    raw = request.args.get(name, "")
    if len(raw) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters", field=name)
    return raw.strip() or None


def query_choice(name: str, choices: tuple[str, ...], *, default: str | None) -> str | None:
    """One of ``choices``, or ``default`` when the parameter is absent; anything else (also empty) is 422."""
    value = request.args.get(name)
    if value is None:
        return default
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def query_day_end(name: str) -> dt.datetime | None:
    """A ``YYYY-MM-DD`` parameter as the end of that day in China (24:00, in UTC); None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD", field=name) from None
    try:
        return calendar.end_of_day(day)
    except OverflowError:
        return LAST_DAY_END
