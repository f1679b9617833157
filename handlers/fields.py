"""Reading free-text fields of a submitted form: trimmed, bounded, empty as None."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import InvalidInput

DEFAULT_LIMIT = 500


def optional_text(fields: Mapping[str, Any], key: str, limits: Mapping[str, int]) -> str | None:
    """``fields[key]`` trimmed, or None when absent or blank; InvalidInput naming ``key`` when too long."""
    value = fields.get(key)
    if value is None:
        return None
    text = str(value).strip()
    limit = limits.get(key, DEFAULT_LIMIT)
    if len(text) > limit:
        raise InvalidInput(f"{key} 超过{limit}个字符 / {key} is too long", field=key)
    return text or None
