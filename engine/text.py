"""What counts as text: valid Unicode a database, a hash and a JSON answer can all encode.

Refused everywhere (``text_problem``): lone surrogates (U+D800–U+DFFF; JSON escapes such as
``"\\ud800"`` decode to them, and UTF-8 cannot encode them) and the C0 control characters
other than tab, line feed and carriage return (NUL above all: PostgreSQL refuses it in text).
Names (file names, URL path segments: ``name=True``) are stricter: no control character at all,
no DEL, and no U+FFFD, the mark of bytes that were not valid UTF-8 before something replaced them.

``json_problem`` walks JSON-shaped input (keys and values, at any depth) and names the first
value that is not valid text or not JSON at all; ``check_command`` applies it to every field of
an engine command, so a caller's bad input is an ``InvalidText`` (400, nothing written) and never
an incident. ``printable`` escapes what is refused, so an error message naming a bad field
can always be encoded.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from engine.errors import InvalidText

_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_NAME_REFUSED = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffd]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
MAX_NAME_IN_MESSAGE = 80


def text_problem(value: str, *, name: bool = False) -> str | None:
    """Why ``value`` is not acceptable text, or None when it is."""
    found = (_NAME_REFUSED if name else _TEXT_REFUSED).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"is not valid Unicode text (lone surrogate U+{code:04X})"
    if code == 0xFFFD:
        return "is not valid UTF-8 text (U+FFFD replacement character)"
    return f"contains the control character U+{code:04X}"


def printable(value: str, *, limit: int = MAX_NAME_IN_MESSAGE) -> str:
    """``value`` with surrogates and control characters written as ``\\uXXXX``, cut to ``limit``."""
    escaped = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return escaped if len(escaped) <= limit else escaped[:limit] + "…"


def safe(value: Any) -> Any:
    """``value`` (str, or dicts and lists of them) made encodable: refused characters escaped."""
    if isinstance(value, str):
        return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, dict):
        return {safe(k): safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe(v) for v in value]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """``(path, problem)`` of the first value in ``value`` that is not JSON or not valid text."""
    try:
        return _walk(value, path, set())
    except RecursionError:
        return path or "body", "is nested too deeply"


def _walk(value: Any, path: str, active: set[int]) -> tuple[str, str] | None:
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, "is not a finite number")
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if not isinstance(value, (dict, list, tuple)):
        return path, f"is not JSON ({type(value).__name__})"
    if id(value) in active:
        return path, "contains itself"
    active.add(id(value))
    try:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                key_problem = text_problem(key)
                if key_problem:
                    return _join(path, printable(key)), f"has a name that {key_problem}"
            elif key is not None and not isinstance(key, (bool, int, float)):
                return path, f"has a key that is not text ({type(key).__name__})"
            found = _walk(item, _join(path, printable(str(key))), active)
            if found:
                return found
        return None
    finally:
        active.discard(id(value))


def check(value: Any, path: str = "") -> None:
    """Raise InvalidText naming the first part of ``value`` that is not JSON or not valid text."""
    found = json_problem(value, path)
    if found:
        where, problem = found
        where = where or path or "body"
        raise InvalidText(f"{where} {problem}", field=where)


def check_command(command: Any) -> None:
    """Every field of a command (a dataclass) must be JSON made of valid text (see module docstring)."""
    for item in dataclasses.fields(command):
        check(getattr(command, item.name), item.name)
