"""Industry divisions of GB/T 4754-2017 section C (``config/industries.csv``).

第五条 limits green factories and green supply-chain enterprises to manufacturing
(section C, divisions 13–43) and excludes tobacco (16); the file marks that with its
``eligible`` column, so the rule reads the file instead of hard-coding the exception.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from engine.errors import InvalidInput
from handlers._config import read_config_csv

__all__ = ["Industry", "industry_table", "industry"]


@dataclass(frozen=True)
class Industry:
    code: str  # two-digit division, e.g. "26"
    name: str
    eligible: bool


@functools.cache
def industry_table() -> Mapping[str, Industry]:
    """Every section C division by code (read once, read-only)."""
    rows = read_config_csv("industries.csv")
    return MappingProxyType(
        {r["code"]: Industry(r["code"], r["name"], r["eligible"].strip().lower() == "yes") for r in rows}
    )


def industry(code: object) -> Industry:
    """The section C division ``code`` (an int such as 26 is accepted).

    Raises InvalidInput(field="industry_code") when it is not a manufacturing division.
    """
    found = industry_table().get(str(code).strip()) if code is not None else None
    if found is None:
        raise InvalidInput(
            f"{code!r} 不是国民经济行业分类制造业（C门类13–43大类）代码 / "
            f"{code!r} is not a GB/T 4754-2017 manufacturing division (section C, 13–43)",
            field="industry_code",
        )
    return found
