"""The top navigation: what each logged-in user can reach, by role."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from web.access import INCIDENT_ROLES

OFFICIAL_ROLES = ("county_official", "city_official", "province_official", "expert", "bureau_eco",
                  "bureau_emergency", "bureau_market", "bureau_tax", "evaluator")


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def nav_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    actor = current_user.actor
    items: list[tuple[str, str]] = []
    if any(actor.has_role(r) for r in OFFICIAL_ROLES):
        items.append((_("待办事项"), url_for("inbox.index")))
    if actor.has_role("applicant"):
        items.append((_("我的申报"), url_for("portal.index")))
    items.append((_("发起流程"), url_for("processes.index")))
    if any(actor.has_role(r) for r in ("auditor", "province_official", "process_owner", "city_official",
                                       "county_official")):
        items.append((_("流程实例"), url_for("instances.index")))
    if actor.has_role("auditor"):  # 审计: search, step-through replay, verification (issues 13, 14)
        items.append((_("审计"), url_for("audit.search")))
    if any(actor.has_role(r) for r in ("county_official", "city_official", "province_official")):
        items.append((_("名单事务"), url_for("records.index")))  # 第八、十四、二十七条 (web/blueprints/records.py)
    from web.blueprints.parks import sees_parks

    if sees_parks(actor):
        items.append((_("入园企业"), url_for("parks.index")))  # 第二十三、二十七条 (web/blueprints/parks.py)
    if any(actor.has_role(r) for r in ("city_official", "province_official", "auditor")):
        items.append((_("现场抽查"), url_for("spot_checks.index")))  # 第二十六条 (web/blueprints/spot_checks.py)
    if actor.has_role("province_official"):
        items.append((_("专家库"), url_for("experts.index")))  # 第十八条 (web/blueprints/experts.py)
    if actor.has_role("process_owner"):
        items.append((_("流程建模"), url_for("modeler.index")))
        items.append((_("工作日历"), url_for("admin.calendar_page")))
    if any(actor.has_role(role) for role in INCIDENT_ROLES):
        items.append((_("故障处理"), url_for("admin.incidents_page")))
    return [NavItem(label, url, request.path.startswith(url.split("?")[0]) and url != "/") for label, url in items]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_items"] = nav_items
