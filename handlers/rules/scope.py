"""第五条: who may be cultivated at all.

Green factories and green supply-chain enterprises must be manufacturing enterprises
(GB/T 4754-2017 section C) other than tobacco; green parks must be provincial level or
above.  These are hard conditions (应为), so every finding refuses.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from handlers.industries import industry_table
from handlers.rules._base import Application, Violation, refuse

ARTICLE = "第五条"
_ENTERPRISE_TYPES = ("factory", "supply_chain")
_PARK_LEVELS_IN_SCOPE = ("national", "provincial")


def art5_manufacturing_only(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A factory or supply-chain enterprise must be section C manufacturing, not tobacco (16).

    A code missing from config/industries.csv is outside section C, so it refuses too.
    """
    if application.get("unit_type") not in _ENTERPRISE_TYPES:
        return []
    code = str(application.get("industry_code") or "").strip()
    found = industry_table().get(code)
    if found is None:
        return [
            refuse(
                "art5_manufacturing_only", ARTICLE, "industry_code",
                f"行业代码 {code or '（空）'} 不属于制造业（GB/T 4754—2017 C门类13–43大类）",
                f"industry code {code or '(empty)'} is not manufacturing (GB/T 4754-2017 section C, 13–43)",
            )
        ]
    if not found.eligible:
        return [
            refuse(
                "art5_tobacco_excluded", ARTICLE, "industry_code",
                f"{found.code} {found.name}不在绿色制造培育范围内（制造业不含烟草制品业）",
                f"division {found.code} (tobacco products) is excluded from the green-manufacturing scope",
            )
        ]
    return []


def art5_park_provincial_or_above(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A green park must be a provincial-or-above industrial park or development zone."""
    if application.get("unit_type") != "park":
        return []
    level = application.get("park_level")
    if level in _PARK_LEVELS_IN_SCOPE:
        return []
    return [
        refuse(
            "art5_park_provincial_or_above", ARTICLE, "park_level",
            f"园区级别为 {level or '（空）'}，绿色工业园区应为省级以上（含）工业园区（开发区）",
            f"park level is {level or '(empty)'}; a green park must be provincial level or above",
        )
    ]
