"""第十四条: whether an application may be submitted at all, checked before its instance exists.

Unlike the eligibility rules (``handlers.rules.RULES``, run by the ``check_eligibility`` service
task, which end a received application as 不予受理), these refuse the submission itself: the
start hook of ``green_application`` raises the first finding as a RuleViolation, nothing is
written and the applicant sees the message on the form.

- ``art14_one_running_application``: one running application per unit, unit type, target
  level and year.  The regulation is silent; the decision (docs/application-windows.md) reads
  第十四条's yearly notice as inviting one application per list and year, so a second one
  while the first is still being reviewed is refused, naming the running one.  A decided or
  cancelled application does not count.
- ``art14_application_window``: the application must fall inside a published, open
  application notice of its level and scope for its year and unit type
  (``handlers.application_windows``).
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.models import HumanTask, ProcessInstance
from handlers.application_windows import ApplicationWindow, covering_window, scope_name, window_scope
from handlers.records import ApplicationRecord
from handlers.rules._base import Application, Rule, Violation, refuse

__all__ = ["ARTICLE", "START_RULES", "art14_one_running_application", "art14_application_window",
           "check_start", "serialise_unit"]

ARTICLE = "第十四条"
_LEVEL_ZH = {"city": "市级", "province": "省级", "national": "国家级"}
_TYPE_ZH = {"factory": "绿色工厂", "supply_chain": "绿色供应链管理企业", "park": "绿色工业园区"}
_ENDED = ("completed", "cancelled")


def _what(application: Application) -> str:
    return (f"{application.get('year')}年度{_LEVEL_ZH.get(str(application.get('target_level')), '')}"
            f"{_TYPE_ZH.get(str(application.get('unit_type')), '')}")


def running_applications(session: Session, application: Application) -> list[tuple[int, str, list[str]]]:
    """(instance id, title, open step names) of the unit's running applications with the same key."""
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.title)
        .join(ApplicationRecord, ApplicationRecord.instance_id == ProcessInstance.id)
        .where(ApplicationRecord.credit_code == str(application.get("credit_code")),
               ApplicationRecord.unit_type == str(application.get("unit_type")),
               ApplicationRecord.target_level == str(application.get("target_level")),
               ApplicationRecord.year == application.get("year"),
               ApplicationRecord.status == "open",
               ProcessInstance.status.not_in(_ENDED))
        .order_by(ProcessInstance.id)).all()
    found = []
    for instance_id, title in rows:
        steps = sorted(set(session.scalars(select(HumanTask.name).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open"))))
        found.append((instance_id, title, steps))
    return found


def art14_one_running_application(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """Refuses a second application of the same unit, type, level and year while one is running."""
    running = running_applications(session, application)
    if not running:
        return []
    instance_id, title, steps = running[0]
    where = "、".join(steps) if steps else "办理中"
    return [refuse(
        "art14_one_running_application", ARTICLE, "target_level",
        f"该单位已有进行中的{_what(application)}申报（#{instance_id} {title}，当前环节：{where}），"
        f"办结前不能重复申报",
        f"the unit already has a running {application.get('year')} {application.get('target_level')} "
        f"{application.get('unit_type')} application (#{instance_id}, now at: {', '.join(steps) or 'in progress'}); "
        "it cannot apply again until that one is decided",
    )]


def art14_application_window(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """Refuses an application that no open, published application notice of its level covers."""
    level, unit_type = str(application.get("target_level")), str(application.get("unit_type"))
    year = application.get("year")
    scope = window_scope(level, str(application.get("county_code")))
    if covering_window(session, level=level, scope=scope, year=year, unit_type=unit_type, today=today):
        return []
    published = session.scalars(select(ApplicationWindow).where(
        ApplicationWindow.level == level, ApplicationWindow.scope == scope, ApplicationWindow.year == year,
        ApplicationWindow.status == "published").order_by(ApplicationWindow.opens_on)).all()
    fitting = [w for w in published if unit_type in w.unit_types]
    who = scope_name(level, scope)
    if fitting:
        spans = "；".join(f"{w.title}：{w.opens_on}至{w.closes_on}" for w in fitting)
        zh = f"{who}{_what(application)}申报不在申报通知规定的申报时间内（{spans}），今天是{today}"
        en = (f"the {year} {level} application is outside the notice's application period "
              f"({'; '.join(f'{w.opens_on} to {w.closes_on}' for w in fitting)}); today is {today}")
    elif published:
        zh = f"{who}{year}年度{_LEVEL_ZH.get(level, '')}申报通知不受理{_TYPE_ZH.get(unit_type, unit_type)}申报"
        en = f"the {year} {level} application notice does not accept {unit_type} applications"
    else:
        zh = f"{who}尚未发布{year}年度{_LEVEL_ZH.get(level, '')}绿色制造名单申报通知，暂不受理申报"
        en = f"no {year} {level} application notice has been published, so applications are not accepted"
    return [refuse("art14_application_window", ARTICLE, "target_level", zh, en)]


START_RULES: tuple[Rule, ...] = (art14_one_running_application, art14_application_window)


def serialise_unit(session: Session, credit_code: str) -> None:
    """Make two submissions of one unit wait for each other (PostgreSQL: a transaction advisory lock).

    SQLite needs nothing: every command holds the database's write lock from BEGIN IMMEDIATE.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"application:{credit_code}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def check_start(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """Every start rule on a normalised application, in order; nothing is written."""
    serialise_unit(session, str(application.get("credit_code")))
    return [v for rule in START_RULES for v in rule(session, application, today)]
