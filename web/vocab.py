"""The words of the domain as the pages show them (Chinese first, English twin)."""
from __future__ import annotations

import config
from web.i18n import pick

UNIT_TYPES = {"factory": ("绿色工厂", "Green factory"),
              "supply_chain": ("绿色供应链管理企业", "Green supply-chain enterprise"),
              "park": ("绿色工业园区", "Green industrial park")}
LEVELS = {"city": ("市级", "City"), "province": ("省级", "Province"), "national": ("国家级", "National")}
STATUSES = {"running": ("办理中", "In progress"), "waiting": ("等待中", "Waiting"), "completed": ("已办结", "Completed"),
            "cancelled": ("已撤销", "Cancelled"), "incident": ("故障", "Incident"), "open": ("待办", "Open")}


def word(table: dict[str, tuple[str, str]], key: str | None) -> str:
    """The label of ``key`` in ``table`` in the current language; the key itself when unknown."""
    if key is None:
        return ""
    pair = table.get(key)
    return pick(*pair) if pair else key


def role_label(role: str) -> str:
    """A role's name from config/roles.toml in the current language."""
    entry = config.roles().get(role)
    return pick(entry.get("zh"), entry.get("en")) if entry else role


def options(table: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, pick(*pair)) for key, pair in table.items()]
