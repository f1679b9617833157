"""Guizhou's administrative divisions (``config/divisions.csv``): which city a county belongs to.

Applications go up 县级 → 市级 → 省级 (第十八条), and every task is scoped to an org unit,
so "the city of this county" is the lookup the diagrams need most.  The city level
(第三条) is the 9 prefectures plus 贵安新区 (``GA0000``), which has no counties: its
applicants give ``GA0000`` itself as their county code.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from engine.errors import InvalidInput
from engine.services import script_function
from handlers._config import read_config_csv

__all__ = ["PROVINCE", "Division", "division", "city_of", "is_county", "counties_of", "cities"]

PROVINCE = "520000"
_CITY_LEVELS = frozenset({"prefecture", "new_area"})


@dataclass(frozen=True)
class Division:
    level: str  # province | prefecture | new_area | county
    code: str
    name: str
    parent_code: str | None

    @property
    def is_city(self) -> bool:
        """True for the city-level divisions that publish a city list (第三条)."""
        return self.level in _CITY_LEVELS


@functools.cache
def _table() -> dict[str, Division]:
    return {
        row["code"]: Division(row["level"], row["code"], row["name"], row["parent_code"] or None)
        for row in read_config_csv("divisions.csv")
    }


def _key(code: object) -> str:
    return str(code).strip().upper() if code is not None else ""


def division(code: object, *, field: str = "division_code") -> Division:
    """The division with ``code``.

    Raises InvalidInput(field=field) for a code that is not in Guizhou.
    """
    found = _table().get(_key(code))
    if found is None:
        raise InvalidInput(f"未知的行政区划代码 {code!r} / unknown division code {code!r}", field=field)
    return found


@script_function("city_of")
def city_of(county_code: object) -> str:
    """The city-level division that reviews applications from ``county_code`` (第十八条).

    A county gives its prefecture; a prefecture or 贵安新区 gives itself.
    Raises InvalidInput(field="county_code") for an unknown code or the province code.
    """
    found = division(county_code, field="county_code")
    if found.level == "county":
        assert found.parent_code is not None
        return found.parent_code
    if found.is_city:
        return found.code
    raise InvalidInput(
        f"{found.code} 是省级代码，不是县级或市级行政区划 / {found.code} is the province, not a county or city",
        field="county_code",
    )


def is_county(code: object) -> bool:
    """True when ``code`` is a county-level division (False for unknown codes)."""
    found = _table().get(_key(code))
    return found is not None and found.level == "county"


def counties_of(city_code: object) -> tuple[Division, ...]:
    """The counties of a city-level division, in file order (none for 贵安新区).

    Raises InvalidInput(field="city_code") when ``city_code`` is not city level.
    """
    city = division(city_code, field="city_code")
    if not city.is_city:
        raise InvalidInput(f"{city.code} 不是市级行政区划 / {city.code} is not a city-level division", field="city_code")
    return tuple(d for d in _table().values() if d.level == "county" and d.parent_code == city.code)


def cities() -> tuple[Division, ...]:
    """The ten city-level divisions that publish city lists (第三条), in file order."""
    return tuple(d for d in _table().values() if d.is_city)
