"""Personal data in exports: masked unless the exporter holds the right (docs/audit-evidence.md).

Which keys are personal is the domain's to say (``Domain.personal_keys``, e.g. a contact's name
and phone, a complainant's name and id number). A dict that holds any of them is a person's
record, so its ``name`` is personal too (an objector's name), while a task's or a company's
``name`` elsewhere is not. Masking keeps the shape of a value and little else: the first
character of a name, the first three and last four characters of a phone number, the first six
and last four of an id number, so that the same person still reads as the same in one export.
"""
from __future__ import annotations

from typing import Any, Iterable

MASK = "*"


def mask_text(value: str) -> str:
    """``李某`` → ``李*``; ``13800000000`` → ``138****0000``; ``520102199001011234`` → ``520102********1234``."""
    value = str(value)
    if len(value) >= 15:
        return value[:6] + MASK * (len(value) - 10) + value[-4:]
    if len(value) >= 11:
        return value[:3] + MASK * (len(value) - 7) + value[-4:]
    if len(value) <= 1:
        return MASK
    return value[0] + MASK * (len(value) - 1)


class Masker:
    """Masks the personal values of a JSON value (a new value; the input is left alone)."""

    def __init__(self, personal_keys: Iterable[str], *, person_name_key: str = "name"):
        self.personal = frozenset(personal_keys)
        self.name_key = person_name_key

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            person = any(key in self.personal for key in value)
            return {key: self._mask(item) if self._is_personal(key, person) else self(item)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        return value

    def _is_personal(self, key: str, person: bool) -> bool:
        return key in self.personal or (person and key == self.name_key)

    def _mask(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (dict, list)):
            return self(value)
        return mask_text(value)


def unmasked(value: Any) -> Any:
    return value
