"""The officials' inbox: five tabs over ``human_task``, with counts, filters, sorting and pages.

Every query reads only indexed columns of ``human_task``, ``process_instance``,
``instance_facet`` and ``task_cc``; none reads workflow state. The engine knows nothing of
the domain: filters name the instance's facets (the scalar values a start hook put in its
summary, e.g. ``target_level`` or ``county_code``) and the web layer decides which to offer.

Tabs (DESIGN.md names them after the officials' words):
    todo       待办       open, assigned to me (claimed, transferred or delegated to me)
    claimable  可认领     open, unassigned, and my role and scope
    done       已办       completed by me
    cc         抄送我的   tasks someone CC'd to me
    overdue    逾期       open, past due, mine or claimable by me
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.identity import Actor
from engine.models import HumanTask, InstanceFacet, ProcessInstance, TaskCc

TABS = ("todo", "claimable", "done", "cc", "overdue")
SORTS = ("due", "age")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class InboxQuery:
    tab: str = "todo"
    process_id: str | None = None
    facets: dict[str, str] = field(default_factory=dict)
    due_by: dt.datetime | None = None  # due at or before this moment
    search: str | None = None  # in the instance title (the applicant's name)
    sort: str = "due"
    page: int = 1
    per_page: int = 20

    def __post_init__(self):
        if self.tab not in TABS:
            raise InvalidInput(f"unknown tab {self.tab!r}; one of {', '.join(TABS)}", field="tab")
        if self.sort not in SORTS:
            raise InvalidInput(f"unknown sort {self.sort!r}; one of {', '.join(SORTS)}", field="sort")
        if not isinstance(self.page, int) or self.page < 1:
            raise InvalidInput("page must be a positive whole number", field="page")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}", field="per_page")
        if self.search is not None and len(self.search) > 100:
            raise InvalidInput("search is longer than 100 characters", field="q")


@dataclass(frozen=True)
class InboxRow:
    task_id: int
    instance_id: int
    name: str
    role: str
    scope: str
    status: str
    assignee: str | None
    owner: str | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    completed_at: dt.datetime | None
    outcome: str | None
    urge_count: int
    form: str | None
    version_id: int
    process_id: str
    title: str
    summary: dict


@dataclass(frozen=True)
class InboxPage:
    query: InboxQuery
    rows: list[InboxRow]
    counts: dict[str, int]  # the current tab with the filters, the others without
    total: int  # rows of the current tab with the filters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def _claimable_by(actor: Actor):
    if not actor.grants:
        return false()
    return or_(*[and_(HumanTask.role == role, HumanTask.scope == scope) for role, scope in sorted(actor.grants)])


def _tab_condition(tab: str, actor: Actor, now: dt.datetime):
    mine = HumanTask.assignee == actor.username
    claimable = and_(HumanTask.assignee.is_(None), _claimable_by(actor))
    if tab == "todo":
        return and_(HumanTask.status == "open", mine)
    if tab == "claimable":
        return and_(HumanTask.status == "open", claimable)
    if tab == "done":
        return and_(HumanTask.completed_by == actor.username, HumanTask.status == "completed")
    if tab == "cc":
        return HumanTask.id.in_(select(TaskCc.task_id).where(TaskCc.username == actor.username))
    return and_(HumanTask.status == "open", HumanTask.due_at < now, or_(mine, claimable))


def _filters(query: InboxQuery) -> list:
    conditions = []
    if query.process_id:
        conditions.append(ProcessInstance.process_id == query.process_id)
    for key, value in sorted(query.facets.items()):
        if value:
            conditions.append(HumanTask.instance_id.in_(
                select(InstanceFacet.instance_id).where(InstanceFacet.key == key, InstanceFacet.value == str(value))))
    if query.due_by is not None:
        conditions.append(HumanTask.due_at <= query.due_by)
    if query.search:
        conditions.append(ProcessInstance.title.contains(query.search.strip(), autoescape=True))
    return conditions


def _needs_instance(query: InboxQuery) -> bool:
    return bool(query.process_id or query.search)


def count_tabs(session: Session, actor: Actor, query: InboxQuery, now: dt.datetime) -> dict[str, int]:
    """How many tasks each tab holds: the query's tab with its filters, the other tabs without.

    The other tabs say how much work waits there; the filters narrow only what is being looked
    at (and keep every count an index-only read, bench/inbox.py).
    """
    counts = {}
    for tab in TABS:
        filters = _filters(query) if tab == query.tab else []
        stmt = select(func.count()).select_from(HumanTask)
        if filters and _needs_instance(query):
            stmt = stmt.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        counts[tab] = session.scalar(stmt.where(_tab_condition(tab, actor, now), *filters)) or 0
    return counts


def inbox_page(session: Session, actor: Actor, query: InboxQuery, now: dt.datetime) -> InboxPage:
    """One page of a tab, with the counts of every tab."""
    counts = count_tabs(session, actor, query, now)
    condition = _tab_condition(query.tab, actor, now)
    if query.tab == "done":
        order = [HumanTask.completed_at.desc(), HumanTask.id.desc()]
    elif query.sort == "age":
        order = [HumanTask.created_at, HumanTask.id]
    else:
        order = [HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id]
    # Narrow first: the ids of one page, then join the rows and their instances for just those.
    page_ids = select(HumanTask.id).where(condition, *_filters(query))
    if _needs_instance(query):
        page_ids = page_ids.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    page_ids = page_ids.order_by(*order).offset((query.page - 1) * query.per_page).limit(query.per_page)
    ids = list(session.scalars(page_ids))
    if not ids:
        return InboxPage(query=query, rows=[], counts=counts, total=counts[query.tab])
    stmt = (select(HumanTask, ProcessInstance.version_id, ProcessInstance.process_id, ProcessInstance.title,
                   ProcessInstance.summary)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.id.in_(ids)))
    position = {task_id: i for i, task_id in enumerate(ids)}
    rows = [InboxRow(task_id=t.id, instance_id=t.instance_id, name=t.name, role=t.role, scope=t.scope,
                     status=t.status, assignee=t.assignee, owner=t.owner, created_at=t.created_at, due_at=t.due_at,
                     completed_at=t.completed_at, outcome=t.outcome, urge_count=t.urge_count or 0, form=t.form,
                     version_id=version_id, process_id=process_id, title=title, summary=summary or {})
            for t, version_id, process_id, title, summary in session.execute(stmt)]
    rows.sort(key=lambda row: position[row.task_id])
    return InboxPage(query=query, rows=rows, counts=counts, total=counts[query.tab])
