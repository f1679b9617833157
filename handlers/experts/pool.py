"""The expert pool (专家库) the province draws its review panels from (第十八条 组织专家评审).

An expert is a user holding role ``expert``; the pool adds what the draw needs: fields of
expertise (GB/T 4754 divisions and unit types), home division and evaluator affiliation
(both avoided, docs/expert-panel.md), and whether the expert is drawn at all (``active``).
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError, InvalidInput, RuleViolation
from engine.models import RoleGrant, UserAccount
from handlers._config import CONFIG_DIR
from handlers.application import UNIT_TYPES
from handlers.divisions import division
from handlers.experts.models import ExpertProfile
from handlers.industries import industry_table
from handlers.records import Evaluator

ARTICLE = "第十八条"
UNIT_TYPE_NAMES = {"factory": "绿色工厂", "supply_chain": "绿色供应链管理企业", "park": "绿色工业园区"}


@dataclass(frozen=True)
class PanelSettings:
    panel_size: int = 3
    pass_score: int = 60
    disagreement_spread: int = 20
    trim_from_size: int = 5


def settings() -> PanelSettings:
    """config/expert_panel.toml (defaults when absent); a panel is never smaller than three (第十八条)."""
    path = CONFIG_DIR / "expert_panel.toml"
    raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    values = {k: int(raw[k]) for k in PanelSettings.__dataclass_fields__ if k in raw}
    result = PanelSettings(**values)
    if result.panel_size < 3:
        raise ValueError("config/expert_panel.toml: panel_size must be at least 3 (第十八条, docs/expert-panel.md)")
    return result


@dataclass(frozen=True)
class PoolEntry:
    """One expert as the pages and the draw see them (plain values, no ORM object)."""
    username: str
    display_name: str
    fields: tuple[str, ...]
    home_division: str
    evaluator_id: str | None
    active: bool
    user_active: bool


def field_label(code: str) -> str:
    if code in UNIT_TYPE_NAMES:
        return UNIT_TYPE_NAMES[code]
    found = industry_table().get(code)
    return f"{found.name}（{code}）" if found else code


def field_choices() -> list[tuple[str, str]]:
    """(code, label) of every field an expert may cover: the unit types, then the eligible divisions."""
    return ([(t, UNIT_TYPE_NAMES[t]) for t in UNIT_TYPES]
            + [(i.code, f"{i.name}（{i.code}）") for i in industry_table().values() if i.eligible])


def expert_users(session: Session) -> list[tuple[str, str]]:
    """(username, display name) of every user holding role ``expert``."""
    rows = session.execute(select(UserAccount.username, UserAccount.display_name).join(
        RoleGrant, RoleGrant.user_id == UserAccount.id).where(RoleGrant.role == "expert")
        .order_by(UserAccount.username)).all()
    return sorted({(u, n) for u, n in rows})


def pool(session: Session, *, active_only: bool = False) -> list[PoolEntry]:
    """The pool, ordered by username."""
    query = (select(ExpertProfile, UserAccount.display_name, UserAccount.active)
             .join(UserAccount, UserAccount.username == ExpertProfile.username).order_by(ExpertProfile.username))
    entries = [PoolEntry(p.username, name, tuple(p.fields), p.home_division, p.evaluator_id, p.active, user_active)
               for p, name, user_active in session.execute(query)]
    return [e for e in entries if e.active and e.user_active] if active_only else entries


def entry(session: Session, username: str) -> PoolEntry | None:
    return next((e for e in pool(session) if e.username == username), None)


def _fields(values: Iterable[Any]) -> list[str]:
    known = set(UNIT_TYPES) | {i.code for i in industry_table().values() if i.eligible}
    fields = sorted({str(v).strip() for v in values if str(v).strip()})
    if not fields:
        raise InvalidInput("请至少选择一个评审领域 / choose at least one field of expertise", field="fields")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise InvalidInput(f"未知的评审领域 {', '.join(unknown)}（行业代码或申报类型） / unknown field "
                           f"{', '.join(unknown)} (an industry division or a unit type)", field="fields")
    return fields


def save_profile(session: Session, values: Mapping[str, Any], *, actor: str, now: dt.datetime) -> ExpertProfile:
    """Add an expert to the pool or update one; InvalidInput naming the field for bad input.

    Refuses a user who does not hold role ``expert`` (第十八条: the province organises *experts*),
    an unknown division or evaluator, and an empty or unknown field of expertise.
    """
    username = str(values.get("username") or "").strip()
    if not username:
        raise InvalidInput("请选择专家账号 / choose the expert's account", field="username")
    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is None or not any(g.role == "expert" for g in user.grants):
        raise RuleViolation(f"账号 {username} 不是评审专家（{ARTICLE}：省工信厅组织专家评审） / {username} does not "
                            f"hold the expert role (Article 18)", field="username", article=ARTICLE)
    fields = _fields(values.get("fields") or [])
    home = str(values.get("home_division") or "").strip()
    try:
        home = division(home, field="home_division").code
    except EngineError:
        raise InvalidInput(f"所在地区 {home or '（空）'} 不是贵州省的行政区划 / home division {home!r} is not a "
                           f"division of Guizhou", field="home_division") from None
    evaluator_id = str(values.get("evaluator_id") or "").strip() or None
    if evaluator_id is not None and session.get(Evaluator, evaluator_id) is None:
        raise InvalidInput(f"第三方评价机构 {evaluator_id} 不存在 / unknown evaluator {evaluator_id}",
                           field="evaluator_id")
    active = values.get("active", True)
    if not isinstance(active, bool):
        raise InvalidInput("是否在库须为是或否 / active must be yes or no", field="active")
    profile = session.get(ExpertProfile, username)
    if profile is None:
        profile = ExpertProfile(username=username)
        session.add(profile)
    profile.fields, profile.home_division, profile.evaluator_id, profile.active = fields, home, evaluator_id, active
    profile.updated_at, profile.updated_by = now, actor
    session.flush()
    return profile
