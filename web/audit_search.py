"""Who may audit what, and the auditors' search (``/audit/`` and ``GET /api/v1/audit/instances``).

Auditors (role ``auditor``) read only, scoped like officials: an auditor of the province
(``auditor`` @ 520000) reads every instance; an auditor of a city or a county reads the instances
of that division (the instance's ``city_code`` / ``county_code`` facets). Officials, even of the
province, do not use these pages: whoever acts in a process does not audit it (docs/audit-replay.md).

The search filters by process, unit (name or 统一社会信用代码), official (name or account), outcome,
the date the instance started (China dates) and "instances where X happened".
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from engine.clock import end_of_china_day, start_of_china_day
from engine.errors import EngineError, InvalidInput, NotFound, NotPermitted
from engine.identity import Actor
from engine.models import Event, HumanTask, InstanceFacet, ProcessInstance, UserAccount
from handlers.divisions import PROVINCE, division

AUDITOR = "auditor"
PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_TEXT = 100

# "Instances where X happened": what an auditor looks for, and where the record shows it.
HAPPENED: dict[str, tuple[str, str]] = {
    "returned": ("退回修改", "Returned for amendment"),
    "objected": ("有异议（公示异议或部门异议）", "Objected (public notice or bureau)"),
    "rejected": ("不予通过", "Rejected"),
    "overdue": ("逾期办理", "Overdue"),
    "transferred": ("转办", "Transferred"),
    "migrated": ("迁移到新版本", "Migrated to a new version"),
}
# Outcomes an instance ended with: (label zh, label en, the key of the completed data holding it).
OUTCOMES: dict[str, tuple[str, str, str, str]] = {
    "listed_city": ("列入市级名单", "Listed (city)", "outcome", "listed_city"),
    "listed_province": ("列入省级名单", "Listed (province)", "outcome", "listed_province"),
    "listed_national": ("列入国家级名单", "Listed (national)", "outcome", "listed_national"),
    "removed_after_notice": ("公示后不予列入（异议成立）", "Not listed after the notice (objection upheld)",
                             "outcome", "removed_after_notice"),
    "refused": ("不予受理", "Refused", "outcome", "refused"),
    "rejected": ("审核不予通过", "Rejected in review", "outcome", "rejected"),
    "not_recommended": ("未获推荐", "Not recommended", "outcome", "not_recommended"),
    "miit_not_listed": ("工信部未列入", "Not listed by MIIT", "outcome", "miit_not_listed"),
    "complaint_confirmed": ("举报属实", "Complaint confirmed", "verification_outcome", "confirmed"),
    "complaint_unfounded": ("举报不属实", "Complaint unfounded", "verification_outcome", "unfounded"),
    "change_not_qualified": ("变更后不再符合条件", "No longer qualifies after a change", "change_decision",
                             "no_longer_qualifies"),
    "incident_confirmed": ("事故属实", "Incident confirmed", "incident_decision", "confirmed"),
}
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


# --- who may audit ------------------------------------------------------------------------------

def audit_scopes(actor: Actor) -> list[str]:
    return actor.scopes(AUDITOR)


def require_auditor(actor: Actor) -> None:
    """NotPermitted (403) unless ``actor`` holds the auditor role somewhere."""
    if not audit_scopes(actor):
        raise NotPermitted("审计页面仅供审计人员使用 / only auditors may use the audit pages")


def audited_instances(actor: Actor):
    """A SQL condition on ``ProcessInstance``: the instances ``actor`` audits."""
    scopes = audit_scopes(actor)
    if PROVINCE in scopes:
        return true()
    matches = []
    for scope in scopes:
        try:
            kind = "city_code" if division(scope).is_city else "county_code"
        except EngineError:  # not a division: audits nothing
            continue
        matches.append(exists().where(InstanceFacet.instance_id == ProcessInstance.id, InstanceFacet.key == kind,
                                      InstanceFacet.value == scope))
    return or_(*matches) if matches else false()


def require_audited(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    """The instance if ``actor`` audits it: NotPermitted if not an auditor or not in scope, NotFound if none."""
    require_auditor(actor)
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在 / process instance {instance_id} not found")
    if session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id,
                                                       audited_instances(actor))) is None:
        raise NotPermitted(f"流程实例 {instance_id} 不在您的审计范围内 / instance {instance_id} is outside your audit scope")
    return row


# --- the search ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchQuery:
    process: str | None = None
    unit: str | None = None
    official: str | None = None
    outcome: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    happened: str | None = None
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def parse(cls, args, *, per_page_default: int = PER_PAGE, process_key: str = "process") -> "SearchQuery":
        """From query-string arguments; InvalidInput (422) naming the field for a bad value (a start date
        after the end date is no error: nothing matches)."""
        def text(name: str, limit: int = MAX_TEXT) -> str | None:
            value = (args.get(name) or "").strip()
            if len(value) > limit:
                raise InvalidInput(f"{name}: 最多 {limit} 个字符 / at most {limit} characters", field=name)
            return value or None

        def choice(name: str, table: dict) -> str | None:
            value = text(name)
            if value is not None and value not in table:
                raise InvalidInput(f"{name}: 未知的选项 / unknown choice {value!r}", field=name)
            return value

        def date(name: str) -> dt.date | None:
            value = text(name, 10)
            if value is None:
                return None
            try:
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                    raise ValueError(value)
                return dt.date.fromisoformat(value)
            except ValueError:
                raise InvalidInput(f"{name}: 日期格式应为 YYYY-MM-DD / a date is YYYY-MM-DD", field=name) from None

        def number(name: str, default: int, high: int) -> int:
            value = text(name, 10)
            if value is None:
                return default
            if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= high:
                raise InvalidInput(f"{name}: 应为 1–{high} 的整数 / a whole number from 1 to {high}", field=name)
            return int(value)

        return cls(process=text(process_key, 120), unit=text("unit"), official=text("official"),
                   outcome=choice("outcome", OUTCOMES), date_from=date("from"), date_to=date("to"),
                   happened=choice("happened", HAPPENED), page=number("page", 1, 2_147_483_647),
                   per_page=number("per_page", per_page_default, MAX_PER_PAGE))


def conditions(actor: Actor, query: SearchQuery, now: dt.datetime) -> list:
    iid = ProcessInstance.id
    found = [audited_instances(actor)]
    if query.process:
        found.append(ProcessInstance.process_id == query.process)
    if query.unit:
        unit = query.unit
        if _USCC.match(unit.upper()):
            found.append(exists().where(InstanceFacet.instance_id == iid, InstanceFacet.key == "credit_code",
                                        InstanceFacet.value == unit.upper()))
        else:
            found.append(or_(ProcessInstance.title.contains(unit, autoescape=True), exists().where(
                InstanceFacet.instance_id == iid, InstanceFacet.key.in_(("unit_name", "subject_name")),
                InstanceFacet.value.contains(unit, autoescape=True))))
    if query.official:
        people = select(UserAccount.username).where(or_(UserAccount.username == query.official,
                                                        UserAccount.display_name.contains(query.official,
                                                                                          autoescape=True)))
        found.append(or_(ProcessInstance.started_by.in_(people), exists().where(
            HumanTask.instance_id == iid, or_(HumanTask.completed_by.in_(people), HumanTask.assignee.in_(people),
                                              HumanTask.owner.in_(people)))))
    if query.outcome:
        _, _, key, value = OUTCOMES[query.outcome]
        found.append(exists().where(Event.instance_id == iid, Event.type == "instance_completed",
                                    Event.payload.contains(f'"{key}":"{value}"', autoescape=True)))
    if query.date_from is not None:
        found.append(ProcessInstance.created_at >= start_of_china_day(query.date_from))
    if query.date_to is not None:
        found.append(ProcessInstance.created_at < end_of_china_day(query.date_to))
    if query.happened:
        found.append(_happened(query.happened, now))
    return found


def _event(*types: str):
    return exists().where(Event.type.in_(types), Event.instance_id == ProcessInstance.id)


def _task(*conditions):
    return exists().where(HumanTask.instance_id == ProcessInstance.id, *conditions)


def _happened(what: str, now: dt.datetime):
    if what == "returned":
        return _task(HumanTask.outcome == "return")
    if what == "rejected":
        return or_(_task(HumanTask.outcome == "reject"), exists().where(
            Event.type == "instance_completed", Event.instance_id == ProcessInstance.id,
            Event.payload.contains('"outcome":"rejected"')))
    if what == "objected":
        return or_(_event("objection_filed"), _task(HumanTask.outcome == "objection"))
    if what == "overdue":
        return _task(HumanTask.due_at.is_not(None), or_(
            HumanTask.completed_at > HumanTask.due_at, and_(HumanTask.status == "open", HumanTask.due_at < now)))
    if what == "transferred":
        return _event("task_transferred")
    return _event("instance_migrated")


def search(session: Session, actor: Actor, query: SearchQuery, now: dt.datetime) -> tuple[list[ProcessInstance], int]:
    """One page of the instances ``actor`` audits that match, newest first, and how many match."""
    where = conditions(actor, query, now)
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(*where)) or 0
    rows = session.scalars(select(ProcessInstance).where(*where).order_by(ProcessInstance.id.desc())
                           .offset((query.page - 1) * query.per_page).limit(query.per_page)).all()
    return list(rows), total
