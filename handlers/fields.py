"""Reading what forms and diagrams pass to handlers: free-text fields (trimmed, bounded, empty as None)
and references to stored records (``{"id": N}`` or ``N``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from engine.errors import InvalidInput

DEFAULT_LIMIT = 500
Row = TypeVar("Row")


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


def record_key(record: object) -> object:
    """The id a diagram passes for a stored record: ``record["id"]`` of a dict, else the value itself."""
    return record.get("id") if isinstance(record, Mapping) else record


def stored_row(session: Session, model: type[Row], record: object) -> Row | None:
    """The ``model`` row that ``record`` (``{"id": N}`` or ``N``) names; None for anything else or no row."""
    key = record_key(record)
    return session.get(model, key) if isinstance(key, int) and not isinstance(key, bool) else None
