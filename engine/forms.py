"""Server-side validation of form data against the JSON Schema named by a task."""
from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from engine.errors import InvalidInput


def validate(schema: dict | None, data: Any, *, form_name: str = "form") -> dict:
    """Return ``data`` if it satisfies ``schema``; otherwise InvalidInput naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidInput("form data must be a JSON object", field="data")
    if schema is None:
        return data
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return data
    fields: dict[str, str] = {}
    for error in errors:
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = f"{path}.{missing}".strip(".")
            fields.setdefault(path, f"必填 / required: {_title(schema, missing)}")
        elif error.validator == "additionalProperties":
            fields.setdefault(path or "data", f"不允许的字段 / unexpected field: {error.message}")
        else:
            fields.setdefault(path or "data", error.message)
    first = best_match(errors)
    raise InvalidInput(f"{form_name}: {len(fields)} field(s) invalid: {first.message}", fields=fields)


def _title(schema: dict, key: str) -> str:
    prop = schema.get("properties", {}).get(key, {})
    return prop.get("title", key)
